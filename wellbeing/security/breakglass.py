"""Break-glass: an administrator or district monitor opens one student's sensitive record
outside their scope, only by stating a purpose. The grant lasts a short while, the read is
audited with the purpose, and the school's counselors are told in their inbox."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.services import counselors_of_school, notify
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event
from wellbeing.security.models import BreakGlassGrant
from wellbeing.security.policy import requires

bp = Blueprint("break_glass", __name__)

MIN_PURPOSE_LENGTH = 10
MAX_PURPOSE_LENGTH = 400  # leaves room in the counselors' notice for the names


def open_record(user: User, student: Student, purpose: str) -> BreakGlassGrant:
    now = utcnow()
    grant = BreakGlassGrant(
        user_id=user.id,
        student_id=student.id,
        purpose=purpose,
        granted_at=now,
        expires_at=now + timedelta(minutes=current_app.config["BREAK_GLASS_MINUTES"]),
    )
    db.session.add(grant)
    db.session.flush()
    record_event("break_glass", target=student, user=user, purpose=purpose)
    for counselor in counselors_of_school(student.school_class.school_id):
        notify(
            counselor.id,
            "break_glass",
            _(
                "%(user)s opened the record of %(student)s (break-glass). Purpose: %(purpose)s",
                user=user.display_name,
                student=student.name,
                purpose=purpose,
            ),
            link=url_for("roster.student", student_id=student.id),
        )
    return grant


@bp.get("/break-glass")
@requires("student.break_glass")
def find() -> str | Response:
    number = request.args.get("student_number", "").strip().upper()
    if number:
        student = db.session.scalar(select(Student).where(Student.student_number == number))
        if student is not None:
            return redirect(url_for("break_glass.confirm", student_id=student.id))
        flash(_("No student has this student number."), "error")
    return render_template("break_glass/find.html", number=number)


@bp.route("/students/<int:student_id>/break-glass", methods=["GET", "POST"])
@requires("student.break_glass", Student)
def confirm(student: Student) -> str | Response:
    purpose = request.form.get("purpose", "").strip()
    if request.method == "POST":
        if not MIN_PURPOSE_LENGTH <= len(purpose) <= MAX_PURPOSE_LENGTH:
            flash(_("State the purpose in 10 to 400 characters."), "error")
        else:
            open_record(current_user, student, purpose)
            return redirect(url_for("roster.student", student_id=student.id))
    return render_template("break_glass/confirm.html", student=student, purpose=purpose)
