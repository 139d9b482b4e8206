"""The administrator's roster upload page and the template downloads."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, current_app, make_response, render_template, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.wrappers import Response

from wellbeing.imports import web_limits
from wellbeing.roster import importer, services
from wellbeing.roster.importer import KINDS, RowError
from wellbeing.security.policy import requires
from wellbeing.text_input import TextForm

bp = Blueprint("roster_import", __name__, url_prefix="/admin/roster")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A page with 100,000 error rows helps no one: the first ones show the pattern.
ERRORS_SHOWN = 1000


class ImportForm(TextForm):
    file = FileField(
        _l("Roster file (XLSX or CSV)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["xlsx", "csv"], _l("Only XLSX and CSV files can be imported.")),
        ],
    )


def _error_rows(errors: list[RowError]) -> list[dict[str, Any]]:
    return [
        {
            "sheet": e.sheet,
            "row": e.row,
            "column": e.column,
            "value": e.value,
            "reason": e.reason.render(_),
        }
        for e in errors[:ERRORS_SHOWN]
    ]


@bp.route("/import", methods=["GET", "POST"])
@requires("roster.import")
def upload() -> Response:
    form = ImportForm()
    result = None
    limits = web_limits(current_app.config)
    if form.validate_on_submit():
        uploaded = form.file.data
        # Within the web's ceilings (rows, size, time); larger files: the command line.
        parsed = importer.read_roster(uploaded.read(), uploaded.filename or "", limits)
        result = services.apply_roster(
            parsed, password_min_length=current_app.config["PASSWORD_MIN_LENGTH"]
        )
    page = render_template(
        "roster_import/upload.html",
        form=form,
        result=result,
        errors=_error_rows(result.errors) if result else [],
        notes=[note.render(_) for note in result.notes] if result else [],
        errors_shown=ERRORS_SHOWN,
        kinds=KINDS,
        limits=limits,
    )
    # A refused file is a page like any other (as the app's other forms): 200. Nothing
    # was written, since every row is checked before the first write.
    response = make_response(page)
    # Generated passwords appear on this page once: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _header_language() -> str:
    return "en" if get_locale().language == "en" else "zh"


@bp.get("/template.xlsx")
@requires("roster.import")
def template() -> Response:
    return send_file(
        io.BytesIO(importer.template_xlsx(_header_language())),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="roster-template.xlsx",
    )


@bp.get("/template/<kind>.csv")
@requires("roster.import")
def template_csv(kind: str) -> Response:
    if kind not in KINDS:
        abort(404)
    return send_file(
        io.BytesIO(importer.template_csv(kind, _header_language())),
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"roster-template-{kind}.csv",
    )
