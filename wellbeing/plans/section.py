"""The file's section of a student's page, registered with the roster (which knows no
area): for the school's counselors, the open file or the way to open one; for the
student's head teacher, the care actions given to them when a file has any; for an
administrator holding a break-glass grant, the file. Nothing for anyone else."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.plans.queries import plan_of_student
from wellbeing.plans.services import care_measures
from wellbeing.plans.words import STATUS_LABELS, label
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import Student
from wellbeing.security.policy import can


@register_student_section
def plan_section(student: Student, grant_id: int | None) -> Markup | None:
    counselor = can(current_user, "plans.write", student)
    plan = plan_of_student(student)
    if counselor:
        shown = "counselor"
    elif plan is not None and can(current_user, "plans.read", plan):
        shown = "break_glass"
    elif plan is not None and can(current_user, "plans.care", plan):
        if not care_measures(plan):
            return None
        shown = "care"
    else:
        return None
    return Markup(
        render_template(
            "plans/_section.html",
            student=student,
            plan=plan,
            shown=shown,
            status_label=label(STATUS_LABELS, plan.status) if plan else "",
        )
    )
