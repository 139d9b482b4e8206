"""How long counselors' notes are kept, registered with the retention run (which knows no
area): all notes about a student no longer enrolled expire together, once the newest is
older than the period after leaving."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from wellbeing.notes.models import StudentNote
from wellbeing.roster.models import Student
from wellbeing.security.retention import (
    LEFT_STATUSES,
    PURGE,
    Period,
    RetentionRule,
    register_rule,
)


def _notes_of_students_who_left(cutoff: datetime, _now: datetime) -> ColumnElement[bool]:
    # No "left at" date exists: a student's newest note stands for the end of their
    # follow-up. All of a student's notes expire together, once the student is no longer
    # enrolled and the newest note is older than the period.
    expired_students = (
        select(StudentNote.student_id)
        .join(Student, Student.id == StudentNote.student_id)
        .where(Student.status.in_([status.value for status in LEFT_STATUSES]))
        .group_by(StudentNote.student_id)
        .having(func.max(StudentNote.created_at) < cutoff)
    )
    return StudentNote.student_id.in_(expired_students)


register_rule(
    RetentionRule(
        kind="student_notes",
        model=StudentNote,
        action=PURGE,
        period=Period("RETENTION_STUDENT_NOTES_YEARS_AFTER_LEAVING", 3, unit="years"),
        expired=_notes_of_students_who_left,
        description=(
            "all notes about a student no longer enrolled (transferred, graduated, "
            "withdrawn) whose newest note is older than the period"
        ),
    )
)
