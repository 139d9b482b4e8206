"""Login: lockout per account name, throttling per address, every attempt recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security.models import AccountLock, LoginAttempt
from wellbeing.security.passwords import hash_password, verify_password

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    # "ok", "bad_credentials", "locked" (the name), "throttled" (the address)
    outcome: str


def _failures_since(column: Any, value: str, minutes: int) -> int:
    since = utcnow() - timedelta(minutes=minutes)
    return db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.reason == "bad_credentials", LoginAttempt.at >= since)
    )


def _record(username: str, address: str, success: bool, reason: str) -> None:
    db.session.add(
        LoginAttempt(
            at=utcnow(), username=username, address=address, success=success, reason=reason
        )
    )
    if not success:
        log.warning("login failed: user=%r address=%s reason=%s", username, address, reason)


def authenticate(username: str, password: str, address: str, config: dict) -> LoginResult:
    """Check a login. Unknown names are treated exactly like wrong passwords,
    and are locked the same way, so no answer reveals whether an account exists."""
    username = username.strip()
    now = utcnow()
    if (
        _failures_since(LoginAttempt.address, address, config["ADDRESS_WINDOW_MINUTES"])
        >= (config["ADDRESS_FAILURES"])
    ):
        _record(username, address, False, "throttled")
        return LoginResult(None, "throttled")
    lock = db.session.get(AccountLock, username)
    if lock is not None and lock.locked_until > now:
        _record(username, address, False, "locked")
        return LoginResult(None, "locked")
    user = db.session.scalar(select(User).where(User.username == username))
    if verify_password(user.password_hash if user else None, password) and user.active:
        _record(username, address, True, "ok")
        return LoginResult(user, "ok")
    _record(username, address, False, "bad_credentials")
    db.session.flush()
    failures = _failures_since(LoginAttempt.username, username, config["LOCKOUT_WINDOW_MINUTES"])
    if failures >= config["LOCKOUT_FAILURES"]:
        until = now + timedelta(minutes=config["LOCKOUT_MINUTES"])
        if lock is None:
            db.session.add(AccountLock(username=username, locked_until=until))
        else:
            lock.locked_until = until
        log.warning("account name locked until %s: %r", until.isoformat(), username)
    return LoginResult(None, "bad_credentials")


def change_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
