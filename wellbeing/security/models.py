"""Security records: login attempts and locks, the audit trail, second factors,
recovery codes and break-glass grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.crypto import EncryptedText
from wellbeing.security.fields import Encrypted, record_uid


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


class AuditEvent(db.Model):
    """One row of the append-only audit trail. `hash` chains each row to the one before:
    sha256 over this row's fields and the previous row's hash."""

    __tablename__ = "audit_event"
    # Who read one record (a 一生一策 file lists its readers): by target, newest first.
    __table_args__ = (Index("ix_audit_event_target", "target_type", "target_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(120))  # every role the user holds
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(String(80))
    request_id: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain's newest row and hash, in one row. Writers update it first, which takes
    the write lock, so two concurrent writers cannot fork the chain."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class SecondFactor(db.Model):
    """A user's TOTP secret (sealed) and when enrolment was confirmed."""

    __tablename__ = "second_factor"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    secret_sealed: Mapped[bytes] = mapped_column("secret", EncryptedText)
    secret = Encrypted("secret_sealed")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The last time step accepted: a code is good once.
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(db.Model):
    """A one-time code for when the authenticator is lost; only its hash is kept."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class BreakGlassGrant(db.Model):
    """A time-limited right to open one student's record outside one's scope."""

    __tablename__ = "break_glass_grant"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    # Sealed: a purpose says why a student's record was needed ("self-harm reported by ...").
    # Audit rows name the grant, never the purpose itself.
    purpose_sealed: Mapped[bytes] = mapped_column("purpose", EncryptedText)
    purpose = Encrypted("purpose_sealed")
    granted_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
