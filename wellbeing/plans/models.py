"""The 一生一策 growth file's tables: the plan and its versions, the guardian contact log,
attachments, referrals to partner hospitals, transfers and leaving packages; and the
district's list of partner hospitals.

The file is the most sensitive record in the system. Everything with personal content is
sealed: whom a plan is about, every version's text, the contacts, the attachments (bytes
and names), the referral sheets and the hospitals' feedback, the handover notes, the
close reasons. What stays in clear says where, when and in what state, never whom or
what: a plan's school (its scope: who may read it), status and dates (the district's
counts, the retention rule, the sweeps); a version's number, author, time and signature
time; a referral's hospital, state and state time (the SLA sweep reads them without
opening anything); an attachment's type and size (checked and shown before opening).
A plan row says that some student of a school has a file, not which one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
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
from wellbeing.plans import vocabulary as v
from wellbeing.roster.models import District, School, User
from wellbeing.security.crypto import EncryptedBytes, EncryptedJSON
from wellbeing.security.fields import Encrypted, SealedField, record_uid


def _in(column: str, values: tuple[str, ...] | dict) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Hospital(db.Model):
    """A partner hospital of the district's green channel (administrators keep the list).
    No student in it: in clear."""

    __tablename__ = "hospital"
    __table_args__ = (UniqueConstraint("district_id", "name", "department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    department: Mapped[str] = mapped_column(String(120), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")  # person, phone, address
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    district: Mapped[District] = relationship()


class GrowthPlan(db.Model):
    """A student's 一生一策 file. The current text is the newest version's; `subject` says
    whom it is about and what it was opened from."""

    __tablename__ = "growth_plan"
    __table_args__ = (
        CheckConstraint(_in("status", v.STATUSES), name="status"),
        Index("ix_growth_plan_school_status", "school_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    # {"student_id": ..., "source": FROM_*, "source_id": ...}
    subject_sealed: Mapped[bytes] = mapped_column("subject", EncryptedJSON)
    subject = Encrypted("subject_sealed")
    status: Mapped[str] = mapped_column(String(12), default=v.ACTIVE)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the newest version's number
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    close_reason: Mapped[str | None] = mapped_column(String(20))  # CLOSE_REASONS
    # {"text": ...}: the counselor's words on closing.
    closing_sealed: Mapped[bytes | None] = mapped_column("closing", EncryptedJSON)
    closing = Encrypted("closing_sealed")

    student_id = SealedField("subject", "student_id")
    source = SealedField("subject", "source")
    source_id = SealedField("subject", "source_id")

    school: Mapped[School] = relationship()
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])


class PlanVersion(db.Model):
    """One version of a plan: each change is an amendment (a new version) with its author
    and time. `body` is the whole plan as of this version:

        {"summary": str, "strengths": str, "risk_factors": str,
         "goals": [str, ...],
         "measures": [{"owner": MEASURE_OWNERS, "who": str, "what": str, "how_often": str}],
         "responsible": {"counselor_id": int, "head_teacher_id": int | None,
                         "guardian": str},
         "review_dates": ["YYYY-MM-DD", ...],
         "change": str}            # what this amendment changed, in the author's words

    A version signed at a review meeting is locked: `signed_at` and `signed_by_id` are
    set, `meeting` holds {"date": ..., "attendees": str, "digest": sha256 of the body}, and
    it never changes again (a later change is a new version)."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body_sealed: Mapped[bytes] = mapped_column("body", EncryptedJSON)
    body = Encrypted("body_sealed")
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    meeting_sealed: Mapped[bytes | None] = mapped_column("meeting", EncryptedJSON)
    meeting = Encrypted("meeting_sealed")

    plan: Mapped[GrowthPlan] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])


class GuardianContact(db.Model):
    """One entry of a plan's guardian contact log. `body`:
    {"contacted_on": "YYYY-MM-DD", "who": str, "method": CONTACT_METHODS,
     "agreed": str}."""

    __tablename__ = "guardian_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body_sealed: Mapped[bytes] = mapped_column("body", EncryptedJSON)
    body = Encrypted("body_sealed")

    author: Mapped[User] = relationship()


class PlanAttachment(db.Model):
    """A PDF or an image filed in a plan: its bytes sealed (the AEAD tag makes a changed
    byte fail to open), its name and SHA-256 sealed beside them ({"filename", "sha256",
    "title"}). Never on disk, never under a public path: read only through the plan's
    audited download route."""

    __tablename__ = "plan_attachment"
    __table_args__ = (CheckConstraint(_in("kind", v.ATTACHMENT_TYPES), name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    meta_sealed: Mapped[bytes] = mapped_column("meta", EncryptedJSON)
    meta = Encrypted("meta_sealed")
    content_sealed: Mapped[bytes] = mapped_column("content", EncryptedBytes)
    content = Encrypted("content_sealed")

    uploaded_by: Mapped[User] = relationship()


class Referral(db.Model):
    """A referral to a partner hospital. `sheet` is the minimum-necessary referral sheet
    ({"reason": str, "urgency": str, "observations": str, "contact": str,
    "consent": str}); `history` the dated states ([{"state", "on": "YYYY-MM-DD",
    "by": user id, "note": str}]); `feedback` the hospital's feedback ({"text", "on"}),
    also filed into the plan's timeline. `state` and `state_since` stay in clear for the
    SLA sweep; `follow_up_id` is the open follow-up that chases it, if any."""

    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint(_in("state", v.REFERRAL_STATES), name="state"),
        Index("ix_referral_state_since", "state", "state_since"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default=v.SENT)
    state_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    sheet_sealed: Mapped[bytes] = mapped_column("sheet", EncryptedJSON)
    sheet = Encrypted("sheet_sealed")
    history_sealed: Mapped[bytes] = mapped_column("history", EncryptedJSON)
    history = Encrypted("history_sealed")
    feedback_sealed: Mapped[bytes | None] = mapped_column("feedback", EncryptedJSON)
    feedback = Encrypted("feedback_sealed")

    plan: Mapped[GrowthPlan] = relationship()
    hospital: Mapped[Hospital] = relationship()
    created_by: Mapped[User] = relationship()


class PlanTransfer(db.Model):
    """A plan's move to another school of the district, or its student's leaving the
    district. `note` is the handover note ({"text": ...}); the schools stay in clear
    (the compliance pack counts transfers)."""

    __tablename__ = "plan_transfer"
    __table_args__ = (CheckConstraint(_in("kind", v.TRANSFER_KINDS), name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    to_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note_sealed: Mapped[bytes] = mapped_column("note", EncryptedJSON)
    note = Encrypted("note_sealed")


class PlanPackage(db.Model):
    """The encrypted export package made when a student leaves the district: an AES-256
    ZIP whose password is shown once, to the counselor who made it, to be delivered
    separately. The package is kept sealed here until its maker downloads it (once) or it
    expires; then `content` is emptied and only the row (who, when) stays."""

    __tablename__ = "plan_package"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    plan_id: Mapped[int] = mapped_column(ForeignKey("growth_plan.id"), index=True)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    downloaded_at: Mapped[datetime | None] = mapped_column(DateTime)
    content_sealed: Mapped[bytes | None] = mapped_column("content", EncryptedBytes)
    content = Encrypted("content_sealed")


def plan_day(value: str) -> date:
    """A date kept inside a sealed document ("YYYY-MM-DD")."""
    return date.fromisoformat(value)
