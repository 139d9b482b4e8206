"""Small-cell suppression: the district's one rule for showing counts of students.

A count n with 0 < n < k is hidden (primary suppression); a 0 stays shown, since nobody
can be singled out of nobody. Then, so that no hidden cell can be worked out from the
cells shown beside it (complementary suppression), until nothing changes:

1. every additive line (parts that add up to a total: a row's parts and its total, a
   column's rows and the total row, a node's children and the node) holding exactly
   one hidden cell gets another: the smallest non-zero part not yet hidden, else the
   total, else a zero part;
2. every hidden cell still pinned by the lines taken together (a linear combination of
   the lines gives its value from shown cells alone, as in a chain of hidden cells
   crossing the table once) gets the smallest shown non-zero cell of its lines hidden.

Every cell hidden this way is non-zero (a hidden total equals its hidden part), so
moving the hidden cells a little along the lines keeps every count >= 0: no hidden cell
can be pinned to one value, even with the non-negativity of counts.

A flat table (rows, last row the total) and a tree (each node's row the sum of its
children's rows, e.g. district > schools > grades) are both lines over cells:

>>> table = [{"screened": 40, "missing": 3, "targets": 43},
...          {"screened": 30, "missing": 12, "targets": 42},
...          {"screened": 70, "missing": 15, "targets": 85}]
>>> sorted(hidden_cells(table, [(("screened", "missing"), "targets")], k=10))
[(0, 'missing'), (0, 'screened'), (1, 'missing'), (1, 'screened')]
>>> label(10)
'<10'
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

DEFAULT_K = 10

Cell = Hashable
Parts = Iterable[tuple[Sequence[str], str]]


@dataclass(frozen=True)
class Line:
    """Cells `parts` that add up to the cell `total`."""

    parts: tuple[Cell, ...]
    total: Cell

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (*self.parts, self.total)


@dataclass
class Node:
    """A row of a hierarchy: its counts and its children, whose rows add up to it."""

    key: Hashable
    row: Mapping[str, int]
    children: list[Node] = field(default_factory=list)


def label(k: int = DEFAULT_K) -> str:
    """The text a hidden cell is shown as."""
    return f"<{k}"


def is_small(count: int, k: int = DEFAULT_K) -> bool:
    """Primary suppression: a count of some students, but fewer than k."""
    return 0 < count < k


def suppress(values: Mapping[Cell, int], lines: Iterable[Line], k: int = DEFAULT_K) -> set[Cell]:
    """The hidden cells of `values` (counts >= 0) under the additive `lines`."""
    lines = [line for line in lines if line.parts]
    hidden = {cell for cell, n in values.items() if is_small(n, k)}
    while True:
        _complete_lines(values, lines, hidden)
        pinned = _pinned(lines, hidden)
        if not pinned:
            return hidden
        # One cell for each pinned cell per round: the elimination is the costly step,
        # and a district's whole cube of cells pins dozens at once.
        for cell in pinned:
            hidden.add(_unpinning_cell(values, lines, hidden, cell))


def hidden_cells(
    table: Sequence[Mapping[str, int]], parts: Parts = (), k: int = DEFAULT_K
) -> set[tuple[int, str]]:
    """The hidden (row, column) cells of a table whose last row is the total of the
    others (a table of one row is its own total); in every row, each (part columns,
    total column) of `parts` adds up."""
    if not table:
        return set()
    total, *rows = [*table[-1:], *table[:-1]]
    tree = Node(len(table) - 1, total, [Node(r, row) for r, row in enumerate(rows)])
    return suppress_tree(tree, parts, k)  # type: ignore[return-value]


def suppress_tree(root: Node, parts: Parts = (), k: int = DEFAULT_K) -> set[tuple[Hashable, str]]:
    """The hidden (node key, column) cells of a hierarchy, keys unique in the tree. A
    hidden school cell can't be recovered from its grades, nor a grade's from its school
    and the other grades: both are lines of the same system."""
    parts = [(tuple(keys), total) for keys, total in parts]
    values: dict[Cell, int] = {}
    lines: list[Line] = []
    stack = [root]
    while stack:
        node = stack.pop()
        values.update({(node.key, column): n for column, n in node.row.items()})
        lines += _row_lines(node.key, parts)
        lines += _sum_lines(node.key, [child.key for child in node.children], node.row)
        stack += node.children
    return suppress(values, lines, k)  # type: ignore[return-value]


def suppress_breakdowns(
    total: Mapping[str, int],
    breakdowns: Mapping[Hashable, Sequence[Mapping[str, int]]],
    parts: Parts = (),
    k: int = DEFAULT_K,
) -> set[tuple[Hashable, str]]:
    """Several breakdowns of one total (by school, by grade, by sex...), each breakdown's
    rows adding up to the total, suppressed together: the total's cells are hidden in all
    or in none, so no breakdown gives away what another hides. Cells are (None, column)
    for the total and ((name, i), column) for row i of breakdown `name`."""
    parts = [(tuple(keys), whole) for keys, whole in parts]
    values: dict[Cell, int] = {(None, column): n for column, n in total.items()}
    lines = _row_lines(None, parts)
    for name, rows in breakdowns.items():
        keys = [(name, i) for i in range(len(rows))]
        for key, row in zip(keys, rows, strict=True):
            values.update({(key, column): n for column, n in row.items()})
            lines += _row_lines(key, parts)
        lines += _sum_lines(None, keys, total)
    return suppress(values, lines, k)  # type: ignore[return-value]


def _row_lines(key: Hashable, parts: list[tuple[tuple[str, ...], str]]) -> list[Line]:
    return [Line(tuple((key, c) for c in keys), (key, total)) for keys, total in parts]


def _sum_lines(parent: Hashable, children: list[Hashable], columns: Iterable[str]) -> list[Line]:
    """A parent's row is the sum of its children's rows: one line per column."""
    if not children:
        return []
    return [Line(tuple((child, c) for child in children), (parent, c)) for c in columns]


def rate_hidden(hidden: set, row: Hashable, *columns: str) -> bool:
    """A rate is hidden when its numerator or denominator (or a cell behind them) is."""
    return any((row, column) in hidden for column in columns)


# ----------------------------------------------------------------------------- the steps


def _complete_lines(values: Mapping[Cell, int], lines: list[Line], hidden: set[Cell]) -> None:
    """Step 1: until no line holds exactly one hidden cell."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line.cells) == 1:
                hidden.add(_partner(values, line, hidden))
                changed = True


