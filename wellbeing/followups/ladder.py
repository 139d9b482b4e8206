"""The SLA ladder: deadlines from the settings, and its steps recorded with their times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import insert, select

from screening.sla import SchoolDay, add_school_hours, ladder_stage
from wellbeing.clock import from_local, to_local, utcnow
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
    """When the first follow-up of an acknowledged crisis alert is due (stored UTC)."""
    return acknowledged_at + timedelta(hours=current_app.config["SLA_FIRST_CONTACT_HOURS"])


def due_for_priority(priority: str, from_at: datetime) -> datetime:
    """A follow-up's default due time from its priority (the student's tier)."""
    return from_at + timedelta(hours=current_app.config["SLA_TIER_HOURS"][priority])


def alert_deadline(raised_at: datetime, day: SchoolDay | None = None) -> datetime:
    """When a crisis alert must be acknowledged: SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS of
    school time after it was raised, computed on local time (stored UTC in and out)."""
    hours = current_app.config["SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS"]
    return from_local(add_school_hours(to_local(raised_at), hours, day or school_day()))


def stage(due_at: datetime, now: datetime, day: SchoolDay | None = None) -> int:
    """How far a missed deadline has climbed the ladder at `now` (0, 1 school, 2 district),
    counting school time only: nothing is escalated overnight or over a weekend."""
    config = current_app.config
    return ladder_stage(
        to_local(due_at),
        to_local(now),
        config["SLA_ESCALATE_SCHOOL_AFTER_HOURS"],
        config["SLA_ESCALATE_DISTRICT_AFTER_HOURS"],
        day or school_day(),
    )


def recorded_steps(subject: str, subject_ids: Iterable[int]) -> set[tuple[int, str, datetime]]:
    """The steps already recorded for these subjects: (subject_id, step, due_at)."""
    ids = sorted(set(subject_ids))
    found: set[tuple[int, str, datetime]] = set()
    for start in range(0, len(ids), 1000):  # keep the IN list within every driver's limits
        found.update(
            tuple(row)
            for row in db.session.execute(
                select(SlaEvent.subject_id, SlaEvent.step, SlaEvent.due_at).where(
                    SlaEvent.subject == subject,
                    SlaEvent.subject_id.in_(ids[start : start + 1000]),
                )
            )
        )
    return found


def record_steps(
    subject: str,
    steps: Iterable[tuple[int, int, str, datetime]],
    *,
    at: datetime | None = None,
    user_id: int | None = None,
) -> int:
    """record_step for many at once, (subject_id, school_id, step, due_at) each, in one
    query and one INSERT (the sweep's thousand reminders); returns how many were new."""
    wanted = {
        (subject_id, step, due_at): school_id for subject_id, school_id, step, due_at in steps
    }
    if not wanted:
        return 0
    done = recorded_steps(subject, (subject_id for subject_id, _, _ in wanted))
    at = at or utcnow()
    rows = [
        {
            "subject": subject,
            "subject_id": subject_id,
            "school_id": school_id,
            "step": step,
            "due_at": due_at,
            "at": at,
            "user_id": user_id,
        }
        for (subject_id, step, due_at), school_id in wanted.items()
        if (subject_id, step, due_at) not in done
    ]
    if rows:
        db.session.execute(insert(SlaEvent), rows)
    return len(rows)
