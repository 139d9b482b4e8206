"""Semesters of the school year, for the mental-health lesson log and its district
figures. Pure: no Flask, no SQLAlchemy.

The school year runs from August to July (wellbeing.health.rounds.school_year_for); its
two semesters are the autumn semester, 1 September to 31 January, and the spring
semester, 1 February to 31 July. August is the summer break: in the school year, in no
semester."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

AUTUMN, SPRING = 1, 2
AUTUMN_FIRST_MONTH, SPRING_FIRST_MONTH, SUMMER_MONTH = 9, 2, 8


@dataclass(frozen=True, order=True)
class Semester:
    """A semester: the school year it belongs to (2026 = 2026–27) and its term."""

    school_year: int
    term: int  # AUTUMN or SPRING

    def __post_init__(self) -> None:
        if self.term not in (AUTUMN, SPRING):
            raise ValueError(f"not a term: {self.term!r}")

    @property
    def first(self) -> date:
        if self.term == AUTUMN:
            return date(self.school_year, AUTUMN_FIRST_MONTH, 1)
        return date(self.school_year + 1, SPRING_FIRST_MONTH, 1)

    @property
    def last(self) -> date:
        if self.term == AUTUMN:
            return date(self.school_year + 1, SPRING_FIRST_MONTH, 1) - timedelta(days=1)
        return date(self.school_year + 1, SUMMER_MONTH, 1) - timedelta(days=1)

    @property
    def key(self) -> str:
        """A stable name for links and exports: "2026-autumn", "2026-spring"."""
        return f"{self.school_year}-{'autumn' if self.term == AUTUMN else 'spring'}"

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last

    def previous(self) -> Semester:
        if self.term == SPRING:
            return Semester(self.school_year, AUTUMN)
        return Semester(self.school_year - 1, SPRING)


def semester_of(day: date) -> Semester | None:
    """The semester holding the day; None in August (the summer break)."""
    if day.month == SUMMER_MONTH:
        return None
    if day.month >= AUTUMN_FIRST_MONTH:
        return Semester(day.year, AUTUMN)
    if day.month < SPRING_FIRST_MONTH:
        return Semester(day.year - 1, AUTUMN)
    return Semester(day.year - 1, SPRING)


def latest_semester(day: date) -> Semester:
    """The semester holding the day, or in the summer break the spring semester just
    ended (a late lesson of it can still be logged, and its count is what stands)."""
    return semester_of(day) or Semester(day.year - 1, SPRING)


def semesters_of_year(school_year: int) -> tuple[Semester, Semester]:
    return Semester(school_year, AUTUMN), Semester(school_year, SPRING)


def ended_semesters(school_year: int, today: date) -> list[Semester]:
    """The school year's semesters whose last day is before today: those a district
    figure judges (a semester still running is not yet short of its target)."""
    return [s for s in semesters_of_year(school_year) if s.last < today]


def on_track(held: int, target: int, semester: Semester, today: date) -> bool:
    """Whether a class's count keeps pace with the target: at least the share of the
    target that the semester's elapsed days call for (rounded down), and the whole
    target once the semester has ended."""
    if today > semester.last:
        return held >= target
    if today < semester.first:
        return True
    days = (semester.last - semester.first).days + 1
    elapsed = (today - semester.first).days + 1
    return held >= target * elapsed // days
