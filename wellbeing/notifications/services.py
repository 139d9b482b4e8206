"""Notifications to people, in the app's inbox (mail and webhooks come later)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, has_request_context, url_for
from sqlalchemy import Select, func, select, update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification
from wellbeing.roster.models import RoleAssignment, User

MESSAGE_LENGTH = 500  # what the inbox shows of one message


def link_to(endpoint: str, **values: object) -> str:
    """A page's path for a message's link: from the request when there is one, otherwise
    from the URL map (the demo and the commands send messages too)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def notify(user_id: int, kind: str, message: str, link: str | None = None) -> Notification:
    """Put a message (sealed, with its link) in a user's inbox."""
    if len(message) > MESSAGE_LENGTH:
        message = message[: MESSAGE_LENGTH - 1] + "…"
    notification = Notification(user_id=user_id, kind=kind)
    notification.message, notification.link = message, link
    db.session.add(notification)
    db.session.flush()
    return notification


def tell(
    recipients: Iterable[User],
    kind: str,
    message: str,
    *,
    key: str,
    link: str | None = None,
    outside: str | None = None,
) -> None:
    """Tell people something. `message` goes to each one's inbox (sealed at rest: it may
    name a student). `outside`, when given, goes out by mail to those with an address and
    to the webhooks: it must name no student and no item ("学校有 1 条新的危机预警，请登录
    查看"), since it leaves the database in clear. `key` makes telling idempotent: the same
    key told again (a sweep repeated after a crash) adds nothing."""
    for person in recipients:
        notify(person.id, kind, message, link=link)


def active_holders(
    role: str, *, school_id: int | None = None, district_id: int | None = None
) -> list[User]:
    """The active users who hold the role over that school (or that district)."""
    scope = (
        RoleAssignment.school_id == school_id
        if school_id is not None
        else RoleAssignment.district_id == district_id
    )
    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, scope, User.active.is_(True))
        )
    )


def counselors_of_school(school_id: int) -> list[User]:
    return active_holders("counselor", school_id=school_id)


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def inbox_query(user_id: int) -> Select[tuple[Notification]]:
    """A user's messages, newest first (paged by the inbox)."""
    return (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_read(user_id: int, notification_ids: list[int]) -> None:
    """Mark the notifications shown as read (not older ones beyond the page)."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.id.in_(notification_ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
