"""Login: lockout per account name, throttling per address, every attempt recorded and
audited; the second-factor step; sessions that the server can revoke.

A session holds the user's session_version at login; logout and a password change raise
the version, so every older session (a copied or replayed cookie too) is refused by the
user loader. A session also ends SESSION_LIFETIME_HOURS after login, however active.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, session
from flask_login import login_user
from sqlalchemy import func, select, text

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security import totp
from wellbeing.security.audit import record_event
from wellbeing.security.models import AccountLock, LoginAttempt
from wellbeing.security.passwords import hash_password, verify_password

log = logging.getLogger(__name__)


def name_tag(username: str) -> str:
    """A short tag for a typed user name in logs: the name itself may be a password typed
    in the wrong box. The audit trail, not the log, keeps the name."""
    return hashlib.sha256(username.encode("utf-8")).hexdigest()[:10]


# Failures that count toward the lockout and the address throttle: wrong passwords and
# wrong second-factor codes alike.
FAILURE_REASONS = ("bad_credentials", "bad_code")
# What a fresh session keeps from the one before login or logout.
_KEPT_ACROSS_LOGIN = ("language",)
# The length of LoginAttempt.username and AuditEvent.username.
_NAME_LENGTH = 64


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
        .where(
            column == value,
            LoginAttempt.reason.in_(FAILURE_REASONS),
            LoginAttempt.at >= since,
        )
    )


def _record(username: str, address: str, success: bool, reason: str) -> None:
    db.session.add(
        LoginAttempt(
            at=utcnow(), username=username, address=address, success=success, reason=reason
        )
    )
    if not success:
        log.warning(
            "login failed: name #%s address=%s reason=%s", name_tag(username), address, reason
        )


def _audit_failure(username: str, reason: str) -> None:
    # The name as typed (it may name no account); never the password.
    record_event("login_failed", username=username, detail={"reason": reason})


def hold_name(username: str) -> None:
    """Serialise the attempts on one account name until this transaction ends, so that
    parallel guesses are counted one after another and cannot all slip under the limit.
    SQLite needs nothing more: its transactions begin IMMEDIATE (one writer at a time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": username}
        )


def is_locked(username: str) -> bool:
    """Whether the name is locked; also holds the name for the rest of the attempt (a
    second-factor code is checked and counted under the same hold)."""
    hold_name(username)
    lock = db.session.get(AccountLock, username)
    return lock is not None and lock.locked_until > utcnow()


def _lock_if_needed(username: str, config: Any) -> bool:
    """Lock the name after too many failures in the window; True if it is now locked."""
    db.session.flush()
    failures = _failures_since(LoginAttempt.username, username, config["LOCKOUT_WINDOW_MINUTES"])
    if failures < config["LOCKOUT_FAILURES"]:
        return False
    until = utcnow() + timedelta(minutes=config["LOCKOUT_MINUTES"])
    lock = db.session.get(AccountLock, username)
    if lock is None:
        db.session.add(AccountLock(username=username, locked_until=until))
    else:
        lock.locked_until = until
    log.warning("account name #%s locked until %s", name_tag(username), until.isoformat())
    return True


def authenticate(username: str, password: str, address: str, config: Any) -> LoginResult:
    """Check a login. Unknown names are treated exactly like wrong passwords,
    and are locked the same way, so no answer reveals whether an account exists."""
    username = username.strip()[:_NAME_LENGTH]
    hold_name(username)
    if (
        _failures_since(LoginAttempt.address, address, config["ADDRESS_WINDOW_MINUTES"])
        >= (config["ADDRESS_FAILURES"])
    ):
        _record(username, address, False, "throttled")
        _audit_failure(username, "throttled")
        return LoginResult(None, "throttled")
    if is_locked(username):
        _record(username, address, False, "locked")
        _audit_failure(username, "locked")
        return LoginResult(None, "locked")
    user = db.session.scalar(select(User).where(User.username == username))
    if verify_password(user.password_hash if user else None, password) and user.active:
        _record(username, address, True, "ok")
        return LoginResult(user, "ok")
    _record(username, address, False, "bad_credentials")
    _audit_failure(username, "bad_credentials")
    _lock_if_needed(username, config)
    return LoginResult(None, "bad_credentials")


def record_code_failure(user: User, address: str, kind: str, config: Any) -> bool:
    """A wrong second-factor code: counted like a wrong password. True if now locked."""
    _record(user.username, address, False, "bad_code")
    record_event("totp_failed", user=user, target=user, detail={"kind": kind})
    return _lock_if_needed(user.username, config)


def second_factor_required(user: User, config: Any) -> bool:
    return totp.required_for(user, config["TOTP_REQUIRED_ROLES"])


# Sessions. Flask's session is a signed cookie: it may name a user, never hold a secret.


def fresh_session() -> None:
    """Start a new session (against fixation), keeping only the language choice."""
    kept = {key: session[key] for key in _KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)


def begin_pending_login(user: User, next_url: str) -> None:
    """The password was right but a second factor is needed: remember who, for a while."""
    fresh_session()
    session["pending_login"] = {"user_id": user.id, "at": time.time(), "next": next_url}


def pending_user() -> User | None:
    """The user whose password was accepted, if that was recently enough."""
    pending = session.get("pending_login")
    if not pending:
        return None
    age = time.time() - pending.get("at", 0)
    user = db.session.get(User, pending.get("user_id", 0))
    if age > current_app.config["PENDING_LOGIN_MINUTES"] * 60 or user is None or not user.active:
        session.pop("pending_login", None)
        return None
    return user


def pending_value(key: str) -> Any:
    return (session.get("pending_login") or {}).get(key)


def set_pending_value(key: str, value: Any) -> None:
    pending = dict(session.get("pending_login") or {})
    pending[key] = value
    session["pending_login"] = pending


def complete_login(user: User, second_factor: str | None) -> str | None:
    """Log the user in; returns where a pending login was going, if anywhere."""
    next_url = pending_value("next")
    # The audit row first: if it cannot be written, the request fails before the
    # session says the user is logged in.
    record_event("login", user=user, detail={"second_factor": second_factor})
    fresh_session()
    login_user(user)
    session.permanent = True
    now = time.time()
    session["login_at"] = now
    session["last_seen"] = now
    session["session_version"] = user.session_version
    return next_url


def session_is_current(user: User) -> bool:
    """Whether this session was issued for the user's current session version and is
    younger than the absolute lifetime."""
    if session.get("session_version") != user.session_version:
        return False
    login_at = session.get("login_at")
    lifetime = current_app.config["SESSION_LIFETIME_HOURS"] * 3600
    return login_at is not None and time.time() - login_at <= lifetime


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user, unless the session was revoked or is too old."""
    user = db.session.get(User, int(user_id))
    if user is None or not session_is_current(user):
        fresh_session()
        return None
    return user


def _revoke_sessions(user: User) -> None:
    # An UPDATE of the expression, not a read-modify-write: two at once both count.
    user.session_version = User.session_version + 1
    db.session.flush()


def logout(user: User) -> None:
    """End every session of the user (this one and any copy of its cookie)."""
    _revoke_sessions(user)
    record_event("logout", user=user)


def change_password(user: User, new_password: str) -> None:
    """Set a new password; other sessions end, this one is carried over."""
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    _revoke_sessions(user)
    record_event("password_change", user=user, target=user)
    if session.get("_user_id") == str(user.id):
        session["session_version"] = user.session_version
