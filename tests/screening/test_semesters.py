"""Semesters (screening/semesters.py): the autumn semester runs from 1 September to 31
January, the spring semester from 1 February to 31 July, August is in neither; examples,
then properties over random days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.semesters import (
    AUTUMN,
    SPRING,
    Semester,
    ended_semesters,
    latest_semester,
    on_track,
    semester_of,
)

days = st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31))


def _school_year(day: date) -> int:
    # The school year as wellbeing.health.rounds.school_year_for counts it, written out.
    return day.year if day.month >= 8 else day.year - 1


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 1), Semester(2026, AUTUMN)),
        (date(2026, 12, 4), Semester(2026, AUTUMN)),
        (date(2027, 1, 31), Semester(2026, AUTUMN)),
        (date(2027, 2, 1), Semester(2026, SPRING)),
        (date(2027, 7, 31), Semester(2026, SPRING)),
        (date(2027, 8, 1), None),
        (date(2027, 8, 31), None),
    ],
)
def test_the_semester_of_a_day(day, expected):
    assert semester_of(day) == expected


def test_bounds_and_names():
    autumn, spring = Semester(2026, AUTUMN), Semester(2026, SPRING)
    assert (autumn.first, autumn.last) == (date(2026, 9, 1), date(2027, 1, 31))
    assert (spring.first, spring.last) == (date(2027, 2, 1), date(2027, 7, 31))
    assert (autumn.key, spring.key) == ("2026-autumn", "2026-spring")
    assert Semester(2028, SPRING).last == date(2029, 7, 31)
    assert spring.previous() == autumn and autumn.previous() == Semester(2025, SPRING)
    with pytest.raises(ValueError):
        Semester(2026, 3)


def test_the_summer_break_shows_the_spring_just_ended():
    assert latest_semester(date(2027, 8, 15)) == Semester(2026, SPRING)
    assert latest_semester(date(2027, 9, 1)) == Semester(2027, AUTUMN)


def test_ended_semesters_of_a_school_year():
    assert ended_semesters(2026, date(2026, 12, 4)) == []
    assert ended_semesters(2026, date(2027, 2, 1)) == [Semester(2026, AUTUMN)]
    assert ended_semesters(2026, date(2027, 7, 31)) == [Semester(2026, AUTUMN)]
    assert ended_semesters(2026, date(2027, 8, 1)) == list(
        (Semester(2026, AUTUMN), Semester(2026, SPRING))
    )
    assert len(ended_semesters(2025, date(2026, 12, 4))) == 2


def test_on_track_keeps_pace_with_the_days():
    autumn = Semester(2026, AUTUMN)
    assert on_track(0, 9, autumn, date(2026, 9, 10))  # 10 of 153 days: 0 needed
    assert not on_track(2, 9, autumn, date(2026, 12, 4))  # 95 of 153 days: 5 needed
    assert on_track(5, 9, autumn, date(2026, 12, 4))
    assert not on_track(8, 9, autumn, date(2027, 2, 1))  # ended short
    assert on_track(9, 9, autumn, date(2027, 2, 1))


@given(days)
def test_every_day_outside_august_is_in_exactly_one_semester(day):
    semester = semester_of(day)
    if day.month == 8:
        assert semester is None
        return
    assert semester is not None and semester.holds(day)
    assert semester.school_year == _school_year(day)
    other = Semester(semester.school_year, SPRING if semester.term == AUTUMN else AUTUMN)
    assert not other.holds(day)


@given(days)
def test_semesters_follow_each_other_without_gap_but_summer(day):
    semester = latest_semester(day)
    assert semester.first <= day
    following = semester_of(semester.last + timedelta(days=1))
    if semester.term == AUTUMN:
        assert following == Semester(semester.school_year, SPRING)
    else:  # the summer break: August, then the next autumn
        assert following is None
        assert semester_of(semester.last + timedelta(days=32)) == Semester(
            semester.school_year + 1, AUTUMN
        )


@given(days, st.integers(min_value=0, max_value=30))
def test_on_track_grows_with_lessons(day, held):
    semester = latest_semester(day)
    if on_track(held, 9, semester, day):
        assert on_track(held + 1, 9, semester, day)
    assert on_track(9, 9, semester, day)
