"""The lesson log's table: one row per lesson a class held.

In clear, with the reason (README, "What is sealed at rest"): a lesson's class, date,
topic and who logged it when. A topic names what the class was taught (认识情绪), never a
student, and the district counts lessons per class in SQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.lessons.vocabulary import TOPIC_LENGTH
from wellbeing.roster.models import SchoolClass, User


class Lesson(db.Model):
    """A mental-health lesson a class held on a local day (at most one a day)."""

    __tablename__ = "lesson"
    # One lesson a day per class (a second on the same date is refused beside the field);
    # also the index of a class's lessons by date.
    __table_args__ = (UniqueConstraint("class_id", "held_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id"))
    held_on: Mapped[date] = mapped_column(Date)  # the local day
    topic: Mapped[str] = mapped_column(String(TOPIC_LENGTH))
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    logged_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()
    logged_by: Mapped[User] = relationship()
