"""The review's tables: each screened student's risk assessment (tier, points and
explanation) with the state of their case, the counselors' decisions, crisis alerts with
their checklist steps, and the risk models.

What says something about a student's mental health is sealed: an assessment's tier,
points, rule, explanation and case state; a decision's student, action, tiers and reason;
an alert's student and what raised it; a checklist step's note. What stays in clear says
where and when, not how: an assessment row exists for every screened student whatever
their tier (so its student, school and campaign say only "screened", which the ledger
says already); a decision's school, decider and time; an alert's school, times and the
checklist steps done (that a school had an alert, not whose). A model document holds
aggregates only (bins, points, thresholds, the card), never a student."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.campaigns.models import Campaign
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.roster.models import School, User
from wellbeing.security.crypto import EncryptedJSON, EncryptedText
from wellbeing.security.fields import Encrypted, SealedField, record_uid


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class RiskModel(db.Model):
    """A risk model document (screening.risk's JSON), a draft until a district activates
    it. Without an active row, the shipped default model is the active one."""

    __tablename__ = "risk_model"
    __table_args__ = (CheckConstraint(_in("status", v.MODEL_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(60), unique=True)
    document: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=v.DRAFT)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    activated_by: Mapped[User | None] = relationship(foreign_keys=[activated_by_id])


class RiskAssessment(db.Model):
    """One screened student's tier in one campaign (the latest sitting), and their case.

    `status` is one sealed document so the queue opens each row once:
      {"tier": model's tier, "points": int, "rule": rule id or null,
       "state": waiting | following | closed, or null when the tier is none and no one
                has decided anything,
       "reviewed_tier": the counselor's tier (confirmed or changed) or null,
       "owner_id": the counselor whose caseload it is, or null,
       "flagged_at": ISO time it entered the queue, or null,
       "decided_at": ISO time of the latest decision, or null}
    `explanation` is opened only by the review page and training:
      {"contributions": [{"feature", "bin", "points", "detail", "label", "bin_label"}],
       "rule": {"id", "label"} or null,
       "inputs": the model's input row (band, total, critical... per column)}"""

    __tablename__ = "risk_assessment"
    __table_args__ = (UniqueConstraint("target_id", name="uq_risk_assessment_target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_target.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(60))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_sealed: Mapped[bytes] = mapped_column("status", EncryptedJSON)
    status = Encrypted("status_sealed")
    explanation_sealed: Mapped[bytes] = mapped_column("explanation", EncryptedJSON)
    explanation = Encrypted("explanation_sealed")

    tier = SealedField("status", "tier")
    points = SealedField("status", "points")
    rule = SealedField("status", "rule")
    state = SealedField("status", "state")
    reviewed_tier = SealedField("status", "reviewed_tier")
    owner_id = SealedField("status", "owner_id")

    campaign: Mapped[Campaign] = relationship()

    @property
    def current_tier(self) -> str:
        """The counselor's tier once reviewed, else the model's."""
        return self.reviewed_tier or self.tier


class ReviewDecision(db.Model):
    """One audited decision of a counselor on a case. Append-only: the case's state and
    reviewed tier (on the assessment) follow from the decisions.

    body: {"assessment_id", "student_id", "action", "tier_before", "tier_after",
           "reason", "follow_up_id", "follow_up_kind"}"""

    __tablename__ = "review_decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body_sealed: Mapped[bytes] = mapped_column("body", EncryptedJSON)
    body = Encrypted("body_sealed")

    assessment_id = SealedField("body", "assessment_id")
    student_id = SealedField("body", "student_id")
    action = SealedField("body", "action")
    tier_before = SealedField("body", "tier_before")
    tier_after = SealedField("body", "tier_after")
    reason = SealedField("body", "reason")
    follow_up_id = SealedField("body", "follow_up_id")

    decided_by: Mapped[User] = relationship()


class CrisisAlert(db.Model):
    """A crisis raised by a critical item or a red tier: the school's counselors must
    acknowledge it, then work its checklist.

    Which student (response, assessment) it is about, and what raised it, are sealed: a
    backup shows that a school had an alert and when, not whose. The school, time and
    acknowledgement stay in clear for the school's count of open alerts."""

    __tablename__ = "crisis_alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    # {"student_id": ..., "response_id": ..., "assessment_id": ...}
    subject_sealed: Mapped[bytes] = mapped_column("subject", EncryptedJSON)
    subject = Encrypted("subject_sealed")
    # What raised it (vocabulary.ALERT_SOURCES); for a critical item, the instrument and
    # item ids are in the detail ("phq9@1.0: phq9_9").
    source: Mapped[str] = mapped_column(String(20))
    detail_sealed: Mapped[bytes] = mapped_column("detail", EncryptedText)
    detail = Encrypted("detail_sealed")
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    student_id = SealedField("subject", "student_id")
    response_id = SealedField("subject", "response_id")
    assessment_id = SealedField("subject", "assessment_id")

    acknowledged_by: Mapped[User | None] = relationship()
    steps: Mapped[list[AlertStep]] = relationship(order_by="AlertStep.done_at")


class AlertStep(db.Model):
    """One step of an alert's crisis checklist, recorded once with its time; its note (a
    hospital's name, what the guardian said) is sealed."""

    __tablename__ = "alert_step"
    __table_args__ = (
        UniqueConstraint("alert_id", "step", name="uq_alert_step"),
        CheckConstraint(_in("step", v.CHECKLIST), name="step"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    alert_id: Mapped[int] = mapped_column(ForeignKey("crisis_alert.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note_sealed: Mapped[bytes | None] = mapped_column("note", EncryptedText)
    note = Encrypted("note_sealed")
    # The follow-up the step opened (a referral check, the watch), if any.
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))

    done_by: Mapped[User] = relationship()


__all__ = ["AlertStep", "CrisisAlert", "ReviewDecision", "RiskAssessment", "RiskModel", "School"]
