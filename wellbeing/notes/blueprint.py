"""Adding a confidential note; notes are shown on the student's page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.notes import services
from wellbeing.roster.models import Student
from wellbeing.security.policy import requires
from wellbeing.text_input import TextFields

bp = Blueprint("notes", __name__)


@bp.post("/students/<int:student_id>/notes")
@requires("notes.write", Student)
def add(student: Student) -> Response:
    fields = TextFields(request.form)
    body = fields.get("body", _("Note"), multiline=True)
    if fields.errors:
        flash(fields.errors["body"], "error")
        return redirect(url_for("roster.student", student_id=student.id))
    try:
        services.add_note(student, current_user, body)
        flash(_("The note has been saved."), "info")
    except services.NoteError:
        flash(_("A note must have between 1 and 20,000 characters."), "error")
    return redirect(url_for("roster.student", student_id=student.id))
