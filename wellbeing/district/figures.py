"""What the district's pages and exports read: the stored counts (indicator_value, never
the areas' tables), the targets in force, and each figure as shown through `shown_rows`,
with small cells hidden from monitors as the refresh decided (wellbeing.district.refresh)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask_babel import get_locale
from sqlalchemy import Row, func, select

from screening.indicators import PER_1000, PERCENT, POINTS, RATIO, Indicator, change, meets, value
from wellbeing.campaigns import ledger
from wellbeing.district.indicators import INDICATORS
from wellbeing.district.models import IndicatorTarget, IndicatorValue
from wellbeing.extensions import db

Cell = tuple[int | None, int | None, str | None]  # (school, grade, sex); None: all
GROUP_ORDER = ("screening", "crisis", "plans", "staffing", "committee", "lessons", "health")


def indicators() -> list[Indicator]:
    """Every registered indicator, in registration order."""
    return [registered.indicator for registered in INDICATORS.values()]


def find(indicator_id: str) -> Indicator | None:
    registered = INDICATORS.get(indicator_id)
    return registered.indicator if registered else None


def grouped() -> list[tuple[str, list[Indicator]]]:
    """The indicators by dashboard section, known sections first."""
    groups: dict[str, list[Indicator]] = defaultdict(list)
    for indicator in indicators():
        groups[indicator.group].append(indicator)
    order = {name: n for n, name in enumerate(GROUP_ORDER)}
    return sorted(groups.items(), key=lambda item: order.get(item[0], len(order)))


def text(texts: dict[str, str] | object) -> str:
    """An indicator's text in the page's language (Chinese unless English is chosen)."""
    language = "en" if str(get_locale()).startswith("en") else "zh"
    return texts[language]  # type: ignore[index]


# ----------------------------------------------------------------------------- stored


def years(district_id: int) -> list[int]:
    """The school years with stored figures, newest first."""
    return list(
        db.session.scalars(
            select(IndicatorValue.school_year)
            .where(IndicatorValue.district_id == district_id)
            .distinct()
            .order_by(IndicatorValue.school_year.desc())
        )
    )


def computed_at(district_id: int, school_year: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(IndicatorValue.computed_at)).where(
            IndicatorValue.district_id == district_id, IndicatorValue.school_year == school_year
        )
    )


class Count(NamedTuple):
    """A cell's stored counts and the columns a monitor may not see: those the refresh
    hid, or both when it ran under another k (until the next refresh)."""

    numerator: int
    denominator: int
    hidden: frozenset[str] = frozenset()


NOTHING = Count(0, 0)
BOTH = frozenset(("numerator", "denominator"))


# The stored columns a page reads, selected as plain rows: a drill-down reads a thousand
# cells or more, and as ORM objects they outlived each request until a full garbage
# collection (a pause of 0.1-0.3 s every few requests on a 100,000-student district).
COLUMNS = (
    IndicatorValue.indicator_id,
    IndicatorValue.school_year,
    IndicatorValue.school_id,
    IndicatorValue.grade,
    IndicatorValue.sex,
    IndicatorValue.numerator,
    IndicatorValue.denominator,
    IndicatorValue.numerator_hidden,
    IndicatorValue.denominator_hidden,
    IndicatorValue.small_cell_k,
)


def _count(row: Row, k: int) -> Count:
    if row.small_cell_k != k:
        return Count(row.numerator, row.denominator, BOTH)
    hidden = {"numerator"} if row.numerator_hidden else set()
    if row.denominator_hidden:
        hidden.add("denominator")
    return Count(row.numerator, row.denominator, frozenset(hidden))


def counts(
    district_id: int, school_year: int, indicator_id: str | None = None, whole: bool = False
) -> dict[str, dict[Cell, Count]]:
    """Per indicator, the stored counts of each cell; with `whole`, the district's cell
    only (the dashboard's, a few rows instead of every school's)."""
    query = select(*COLUMNS).where(
        IndicatorValue.district_id == district_id, IndicatorValue.school_year == school_year
    )
    if indicator_id is not None:
        query = query.where(IndicatorValue.indicator_id == indicator_id)
    if whole:
        query = query.where(
            IndicatorValue.school_id.is_(None),
            IndicatorValue.grade.is_(None),
            IndicatorValue.sex.is_(None),
        )
    k = ledger.small_cell_k()
    found: dict[str, dict[Cell, Count]] = defaultdict(dict)
    for row in db.session.execute(query):
        found[row.indicator_id][(row.school_id, row.grade, row.sex)] = _count(row, k)
    return found


def trend(district_id: int, indicator_id: str) -> list[tuple[int, Count]]:
    """(school year, the district's counts) of each stored year, oldest first."""
    k = ledger.small_cell_k()
    return [
        (row.school_year, _count(row, k))
        for row in db.session.execute(
            select(*COLUMNS)
            .where(
                IndicatorValue.district_id == district_id,
                IndicatorValue.indicator_id == indicator_id,
                IndicatorValue.school_id.is_(None),
                IndicatorValue.grade.is_(None),
                IndicatorValue.sex.is_(None),
            )
            .order_by(IndicatorValue.school_year)
        )
    ]


def trends(district_id: int, up_to: int) -> dict[str, list[tuple[int, Count]]]:
    """`trend` of every indicator at once (the dashboard's charts, one query), up to the
    school year `up_to`."""
    k = ledger.small_cell_k()
    found: dict[str, list[tuple[int, Count]]] = defaultdict(list)
    for row in db.session.execute(
        select(*COLUMNS)
        .where(
            IndicatorValue.district_id == district_id,
            IndicatorValue.school_year <= up_to,
            IndicatorValue.school_id.is_(None),
            IndicatorValue.grade.is_(None),
            IndicatorValue.sex.is_(None),
        )
        .order_by(IndicatorValue.school_year)
    ):
        found[row.indicator_id].append((row.school_year, _count(row, k)))
    return found


def school_counts(
    district_id: int, school_year: int, indicator_ids: Collection[str]
) -> dict[str, dict[Cell, Count]]:
    """`counts` of a few indicators, the schools' and the district's cells only (not by
    grade or sex): the by-school tables of the dashboard and the report, one query."""
    query = select(*COLUMNS).where(
        IndicatorValue.district_id == district_id,
        IndicatorValue.school_year == school_year,
        IndicatorValue.indicator_id.in_(list(indicator_ids)),
        IndicatorValue.grade.is_(None),
        IndicatorValue.sex.is_(None),
    )
    k = ledger.small_cell_k()
    found: dict[str, dict[Cell, Count]] = defaultdict(dict)
    for row in db.session.execute(query):
        found[row.indicator_id][(row.school_id, None, None)] = _count(row, k)
    return found


def targets(district_id: int) -> dict[str, float | None]:
    """Each indicator's target in force: the administrator's, else the plan's default."""
    own = dict(
        db.session.execute(
            select(IndicatorTarget.indicator_id, IndicatorTarget.target).where(
                IndicatorTarget.district_id == district_id
            )
        ).all()
    )
    return {i.id: own.get(i.id, i.target) for i in indicators()}


# ----------------------------------------------------------------------------- shown


@dataclass(frozen=True)
class Shown:
    """A row as shown: its counts as ints or "<k" (hidden), its value None when it
    has no denominator or a count behind it is hidden (then `hidden`)."""

    label: str
    numerator: int | str
    denominator: int | str
    value: float | None
    hidden: bool = False


def shown_rows(
    indicator: Indicator, rows: Sequence[tuple[str, Count]], suppress: bool
) -> list[Shown]:
    """Rows of (label, stored counts) as shown. With `suppress` (a monitor) and an
    indicator counting students, the counts the refresh hid (the district's one rule,
    decided over all of the year's cells at once: screening.indicators.hidden_cells)
    show as "<k", and so does a value built on a hidden count."""
    shown, mark = [], ledger.suppressed_label()
    for label, count in rows:
        hidden = count.hidden if suppress and indicator.suppress else frozenset()
        figure = None if hidden else value(indicator.unit, count.numerator, count.denominator)
        shown.append(
            Shown(
                label,
                mark if "numerator" in hidden else count.numerator,
                mark if "denominator" in hidden else count.denominator,
                figure,
                bool(hidden),
            )
        )
    return shown


def value_text(indicator: Indicator, figure: float | None, hidden: bool = False) -> str:
    """A value with its unit; "<k" when hidden, a dash when there is none."""
    if hidden:
        return ledger.suppressed_label()
    if figure is None:
        return "—"
    return {
        PERCENT: f"{figure:.1f}%",
        PER_1000: f"{figure:.1f}‰",
        RATIO: f"{figure:.1f}",
        POINTS: f"{figure:+.1f}",
    }.get(indicator.unit, f"{figure:.2f}")


def target_text(indicator: Indicator, target: float | None) -> str:
    if target is None:
        return "—"
    sign = {"at_least": "≥ ", "at_most": "≤ "}.get(indicator.direction, "")
    return sign + value_text(indicator, target)


@dataclass(frozen=True)
class Headline:
    """The dashboard's line for one indicator: the district's figure and its target."""

    indicator: Indicator
    shown: Shown
    target: float | None
    met: bool | None


def headline(
    indicator: Indicator,
    this_year: dict[str, dict[Cell, Count]],
    last_year: dict[str, dict[Cell, Count]],
    target: float | None,
    suppress: bool,
) -> Headline | None:
    """The district's figure for the dashboard, None when nothing is stored. A change in
    points is this year's value of the indicator it changes less last year's."""
    whole: Cell = (None, None, None)
    if indicator.change_of is not None:
        base = find(indicator.change_of)
        if base is None or whole not in this_year.get(base.id, {}):
            return None
        figures = [
            shown_rows(base, [("", year[base.id][whole])], suppress)[0]
            if whole in year.get(base.id, {})
            else None
            for year in (this_year, last_year)
        ]
        hidden = any(f is not None and f.hidden for f in figures)
        moved = None if hidden else change(*(f.value if f else None for f in figures))
        shown = Shown("", "", "", moved, hidden)
    else:
        if whole not in this_year.get(indicator.id, {}):
            return None
        shown = shown_rows(indicator, [("", this_year[indicator.id][whole])], suppress)[0]
    return Headline(indicator, shown, target, meets(indicator, shown.value, target))
