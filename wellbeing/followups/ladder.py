"""The SLA ladder: deadlines from the settings, and its steps recorded with their times."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from screening.sla import SchoolDay
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import SlaEvent


def school_day() -> SchoolDay:
    """The school day of the settings (weekdays there count Monday as 1)."""
    config = current_app.config
    return SchoolDay(
        start=time.fromisoformat(config["SCHOOL_DAY_START"]),
        end=time.fromisoformat(config["SCHOOL_DAY_END"]),
        weekdays=frozenset(int(day) - 1 for day in config["SCHOOL_DAY_WEEKDAYS"]),
    )


def record_step(
    subject: str,
    subject_id: int,
    school_id: int,
    step: str,
    due_at: datetime,
    *,
    user_id: int | None = None,
    at: datetime | None = None,
) -> SlaEvent | None:
    """Record a step of the ladder once: None if this step for this deadline is already
    recorded (a sweep repeated after a crash, an alert acknowledged twice)."""
    existing = db.session.scalar(
        select(SlaEvent.id).where(
            SlaEvent.subject == subject,
            SlaEvent.subject_id == subject_id,
            SlaEvent.step == step,
            SlaEvent.due_at == due_at,
        )
    )
    if existing is not None:
        return None
    event = SlaEvent(
        subject=subject,
        subject_id=subject_id,
        school_id=school_id,
        step=step,
        due_at=due_at,
        at=at or utcnow(),
        user_id=user_id,
    )
    db.session.add(event)
    db.session.flush()
    return event


def first_contact_due(acknowledged_at: datetime) -> datetime:
    """When the student of an acknowledged crisis alert must have been contacted: the
    first follow-up's default due time (SLA_FIRST_CONTACT_HOURS after acknowledging,
    in plain hours: a student in crisis is not kept waiting for a school day)."""
    return acknowledged_at + timedelta(hours=current_app.config["SLA_FIRST_CONTACT_HOURS"])
