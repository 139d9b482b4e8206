"""The app shell: settings, error pages, request ids, language."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import login
from wellbeing import create_app
from wellbeing.config import ConfigError, load_settings
from wellbeing.security.policy import public


def test_environment_variables_override_defaults():
    settings = load_settings(
        environ={
            "WELLBEING_LOCKOUT_FAILURES": "7",
            "WELLBEING_LANGUAGES": "en, zh_Hans_CN",
            "WELLBEING_DATABASE_URL": "sqlite:////tmp/x.sqlite",
        }
    )
    assert settings["LOCKOUT_FAILURES"] == 7
    assert settings["LANGUAGES"] == ["en", "zh_Hans_CN"]
    assert settings["DATABASE_URL"] == "sqlite:////tmp/x.sqlite"
    assert load_settings(environ={})["LOCKOUT_FAILURES"] == 5


def test_bad_numbers_in_the_environment_are_named():
    with pytest.raises(ConfigError, match="WELLBEING_LOCKOUT_FAILURES"):
        load_settings(environ={"WELLBEING_LOCKOUT_FAILURES": "five"})


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENVIRONMENT": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite"})


@pytest.mark.parametrize("k", [1, 0, "ten"])
def test_a_small_cell_k_that_would_show_single_students_is_refused(tmp_path, k):
    with pytest.raises(ConfigError, match="SMALL_CELL_K"):
        create_app({"SMALL_CELL_K": k, "DATABASE_URL": f"sqlite:///{tmp_path}/k.sqlite"})


def test_small_cells_default_to_fewer_than_ten():
    assert load_settings(environ={})["SMALL_CELL_K"] == 10


def test_server_error_shows_a_request_id_and_no_trace(tmp_path, caplog):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/e.sqlite", "ENVIRONMENT": "test"})

    @app.get("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    caplog.set_level(logging.ERROR, logger="wellbeing")
    response = app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500
    assert request_id and request_id in page
    assert "secret internals" not in page and "Traceback" not in page
    assert "服务器" in page or "出错" in page  # Chinese by default
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_pages_are_chinese_by_default_and_english_on_request(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page
    client.get("/language/en")
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in page and "Log in" in page


def test_not_found_page_is_chinese(client, world):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "未找到" in response.get_data(as_text=True)


def test_home_page_lists_what_each_role_can_do(client, world):
    login(client, "teacher")
    page = client.get("/home").get_data(as_text=True)
    assert f"/classes/{world.classes['A1'].id}" in page
    assert "/district/" not in page


def test_behind_a_proxy_the_client_address_is_used(tmp_path):
    from flask import request

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite", "ENVIRONMENT": "test", "PROXY_COUNT": 1}
    )

    @app.get("/address")
    @public
    def address():
        return request.remote_addr or ""

    response = app.test_client().get(
        "/address",
        headers={"X-Forwarded-For": "10.1.2.3"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.get_data(as_text=True) == "10.1.2.3"


def test_flags_without_a_default_parse_as_booleans():
    assert load_settings(environ={"WELLBEING_TESTING": "false"})["TESTING"] is False
    assert load_settings(environ={"WELLBEING_SOMETHING": "text"})["SOMETHING"] == "text"
