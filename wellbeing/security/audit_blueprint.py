"""The administrator's audit browser: filter and page the audit trail, newest first, and
export the filtered rows as CSV. Browsing is not audited; every export is, in the same
request (action "export", with the filter and the row count)."""

from __future__ import annotations

import io
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any

from flask import Blueprint, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from screening import exports
from wellbeing.clock import local_midnight_utc, utcnow
from wellbeing.database import row_id
from wellbeing.extensions import db
from wellbeing.security import audit_labels
from wellbeing.security.audit import record_event
from wellbeing.security.compliance import local_time
from wellbeing.security.models import AuditEvent, AuditHead
from wellbeing.security.policy import requires
from wellbeing.text_input import TextForm

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50
EXPORT_BATCH = 5_000
# An export is built whole before it is audited (the audit row holds its row count);
# past this size it spills from memory to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class FilterForm(TextForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    since = DateField(_l("From (date)"), validators=[Optional()])
    until = DateField(_l("To (date)"), validators=[Optional()])
    user = StringField(_l("User name begins with"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), validators=[Optional()])
    target_type = SelectField(_l("Target type"), validators=[Optional()])
    target_id = StringField(_l("Target id"), validators=[Optional(), Length(max=64)])
    request_id = StringField(_l("Request id"), validators=[Optional(), Length(max=32)])


FILTER_FIELDS = ("since", "until", "user", "action", "target_type", "target_id", "request_id")


def _filter_form() -> FilterForm:
    form = FilterForm(formdata=request.args)
    stored = db.session.scalars(select(AuditEvent.action).distinct())
    actions = sorted(set(audit_labels.ACTIONS) | set(stored))
    form.action.choices = [("", _("All actions"))] + [
        (action, audit_labels.action_label(action)) for action in actions
    ]
    stored = db.session.scalars(select(AuditEvent.target_type).distinct())
    kinds = sorted(set(audit_labels.TARGETS) | {kind for kind in stored if kind})
    form.target_type.choices = [("", _("All targets"))] + [
        (kind, audit_labels.target_label(kind, None)) for kind in kinds
    ]
    return form


def _filters(form: FilterForm) -> dict[str, Any]:
    """The filters in use: field name -> value (dates as date objects)."""
    values = {}
    for name in FILTER_FIELDS:
        value = form[name].data
        if isinstance(value, str):
            value = value.strip()
        if value:
            values[name] = value
    return values


