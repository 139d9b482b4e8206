"""The second factor: admins and counselors enrol a TOTP app on first login (a QR code
drawn on the server, the secret sealed), then log in with a code good once, or with a
one-time recovery code; wrong codes count toward the account lockout."""

from __future__ import annotations

import hashlib
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from wellbeing.extensions import db
from wellbeing.security import totp
from wellbeing.security.models import AccountLock, AuditEvent, LoginAttempt, RecoveryCode

# A fixed clock for codes: the start of a 30-second step, so +-30 s are whole steps.
T0 = 1_900_000_020.0
WRONG_CODE = "The code is wrong or has already been used."


@pytest.fixture
def clock(monkeypatch):
    """The TOTP clock, settable: clock.now = ..."""

    class Clock:
        now = T0

    monkeypatch.setattr(totp, "_now", lambda: Clock.now)
    return Clock


def _english(client):
    client.get("/language/en")


def _password(client, username="counselor", url="/login"):
    return client.post(url, data={"username": username, "password": TEST_PASSWORD})


def _secret(page: str) -> str:
    return re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def _codes(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)


def _enrol(client, clock, username="counselor"):
    """Log in with the password and enrol: the secret and the recovery codes."""
    assert _password(client, username).headers["Location"] == "/login/enrol"
    secret = _secret(client.get("/login/enrol").get_data(as_text=True))
    page = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).at(clock.now)})
    assert page.status_code == 200
    return secret, _codes(page.get_data(as_text=True))


def _events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("username", ["admin", "counselor"])
def test_admins_and_counselors_are_not_logged_in_by_the_password_alone(client, world, username):
    response = _password(client, username)
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    assert client.get("/home").headers["Location"].startswith("/login")
    assert _events("login") == []


@pytest.mark.parametrize("username", ["monitor", "doctor", "teacher", "committee", "student"])
def test_other_roles_log_in_with_the_password_alone(client, world, username):
    assert _password(client, username).headers["Location"] == "/home"
    assert client.get("/home").status_code == 200


def test_required_roles_are_a_setting(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ["doctor"])
    assert _password(client, "counselor").headers["Location"] == "/home"
    client.post("/logout")
    assert _password(client, "doctor").headers["Location"] == "/login/enrol"


def test_enrolment_page_draws_the_qr_code_on_the_server_and_seals_the_secret(client, world, clock):
    _password(client)
    response = client.get("/login/enrol")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'class="qr-code"' in svg and "<path" in svg
    assert "style=" not in page and "<script" not in page and "http" not in svg
    secret = _secret(page)
    assert len(secret) == 32
    factor = totp.factor_for(world.users["counselor"])
    assert factor.secret == secret and factor.enabled_at is None
    assert secret.encode() not in factor.secret_sealed
    # A reload shows the same secret (the phone may have scanned it already) ...
    assert _secret(client.get("/login/enrol").get_data(as_text=True)) == secret
    # ... a new login starts over with a fresh one.
    _password(client)
    assert _secret(client.get("/login/enrol").get_data(as_text=True)) != secret


def test_provisioning_uri_names_the_issuer_and_the_account():
    secret = pyotp.random_base32()
    uri = totp.provisioning_uri(secret, "counselor", "江阳区学生心理健康")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri and "counselor" in uri and "issuer=" in uri


