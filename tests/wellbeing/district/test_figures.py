"""The figures as shown: the one suppression function (small cells and the cells that
would reveal them by subtraction from the total), values and targets worded; counts
shared by several sources are computed once per refresh only."""

from __future__ import annotations

from screening.indicators import AT_LEAST, PERCENT, RATIO, Indicator
from wellbeing.district import indicators
from wellbeing.district.figures import shown_rows, target_text, value_text


def _indicator(**changes) -> Indicator:
    text = {"zh": "测试", "en": "test"}
    fields = dict(
        id="test",
        name=text,
        definition=text,
        numerator=text,
        denominator=text,
        source=text,
        unit=PERCENT,
        direction=AT_LEAST,
        target=100.0,
    )
    return Indicator(**{**fields, **changes})


def test_a_small_count_and_the_one_that_would_reveal_it_are_hidden():
    rows = [("A", 3, 40), ("B", 10, 50), ("C", 20, 60), ("total", 33, 150)]
    shown = shown_rows(_indicator(), rows, suppress=True)
    assert shown[0].numerator == "<10" and shown[0].value is None and shown[0].hidden
    # A alone hidden would be 33 - 10 - 20: the smallest other count is hidden too.
    assert shown[1].numerator == "<10" and shown[1].hidden
    assert shown[2].numerator == 20 and shown[2].value == 20 / 60 * 100
    assert shown[3].numerator == 33 and not shown[3].hidden
    # Whole for an administrator, and for counts that are not students'.
    assert [s.numerator for s in shown_rows(_indicator(), rows, suppress=False)] == [3, 10, 20, 33]
    whole = shown_rows(_indicator(suppress=False), rows, suppress=True)
    assert [s.numerator for s in whole] == [3, 10, 20, 33]
    # A zero stays a zero: nobody is singled out of nobody.
    assert shown_rows(_indicator(), [("t", 0, 0)], suppress=True)[0].numerator == 0


def test_values_and_targets_are_worded_with_their_unit():
    percent, ratio = _indicator(), _indicator(unit=RATIO, direction="at_most", target=None)
    assert value_text(percent, 68.25) == "68.2%"
    assert value_text(percent, None) == "—" and value_text(percent, 5.0, hidden=True) == "<10"
    assert value_text(ratio, 300.0) == "300.0"
    assert target_text(percent, 100.0) == "≥ 100.0%" and target_text(ratio, None) == "—"


def test_shared_counts_are_computed_once_per_refresh_only():
    calls = []

    @indicators.shared
    def count(district_id: int) -> int:
        calls.append(district_id)
        return len(calls)

    assert count(1) == 1 and count(1) == 2  # outside a refresh: afresh every time
    with indicators.sharing():
        assert count(1) == 3 and count(1) == 3 and count(2) == 4
    assert count(1) == 5
