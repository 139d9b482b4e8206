"""The morning digest (job `followups.digest`, 07:30 local time): each counselor's open
follow-ups in three counts, overdue, due today and due in the next seven days. Counts
only, in the inbox and outside it; nothing is sent to whom all three are zero, and
nobody gets two digests on one day."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from wellbeing.clock import local_midnight_utc, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp
from wellbeing.notifications.models import Notification
from wellbeing.notifications.services import link_to, tell
from wellbeing.roster.models import RoleAssignment, User
from wellbeing.scheduler.registry import Job, register_job

KIND_DIGEST = "followups_digest"
UPCOMING_DAYS = 7


def digest() -> dict[str, int]:
    """Send today's digests; returns {"digests": how many were sent}. The caller commits."""
    now = utcnow()
    today = local_today()
    tomorrow = local_midnight_utc(today + timedelta(days=1))
    week_end = local_midnight_utc(today + timedelta(days=1 + UPCOMING_DAYS))
    # A follow-up counts for its assignee at the schools where they are a counselor.
    counselor_school = (
        select(RoleAssignment.id)
        .where(
            RoleAssignment.user_id == FollowUp.assignee_id,
            RoleAssignment.role == "counselor",
            RoleAssignment.school_id == FollowUp.school_id,
        )
        .exists()
    )
    counts = db.session.execute(
        select(
            FollowUp.assignee_id,
            func.sum(case((FollowUp.due_at < now, 1), else_=0)),
            func.sum(case(((FollowUp.due_at >= now) & (FollowUp.due_at < tomorrow), 1), else_=0)),
            func.sum(case((FollowUp.due_at >= tomorrow, 1), else_=0)),
        )
        .where(FollowUp.status == v.OPEN, FollowUp.due_at < week_end, counselor_school)
        .group_by(FollowUp.assignee_id)
    ).all()
    # Until the outbox keeps tell()'s keys, the inbox itself says who had today's digest
    # (a restarted scheduler catching up the 07:30 run must not send it twice).
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == KIND_DIGEST,
                Notification.created_at >= local_midnight_utc(today),
            )
        )
    )
    wanted = {
        assignee: (overdue, due_today, upcoming)
        for assignee, overdue, due_today, upcoming in counts
        if assignee not in already and overdue + due_today + upcoming > 0
    }
    people = db.session.scalars(
        select(User).where(User.id.in_(list(wanted)), User.active.is_(True)).order_by(User.id)
    ).all()
    link = link_to("followups.mine")
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        for person in people:
            overdue, due_today, upcoming = wanted[person.id]
            words = {"overdue": overdue, "today": due_today, "upcoming": upcoming}
            tell(
                [person],
                KIND_DIGEST,
                _(
                    "Your follow-ups: %(overdue)d overdue, %(today)d due today, "
                    "%(upcoming)d due in the next seven days.",
                    **words,
                ),
                key=f"followups-digest:{person.id}:{today.isoformat()}",
                link=link,
                outside=_(
                    "Your follow-ups: %(overdue)d overdue, %(today)d due today, "
                    "%(upcoming)d due in the next seven days. Please sign in to see them.",
                    **words,
                ),
                personal=True,
            )
    return {"digests": len(people)}


register_job(
    Job(
        id="followups.digest",
        function=digest,
        trigger="cron",
        trigger_args={"hour": 7, "minute": 30},
        description="Each counselor's morning digest of overdue, today's and the week's "
        "follow-ups (counts only).",
    )
)
