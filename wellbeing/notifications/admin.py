"""The administrator's outbox page: every mail and webhook, failures first, with a retry."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from wellbeing.notifications import outbox
from wellbeing.paging import paginate_query
from wellbeing.security.policy import requires

bp = Blueprint("outbox", __name__)


@bp.get("/admin/outbox")
@requires("notifications.outbox")
def messages() -> str:
    page = paginate_query(outbox.listing_query())
    return render_template(
        "notifications/outbox.html",
        page=page,
        counts=outbox.status_counts(),
        mask=outbox.masked_recipient,
    )


@bp.post("/admin/outbox/<int:message_id>/retry")
@requires("notifications.outbox")
def retry(message_id: int) -> Response:
    if outbox.retry_now(message_id):
        flash(_("The message will be sent again within a minute."), "info")
    return redirect(url_for("outbox.messages"))
