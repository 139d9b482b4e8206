"""Sessions the server can revoke (logout and password change end every copy of a
session cookie), an absolute lifetime, cookie flags, rate limits and security headers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD, login
from wellbeing import create_app
from wellbeing.config import flask_config, load_settings
from wellbeing.extensions import db
from wellbeing.security.headers import CONTENT_SECURITY_POLICY
from wellbeing.security.limits import check_code_ceiling, count_refused_code, limiter
from wellbeing.security.models import AuditEvent
from wellbeing.security.policy import public

TEMPLATES = Path(__file__).resolve().parents[2] / "wellbeing"


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _is_logged_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("username", ["doctor", "counselor"])
def test_a_cookie_copied_before_logout_is_refused_after_it(client, world, username):
    login(client, username)
    assert client.get("/home").status_code == 200
    stolen = _session_cookie(client)
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", stolen)  # replay the old cookie
    assert _is_logged_out(client.get("/home"))
    assert client.get("/login").status_code == 200


def test_logout_ends_the_users_sessions_on_other_devices(app, client, world):
    other = app.test_client()
    login(client, "doctor")
    login(other, "doctor")
    client.post("/logout")
    assert _is_logged_out(other.get("/home"))


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, client, world):
    other = app.test_client()
    login(client, "doctor")
    login(other, "doctor")
    response = client.post(
        "/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a-much-better-one",
            "confirm": "a-much-better-one",
        },
    )
    assert response.status_code == 302
    assert client.get("/home").status_code == 200
    assert _is_logged_out(other.get("/home"))


def test_sessions_end_twelve_hours_after_login_however_active(client, world):
    login(client, "doctor")
    with client.session_transaction() as session:
        session["login_at"] = time.time() - 12 * 3600 + 60
    assert client.get("/home").status_code == 200
    with client.session_transaction() as session:
        session["login_at"] = time.time() - 12 * 3600 - 1
        session["last_seen"] = time.time()  # active a moment ago
    assert _is_logged_out(client.get("/home"))


def test_a_session_without_a_version_is_refused(client, world):
    login(client, "doctor")
    with client.session_transaction() as session:
        del session["session_version"]
    assert _is_logged_out(client.get("/home"))


def test_session_cookie_is_httponly_and_samesite_lax(app, client, world, monkeypatch):
    response = client.post("/login", data={"username": "doctor", "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    cookie = client.get("/home").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_remember_me_cookie_follows_the_session_cookie(tmp_path):
    settings = load_settings({"SESSION_COOKIE_SECURE": True}, environ={})
    config = flask_config(settings, str(tmp_path))
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    plain = load_settings(environ={"WELLBEING_SESSION_COOKIE_SECURE": "false"})
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert not flask_config(plain, str(tmp_path)).get("REMEMBER_COOKIE_SECURE")


def test_audit_rows_for_login_logout_and_password_change(client, world):
    client.post("/login", data={"username": "doctor", "password": "my-secret-typo-1"})
    login(client, "doctor")
    client.post(
        "/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a-much-better-one",
            "confirm": "a-much-better-one",
        },
    )
    client.post("/logout")
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [row.action for row in rows] == ["login_failed", "login", "password_change", "logout"]
    failed = rows[0]
    assert failed.username == "doctor" and failed.user_id is None
    assert failed.detail == '{"reason": "bad_credentials"}' and failed.address
    assert {row.user_id for row in rows[1:]} == {world.users["doctor"].id}
    assert rows[1].role == "doctor"
    for row in rows:  # no password, wrong or right, in any column
        text = " ".join(str(value) for value in vars(row).values())
        assert "my-secret-typo-1" not in text and TEST_PASSWORD not in text
        assert "a-much-better-one" not in text


def test_a_failed_login_is_audited_although_the_login_fails(client, world):
    page = client.post("/login", data={"username": "nobody-at-all", "password": "whatever-1"})
    assert page.status_code == 200  # the request committed: its rows stay
    (row,) = db.session.scalars(select(AuditEvent)).all()
    assert row.action == "login_failed" and row.username == "nobody-at-all"


def test_new_passwords_must_not_be_common(client, world):
    login(client, "doctor")
    client.get("/language/en")
    for weak in ("woaini1314", "Password123", "1234567890", "QWERTYUIOP"):
        page = client.post(
            "/password",
            data={"current_password": TEST_PASSWORD, "new_password": weak, "confirm": weak},
        )
        assert "too common" in page.get_data(as_text=True), weak


def test_password_problems_for_the_roster_import():
    from wellbeing.security.passwords import common_passwords, password_problems

    assert len(common_passwords()) > 5000
    assert {"123456", "5201314", "woaini1314", "iloveyou", "qwerty", "111111"} <= common_passwords()
    assert password_problems("a-much-better-one", "doctor", 10) == []
    assert len(password_problems("short", "doctor", 10)) == 1
    assert len(password_problems("Doctor", "doctor", 3)) == 1
    assert len(password_problems("A123456789", "doctor", 10)) == 1
    assert len(password_problems("qwerty", "doctor", 10)) == 2


# Security headers


def test_pages_carry_a_strict_content_security_policy(client, world):
    for response in (client.get("/login"), client.get("/no-such-page")):
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers
    static = client.get("/static/wellbeing.css")
    assert static.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_https_deployments_get_strict_transport_security(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert client.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"


# The one way a template may load script: a file of this site, served from static/.
OWN_SCRIPT = re.compile(
    r"""<script src="\{\{ url_for\('static', filename='[\w-]+\.js'\) \}\}" defer></script>"""
)


def test_no_template_has_inline_script_or_style():
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = OWN_SCRIPT.sub("", template.read_text(encoding="utf-8"))
        if re.search(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", text, re.I):
            offending.append(str(template))
    assert offending == []


# Rate limits


@pytest.fixture
def rate_limits(app, monkeypatch):
    """Rate limits on, as in production (they are off under TESTING), from a clean slate."""
    monkeypatch.setitem(app.config, "RATE_LIMITS_IN_TESTS", True)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_login_posts_beyond_the_rate_limit_get_429_in_chinese(client, world, rate_limits):
    def attempt(address):
        return client.post(
            "/login",
            data={"username": "doctor", "password": "wrong-password-1"},
            environ_base={"REMOTE_ADDR": address},
        )

    assert [attempt("10.7.7.7").status_code for _ in range(3)] == [200, 200, 200]
    response = attempt("10.7.7.7")
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert 'lang="zh-CN"' in page and "尝试次数过多" in page
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    # Showing the form is not limited, nor is another address.
    assert client.get("/login", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 200
    assert attempt("10.7.7.8").status_code == 200


def test_the_second_factor_steps_share_the_login_budget(client, world, rate_limits):
    for _ in range(3):
        client.post("/login", data={"username": "counselor", "password": TEST_PASSWORD})
    assert client.post("/login/enrol", data={"code": "123456"}).status_code == 429


def test_access_code_limit_counts_refused_codes_only(tmp_path):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/limits.sqlite",
            "ENVIRONMENT": "test",
            "TESTING": True,
            "RATE_LIMITS_IN_TESTS": True,
            "ACCESS_CODE_RATE_LIMIT": "2 per minute",
            "WTF_CSRF_ENABLED": False,
        }
    )

    @app.route("/try-code", methods=["GET", "POST"])
    @public
    def try_code():
        from flask import request

        if request.method == "GET":
            return "ok"
        check_code_ceiling()
        if request.form.get("code") == "right":
            return "ok"
        count_refused_code()
        return "refused", 400

    limiter.reset()
    client = app.test_client()
    # Accepted codes never count (a computer room shares one address); refused ones do.
    assert [client.post("/try-code", data={"code": "right"}).status_code for _ in range(5)] == [
        200
    ] * 5
    assert [client.post("/try-code").status_code for _ in range(3)] == [400, 400, 429]
    assert client.get("/try-code").status_code == 200
    assert client.post("/try-code", data={"code": "right"}).status_code == 200  # still
    limiter.reset()


def test_rate_limits_are_off_under_testing_unless_asked(client, world):
    statuses = {
        client.post(
            "/login", data={"username": "doctor", "password": "wrong-password-1"}
        ).status_code
        for _ in range(25)
    }
    assert statuses == {200}
