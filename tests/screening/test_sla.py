"""School time and the escalation ladder (screening/sla.py): examples, then properties
over random times, school days and hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.sla import (
    DISTRICT,
    NOT_ESCALATED,
    SCHOOL,
    SchoolDay,
    add_school_hours,
    ladder_stage,
    school_hours_between,
    subtract_school_hours,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY = SchoolDay()  # 07:30 to 17:30, Monday to Friday
FRIDAY = datetime(2026, 12, 4)  # a Friday

# Whole minutes over two years: the app stores and shows times to the minute.
times = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda at: at.replace(second=0, microsecond=0)
)
hours = st.integers(min_value=0, max_value=60 * 12).map(lambda quarters: quarters / 4)


@st.composite
def school_days(draw: st.DrawFn) -> SchoolDay:
    start = draw(st.integers(min_value=0, max_value=22 * 4))
    length = draw(st.integers(min_value=1, max_value=24 * 4 - start - 1))
    end = start + length
    weekdays = draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1))
    return SchoolDay(
        start=time(start // 4, start % 4 * 15),
        end=time(end // 4, end % 4 * 15),
        weekdays=weekdays,
    )


def test_subtract_crosses_the_night_and_the_weekend():
    monday = FRIDAY + timedelta(days=3)
    assert subtract_school_hours(monday.replace(hour=8, minute=30), 1, DAY) == monday.replace(
        hour=7, minute=30
    )
    assert subtract_school_hours(monday.replace(hour=8, minute=30), 2, DAY) == FRIDAY.replace(
        hour=16, minute=30
    )
    # From a closed time, school time runs back from the last closing.
    assert subtract_school_hours(monday.replace(hour=3), 1, DAY) == FRIDAY.replace(
        hour=16, minute=30
    )


def test_ladder_examples_in_school_time():
    due = FRIDAY.replace(hour=16)
    # Friday 16:00 due: 1.5 school hours by closing, nothing more until Monday.
    assert ladder_stage(due, FRIDAY.replace(hour=15), 4, 24, DAY) == NOT_ESCALATED
    assert ladder_stage(due, FRIDAY.replace(hour=23), 4, 24, DAY) == NOT_ESCALATED
    monday = FRIDAY + timedelta(days=3)
    assert ladder_stage(due, monday.replace(hour=9, minute=59), 4, 24, DAY) == NOT_ESCALATED
    assert ladder_stage(due, monday.replace(hour=10), 4, 24, DAY) == SCHOOL
    # 24 school hours: 1.5 Friday + 10 Monday + 10 Tuesday + 2.5 Wednesday.
    wednesday = monday + timedelta(days=2)
    assert ladder_stage(due, wednesday.replace(hour=9, minute=59), 4, 24, DAY) == SCHOOL
    assert ladder_stage(due, wednesday.replace(hour=10), 4, 24, DAY) == DISTRICT
    # Wall-clock hours without a school day.
    assert ladder_stage(due, FRIDAY.replace(hour=20), 4, 24) == SCHOOL


def test_ladder_refuses_negative_hours():
    with pytest.raises(ValueError):
        ladder_stage(FRIDAY, FRIDAY, -1, 24, DAY)


@SETTINGS
@given(times, hours, school_days())
def test_add_never_earlier_and_lands_in_school_time(start, hours, day):
    due = add_school_hours(start, hours, day)
    assert due >= start
    if hours > 0:
        assert due.weekday() in day.weekdays
        assert day.start < due.time() <= day.end or due.time() == day.end


@SETTINGS
@given(times, hours, school_days())
def test_school_hours_between_inverts_add(start, hours, day):
    due = add_school_hours(start, hours, day)
    assert school_hours_between(start, due, day) == pytest.approx(hours)


@SETTINGS
@given(times, hours, school_days())
def test_subtract_inverts_between(end, hours, day):
    start = subtract_school_hours(end, hours, day)
    assert start <= end
    assert school_hours_between(start, end, day) == pytest.approx(hours)


@SETTINGS
@given(times, times, times, school_days())
def test_school_hours_add_up(a, b, c, day):
    a, b, c = sorted((a, b, c))
    whole = school_hours_between(a, c, day)
    assert whole == pytest.approx(school_hours_between(a, b, day) + school_hours_between(b, c, day))
    assert whole <= (c - a).total_seconds() / 3600 + 1e-9


@SETTINGS
@given(times, hours, hours, school_days())
def test_add_is_monotone_in_hours(start, first, second, day):
    first, second = sorted((first, second))
    assert add_school_hours(start, first, day) <= add_school_hours(start, second, day)


@SETTINGS
@given(times, times, hours, school_days())
def test_add_is_monotone_in_start(first, second, hours, day):
    first, second = sorted((first, second))
    assert add_school_hours(first, hours, day) <= add_school_hours(second, hours, day)


@SETTINGS
@given(times, times, times, hours, hours, st.one_of(st.none(), school_days()))
def test_ladder_is_monotone_in_time_and_starts_at_the_deadline(
    due, now, later, school_after, district_after, day
):
    now, later = sorted((now, later))
    stage = ladder_stage(due, now, school_after, district_after, day)
    assert stage <= ladder_stage(due, later, school_after, district_after, day)
    if now < due:
        assert stage == NOT_ESCALATED


@SETTINGS
@given(times, times, school_days())
def test_ladder_stands_still_while_the_school_is_closed(due, now, day):
    """Between a closing and the next opening nothing climbs: no escalation overnight."""
    closed = day.next_opening(now)
    if closed == now:  # open now: compare closing time with just before the next opening
        now = datetime.combine(now.date(), day.end)
        closed = day.next_opening(now)
    later = closed - timedelta(minutes=1) if closed - timedelta(minutes=1) >= now else now
    assert ladder_stage(due, now, 4, 24, day) == ladder_stage(due, later, 4, 24, day)
