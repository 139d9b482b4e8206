"""The inbox: a user's notifications."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from wellbeing.notifications import services
from wellbeing.security.audit import record_view
from wellbeing.security.policy import requires

bp = Blueprint("inbox", __name__)


@bp.get("/inbox")
@requires("home")
def inbox() -> str:
    notifications = services.inbox(current_user.id)
    unread = {n.id for n in notifications if n.read_at is None}
    if notifications:  # each message names a student (a crisis alert, a break-glass read)
        record_view(("user_account", current_user.id), len(notifications))
    services.mark_read(current_user.id, sorted(unread))
    return render_template("notifications/inbox.html", notifications=notifications, unread=unread)
