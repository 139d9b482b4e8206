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
