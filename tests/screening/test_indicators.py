"""The indicators' arithmetic: counts roll up by summing (never by averaging rates), a
value needs a denominator, a target is met by direction, and an indicator's definition
is checked when written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening import indicators as ind

cells = st.lists(
    st.builds(
        ind.Tally,
        school_id=st.integers(1, 4),
        grade=st.sampled_from([None, 7, 10]),
        sex=st.sampled_from([None, "M", "F"]),
        numerator=st.integers(0, 50),
        denominator=st.integers(0, 80),
    ),
    max_size=40,
)


@given(cells)
def test_rolling_up_by_school_then_all_equals_rolling_up_all_at_once(tallies):
    by_school = ind.roll_up(tallies, lambda t: t.school_id)
    overall = ind.roll_up(tallies, lambda t: None).get(None, (0, 0))
    assert tuple(map(sum, zip(*by_school.values(), strict=True))) in {overall, ()}
    assert overall == (sum(t.numerator for t in tallies), sum(t.denominator for t in tallies))


def test_a_rate_is_of_the_summed_counts_not_the_mean_of_rates():
    tallies = [ind.Tally(1, 7, "M", 1, 1), ind.Tally(2, 7, "M", 0, 9)]
    ((n, d),) = ind.roll_up(tallies, lambda t: None).values()
    assert ind.value(ind.PERCENT, n, d) == 10.0  # not (100 + 0) / 2


def test_values_by_unit_and_without_denominator():
    assert ind.value(ind.PERCENT, 1, 4) == 25.0
    assert ind.value(ind.PER_1000, 3, 600) == 5.0
    assert ind.value(ind.RATIO, 900, 2) == 450.0
    assert ind.value(ind.PERCENT, 0, 0) is None
    assert ind.change(31.5, 32.25) == -0.75 and ind.change(None, 3.0) is None


def _indicator(**changes) -> ind.Indicator:
    text = {"zh": "x", "en": "x"}
    fields = dict(id="x", name=text, definition=text, numerator=text, denominator=text)
    return ind.Indicator(**fields, source=text, **changes)


def test_targets_are_met_by_direction():
    at_least = _indicator(direction=ind.AT_LEAST, target=100.0)
    at_most = _indicator(direction=ind.AT_MOST, target=-0.5, unit=ind.POINTS, change_of="y")
    assert ind.meets(at_least, 100.0, 100.0) is True
    assert ind.meets(at_least, 99.9, 100.0) is False
    assert ind.meets(at_most, -0.6, -0.5) is True and ind.meets(at_most, 0.1, -0.5) is False
    assert ind.meets(_indicator(), 5.0, 1.0) is None  # no direction: nothing to meet
    assert ind.meets(at_least, None, 100.0) is None


def test_a_definition_is_checked_when_written():
    with pytest.raises(ValueError, match="unit"):
        _indicator(unit="furlongs")
    with pytest.raises(ValueError, match="direction"):
        _indicator(direction="sideways")
    with pytest.raises(ValueError, match="change"):
        _indicator(unit=ind.POINTS)
