"""Screening rounds: vision in spring and autumn, fitness once a school year (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from wellbeing.health.rounds import (
    BadRound,
    VisionRound,
    age_on,
    parse_vision_round,
    recent_vision_rounds,
    school_year_for,
    vision_round_for,
)


@pytest.mark.parametrize(
    ("day", "key", "school_year"),
    [
        (date(2026, 9, 1), "2026-autumn", 2026),
        (date(2026, 8, 1), "2026-autumn", 2026),
        (date(2027, 1, 31), "2026-autumn", 2026),
        (date(2027, 2, 1), "2027-spring", 2026),
        (date(2027, 7, 31), "2027-spring", 2026),
    ],
)
def test_a_day_belongs_to_one_round_and_school_year(day, key, school_year):
    assert vision_round_for(day).key == key
    assert vision_round_for(day).school_year == school_year == school_year_for(day)


def test_rounds_order_in_time_and_step_back():
    spring, autumn = parse_vision_round("2027-spring"), parse_vision_round("2026-autumn")
    assert autumn < spring and spring.previous() == autumn
    assert autumn.previous() == VisionRound(2026, 0)
    assert [r.key for r in recent_vision_rounds(date(2027, 3, 1), 3)] == [
        "2027-spring",
        "2026-autumn",
        "2026-spring",
    ]


@pytest.mark.parametrize("text", ["", "2026", "2026-summer", "26-autumn", "2026-autumn "])
def test_a_bad_round_is_refused(text):
    with pytest.raises(BadRound):
        parse_vision_round(text)


def test_age_reaches_a_year_on_the_birthday_not_before():
    assert age_on(date(2013, 5, 1), date(2026, 5, 1)) == 13.0
    assert age_on(date(2020, 11, 30), date(2026, 11, 29)) == 5.99
    assert age_on(date(2020, 11, 30), date(2026, 11, 30)) == 6.0
    assert age_on(date(2012, 2, 29), date(2018, 2, 28)) == 6.0
    assert 13.49 <= age_on(date(2013, 5, 1), date(2026, 11, 1)) <= 13.51
