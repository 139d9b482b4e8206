"""The notes' section of a student's page, registered with the roster (which knows no
area): the notes, opened and audited, for the counselors who may read them; the form to
add one; and, for an administrator without access, the way in by break-glass."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.notes.services import read_notes
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import Student
from wellbeing.security.policy import can


@register_student_section
def notes_section(student: Student, grant_id: int | None) -> Markup | None:
    notes = (
        read_notes(student, grant_id=grant_id) if can(current_user, "notes.read", student) else None
    )
    can_write = can(current_user, "notes.write", student)
    can_break_glass = notes is None and can(current_user, "student.break_glass", student)
    if notes is None and not can_write and not can_break_glass:
        return None
    return Markup(
        render_template(
            "notes/_section.html",
            student=student,
            notes=notes,
            can_write_notes=can_write,
            can_break_glass=can_break_glass,
        )
    )
