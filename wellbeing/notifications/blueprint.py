"""The inbox: a user's notifications."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from wellbeing.notifications import services
from wellbeing.paging import paginate_query
from wellbeing.security.audit import record_view
from wellbeing.security.policy import requires

bp = Blueprint("inbox", __name__)

PER_PAGE = 20  # messages are cards, taller than a table row


@bp.get("/inbox")
@requires("home")
def inbox() -> str:
    page = paginate_query(services.inbox_query(current_user.id), per_page=PER_PAGE)
    unread = {n.id for n in page if n.read_at is None}
    if page:  # each message names a student (a crisis alert, a break-glass read)
        record_view(("user_account", current_user.id), len(page))
    # Only the messages shown are marked read: an unread one on a later page stays unread.
    services.mark_read(current_user.id, sorted(unread))
    return render_template("notifications/inbox.html", page=page, unread=unread)
