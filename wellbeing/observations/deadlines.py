"""When an observation must be acknowledged, when it climbs to the school's leaders if it
is not, and which school week a day belongs to. Urgent: OBSERVATION_URGENT_ACK_SCHOOL_HOURS
of school time, then OBSERVATION_URGENT_ESCALATE_SCHOOL_HOURS more; routine:
OBSERVATION_ROUTINE_ACK_SCHOOL_DAYS school days, then OBSERVATION_ROUTINE_ESCALATE_SCHOOL_DAYS
more (each day as long as the settings' school day). Computed on local time, stored UTC in
and out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app

from screening.sla import SchoolDay, add_school_hours
from wellbeing.clock import from_local, to_local
from wellbeing.followups.ladder import school_day


def _school_time_after(
    start: datetime, urgent: bool, hours_setting: str, days_setting: str, day: SchoolDay
) -> datetime:
    """`start` (UTC) plus the urgent setting's school hours or the routine one's school
    days, in school time."""
    config = current_app.config
    if urgent:
        hours = float(config[hours_setting])
    else:
        length = datetime.combine(date.min, day.end) - datetime.combine(date.min, day.start)
        hours = float(config[days_setting]) * length.total_seconds() / 3600
    return from_local(add_school_hours(to_local(start), hours, day))


def acknowledge_by(submitted_at: datetime, urgent: bool, day: SchoolDay | None = None) -> datetime:
    """The acknowledgement deadline of an observation submitted at `submitted_at` (UTC)."""
    return _school_time_after(
        submitted_at,
        urgent,
        "OBSERVATION_URGENT_ACK_SCHOOL_HOURS",
        "OBSERVATION_ROUTINE_ACK_SCHOOL_DAYS",
        day or school_day(),
    )


def escalate_at(due_at: datetime, urgent: bool, day: SchoolDay | None = None) -> datetime:
    """When an observation still unacknowledged past its deadline `due_at` (UTC) is
    escalated to the school's leaders: one more period after the counselors' reminder."""
    return _school_time_after(
        due_at,
        urgent,
        "OBSERVATION_URGENT_ESCALATE_SCHOOL_HOURS",
        "OBSERVATION_ROUTINE_ESCALATE_SCHOOL_DAYS",
        day or school_day(),
    )


def week_start(day: date) -> date:
    """The Monday of the school week holding `day` (a local date)."""
    return day - timedelta(days=day.weekday())
