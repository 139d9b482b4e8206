"""Small-cell suppression: properties over random tables and hierarchies, and an interval
audit (linear programming) that no hidden cell can be pinned from what is shown."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from screening import suppression as s
from screening.indicators import hidden_cells as hidden_cube_cells

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Counts: many zeros and small cells, so suppression has work to do.
COUNT = st.one_of(st.just(0), st.integers(1, 12), st.integers(0, 80))
K = st.sampled_from([3, 5, 10])

# Ledger-like columns: a + b + c = t, and ab = a + b (a subtotal beside its parts).
PARTS = ((("a", "b", "c"), "t"), (("ab", "c"), "t"), (("a", "b"), "ab"))


def _row(a: int, b: int, c: int) -> dict[str, int]:
    return {"a": a, "b": b, "c": c, "ab": a + b, "t": a + b + c}


def _sum(rows: list[Mapping[str, int]]) -> dict[str, int]:
    return {column: sum(row[column] for row in rows) for column in rows[0]}


ROW = st.builds(_row, COUNT, COUNT, COUNT)


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, int]]:
    rows = draw(st.lists(ROW, min_size=1, max_size=5))
    return [*rows, _sum(rows)]


@st.composite
def trees(draw: st.DrawFn, depth: int | None = None, prefix: str = "n") -> s.Node:
    """A random hierarchy of depth 1 to 3: leaves drawn, each parent the sum of them."""
    depth = draw(st.integers(1, 3)) if depth is None else depth
    if depth == 0:
        return s.Node(prefix, draw(ROW))
    width = draw(st.integers(1, 3))
    children = [draw(trees(depth - 1, f"{prefix}.{i}")) for i in range(width)]
    return s.Node(prefix, _sum([child.row for child in children]), children)


def _tree_cells(root: s.Node) -> tuple[dict[Hashable, int], list[s.Line]]:
    """The same cells and lines suppress_tree builds, written out again for the audit."""
    values: dict[Hashable, int] = {}
    lines: list[s.Line] = []
    stack = [root]
    while stack:
        node = stack.pop()
        values.update({(node.key, column): n for column, n in node.row.items()})
        for keys, total in PARTS:
            lines.append(s.Line(tuple((node.key, c) for c in keys), (node.key, total)))
        for column in node.row if node.children else ():
            lines.append(
                s.Line(tuple((ch.key, column) for ch in node.children), (node.key, column))
            )
        stack += node.children
    return values, lines


def _table_tree(table: list[dict[str, int]]) -> s.Node:
    *rows, total = table
    return s.Node(len(table) - 1, total, [s.Node(r, row) for r, row in enumerate(rows)])


def _ranges(values: Mapping, lines: list[s.Line], hidden: set) -> dict[Hashable, float]:
    """Each hidden cell's feasible width, given every shown cell, every line and counts
    >= 0 (an unbounded maximum counts as infinitely wide)."""
    cells = sorted(hidden, key=repr)
    index = {c: i for i, c in enumerate(cells)}
    a_eq, b_eq = [], []
    for line in lines:
        row, rhs = [0.0] * len(cells), 0.0
        for cell, sign in [*((c, 1) for c in line.parts), (line.total, -1)]:
            if cell in index:
                row[index[cell]] += sign
            else:
                rhs -= sign * values[cell]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
        else:
            assert abs(rhs) < 1e-9  # the shown cells of a line add up
    widths = {}
    for cell in cells:
        objective = [0.0] * len(cells)
        objective[index[cell]] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog([-x for x in objective], A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        assert low.status == 0  # the true table is feasible
        widths[cell] = float("inf") if high.status == 3 else -high.fun - low.fun
    return widths


def _check(values: Mapping, lines: list[s.Line], hidden: set, k: int) -> None:
    # Primary: every small cell hidden; and nothing hidden is a 0.
    assert {c for c, n in values.items() if 0 < n < k} <= hidden
    assert all(values[c] > 0 for c in hidden)
    # No additive line holds exactly one hidden cell.
    assert all(sum(c in hidden for c in line.cells) != 1 for line in lines)
    # No hidden cell can be pinned to one value from what is shown.
    if hidden:
        assert min(_ranges(values, lines, hidden).values()) > 1e-6


@SETTINGS
@given(tables(), K)
def test_tables_hide_small_cells_and_nothing_can_be_recovered(table, k):
    hidden = s.hidden_cells(table, PARTS, k)
    values, lines = _tree_cells(_table_tree(table))
    _check(values, lines, hidden, k)


@SETTINGS
@given(trees(), K)
def test_hierarchies_hide_small_cells_and_nothing_can_be_recovered(root, k):
    hidden = s.suppress_tree(root, PARTS, k)
    values, lines = _tree_cells(root)
    _check(values, lines, hidden, k)


@st.composite
def breakdowns(draw: st.DrawFn) -> list[list[dict[str, int]]]:
    """Two to three breakdowns of one total: the first drawn, each other one a random
    split of every first-row count (so every breakdown adds up to the same total)."""
    first = draw(st.lists(ROW, min_size=1, max_size=4))
    total = _sum(first)
    others = []
    for _ in range(draw(st.integers(1, 2))):
        size = draw(st.integers(1, 3))
        split = {c: _split(draw, total[c], size) for c in ("a", "b", "c")}
        others.append([_row(split["a"][i], split["b"][i], split["c"][i]) for i in range(size)])
    return [first, *others]


def _split(draw: st.DrawFn, n: int, size: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=size - 1, max_size=size - 1)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]


@SETTINGS
@given(breakdowns(), K)
def test_breakdowns_of_one_total_hide_it_alike_and_nothing_can_be_recovered(tables_, k):
    total = _sum(tables_[0])
    named = dict(enumerate(tables_))
    hidden = s.suppress_breakdowns(total, named, PARTS, k)
    values = {(None, c): n for c, n in total.items()}
    lines = [s.Line(tuple((None, c) for c in keys), (None, t)) for keys, t in PARTS]
    for name, rows in named.items():
        keys = [(name, i) for i in range(len(rows))]
        for key, row in zip(keys, rows, strict=True):
            values.update({(key, c): n for c, n in row.items()})
            lines += [s.Line(tuple((key, c) for c in ks), (key, t)) for ks, t in PARTS]
        lines += [s.Line(tuple((key, c) for key in keys), (None, c)) for c in total]
    _check(values, lines, hidden, k)


@SETTINGS
@given(tables(), K)
def test_suppression_is_deterministic_and_a_fixed_point(table, k):
    hidden = s.hidden_cells(table, PARTS, k)
    assert s.hidden_cells([dict(row) for row in table], PARTS, k) == hidden
    values, lines = _tree_cells(_table_tree(table))
    again = set(hidden)
    s._complete_lines(values, lines, again)
    assert again == hidden and not s._pinned(lines, hidden)


@SETTINGS
@given(tables())
def test_without_small_cells_nothing_is_hidden(table):
    assert s.hidden_cells(table, PARTS, k=1) == set()


def test_a_zero_stays_shown_and_a_lone_small_cell_takes_its_total():
    # One row, its own total: 3 alone among zeros, so the total (also 3) goes with it.
    assert s.hidden_cells([{"a": 3, "b": 0, "t": 3}], [(("a", "b"), "t")]) == {(0, "a"), (0, "t")}


def test_a_cell_pinned_by_the_lines_together_is_unpinned():
    """Every line holds two hidden cells after the line rule, yet together they pin
    school 1's a: rows 0 and 2 have a = t (their b and c are 0), so column t gives
    a0 + a2 = 9 - 5 = 4 and column a gives a1 = 6 - 4 = 2. One more cell must go."""
    table = [
        {"a": 2, "b": 0, "c": 0, "t": 2},
        {"a": 2, "b": 1, "c": 2, "t": 5},
        {"a": 2, "b": 0, "c": 0, "t": 2},
        {"a": 6, "b": 1, "c": 2, "t": 9},
    ]
    parts = [(("a", "b", "c"), "t")]
    hidden = s.hidden_cells(table, parts, k=5)
    values, lines = _tree_cells_flat(table, parts)
    assert (1, "t") in hidden  # the smallest shown non-zero cell in a line of (1, "a")
    assert min(_ranges(values, lines, hidden).values()) > 1e-6


def _tree_cells_flat(table, parts):
    root = _table_tree(table)
    values = {(n.key, c): v for n in (root, *root.children) for c, v in n.row.items()}
    lines = [
        s.Line(tuple((n.key, c) for c in keys), (n.key, total))
        for n in (root, *root.children)
        for keys, total in parts
    ] + [s.Line(tuple((ch.key, c) for ch in root.children), (root.key, c)) for c in root.row]
    return values, lines


def test_rates_and_labels():
    hidden = {(0, "screened")}
    assert s.rate_hidden(hidden, 0, "screened", "enrolled")
    assert not s.rate_hidden(hidden, 1, "screened", "enrolled")
    assert s.label(10) == "<10" and s.is_small(9) and not s.is_small(0) and not s.is_small(10)


@pytest.mark.parametrize("k", [1, 10])
def test_an_empty_table_hides_nothing(k):
    assert s.hidden_cells([], k=k) == set()


# ----------------------------------------------------------------------------- a cube

LEAF = st.tuples(st.integers(0, 12), st.integers(0, 30)).map(lambda p: (min(p), max(p)))


@st.composite
def cubes(draw: st.DrawFn) -> dict[tuple, tuple[int, int]]:
    """An indicator's stored cells as the refresh rolls them up: schools by grade and
    sex, each school, each school's grade and sex, the district's grades and sexes, the
    district (never the district's grade-and-sex)."""
    schools, grades = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    leaves = {
        (school, grade, sex): draw(LEAF)
        for school in range(schools)
        for grade in range(7, 7 + grades)
        for sex in "FM"
    }
    cells: dict[tuple, list[int]] = {}
    for (school, grade, sex), pair in leaves.items():
        for key in (
            (school, grade, sex),
            (school, grade, None),
            (school, None, sex),
            (school, None, None),
            (None, grade, None),
            (None, None, sex),
            (None, None, None),
        ):
            total = cells.setdefault(key, [0, 0])
            total[0] += pair[0]
            total[1] += pair[1]
    return {key: (n, d) for key, (n, d) in cells.items()}


def _cube_lines_written_out(cube: Mapping[tuple, tuple[int, int]]) -> list[s.Line]:
    """The additive lines among the cells, listed by hand for the audit."""
    schools = sorted({key[0] for key in cube if key[0] is not None})
    grades = sorted({key[1] for key in cube if key[1] is not None})
    spans = [((None, None, None), [(x, None, None) for x in schools])]
    spans.append(((None, None, None), [(None, g, None) for g in grades]))
    spans.append(((None, None, None), [(None, None, sex) for sex in "FM"]))
    spans += [((None, g, None), [(x, g, None) for x in schools]) for g in grades]
    spans += [((None, None, sex), [(x, None, sex) for x in schools]) for sex in "FM"]
    for x in schools:
        spans.append(((x, None, None), [(x, g, None) for g in grades]))
        spans.append(((x, None, None), [(x, None, sex) for sex in "FM"]))
        spans += [((x, g, None), [(x, g, sex) for sex in "FM"]) for g in grades]
        spans += [((x, None, sex), [(x, g, sex) for g in grades]) for sex in "FM"]
    return [
        s.Line(tuple((part, column) for part in parts), (total, column))
        for total, parts in spans
        for column in ("numerator", "denominator")
    ]


@SETTINGS
@given(cubes(), K)
def test_an_indicators_cells_hide_alike_in_every_table_and_nothing_can_be_recovered(cube, k):
    hidden = hidden_cube_cells(cube, k)
    values = {
        (key, column): n
        for key, pair in cube.items()
        for column, n in zip(("numerator", "denominator"), pair, strict=True)
    }
    _check(values, _cube_lines_written_out(cube), hidden, k)