def _clauses(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    clauses = []
    if "since" in filters:
        clauses.append(AuditEvent.at >= local_midnight_utc(filters["since"]))
    if "until" in filters:  # the whole local day is included
        clauses.append(AuditEvent.at < local_midnight_utc(filters["until"] + timedelta(days=1)))
    if "user" in filters:
        clauses.append(AuditEvent.username.startswith(filters["user"], autoescape=True))
    for name in ("action", "target_type", "target_id", "request_id"):
        if name in filters:
            clauses.append(getattr(AuditEvent, name) == filters[name])
    return clauses


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    newer: int | None  # the `after` value of the link to newer rows, if any
    older: int | None  # the `before` value of the link to older rows, if any


def _exists(clauses: list[ColumnElement[bool]], where: ColumnElement[bool]) -> bool:
    found = db.session.scalar(select(AuditEvent.id).where(*clauses, where).limit(1))
    return found is not None


def _page(clauses: list[ColumnElement[bool]], before: int | None, after: int | None) -> Page:
    """One page, newest first, by keyset on the id: fast however deep the page."""
    query = select(AuditEvent.__table__).where(*clauses).limit(PAGE_SIZE)
    if after is not None:
        query = query.where(AuditEvent.id > after).order_by(AuditEvent.id)
        rows = list(reversed(db.session.execute(query).all()))
    else:
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = db.session.execute(query.order_by(AuditEvent.id.desc())).all()
    if not rows:
        return Page([], None, None)
    newer = rows[0].id if _exists(clauses, AuditEvent.id > rows[0].id) else None
    older = rows[-1].id if _exists(clauses, AuditEvent.id < rows[-1].id) else None
    return Page(rows, newer, older)


def _query_args(filters: dict[str, Any]) -> dict[str, str]:
    return {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in filters.items()
    }


@bp.get("/")
@requires("audit.browse")
def browse() -> Response:
    form = _filter_form()
    valid = form.validate()
    filters = _filters(form) if valid else {}
    page = Page([], None, None)
    if valid:
        page = _page(
            _clauses(filters),
            request.args.get("before", type=row_id),
            request.args.get("after", type=row_id),
        )
    response = make_response(
        render_template(
            "audit/browse.html",
            form=form,
            valid=valid,
            page=page,
            query_args=_query_args(filters),
            action_label=audit_labels.action_label,
            target_label=audit_labels.target_label,
            scope_label=audit_labels.scope_label,
            detail_items=audit_labels.detail_items,
            local_time=local_time,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_headers() -> list[str]:
    return [
        _("Row"),
        _("Time (Beijing)"),
        _("Time (UTC, as stored)"),
        _("User id"),
        _("User"),
        _("Role"),
        _("Action"),
        _("Target type"),
        _("Target id"),
        _("Scope"),
        _("Request id"),
        _("Address"),
        _("Purpose"),
        _("Detail"),
        _("Previous hash"),
        _("Hash"),
    ]


def _export_rows(clauses: list[ColumnElement[bool]], up_to: int) -> Iterator[list[Any]]:
    after = 0
    while True:
        query = (
            select(AuditEvent.__table__)
            .where(*clauses, AuditEvent.id > after, AuditEvent.id <= up_to)
            .order_by(AuditEvent.id)
            .limit(EXPORT_BATCH)
        )
        batch = db.session.execute(query).all()
        if not batch:
            return
        for r in batch:
            yield [
                r.id,
                local_time(r.at),
                r.at.isoformat(timespec="microseconds"),
                r.user_id,
                r.username,
                r.role,
                r.action,
                r.target_type,
                r.target_id,
                r.scope,
                r.request_id,
                r.address,
                r.purpose,
                r.detail,
                r.prev_hash,
                r.hash,
            ]
        after = batch[-1].id


def _spool(chunks: Iterator[str]) -> IO[bytes]:
    """The whole file, before the export is audited with its row count: in memory, or in
    a temporary file when large (send_file closes it once the response is sent)."""
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    spooled.write("\ufeff".encode())  # the BOM: Excel then reads the file as UTF-8
    for chunk in chunks:
        spooled.write(chunk.encode("utf-8"))
    size = spooled.tell()
    spooled.seek(0)
    if size <= SPOOL_BYTES:  # still in memory: hand over the bytes, close the spool now
        with spooled:
            return io.BytesIO(spooled.read())
    return spooled


@bp.get("/export.csv")
@requires("audit.browse")
def export() -> Response:
    form = _filter_form()
    if not form.validate():  # the page shows what is wrong with the filter
        kept = {name: request.args[name] for name in FILTER_FIELDS if name in request.args}
        return redirect(url_for("audit.browse", **kept))
    filters = _filters(form)
    # Rows up to the present head only: the count in the audit row is exactly what the
    # file holds, though writers keep appending (this export's own row among them).
    up_to = db.session.scalar(select(AuditHead.last_id).where(AuditHead.id == 1)) or 0
    counted = _Counter(_export_rows(_clauses(filters), up_to))
    body = _spool(exports.csv_chunks(itertools.chain([_csv_headers()], counted)))
    record_event(
        "export",
        detail={
            "kind": "audit_csv",
            "filter": _query_args(filters),
            "rows": counted.count,
            "up_to_row": up_to,
        },
    )
    stamp = local_time(utcnow()).replace(" ", "-").replace(":", "")
    response = send_file(
        body,
        mimetype="text/csv; charset=utf-8",
        as_attachment=True,
        download_name=f"audit-{stamp}.csv",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


class _Counter:
    """Counts the rows that pass through it."""

    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self.rows:
            self.count += 1
            yield row
