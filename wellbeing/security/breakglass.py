"""Break-glass: an administrator opens one student's record, counseling notes included,
only by stating a purpose. It is the district's one emergency path to notes (counselors
alone read them otherwise); district monitors never see a student, so they have none.

One form asks for the purpose first and the 学籍号 second; nothing about any student is
shown before a grant is made. Every attempt is audited (a grant as `break_glass`, a
refusal as `break_glass_refused` with the number typed), attempts are rate-limited per
user, and a number that opens nothing gets the same answer whether or not it exists.
The grant lasts BREAK_GLASS_MINUTES; the purpose is sealed on the grant, and audit rows
name the grant; the school's counselors are told who opened what, and why (security
announces the grant with the signal break_glass_opened; the notifications tell them).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import Student, User
from wellbeing.security import audit
from wellbeing.security.audit import record_event
from wellbeing.security.limits import break_glass_limit
from wellbeing.security.models import BreakGlassGrant
from wellbeing.security.policy import requires
from wellbeing.security.signals import break_glass_opened
from wellbeing.text_input import TextFields

bp = Blueprint("break_glass", __name__)

MIN_PURPOSE_LENGTH = 10
MAX_PURPOSE_LENGTH = 400
MAX_NUMBER_LENGTH = 40


def open_record(user: User, student: Student, purpose: str) -> BreakGlassGrant:
    """Grant the user the student's record for a while; audited, counselors told."""
    now = utcnow()
    grant = BreakGlassGrant(
        user_id=user.id,
        student_id=student.id,
        granted_at=now,
        expires_at=now + timedelta(minutes=current_app.config["BREAK_GLASS_MINUTES"]),
    )
    grant.purpose = purpose
    db.session.add(grant)
    db.session.flush()
    record_event("break_glass", target=student, user=user, detail={"break_glass_grant": grant.id})
    break_glass_opened.send(grant, user=user, student=student, purpose=purpose)
    return grant


def _openable(number: str, user: User) -> Student | None:
    """The student of the user's district with this number, if any."""
    student = db.session.scalar(select(Student).where(Student.student_number == number))
    if student is None:
        return None
    districts = {a.district_id for a in user.roles if a.role == "admin"}
    return student if student.school_class.school.district_id in districts else None


def _read_form() -> tuple[str, str, dict[str, str]]:
    """The purpose and the number typed, and an error per field that is wrong."""
    fields = TextFields(request.form)
    purpose = fields.get("purpose", multiline=True).strip()
    number = fields.get("student_number").strip().upper()
    errors = dict(fields.errors)
    if "purpose" not in errors and not MIN_PURPOSE_LENGTH <= len(purpose) <= MAX_PURPOSE_LENGTH:
        errors["purpose"] = _("State the purpose in 10 to 400 characters.")
    if "student_number" not in errors and not 0 < len(number) <= MAX_NUMBER_LENGTH:
        errors["student_number"] = _("Type the student number.")
    return purpose, number, errors


def _refused(reason: str, number: str) -> None:
    # The number typed is kept (cut short) so a harvest shows in the trail; the purpose is
    # not: a refused attempt grants nothing that needs one.
    record_event(
        "break_glass_refused", detail={"reason": reason, "typed": number[:MAX_NUMBER_LENGTH]}
    )


@bp.route("/break-glass", methods=["GET", "POST"])
@requires("student.break_glass")
@break_glass_limit
def find() -> str | Response:
    if request.method == "GET":
        # A number may be carried from a student's page; nothing is looked up.
        typed = request.args.get("student_number", "")[:MAX_NUMBER_LENGTH]
        return render_template("break_glass/find.html", purpose="", number=typed, errors={})
    purpose, number, errors = _read_form()
    if errors:
        _refused("invalid", number)
        return render_template(
            "break_glass/find.html", purpose=purpose, number=number, errors=errors
        )
    student = _openable(number, current_user)
    if student is None:
        # The same answer for an unknown number and one of another district.
        _refused("no_match", number)
        errors = {
            "student_number": _(
                "Nothing was opened. Check the student number; every attempt is recorded."
            )
        }
        return render_template(
            "break_glass/find.html", purpose=purpose, number=number, errors=errors
        )
    open_record(current_user, student, purpose)
    return redirect(url_for("roster.student", student_id=student.id), 303)


@bp.errorhandler(429)
def too_many_attempts(error: Exception) -> tuple[str, int]:
    """Past the per-user limit: refused and audited (committed here, as a 429 otherwise
    discards the request's audit rows)."""
    _refused("rate_limited", TextFields(request.form).get("student_number").strip())
    audit.append_pending()
    db.session.commit()
    errors = {"student_number": _("Too many attempts. Try again later.")}
    page = render_template("break_glass/find.html", purpose="", number="", errors=errors)
    return page, 429
