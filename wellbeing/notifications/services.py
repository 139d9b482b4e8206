"""Notifications to people: the app's inbox, and mail and webhooks through the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications import outbox
from wellbeing.notifications.models import Notification
from wellbeing.roster.models import RoleAssignment, School, User

MESSAGE_LENGTH = 500  # what the inbox shows of one message
SUBJECT_LENGTH = 120


def link_to(endpoint: str, **values: object) -> str:
    """A page's path for a message's link: from the request when there is one, otherwise
    from the URL map (the demo and the commands send messages too)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def notify(
    user_id: int, kind: str, message: str, link: str | None = None, *, key: str | None = None
) -> Notification:
    """Put a message (sealed, with its link) in a user's inbox."""
    notification = _inbox_row(user_id, kind, message, link, key)
    db.session.add(notification)
    db.session.flush()
    return notification


def _inbox_row(
    user_id: int, kind: str, message: str, link: str | None, key: str | None
) -> Notification:
    if len(message) > MESSAGE_LENGTH:
        message = message[: MESSAGE_LENGTH - 1] + "…"
    notification = Notification(user_id=user_id, kind=kind, key=key)
    notification.message, notification.link = message, link
    return notification


def tell(
    recipients: Iterable[User],
    kind: str,
    message: str,
    *,
    key: str,
    link: str | None = None,
    outside: str | None = None,
    personal: bool = False,
) -> None:
    """Tell people something. `message` goes to each one's inbox (sealed at rest: it may
    name a student). `outside`, when given, goes out by mail to those with an address and
    to the webhooks: it must name no student and no item ("学校有 1 条新的危机预警，请登录
    查看"), since it leaves the database in clear. `key` makes telling idempotent: the same
    key told again (a sweep repeated after a crash) adds nothing.

    Everything is written in the caller's transaction (the transactional outbox): the
    caller's commit makes the messages and its own change durable together. Mail and
    webhooks carry a link to the inbox, never `link` itself, which may name a student's
    page (that is why the inbox seals it). A `personal` message (a reminder, a digest, a
    follow-up handed to someone) goes by mail only: the webhooks post to a group's chat,
    which needs the school's news, not each person's."""
    people = list(recipients)
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.key == key, Notification.user_id.in_([p.id for p in people])
            )
        )
    )
    # Added together and written by the caller's next flush, in one INSERT (a sweep tells
    # hundreds of people; one round trip each was most of its time).
    db.session.add_all(
        _inbox_row(person.id, kind, message, link, key)
        for person in {p.id: p for p in people}.values()
        if person.id not in told
    )
    if outside:
        _send_outside(people, key, outside, webhooks=not personal)


def _send_outside(people: list[User], key: str, outside: str, *, webhooks: bool) -> None:
    """Queue the outside text by mail (to each person with an address, when mail is on)
    and to each webhook URL."""
    config = current_app.config
    subject, body = outside_text(outside)
    if config["MAIL_HOST"]:
        for person in people:
            if person.email and person.active:
                outbox.queue(f"{key}:mail:{person.id}", outbox.MAIL, person.email, subject, body)
    for number, url in enumerate(config["WEBHOOK_URLS"] if webhooks else []):
        outbox.queue(f"{key}:webhook:{number}", outbox.WEBHOOK, url, subject, body)


def outside_text(outside: str) -> tuple[str, str]:
    """The subject and body of a mail or webhook: the outside text, and a link to the
    inbox made absolute from PUBLIC_URL. In the district's language, whoever's request
    caused it."""
    config = current_app.config
    path = current_app.url_map.bind("localhost").build("inbox.inbox")
    url = config["PUBLIC_URL"].rstrip("/") + path
    first_line = outside.strip().splitlines()[0] if outside.strip() else ""
    subject = first_line[:SUBJECT_LENGTH]
    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        body = "\n\n".join(
            (
                outside.strip(),
                _("Log in to read it: %(url)s", url=url),
                _("Sent by the student wellbeing system. Please do not reply."),
            )
        )
    return subject, body


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


def alert_recipients(school: School) -> list[User]:
    """Who is told of a school's crisis alert at once: its counselors, or, when it has
    none, the district's administrators (an alert must never reach nobody)."""
    counselors = counselors_of_school(school.id)
    return counselors or active_holders("admin", district_id=school.district_id)


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
