"""Notifications to people, in the app's inbox (mail and webhooks come later)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import Notification
from wellbeing.roster.models import RoleAssignment, User


def notify(user_id: int, kind: str, message: str, link: str | None = None) -> Notification:
    notification = Notification(user_id=user_id, kind=kind, message=message, link=link)
    db.session.add(notification)
    db.session.flush()
    return notification


def counselors_of_school(school_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == "counselor",
                RoleAssignment.school_id == school_id,
                User.active.is_(True),
            )
        )
    )


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def inbox(user_id: int, limit: int = 200) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(user_id: int) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
