"""When an observation must be acknowledged, and which school week a day belongs to.
Urgent: OBSERVATION_URGENT_ACK_SCHOOL_HOURS of school time; routine:
OBSERVATION_ROUTINE_ACK_SCHOOL_DAYS school days (each as long as the settings' school
day). Computed on local time, stored UTC in and out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app

from screening.sla import SchoolDay, add_school_hours
from wellbeing.clock import from_local, to_local
from wellbeing.followups.ladder import school_day


def acknowledge_by(submitted_at: datetime, urgent: bool, day: SchoolDay | None = None) -> datetime:
    """The acknowledgement deadline of an observation submitted at `submitted_at` (UTC)."""
    day = day or school_day()
    config = current_app.config
    if urgent:
        hours = float(config["OBSERVATION_URGENT_ACK_SCHOOL_HOURS"])
    else:
        length = datetime.combine(date.min, day.end) - datetime.combine(date.min, day.start)
        hours = config["OBSERVATION_ROUTINE_ACK_SCHOOL_DAYS"] * length.total_seconds() / 3600
    return from_local(add_school_hours(to_local(submitted_at), hours, day))


def week_start(day: date) -> date:
    """The Monday of the school week holding `day` (a local date)."""
    return day - timedelta(days=day.weekday())
