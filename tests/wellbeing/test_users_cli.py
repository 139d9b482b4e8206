"""`wellbeing users`: repairs an administrator makes from the shell."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from wellbeing.extensions import db
from wellbeing.security import totp
from wellbeing.security.models import AuditEvent, SecondFactor
from wellbeing.security.passwords import verify_password
from wellbeing.security.users_cli import users_group


def _run(app, *args):
    if "users" not in app.cli.commands:
        app.cli.add_command(users_group)
    return app.test_cli_runner().invoke(args=["users", *args])


def test_reset_second_factor_lets_the_user_enrol_again(app, client, world):
    counselor = world.users["counselor"]
    totp.begin_enrolment(counselor)
    factor = db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == counselor.id))
    factor.enabled_at = factor.created_at
    db.session.flush()
    version = counselor.session_version
    result = _run(app, "reset-second-factor", "counselor")
    assert result.exit_code == 0, result.output
    assert not totp.is_enrolled(counselor)
    db.session.refresh(counselor)
    assert counselor.session_version == version + 1
    response = client.post("/login", data={"username": "counselor", "password": TEST_PASSWORD})
    assert response.headers["Location"].startswith("/login/enrol")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "totp_reset")).one()
    assert event.username.startswith("cli:") and event.target_id == str(counselor.id)


def test_set_password_prints_a_one_time_password(app, world):
    result = _run(app, "set-password", "doctor")
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password (\S+)", result.output).group(1)
    doctor = world.users["doctor"]
    db.session.refresh(doctor)
    assert verify_password(doctor.password_hash, password) and doctor.must_change_password
    assert not verify_password(doctor.password_hash, TEST_PASSWORD)


def test_unknown_user_is_refused(app, world):
    result = _run(app, "set-password", "nobody")
    assert result.exit_code != 0 and "no user named" in result.output
