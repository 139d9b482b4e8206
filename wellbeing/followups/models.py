"""Follow-ups and the SLA ladder's events.

Who a follow-up is about and what it came from are sealed, with its outcome: a backup
shows that a school has an interview due on Tuesday for someone, not for whom. The school,
kind, priority, assignee, due time and status stay in clear: the sweep reads them for
100,000 rows a minute without opening any, and the district's SLA figures count them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.roster.models import School, User
from wellbeing.security.crypto import EncryptedJSON, EncryptedText
from wellbeing.security.fields import Encrypted, SealedField, record_uid


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class FollowUp(db.Model):
    __tablename__ = "follow_up"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(v.KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(v.STATUSES)})", name="status"),
        CheckConstraint(f"priority IN ({_in(v.PRIORITIES)})", name="priority"),
        CheckConstraint(f"source IN ({_in(v.SOURCES)})", name="source"),
        CheckConstraint("recurrence_days IS NULL OR recurrence_days > 0", name="recurrence"),
        # The sweep: open follow-ups by due time.
        Index("ix_follow_up_status_due", "status", "due_at"),
        Index("ix_follow_up_assignee_status_due", "assignee_id", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    # {"student_id": ..., "source_id": ...}: whom it is about, and the alert, decision,
    # plan or observation it came from.
    subject_sealed: Mapped[bytes] = mapped_column("subject", EncryptedJSON)
    subject = Encrypted("subject_sealed")
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default=v.OPEN)
    # Repeat every so many days until closed without a next one (None: once).
    recurrence_days: Mapped[int | None] = mapped_column(Integer)
    # The follow-up this one repeats.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    outcome_sealed: Mapped[bytes | None] = mapped_column("outcome", EncryptedText)
    outcome = Encrypted("outcome_sealed")
    # The ladder: when the assignee was reminded, and how far it has been escalated
    # (0 not, 1 the school's leaders, 2 the district).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)

    student_id = SealedField("subject", "student_id")
    source_id = SealedField("subject", "source_id")

    school: Mapped[School] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


class SlaEvent(db.Model):
    """One step of the SLA ladder, with its time: an alert acknowledged, a follow-up's
    assignee reminded, escalated to the school's leaders or the district, completed. One
    row per step and deadline, so a sweep repeated after a crash records nothing twice.
    It names the alert or follow-up, never the student."""

    __tablename__ = "sla_event"
    __table_args__ = (
        CheckConstraint(f"subject IN ({_in(v.SUBJECTS)})", name="subject"),
        CheckConstraint(f"step IN ({_in(v.STEPS)})", name="step"),
        UniqueConstraint("subject", "subject_id", "step", "due_at", name="uq_sla_event_step"),
        Index("ix_sla_event_school_at", "school_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    step: Mapped[str] = mapped_column(String(20))
    # The deadline the step concerns (the SLA's), and when the step happened.
    due_at: Mapped[datetime] = mapped_column(DateTime)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Who acknowledged or completed (None for the sweep's own steps).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
