"""Vision and fitness records, one per student per round, and the log of parent letters.

Measurements are stored as entered; the derived classification (vision) and scores
(fitness) are stored beside them as the pure core computed them at save time, so the
pages, letters, exports and summaries read them without recomputing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health.rounds import SEASONS, VisionRound
from wellbeing.roster.models import Student, User

STATUSES = ("measured", "absent", "exempt")
MYOPIA_DEGREES = ("none", "low", "moderate", "high")
VA_GRADES = ("normal", "mild", "moderate", "severe")
BMI_CLASSES = ("normal", "underweight", "overweight", "obese")
RATINGS = ("excellent", "good", "pass", "fail")
LETTER_KINDS = ("vision", "fitness")
LETTER_REASONS = ("myopia", "poor_vision", "fitness_fail")
REASON_LENGTH = 200

# The fitness items, named as the batch contract's input columns.
FITNESS_ITEMS = (
    "vital_capacity_ml",
    "run50m_s",
    "sit_reach_cm",
    "rope_skip_1min",
    "situps_1min",
    "long_jump_cm",
    "pullups",
    "shuttle_50x8_s",
    "run800m_s",
    "run1000m_s",
)
FITNESS_MEASURES = ("height_cm", "weight_kg", *FITNESS_ITEMS)
VISION_MEASURES = (
    "ucva_right",
    "ucva_left",
    "sph_right",
    "cyl_right",
    "axis_right",
    "sph_left",
    "cyl_left",
    "axis_left",
)


def _in(column: str, values: tuple[str, ...], nullable: bool = False) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


# Absent or exempt needs a reason; a measured record may carry none.
_REASON_RULE = "status = 'measured' OR (reason IS NOT NULL AND reason <> '')"


class VisionRecord(db.Model):
    __tablename__ = "vision_record"
    __table_args__ = (
        UniqueConstraint("student_id", "year", "season", name="uq_vision_record_student_round"),
        CheckConstraint(_in("season", SEASONS), name="season"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_REASON_RULE, name="reason"),
        CheckConstraint(_in("myopia_degree", MYOPIA_DEGREES, nullable=True), name="degree"),
        CheckConstraint(_in("va_grade", VA_GRADES, nullable=True), name="va_grade"),
        CheckConstraint("axis_right IS NULL OR axis_right BETWEEN 0 AND 180", name="axis_right"),
        CheckConstraint("axis_left IS NULL OR axis_left BETWEEN 0 AND 180", name="axis_left"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    season: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(8), default="measured")
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    measured_on: Mapped[date] = mapped_column(Date)
    # Age in years at measurement (decimal): the rules' age groups depend on it.
    age: Mapped[float] = mapped_column(Float)
    # Uncorrected distance visual acuity, 5-point notation.
    ucva_right: Mapped[float | None] = mapped_column(Float)
    ucva_left: Mapped[float | None] = mapped_column(Float)
    # Non-cycloplegic autorefraction, dioptres; axis in degrees.
    sph_right: Mapped[float | None] = mapped_column(Float)
    cyl_right: Mapped[float | None] = mapped_column(Float)
    axis_right: Mapped[int | None] = mapped_column(Integer)
    sph_left: Mapped[float | None] = mapped_column(Float)
    cyl_left: Mapped[float | None] = mapped_column(Float)
    axis_left: Mapped[int | None] = mapped_column(Integer)
    ortho_k: Mapped[bool] = mapped_column(Boolean, default=False)
    # Derived by screening.vision at save time.
    se_right: Mapped[float | None] = mapped_column(Float)
    se_left: Mapped[float | None] = mapped_column(Float)
    myopia_right: Mapped[bool | None] = mapped_column(Boolean)
    myopia_left: Mapped[bool | None] = mapped_column(Boolean)
    myopia: Mapped[bool | None] = mapped_column(Boolean)
    myopia_degree: Mapped[str | None] = mapped_column(String(10))
    va_grade: Mapped[str | None] = mapped_column(String(10))
    # Advisory only: the reference values disagree (see screening/tables).
    low_hyperopia_reserve: Mapped[bool | None] = mapped_column(Boolean)
    measured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    student: Mapped[Student] = relationship()
    measured_by: Mapped[User | None] = relationship()

    @property
    def round(self) -> VisionRound:
        return VisionRound(self.year, SEASONS.index(self.season))

    @property
    def poor_vision(self) -> bool:
        """Any measured eye below 5.0 from age 6: settled even when the other eye was not
        measured (its grade then stays open, but the family should still hear)."""
        if self.age is None or self.age < 6:
            return False
        return any(va is not None and va < 5.0 for va in (self.ucva_right, self.ucva_left))

    @property
    def both_eyes_measured(self) -> bool:
        return None not in (self.ucva_right, self.ucva_left)

    @property
    def both_eyes_refracted(self) -> bool:
        return self.both_eyes_measured and None not in (self.se_right, self.se_left)


class FitnessRecord(db.Model):
    __tablename__ = "fitness_record"
    __table_args__ = (
        UniqueConstraint("student_id", "school_year", name="uq_fitness_record_student_year"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_REASON_RULE, name="reason"),
        CheckConstraint("grade BETWEEN 1 AND 12", name="grade"),
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
        CheckConstraint(_in("bmi_class", BMI_CLASSES, nullable=True), name="bmi_class"),
        CheckConstraint(_in("rating", RATINGS, nullable=True), name="rating"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    # The year the school year starts in: 2026 is 2026-2027.
    school_year: Mapped[int] = mapped_column(Integer)
    # Grade and sex at the time of the record: the tables are chosen by them.
    grade: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(8), default="measured")
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    measured_on: Mapped[date] = mapped_column(Date)
    height_cm: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    vital_capacity_ml: Mapped[float | None] = mapped_column(Float)
    run50m_s: Mapped[float | None] = mapped_column(Float)
    sit_reach_cm: Mapped[float | None] = mapped_column(Float)
    rope_skip_1min: Mapped[float | None] = mapped_column(Float)
    situps_1min: Mapped[float | None] = mapped_column(Float)
    long_jump_cm: Mapped[float | None] = mapped_column(Float)
    pullups: Mapped[float | None] = mapped_column(Float)
    shuttle_50x8_s: Mapped[float | None] = mapped_column(Float)
    run800m_s: Mapped[float | None] = mapped_column(Float)
    run1000m_s: Mapped[float | None] = mapped_column(Float)
    # Derived by screening.fitness at save time; item_scores maps score_<item> to points.
    bmi: Mapped[float | None] = mapped_column(Float)
    bmi_class: Mapped[str | None] = mapped_column(String(12))
    item_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    standard: Mapped[float | None] = mapped_column(Float)
    bonus: Mapped[float | None] = mapped_column(Float)
    total: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[str | None] = mapped_column(String(10))
    measured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    student: Mapped[Student] = relationship()
    measured_by: Mapped[User | None] = relationship()


class LetterLog(db.Model):
    """One printed parent letter: which student, which letter, which round, by whom."""

    __tablename__ = "health_letter_log"
    __table_args__ = (
        CheckConstraint(_in("kind", LETTER_KINDS), name="kind"),
        CheckConstraint(_in("reason", LETTER_REASONS), name="reason"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    # The vision round key ("2026-autumn") or the fitness school year ("2026").
    round_key: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(16))
    # Letters printed together share a batch id (one print action of one class).
    batch: Mapped[str] = mapped_column(String(32), index=True)
    printed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    printed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    student: Mapped[Student] = relationship()
    printed_by: Mapped[User] = relationship()