def _partner(values: Mapping[Cell, int], line: Line, hidden: set[Cell]) -> Cell:
    """The cell to hide beside a lone hidden one: the smallest non-zero part (the least
    information lost), else the total, else a zero part."""
    parts = [(values[c], i) for i, c in enumerate(line.parts) if c not in hidden and values[c]]
    if parts:
        return line.parts[min(parts)[1]]
    if line.total not in hidden:
        return line.total
    return next(c for c in line.parts if c not in hidden)


def _unpinning_cell(
    values: Mapping[Cell, int], lines: list[Line], hidden: set[Cell], pinned: Cell
) -> Cell:
    """Step 2: the smallest shown non-zero cell in a line of a pinned cell (else in any
    line holding a hidden cell). Hiding every non-zero cell pins none, so this ends."""
    for scope in (pinned, None):
        shown = [
            (values[c], i, j)
            for i, line in enumerate(lines)
            if (pinned in line.cells if scope is not None else hidden & set(line.cells))
            for j, c in enumerate(line.cells)
            if c not in hidden and values[c]
        ]
        if shown:
            _, i, j = min(shown)
            return lines[i].cells[j]
    return next(c for line in lines for c in line.cells if c not in hidden)


def _pinned(lines: list[Line], hidden: set[Cell]) -> list[Cell]:
    """The hidden cells whose value the lines determine from the shown cells: those
    whose unit vector lies in the row space of the lines restricted to hidden cells
    (exact rational elimination over sparse rows)."""
    rows: list[dict[Cell, Fraction]] = []
    for line in lines:
        row = {c: Fraction(1) for c in line.parts if c in hidden}
        if line.total in hidden:
            row[line.total] = row.get(line.total, Fraction(0)) - 1
        row = {c: x for c, x in row.items() if x}
        if row:
            rows.append(row)
    order = {c: i for i, c in enumerate(sorted(hidden, key=repr))}
    pivots: dict[Cell, dict[Cell, Fraction]] = {}
    for row in rows:
        row = _reduce(row, pivots)
        if not row:
            continue
        pivot = min(row, key=order.__getitem__)
        scale = row[pivot]
        row = {c: x / scale for c, x in row.items()}
        for other in pivots.values():
            if pivot in other:
                factor = other[pivot]
                for c, x in row.items():
                    other[c] = other.get(c, Fraction(0)) - factor * x
                    if not other[c]:
                        del other[c]
        pivots[pivot] = row
    return sorted((p for p, row in pivots.items() if len(row) == 1), key=order.__getitem__)


def _reduce(row: dict[Cell, Fraction], pivots: Mapping[Cell, dict[Cell, Fraction]]) -> dict:
    row = dict(row)
    for pivot, basis in pivots.items():
        factor = row.get(pivot)
        if factor:
            for c, x in basis.items():
                row[c] = row.get(c, Fraction(0)) - factor * x
                if not row[c]:
                    del row[c]
    return row