def test_enrolment_confirmed_by_a_code_shows_ten_recovery_codes_once(client, world, clock):
    _, codes = _enrol(client, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/home").status_code == 200  # logged in now
    user = world.users["counselor"]
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert sorted(row.code_hash for row in stored) == sorted(
        hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes
    )
    factor = totp.factor_for(user)
    assert factor.enabled_at is not None and factor.last_step == int(T0 // 30)
    (enrol,) = _events("totp_enrol")
    (login,) = _events("login")
    assert enrol.user_id == login.user_id == user.id
    assert login.detail == '{"second_factor": "totp"}'
    # The codes appear in no stored column, and the next page does not show them again.
    for row in db.session.scalars(select(AuditEvent)):
        assert not any(code in str(row.detail) for code in codes)
    assert codes[0] not in client.get("/home").get_data(as_text=True)


def test_a_wrong_enrolment_code_is_refused_and_counted(client, world, clock):
    _english(client)
    _password(client)
    secret = _secret(client.get("/login/enrol").get_data(as_text=True))
    wrong = pyotp.TOTP(secret).at(clock.now - 300)
    page = client.post("/login/enrol", data={"code": wrong})
    assert page.status_code == 200 and WRONG_CODE in page.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    assert totp.factor_for(world.users["counselor"]).enabled_at is None
    attempt = db.session.scalars(
        select(LoginAttempt).where(LoginAttempt.reason == "bad_code")
    ).one()
    assert attempt.username == "counselor" and not attempt.success
    (failed,) = _events("totp_failed")
    assert failed.user_id == world.users["counselor"].id


def test_an_enrolled_user_logs_in_with_a_code_that_is_good_once(client, world, clock):
    _english(client)
    secret, _codes = _enrol(client, clock)
    client.post("/logout")
    assert _password(client).headers["Location"] == "/login/code"
    assert client.get("/home").status_code == 302
    clock.now += 30
    code = pyotp.TOTP(secret).at(clock.now)
    response = client.post("/login/code", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    client.post("/logout")
    # The same code again (a shoulder-surfer, a replay) is refused, within its window.
    _password(client)
    page = client.post("/login/code", data={"code": code})
    assert page.status_code == 200 and WRONG_CODE in page.get_data(as_text=True)
    assert client.get("/home").status_code == 302


def test_codes_are_accepted_one_step_either_side():
    secret = pyotp.random_base32()
    otp = pyotp.TOTP(secret)
    step = int(T0 // 30)
    for offset, accepted in [(-60, False), (-30, True), (0, True), (30, True), (60, False)]:
        found = totp.matching_step(secret, otp.at(T0 + offset), None, T0)
        assert (found == step + offset // 30) if accepted else found is None, offset
    # Only steps after the last one used.
    assert totp.matching_step(secret, otp.at(T0 - 30), step, T0) is None
    assert totp.matching_step(secret, otp.at(T0 + 30), step, T0) == step + 1
    assert totp.matching_step(secret, "12345", None, T0) is None
    assert totp.matching_step(secret, otp.at(T0)[:3] + " " + otp.at(T0)[3:], None, T0) == step


def test_two_requests_with_one_code_cannot_both_pass(client, world, clock):
    secret, _codes = _enrol(client, clock)
    user = world.users["counselor"]
    code = pyotp.TOTP(secret).at(clock.now + 30)
    assert totp.verify_totp(user, code) is True
    assert totp.verify_totp(user, code) is False


def test_a_recovery_code_logs_in_once(client, world, clock):
    _english(client)
    _, codes = _enrol(client, clock)
    client.post("/logout")
    _password(client)
    typed = codes[3].upper().replace("-", " ")  # as a person might type it
    response = client.post("/login/code", data={"code": typed})
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    user = world.users["counselor"]
    assert totp.remaining_recovery_codes(user) == 9
    (used,) = _events("recovery_code_used")
    assert used.user_id == user.id and used.detail == '{"remaining": 9}'
    assert _events("login")[-1].detail == '{"second_factor": "recovery_code"}'
    client.post("/logout")
    _password(client)
    page = client.post("/login/code", data={"code": codes[3]})
    assert WRONG_CODE in page.get_data(as_text=True)
    assert client.get("/home").status_code == 302


def test_wrong_codes_count_toward_the_lockout_with_wrong_passwords(client, world, clock):
    _english(client)
    _enrol(client, clock)
    client.post("/logout")
    for _ in range(2):
        client.post("/login", data={"username": "counselor", "password": "not-it-at-all"})
    _password(client)
    for _ in range(2):
        page = client.post("/login/code", data={"code": "000000"})
        assert WRONG_CODE in page.get_data(as_text=True)
    # The fifth failure in fifteen minutes locks the name and ends the pending login.
    response = client.post("/login/code", data={"code": "not-a-recovery-code"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert db.session.get(AccountLock, "counselor") is not None
    assert "Try again in 30 minutes" in client.get("/login").get_data(as_text=True)
    assert client.get("/login/code").headers["Location"] == "/login"
    page = client.post(
        "/login", data={"username": "counselor", "password": TEST_PASSWORD}
    ).get_data(as_text=True)
    assert "Try again in 30 minutes" in page
    assert len(_events("totp_failed")) == 3 and len(_events("login_failed")) == 3


def test_a_locked_name_cannot_pass_the_second_step(client, world, clock):
    secret, _codes = _enrol(client, clock)
    client.post("/logout")
    _password(client)
    db.session.add(AccountLock(username="counselor", locked_until=totp.utcnow().replace(year=2999)))
    db.session.flush()
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).at(clock.now + 30)})
    assert response.headers["Location"] == "/login"
    assert client.get("/home").status_code == 302


def test_a_pending_login_expires_after_five_minutes(client, world, clock):
    _english(client)
    _password(client)
    with client.session_transaction() as session:
        session["pending_login"] = {**session["pending_login"], "at": time.time() - 5 * 60 - 1}
    response = client.post("/login/enrol", data={"code": "123456"})
    assert response.headers["Location"] == "/login"
    assert "Your login has expired" in client.get("/login").get_data(as_text=True)
    assert client.get("/login/enrol").headers["Location"] == "/login"


def test_second_factor_pages_need_a_pending_login(client, world):
    for url in ("/login/code", "/login/enrol"):
        assert client.get(url).headers["Location"] == "/login"
        assert client.post(url, data={"code": "123456"}).headers["Location"] == "/login"
    _password(client, "doctor")
    for url in ("/login/code", "/login/enrol"):
        assert client.get(url).headers["Location"] == "/home"


def test_an_enrolled_user_cannot_enrol_again_with_the_password(client, world, clock):
    secret, _codes = _enrol(client, clock)
    client.post("/logout")
    _password(client)
    assert client.get("/login/enrol").headers["Location"] == "/login/code"
    assert client.post("/login/enrol", data={"code": "123456"}).headers["Location"] == (
        "/login/code"
    )
    assert totp.factor_for(world.users["counselor"]).secret == secret
    with pytest.raises(totp.AlreadyEnrolled):
        totp.begin_enrolment(world.users["counselor"])


def test_an_unenrolled_user_at_the_code_step_is_sent_to_enrol(client, world):
    _password(client)
    assert client.get("/login/code").headers["Location"] == "/login/enrol"


def test_the_next_page_survives_the_second_step(client, world, clock):
    secret, _codes = _enrol(client, clock)
    client.post("/logout")
    school = f"/schools/{world.schools['A'].id}"
    response = _password(client, url=f"/login?next={school}")
    assert response.headers["Location"] == "/login/code"
    clock.now += 30
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).at(clock.now)})
    assert response.headers["Location"] == school


def test_a_reset_factor_is_enrolled_again(client, world, clock):
    _enrol(client, clock)
    client.post("/logout")
    totp.reset(world.users["counselor"])
    assert totp.remaining_recovery_codes(world.users["counselor"]) == 0
    assert _password(client).headers["Location"] == "/login/enrol"
