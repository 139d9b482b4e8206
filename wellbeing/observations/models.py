"""The observations' tables: a class's weekly report by one of its 心理委员 or its head
teacher, and the observations in it (or filed at once, when urgent).

Sealed: whom an observation is about, what was seen, how sure, the note. In clear, with
the reason: the school and class (the scope check, and the counselors' queue, without
opening anything), who reported and as what (the reporter's own list; the report rate),
when, whether urgent, the acknowledgement deadline and who acknowledged it when (the
sweep reads them for every school each minute), and the follow-up made from it. A weekly
report row says that a class reported, and whether it had nothing to report: no
student's name and no sign is in it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.roster.models import SchoolClass, User
from wellbeing.security.crypto import EncryptedJSON
from wellbeing.security.fields import Encrypted, SealedField, record_uid


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class WeeklyReport(db.Model):
    """One reporter's report on their class for one school week (Monday to Sunday):
    `nil` when nothing was seen (本周无异常), otherwise its observations."""

    __tablename__ = "weekly_report"
    __table_args__ = (
        UniqueConstraint("reporter_id", "class_id", "week_start"),
        CheckConstraint(_in("reporter_role", v.REPORTERS), name="reporter_role"),
        # The committee's rates: a school's classes in a week.
        Index("ix_weekly_report_school_week", "school_id", "week_start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reporter_role: Mapped[str] = mapped_column(String(20))
    week_start: Mapped[date] = mapped_column(Date)  # the week's Monday, local
    nil: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()
    reporter: Mapped[User] = relationship()
    observations: Mapped[list[Observation]] = relationship(
        back_populates="report", order_by="Observation.id"
    )


class Observation(db.Model):
    """What a reporter saw of one classmate (or, for a head teacher, one student of their
    class). `body` is {"student_id": int, "signs": [SIGNS], "certainty": CERTAINTIES,
    "note": str}. An urgent one (a sign of danger) may stand alone, without a weekly
    report; it is due for acknowledgement within the urgent deadline, a routine one
    within the routine one (both in school time)."""

    __tablename__ = "observation"
    __table_args__ = (
        CheckConstraint(_in("reporter_role", v.REPORTERS), name="reporter_role"),
        # The counselors' queue and the sweep: a school's unacknowledged ones by deadline.
        Index("ix_observation_school_ack_due", "school_id", "acknowledged_at", "due_at"),
        Index("ix_observation_reporter_submitted", "reporter_id", "submitted_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    report_id: Mapped[int | None] = mapped_column(ForeignKey("weekly_report.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reporter_role: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(DateTime)  # acknowledge by (UTC)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    body_sealed: Mapped[bytes] = mapped_column("body", EncryptedJSON)
    body = Encrypted("body_sealed")

    student_id = SealedField("body", "student_id")
    signs = SealedField("body", "signs", default=[])
    certainty = SealedField("body", "certainty")
    note = SealedField("body", "note", default="")

    report: Mapped[WeeklyReport | None] = relationship(back_populates="observations")
    school_class: Mapped[SchoolClass] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
