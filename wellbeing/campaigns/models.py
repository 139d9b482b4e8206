"""Screening campaigns: the battery, the population's schools, one ledger row (with its
access code) per target student, guardians' consent decisions, autosaved answers,
submitted responses with their scores and paper first entries (crisis alerts, raised
from a critical item, live in the review area).

Answers and what they say are counseling content, sealed at rest: draft answers,
submitted answers, paper entries, each response's score (total, band, critical flag,
subscales, validity reasons). Pages that list a
school's students open that school's rows; district figures are computed by services.
What stays in clear says where a student is in the process, not how they are (README.md,
"What is sealed")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.campaigns.vocabulary import (
    CONSENT_DECISIONS,
    CONSENT_METHODS,
    CONSENT_MODES,
    LEGAL_BASES,
    STATES,
)
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import District, School, Student, User
from wellbeing.security.crypto import EncryptedJSON, EncryptedText
from wellbeing.security.fields import Encrypted, SealedField, record_uid


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Campaign(db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(_in("consent_mode", CONSENT_MODES), name="consent_mode"),
        CheckConstraint(_in("legal_basis", LEGAL_BASES), name="legal_basis"),
        CheckConstraint("closes_at > opens_at", name="window"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    # The school that owns a school campaign; None for a district campaign.
    owner_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    name: Mapped[str] = mapped_column(String(100))
    # Grades of the population (within the campaign's schools), e.g. [7, 10].
    grades: Mapped[list[int]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    consent_mode: Mapped[str] = mapped_column(String(8))
    legal_basis: Mapped[str] = mapped_column(String(20))
    # The version of the notice (or consent form) guardians received, e.g. "2026-秋-1".
    notice_version: Mapped[str] = mapped_column(String(40))
    # Whether a student sees their own result page after submitting (default: no).
    show_results: Mapped[bool] = mapped_column(Boolean, default=False)
    # Languages offered to students, e.g. ["zh", "en"]; the first is the default.
    languages: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    district: Mapped[District] = relationship()
    owner_school: Mapped[School | None] = relationship()
    instruments: Mapped[list[CampaignInstrument]] = relationship(
        order_by="CampaignInstrument.position", cascade="all, delete-orphan"
    )
    schools: Mapped[list[School]] = relationship(
        secondary="campaign_school", order_by="School.code"
    )

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


class CampaignInstrument(db.Model):
    """One instrument of the battery, pinned to its version and content hash."""

    __tablename__ = "campaign_instrument"
    __table_args__ = (
        UniqueConstraint("campaign_id", "position", name="uq_campaign_instrument_position"),
        UniqueConstraint("campaign_id", "instrument_id", name="uq_campaign_instrument_once"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(80))

    @property
    def ref(self) -> str:
        return f"{self.instrument_id}@{self.version}"


class CampaignSchool(db.Model):
    __tablename__ = "campaign_school"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), primary_key=True, index=True)


class CampaignTarget(db.Model):
    """One target student of a campaign: the coverage ledger's row and the access code.

    Exactly one state (vocabulary.STATES); `reason` says why for every state that is not
    progress (a retest's failed rules, an exemption's grounds, an opt-out). The code is
    kept twice: a keyed digest to find it fast, and sealed so slips can be reprinted."""

    __tablename__ = "campaign_target"
    __table_args__ = (
        UniqueConstraint("campaign_id", "student_id", name="uq_campaign_target_student"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(
            "state <> 'exempt' OR (reason IS NOT NULL AND approved_by_id IS NOT NULL)",
            name="exempt_approved",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    # The class when the target was drawn: the ledger groups by it even after a move.
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="not_started")
    reason: Mapped[str | None] = mapped_column(String(200))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    state_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # 1 for the first sitting; a retest issues a new code and counts up.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    code_sealed: Mapped[bytes] = mapped_column("code", EncryptedText)
    code = Encrypted("code_sealed")
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The language the student chose.
    language: Mapped[str | None] = mapped_column(String(5))
    # The version of the runner session on the code: a runner session holds the one it
    # was opened with, and pausing or entering the code again raises it, so every older
    # session ends on the server, a copied cookie too.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    campaign: Mapped[Campaign] = relationship()
    student: Mapped[Student] = relationship()
    approved_by: Mapped[User | None] = relationship()


class ConsentRecord(db.Model):
    """A guardian's decision for one student in one campaign: who, when, how."""

    __tablename__ = "consent_record"
    __table_args__ = (
        CheckConstraint(_in("decision", CONSENT_DECISIONS), name="decision"),
        CheckConstraint(_in("method", CONSENT_METHODS), name="method"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(8))
    # Who decided (a guardian's name and relation, as told) and the notice they had.
    guardian: Mapped[str] = mapped_column(String(60))
    notice_version: Mapped[str] = mapped_column(String(40))
    decided_on: Mapped[datetime] = mapped_column(DateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(200))

    student: Mapped[Student] = relationship()
    recorded_by: Mapped[User] = relationship()


class DraftAnswer(db.Model):
    """One autosaved answer (sealed), until the submission replaces the drafts."""

    __tablename__ = "draft_answer"
    __table_args__ = (
        UniqueConstraint("target_id", "attempt", "item_key", name="uq_draft_answer_item"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_target.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    # "<instrument id>:<item id>".
    item_key: Mapped[str] = mapped_column(String(130))
    # {"value": option value, "seconds": time on the item or null}
    answer_sealed: Mapped[bytes] = mapped_column("answer", EncryptedJSON)
    answer = Encrypted("answer_sealed")
    saved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ScreeningResponse(db.Model):
    """One student's answers to one instrument of a campaign, and their score."""

    __tablename__ = "screening_response"
    __table_args__ = (
        UniqueConstraint(
            "target_id", "attempt", "instrument_id", name="uq_screening_response_attempt"
        ),
        CheckConstraint(_in("source", ("online", "paper", "import")), name="source"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_target.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(6))
    # {"answers": {item: value}, "seconds": {item: seconds}}; None once consent is
    # withdrawn (the raw answers are erased, the fact of the response stays).
    raw_sealed: Mapped[bytes | None] = mapped_column("raw", EncryptedJSON)
    raw = Encrypted("raw_sealed")
    # {"total", "band", "critical", "subscales", "invalid_reasons"}: sealed, one document
    # so a page opens a response's score once (see the properties below).
    score_sealed: Mapped[bytes] = mapped_column("score", EncryptedJSON)
    score = Encrypted("score_sealed")
    # In clear: whether the sitting can be used and how many items were left blank, which
    # the ledger's state says already (retest_pending); never how the student is.
    valid: Mapped[bool] = mapped_column(Boolean)
    missing: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)

    total = SealedField("score", "total")
    band = SealedField("score", "band")
    critical = SealedField("score", "critical", False)
    subscales = SealedField("score", "subscales", {})
    invalid_reasons = SealedField("score", "invalid_reasons", [])

    target: Mapped[CampaignTarget] = relationship()


class PaperEntry(db.Model):
    """A counselor's first entry of a paper form, waiting for a matching second entry."""

    __tablename__ = "paper_entry"
    __table_args__ = (
        UniqueConstraint("target_id", "attempt", "instrument_id", name="uq_paper_entry_form"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_target.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[str] = mapped_column(String(60))
    answers_sealed: Mapped[bytes] = mapped_column("answers", EncryptedJSON)
    answers = Encrypted("answers_sealed")
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
