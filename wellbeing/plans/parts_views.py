"""The guardian contact log and the attachments of a 一生一策 file. Their lists and forms
are partials of the plan's page (plans/_contacts.html, plans/_attachments.html); a form
posts here, which redirects back to the plan (303) or shows the form again on a small
page of its own with every problem beside its field.

An upload is bounded before it is read: a body larger than an attachment may be is
refused from its Content-Length, and the rest is parsed into memory (never a temporary
file) under a per-request limit; CSRF is checked here, after the size, since the global
check would parse the body first. A download asks for a fresh password, is audited as
an export of the plan, and is never cached."""

from __future__ import annotations

import io
import logging
from typing import Any

from flask import current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import ValidationError

from wellbeing.clock import local_today
from wellbeing.extensions import csrf, db
from wellbeing.plans import attachments, contacts
from wellbeing.plans import vocabulary as v
from wellbeing.plans.blueprint import bp
from wellbeing.plans.models import GrowthPlan, PlanAttachment
from wellbeing.plans.referrals import STATE_LABELS
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import requires
from wellbeing.security.reauth import fresh_auth_required
from wellbeing.text_input import TextFields

log = logging.getLogger(__name__)

# Room for the form's other fields and the multipart framing beside the file.
FORM_OVERHEAD = 64 * 1024


@bp.record_once
def template_words(state: Any) -> None:
    """The parts' words for every template (the plan's page includes the partials)."""
    state.app.jinja_env.globals.update(
        contact_methods=contacts.METHOD_LABELS,
        attachment_kinds=ATTACHMENT_LABELS,
        attachment_max_mb=f"{attachments.max_bytes() / 1024 / 1024:g}",
        file_size=file_size,
        local_today=local_today,
        referral_states=STATE_LABELS,
        plan_url=plan_url,
    )


ATTACHMENT_LABELS = {v.PDF: "PDF", v.PNG: "PNG", v.JPEG: "JPEG"}


def file_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def plan_url(plan_id: int, anchor: str | None = None) -> str:
    """The plan's page, at one of its parts."""
    return url_for("plans.view", plan_id=plan_id, _anchor=anchor)


def back_to_plan(plan: GrowthPlan, anchor: str) -> Response:
    return redirect(plan_url(plan.id, anchor), code=303)


# ----------------------------------------------------------------------------- contacts


@bp.post("/plans/<int:plan_id>/contacts")
@requires("plans.write", GrowthPlan)
def add_contact(plan: GrowthPlan) -> Any:
    fields = TextFields(request.form)
    values = {
        "contacted_on": fields.get("contacted_on"),
        "who": fields.get("who"),
        "method": fields.get("method"),
        "agreed": fields.get("agreed", multiline=True),
    }
    try:
        if fields.errors:
            raise contacts.PartError({})
        contacts.add_contact(plan, current_user, **values)
    except contacts.PartError as error:
        problems = {**error.problems, **fields.errors}
        return render_template(
            "plans/contact_errors.html", plan=plan, values=values, errors=problems
        )
    return back_to_plan(plan, "contacts")


# ----------------------------------------------------------------------------- attachments


def _in_memory(*_args: Any, **_kwargs: Any) -> io.BytesIO:
    """The multipart parser's file stream: memory, not a temporary file (the body's size
    is already bounded)."""
    return io.BytesIO()


def _attachment_errors(plan: GrowthPlan, errors: dict[str, str], title: str, status: int) -> Any:
    return (
        render_template("plans/attachment_errors.html", plan=plan, title=title, errors=errors),
        status,
    )


def _check_csrf(form: Any) -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(form.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from exc


@bp.post("/plans/<int:plan_id>/attachments")
@requires("plans.write", GrowthPlan)
def upload_attachment(plan: GrowthPlan) -> Any:
    limit = attachments.max_bytes() + FORM_OVERHEAD
    if (request.content_length or 0) > limit:
        return _attachment_errors(plan, {"file": attachments.too_big_message()}, "", 413)
    request.max_content_length = limit
    request._get_file_stream = _in_memory  # type: ignore[attr-defined]  # (see above)
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        return _attachment_errors(plan, {"file": attachments.too_big_message()}, "", 413)
    _check_csrf(form)
    fields = TextFields(form)
    title = fields.get("title")
    upload = files.get("file")
    data = None
    if upload is not None and (upload.filename or upload.content_length):
        data = attachments.read_bounded(upload.stream, attachments.max_bytes())
    try:
        if fields.errors:
            raise contacts.PartError({})
        attachments.file_attachment(
            plan,
            current_user,
            title=title,
            filename=upload.filename if upload is not None else "",
            data=data,
        )
    except contacts.PartError as error:
        problems = {**error.problems, **fields.errors}
        status = 413 if data is not None and len(data) > attachments.max_bytes() else 200
        return _attachment_errors(plan, problems, title, status)
    return back_to_plan(plan, "attachments")


# The upload reads its own body (bounded) and checks its CSRF token itself.
csrf.exempt(f"{__name__}.upload_attachment")


@bp.get("/attachments/<int:attachment_id>")
@requires("plans.export", PlanAttachment)
@fresh_auth_required
def attachment(item: PlanAttachment) -> Any:
    plan = db.session.get(GrowthPlan, item.plan_id)
    try:
        data, meta = attachments.open_attachment(item)
    except attachments.AttachmentDamaged:
        # Nothing of the file leaves; the id (no content) goes to the log for the
        # operators, who restore the row from a backup.
        log.warning("attachment %s failed to open: damaged or changed", item.id)
        return render_template("plans/attachment_damaged.html", plan=plan), 409
    record_event(
        "export",
        target=plan,
        detail={"page": request.endpoint, "what": "plan_attachment", "attachment": item.id},
    )
    response = send_file(
        io.BytesIO(data),
        mimetype=v.ATTACHMENT_TYPES[item.kind],
        as_attachment=True,
        download_name=meta.get("filename") or _("attachment"),
        conditional=False,
        etag=False,
        last_modified=None,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


register_labels(
    fields={"what": _l("What")},
    values={
        "plans.attachment": _l("A 一生一策 file's attachment (download)"),
        "plan_attachment": _l("Attachment"),
    },
)
