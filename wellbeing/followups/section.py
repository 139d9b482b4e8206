"""The follow-ups' section of a student's page, registered with the roster (which knows no
area): the student's follow-ups and a link to open one, for those who manage them."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.followups.queries import of_student
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import Student
from wellbeing.security.policy import can


@register_student_section
def follow_ups_section(student: Student, grant_id: int | None) -> Markup | None:
    if not can(current_user, "followups.view", student):
        return None
    return Markup(
        render_template(
            "followups/_section.html",
            student=student,
            follow_ups=of_student(student),
            can_open=can(current_user, "followups.manage", student),
        )
    )
