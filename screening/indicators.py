"""The district's indicators (the plan's promises as figures): what each one measures,
how it is counted, its unit and its target, and the arithmetic that rolls counts up from
a school's grade-and-sex cells to the school and the district. Pure: no Flask, no
SQLAlchemy; the app registers where each indicator's counts come from
(wellbeing/district/indicators.py) and stores what they come to.

Every indicator is a ratio of two counts taken over the same cells, so figures add up:
a school's numerator is the sum over its grades and sexes, the district's the sum over
its schools, and the value is computed last (never an average of rates). An indicator
whose value is a change (`change_of`) is this school year's value of another indicator
less the previous school year's, in points."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from screening import suppression

Text = Mapping[str, str]  # {"zh": ..., "en": ...}

# How a value reads: a percentage (numerator / denominator × 100), a rate per 1,000, a
# plain ratio (students per counselor), a mean (a sum over a count), or a change in
# percentage points (of another indicator, between school years).
PERCENT, PER_1000, RATIO, MEAN, POINTS = "percent", "per_1000", "ratio", "mean", "points"
UNITS = (PERCENT, PER_1000, RATIO, MEAN, POINTS)
SCALE = {PERCENT: 100.0, PER_1000: 1000.0, RATIO: 1.0, MEAN: 1.0}
# Which way is good: the value should reach the target, stay under it, or has none.
AT_LEAST, AT_MOST, NO_TARGET = "at_least", "at_most", "none"
DIRECTIONS = (AT_LEAST, AT_MOST, NO_TARGET)


@dataclass(frozen=True)
class Indicator:
    """One figure of the plan. `id` is stable: exports, the DHIS2 mapping and the
    stored values name it. `target` is the plan's default (the administrator may set
    another); `by_sex` and `by_grade` say whether its counts come by sex and grade."""

    id: str
    name: Text
    definition: Text
    numerator: Text
    denominator: Text
    source: Text
    unit: str = PERCENT
    direction: str = NO_TARGET
    target: float | None = None
    by_sex: bool = True
    by_grade: bool = True
    change_of: str | None = None  # POINTS: this year's value of that indicator less last's
    group: str = ""  # the dashboard's section: screening, crisis, staffing, committee, health
    # Whether small cells are suppressed for monitors: counts of students (or of what
    # points to few students) are; counts of schools or staff are shown whole.
    suppress: bool = True
    # A figure of the present (staffing, open files over today's enrolment, the committee's
    # members): counted from records that keep no history, so only the school year that is
    # running can count it; a past year keeps what was stored while it ran.
    as_it_stands: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"{self.id}: unknown unit {self.unit!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.id}: unknown direction {self.direction!r}")
        if (self.unit == POINTS) != (self.change_of is not None):
            raise ValueError(f"{self.id}: a change in points names the indicator it changes")


@dataclass(frozen=True)
class Tally:
    """The counts of one cell: a school's students of one grade and sex (None where the
    indicator does not come by grade or sex) in one school year."""

    school_id: int
    grade: int | None
    sex: str | None
    numerator: int
    denominator: int


def value(unit: str, numerator: int | float, denominator: int | float) -> float | None:
    """The figure two counts come to, None without a denominator."""
    if not denominator:
        return None
    return numerator / denominator * SCALE[unit]


def change(this_year: float | None, last_year: float | None) -> float | None:
    """A change in points between two school years' values (None when either is)."""
    if this_year is None or last_year is None:
        return None
    return this_year - last_year


def roll_up(
    tallies: Iterable[Tally], key: Callable[[Tally], Hashable]
) -> dict[Hashable, tuple[int, int]]:
    """(numerator, denominator) summed per key: e.g. per school (`lambda t: t.school_id`),
    per school and grade, or for all (`lambda t: None`)."""
    sums: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0])
    for tally in tallies:
        cell = sums[key(tally)]
        cell[0] += tally.numerator
        cell[1] += tally.denominator
    return {k: (n, d) for k, (n, d) in sums.items()}


def meets(indicator: Indicator, figure: float | None, target: float | None) -> bool | None:
    """Whether a value meets its target (None without either, or without a direction)."""
    if figure is None or target is None or indicator.direction == NO_TARGET:
        return None
    if indicator.direction == AT_LEAST:
        return figure >= target
    return figure <= target


# ----------------------------------------------------------------------------- suppression

Key = tuple  # a stored cell: (school, grade, sex), None where it counts all
COLUMNS = ("numerator", "denominator")


def cube_lines(keys: Iterable[Key]) -> list[suppression.Line]:
    """Every additive line among one indicator's stored cells: a cell with None in a
    place is the sum of the stored cells naming a value there and agreeing elsewhere
    (the district of its schools, of its grades and of its sexes; a school of its
    grades and of its sexes; the district's grade of the schools' same grade; a school's
    grade of its two sexes...), one line per column."""
    keys = set(keys)
    children: dict[tuple[Key, int], list[Key]] = defaultdict(list)
    for key in keys:
        for place, part in enumerate(key):
            if part is not None:
                parent = (*key[:place], None, *key[place + 1 :])
                children[(parent, place)].append(key)
    return [
        suppression.Line(
            tuple((child, column) for child in sorted(kids, key=repr)), (parent, column)
        )
        for (parent, _place), kids in sorted(children.items(), key=repr)
        if parent in keys
        for column in COLUMNS
    ]


def hidden_cells(
    counts: Mapping[Key, tuple[int, int]], k: int = suppression.DEFAULT_K
) -> set[tuple[Key, str]]:
    """The (cell, column) counts a monitor may not see among one indicator's stored
    cells of a school year, suppressed together (screening.suppression): the pages show
    the district, its schools, their grades and sexes in separate tables, so a cell
    hidden in one table must not be recoverable from any other."""
    values = {
        (key, column): n
        for key, pair in counts.items()
        for column, n in zip(COLUMNS, pair, strict=True)
    }
    return suppression.suppress(values, cube_lines(counts), k)  # type: ignore[return-value]
