"""Where counselors look for a student, the observations show: a section of the student's
page (registered with the roster, which knows no area) and of a review case's page, and
a panel of what waits atop the school's review queue (both registered with the review,
which knows no area above it). The sections are for the school's counselors only: a head
teacher reads the same student page but must learn neither of the 心理委员's reports nor
who made them; the counselor decides what to share."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.clock import utcnow
from wellbeing.observations import incoming
from wellbeing.review.section import register_case_section, register_queue_panel
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import School, Student
from wellbeing.security.policy import can


@register_case_section
def observations_of(student: Student) -> Markup | None:
    """The student's observations of the last STUDENT_WEEKS weeks (counselors only)."""
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


@register_student_section
def observations_section(student: Student, grant_id: int | None) -> Markup | None:
    return observations_of(student)


@register_queue_panel
def waiting_panel(school: School) -> Markup | None:
    """What the school's classes reported and no counselor has acknowledged yet."""
    if not can(current_user, "observations.incoming", school):
        return None
    waiting = incoming.waiting_counts([school.id], utcnow())[school.id]
    return Markup(render_template("observations/_queue_figures.html", school=school, w=waiting))
