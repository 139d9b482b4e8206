"""The figures as shown: small cells hidden alike in every table (decided by the refresh
over all of an indicator's cells of the year), values and targets worded; counts
shared by several sources are computed once per refresh only."""

from __future__ import annotations

from screening.indicators import AT_LEAST, PERCENT, RATIO, Indicator, Tally, cube_lines
from wellbeing.district import figures, indicators
from wellbeing.district.figures import Count, shown_rows, target_text, value_text
from wellbeing.district.refresh import rows_for


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


def _stored(indicator: Indicator, tallies: list[Tally]) -> dict:
    """The cells as the refresh stores them, read back as the pages read them."""
    rows = rows_for(1, 2026, indicator, tallies)
    return {(r.school_id, r.grade, r.sex): figures._count(r, 10) for r in rows}


def test_a_small_cell_is_hidden_alike_in_every_table_that_shows_it(app):
    """School 2's grade 8 girls are 3: hidden in the school's grade-and-sex table, and the
    cells that would give them away hidden in every other table the pages show."""
    tallies = [
        Tally(1, 7, "F", 20, 40),
        Tally(1, 7, "M", 22, 41),
        Tally(2, 7, "F", 18, 39),
        Tally(2, 7, "M", 21, 44),
        Tally(2, 8, "F", 3, 30),
        Tally(2, 8, "M", 25, 50),
    ]
    with app.app_context():
        cells = _stored(_indicator(), tallies)
        by_grade_sex = shown_rows(
            _indicator(),
            [("", cells[key]) for key in sorted(k for k in cells if k[0] == 2 and None not in k)]
            + [("", cells[(2, None, None)])],
            suppress=True,
        )
    # Grades 7 and 8 by sex is a 2 × 2 table with margins: any three shown cells would
    # give the fourth, so all four hide; the school's total stays shown.
    assert [s.numerator for s in by_grade_sex] == ["<10", "<10", "<10", "<10", 67]
    assert by_grade_sex[2].hidden and by_grade_sex[2].value is None
    # And no line of any table (schools, grades, sexes, both) shows all but one cell.
    hidden = {(key, c) for key, count in cells.items() for c in count.hidden}
    assert ((2, 8, "F"), "numerator") in hidden
    for line in cube_lines(cells):
        assert sum(cell in hidden for cell in line.cells) != 1


def test_shown_rows_show_what_the_refresh_decided(app):
    tallies = [Tally(1, 7, "F", 3, 40), Tally(1, 7, "M", 30, 40)]
    with app.app_context():
        cells = _stored(_indicator(), tallies)
    rows = [("F", cells[(1, None, "F")]), ("M", cells[(1, None, "M")])]
    shown = shown_rows(_indicator(), rows, suppress=True)
    assert shown[0].numerator == "<10" and shown[0].hidden and shown[0].value is None
    assert shown[1].numerator == "<10" and shown[1].denominator == 40
    # Whole for an administrator, and for counts that are not students'.
    assert [s.numerator for s in shown_rows(_indicator(), rows, suppress=False)] == [3, 30]
    whole = shown_rows(_indicator(suppress=False), rows, suppress=True)
    assert [s.numerator for s in whole] == [3, 30]
    # A zero stays a zero: nobody is singled out of nobody.
    assert shown_rows(_indicator(), [("t", Count(0, 0))], suppress=True)[0].numerator == 0


def test_counts_stored_under_another_k_are_hidden_until_the_next_refresh(app):
    with app.app_context():
        row = rows_for(1, 2026, _indicator(), [Tally(1, 7, "F", 300, 400)])[0]
    assert figures._count(row, 10).hidden == frozenset()
    stale = figures._count(row, 20)
    assert stale.hidden == figures.BOTH
    shown = shown_rows(_indicator(), [("", stale)], suppress=True)[0]
    assert shown.numerator == shown.denominator == "<10" and shown.value is None


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


def test_the_pages_read_the_stored_cells_as_plain_rows(district_world):
    """A drill-down reads every cell of an indicator (a thousand or more in a real
    district): loaded as ORM objects, they lived long enough to be promoted and made a
    full garbage collection every few requests (benchmarks/bench_district.py). The
    counts are the stored rows', and no row is loaded as an object."""
    from sqlalchemy import event, select

    from wellbeing.campaigns.ledger import small_cell_k
    from wellbeing.district.models import IndicatorValue
    from wellbeing.district.refresh import refresh
    from wellbeing.extensions import db

    world = district_world
    refresh(world.district.id, world.school_year)
    loaded = []

    def on_load(target, _context) -> None:
        loaded.append(target)

    event.listen(IndicatorValue, "load", on_load)
    try:
        found = figures.counts(world.district.id, world.school_year, "tier_red_share")
        trend = figures.trend(world.district.id, "tier_red_share")
    finally:
        event.remove(IndicatorValue, "load", on_load)
    assert loaded == []
    stored = db.session.scalars(
        select(IndicatorValue).where(IndicatorValue.indicator_id == "tier_red_share")
    ).all()
    k = small_cell_k()
    assert len(stored) > 1
    assert found["tier_red_share"] == {
        (r.school_id, r.grade, r.sex): figures._count(r, k) for r in stored
    }
    whole = [r for r in stored if r.school_id is None and r.grade is None and r.sex is None]
    assert trend == [(r.school_year, figures._count(r, k)) for r in whole]
