"""Login attempts and locks: the memory behind the lockout and throttling rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.extensions import db


class LoginAttempt(db.Model):
    """Every login attempt, kept by the name typed (whether or not such a user exists)."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(20))


class AccountLock(db.Model):
    """A name locked after too many failures; kept for unknown names too, so a lock
    reveals nothing about whether the account exists."""

    __tablename__ = "account_lock"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(DateTime)
