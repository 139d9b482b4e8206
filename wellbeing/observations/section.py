"""The observations' section of a student's page, registered with the roster (which knows
no area): the student's observations of recent weeks, for the school's counselors only. A
head teacher reads the same page but must learn neither of the 心理委员's reports nor who
made them; the counselor decides what to share."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.clock import utcnow
from wellbeing.observations import incoming
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import Student
from wellbeing.security.policy import can


@register_student_section
def observations_section(student: Student, grant_id: int | None) -> Markup | None:
    if not can(current_user, "observations.of_student", student):
        return None
    return Markup(
        render_template(
            "observations/_section.html",
            student=student,
            rows=incoming.of_student(student, utcnow()),
            weeks=incoming.STUDENT_WEEKS,
        )
    )
