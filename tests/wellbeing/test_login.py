"""Login, lockout, throttling, idle timeout, first-login password change, CSRF."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD, login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.models import AccountLock, LoginAttempt

WRONG = "user name or password is wrong"


def _post_login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        follow_redirects=True,
    )


def _english(client):
    client.get("/language/en")


def test_login_and_logout(client, world):
    # A doctor needs no second factor (see test_totp.py for admins and counselors).
    response = client.post("/login", data={"username": "doctor", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302


def test_failed_login_says_nothing_about_existence(client, world):
    _english(client)
    unknown = _post_login(client, "nobody-here", "whatever-password").get_data(as_text=True)
    known = _post_login(client, "counselor", "whatever-password").get_data(as_text=True)
    assert WRONG in unknown and WRONG in known


def test_lockout_after_five_failures_in_fifteen_minutes(client, world, monkeypatch, caplog):
    _english(client)
    caplog.set_level(logging.WARNING, logger="wellbeing.security.services")
    for _ in range(5):
        _post_login(client, "counselor", "wrong-password-1")
    page = _post_login(client, "counselor", TEST_PASSWORD).get_data(as_text=True)
    assert "Try again in 30 minutes" in page
    assert client.get("/home").status_code == 302  # the right password did not get in
    failures = db.session.scalars(
        select(LoginAttempt).where(LoginAttempt.username == "counselor")
    ).all()
    assert [a.success for a in failures] == [False] * 6
    assert sum("login failed" in r.message for r in caplog.records) == 6
    # 31 minutes later the lock has passed.
    later = utcnow() + timedelta(minutes=31)
    monkeypatch.setattr("wellbeing.security.services.utcnow", lambda: later)
    response = client.post("/login", data={"username": "counselor", "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_unknown_names_lock_the_same_way(client, world):
    _english(client)
    for _ in range(5):
        _post_login(client, "ghost", "wrong-password-1")
    page = _post_login(client, "ghost", "wrong-password-1").get_data(as_text=True)
    assert "Try again in 30 minutes" in page
    assert db.session.get(AccountLock, "ghost") is not None


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, world, monkeypatch):
    start = utcnow()
    for minute in (0, 5, 10, 16):
        moment = start + timedelta(minutes=minute)
        monkeypatch.setattr("wellbeing.security.services.utcnow", lambda m=moment: m)
        _post_login(client, "counselor", "wrong-password-1")
    moment = start + timedelta(minutes=17)
    monkeypatch.setattr("wellbeing.security.services.utcnow", lambda: moment)
    _post_login(client, "counselor", "wrong-password-1")
    assert db.session.get(AccountLock, "counselor") is None


def test_address_throttle_is_higher_than_account_lockout(app, client, world, monkeypatch):
    """Staff behind one NAT address: many users' single mistakes do not throttle
    the school; a flood of failures from one address does."""
    monkeypatch.setitem(app.config, "ADDRESS_FAILURES", 12)
    for n in range(11):
        _post_login(client, f"colleague{n}", "wrong-password-1", address="10.9.9.9")
    response = client.post(
        "/login",
        data={"username": "doctor", "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 302  # 11 failures: still below the address limit
    client.post("/logout")
    _post_login(client, "colleague-x", "wrong-password-1", address="10.9.9.9")
    _english(client)
    page = _post_login(client, "doctor", TEST_PASSWORD, address="10.9.9.9")
    assert "from this address" in page.get_data(as_text=True)
    # Another address is unaffected.
    assert _post_login(client, "doctor", TEST_PASSWORD, address="10.9.9.10").request.path == "/home"


def test_idle_timeout_logs_out(client, world):
    login(client, "counselor")
    assert client.get("/home").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] -= 31 * 60
    response = client.get("/home")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/home").status_code == 302


def test_activity_keeps_the_session(client, world):
    login(client, "counselor")
    with client.session_transaction() as session:
        session["last_seen"] -= 29 * 60
    assert client.get("/home").status_code == 200


def test_imported_staff_must_change_password_first(client, world):
    world.users["doctor"].must_change_password = True
    db.session.flush()
    login(client, "doctor")
    response = client.get(f"/schools/{world.schools['A'].id}")
    assert response.status_code == 302 and response.headers["Location"] == "/password"
    _english(client)
    short = client.post(
        "/password",
        data={"current_password": TEST_PASSWORD, "new_password": "short", "confirm": "short"},
    )
    assert "At least 10 characters" in short.get_data(as_text=True)
    same_as_name = client.post(
        "/password",
        data={"current_password": TEST_PASSWORD, "new_password": "Doctor", "confirm": "Doctor"},
    )
    assert same_as_name.status_code == 200
    done = client.post(
        "/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a-much-better-one",
            "confirm": "a-much-better-one",
        },
    )
    assert done.status_code == 302
    assert client.get(f"/schools/{world.schools['A'].id}").status_code == 200
    client.post("/logout")
    assert _post_login(client, "doctor", "a-much-better-one").request.path == "/home"


def test_wrong_current_password_is_refused(client, world):
    login(client, "doctor")
    response = client.post(
        "/password",
        data={"current_password": "not-it-at-all", "new_password": "x" * 12, "confirm": "x" * 12},
    )
    assert response.status_code == 200
    client.post("/logout")
    login(client, "doctor")  # the old password still works


def test_inactive_user_cannot_log_in(client, world):
    world.users["doctor"].active = False
    db.session.flush()
    assert (
        client.post("/login", data={"username": "doctor", "password": TEST_PASSWORD}).status_code
        == 200
    )


def test_next_parameter_only_redirects_locally(client, world):
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": "doctor", "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == "/home"


@pytest.fixture
def csrf_client(app, db_session):
    app.config["WTF_CSRF_ENABLED"] = True
    yield app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False


def test_forms_refuse_posts_without_csrf_token(csrf_client, world):
    response = csrf_client.post("/login", data={"username": "counselor", "password": TEST_PASSWORD})
    assert response.status_code == 400
    page = csrf_client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
