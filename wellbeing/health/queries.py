"""Reads of vision and fitness records: a class's round, a student's history, a school's
rounds for summaries and export."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from wellbeing.extensions import db
from wellbeing.health.models import FitnessRecord, LetterLog, VisionRecord
from wellbeing.health.rounds import SEASONS, VisionRound
from wellbeing.roster.models import School, SchoolClass, Student


def enrolled_students(school_class: SchoolClass) -> list[Student]:
    return list(
        db.session.scalars(
            select(Student)
            .where(Student.class_id == school_class.id, Student.status == "enrolled")
            .order_by(Student.student_number)
        )
    )


def school_students(school: School) -> list[Student]:
    """Enrolled students of a school, by grade, class and student number."""
    return list(
        db.session.scalars(
            select(Student)
            .join(SchoolClass)
            .where(SchoolClass.school_id == school.id, Student.status == "enrolled")
            .order_by(*SchoolClass.ordering(), Student.student_number)
        )
    )


def enrolled_by_class(where: Any) -> dict[int, int]:
    """Enrolled students per class, of the classes `where` (a condition on SchoolClass)."""
    return dict(
        db.session.execute(
            select(Student.class_id, func.count())
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.status == "enrolled", where)
            .group_by(Student.class_id)
        ).all()
    )


def _records_by_class(model: Any, round_match: Any, where: Any) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Student.class_id, func.count())
            .join(model, and_(model.student_id == Student.id, round_match))
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.status == "enrolled", where)
            .group_by(Student.class_id)
        ).all()
    )


def vision_records_by_class(where: Any, vision_round: VisionRound) -> dict[int, int]:
    """Enrolled students with a record of the round (measured, absent or exempt), per class."""
    round_match = and_(
        VisionRecord.year == vision_round.year, VisionRecord.season == vision_round.season
    )
    return _records_by_class(VisionRecord, round_match, where)


def fitness_records_by_class(where: Any, school_year: int) -> dict[int, int]:
    return _records_by_class(FitnessRecord, FitnessRecord.school_year == school_year, where)


def round_compared_with(student_ids: list[int], vision_round: VisionRound) -> VisionRound:
    """The latest round before this one in which any of these students was measured, so a
    school that skipped a spring round compares with its last autumn; the round just before
    when none was."""
    rounds = db.session.execute(
        select(VisionRecord.year, VisionRecord.season)
        .where(VisionRecord.student_id.in_(student_ids))
        .distinct()
    )
    earlier = [
        found
        for year, season in rounds
        if (found := VisionRound(year, SEASONS.index(season))) < vision_round
    ]
    return max(earlier, default=vision_round.previous())


def vision_by_student(student_ids: list[int], vision_round: VisionRound) -> dict[int, VisionRecord]:
    if not student_ids:
        return {}
    records = db.session.scalars(
        select(VisionRecord).where(
            VisionRecord.student_id.in_(student_ids),
            VisionRecord.year == vision_round.year,
            VisionRecord.season == vision_round.season,
        )
    )
    return {record.student_id: record for record in records}


def fitness_by_student(student_ids: list[int], school_year: int) -> dict[int, FitnessRecord]:
    if not student_ids:
        return {}
    records = db.session.scalars(
        select(FitnessRecord).where(
            FitnessRecord.student_id.in_(student_ids), FitnessRecord.school_year == school_year
        )
    )
    return {record.student_id: record for record in records}


def vision_history(student: Student) -> list[VisionRecord]:
    records = db.session.scalars(select(VisionRecord).where(VisionRecord.student_id == student.id))
    return sorted(records, key=lambda record: record.round)


def fitness_history(student: Student) -> list[FitnessRecord]:
    return list(
        db.session.scalars(
            select(FitnessRecord)
            .where(FitnessRecord.student_id == student.id)
            .order_by(FitnessRecord.school_year)
        )
    )


def letters_printed(student_ids: list[int], kind: str, round_key: str) -> dict[int, LetterLog]:
    """The latest printed letter of that kind and round per student."""
    if not student_ids:
        return {}
    logs = db.session.scalars(
        select(LetterLog)
        .where(
            LetterLog.student_id.in_(student_ids),
            LetterLog.kind == kind,
            LetterLog.round_key == round_key,
        )
        .order_by(LetterLog.printed_at)
    )
    return {log.student_id: log for log in logs}
