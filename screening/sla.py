"""Service levels in school time: how long a crisis alert may wait for its acknowledgement
when the clock only runs while the school is open. Pure: local wall-clock times in and out
(the app converts from and to stored UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class SchoolDay:
    """When the school is staffed: from `start` to `end` on `weekdays` (Monday is 0)."""

    start: time = time(7, 30)
    end: time = time(17, 30)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a school day must end after it starts")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("a school week needs at least one weekday, Monday 0 to Sunday 6")

    def is_open(self, at: datetime) -> bool:
        return at.weekday() in self.weekdays and self.start <= at.time() < self.end

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when the school is open then, otherwise when it next opens."""
        if self.is_open(at):
            return at
        day = at.date()
        if at.weekday() in self.weekdays and at.time() < self.start:
            return datetime.combine(day, self.start)
        day += timedelta(days=1)
        while day.weekday() not in self.weekdays:
            day += timedelta(days=1)
        return datetime.combine(day, self.start)


def add_school_hours(start: datetime, hours: float, day: SchoolDay) -> datetime:
    """The local time when `hours` of school time have passed since `start`: an alert
    raised at 22:00 on Friday with one hour is due at 08:30 on Monday."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = timedelta(hours=hours)
    at = day.next_opening(start)
    while True:
        closing = datetime.combine(at.date(), day.end)
        if at + remaining <= closing:
            return at + remaining
        remaining -= closing - at
        at = day.next_opening(closing)


def school_hours_between(start: datetime, end: datetime, day: SchoolDay) -> float:
    """How many hours of school time lie between two local times (0 if end is earlier)."""
    total = timedelta(0)
    at = day.next_opening(start)
    while at < end:
        closing = datetime.combine(at.date(), day.end)
        total += min(closing, end) - at
        at = day.next_opening(closing)
    return total.total_seconds() / 3600


def _last_closing(at: datetime, day: SchoolDay) -> datetime:
    """`at` itself when the school was open just before it, otherwise when it last closed:
    the point from which school time runs backwards."""
    if at.weekday() in day.weekdays and at.time() > day.start:
        return min(at, datetime.combine(at.date(), day.end))
    previous = at.date() - timedelta(days=1)
    while previous.weekday() not in day.weekdays:
        previous -= timedelta(days=1)
    return datetime.combine(previous, day.end)


def subtract_school_hours(end: datetime, hours: float, day: SchoolDay) -> datetime:
    """The latest local time from which `hours` of school time lead up to `end` (the
    inverse of add_school_hours): one school hour before 08:30 on Monday is 07:30 on
    Monday, two are 16:30 on Friday."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = timedelta(hours=hours)
    at = _last_closing(end, day)
    while True:
        opening = datetime.combine(at.date(), day.start)
        if at - remaining >= opening:
            return at - remaining
        remaining -= at - opening
        at = _last_closing(opening, day)


# The rungs of the escalation ladder (follow_up.escalation_level).
NOT_ESCALATED, SCHOOL, DISTRICT = 0, 1, 2


def ladder_stage(
    due: datetime,
    now: datetime,
    school_after: float,
    district_after: float,
    day: SchoolDay | None = None,
) -> int:
    """How far a deadline missed at `now` climbs the ladder: NOT_ESCALATED (also before
    `due`), SCHOOL once it is `school_after` hours late, DISTRICT once `district_after`
    hours late. With a school day, lateness counts school time only, so nothing climbs
    overnight or over a weekend; without one, wall-clock hours."""
    if school_after < 0 or district_after < 0:
        raise ValueError("escalation hours must not be negative")
    if now < due:
        return NOT_ESCALATED
    if day is None:
        late = (now - due).total_seconds() / 3600
    else:
        late = school_hours_between(due, now, day)
    if late >= district_after:
        return DISTRICT
    if late >= school_after:
        return SCHOOL
    return NOT_ESCALATED
