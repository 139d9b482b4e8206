"""Named failures of the screening core: callers catch these, never bare asserts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ScreeningError(Exception):
    """Base of every failure the screening core reports on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an instrument file.

    `path` is a JSON path into the document ("scoring.bands[2].min"; "" = the whole file),
    `code` a stable name of the kind of problem that tests and tools can rely on."""

    path: str
    message: str
    code: str

    def render(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


class InstrumentError(ScreeningError):
    """An instrument file that cannot be used; lists every problem found in it."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render(source) for p in self.problems))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


class UnknownInstrument(ScreeningError):
    """No shipped or added instrument has this id (or id@version), and it is not a file."""


class UnknownItem(ScreeningError):
    """An answer names an item the instrument does not have."""

    def __init__(self, item: str, instrument: str) -> None:
        self.item = item
        self.instrument = instrument
        super().__init__(f"{instrument} has no item {item!r}")


class InvalidAnswer(ScreeningError):
    """A value that is not one of the item's option values.

    `row` is the 0-based position in the matrix that was scored (None for one response)."""

    def __init__(self, item: str, value: object, allowed: Sequence[int], row: int | None) -> None:
        self.item = item
        self.value = value
        self.allowed = tuple(allowed)
        self.row = row
        where = "" if row is None else f"row index {row}: "
        choices = ", ".join(str(v) for v in self.allowed)
        super().__init__(f"{where}{value!r} is not an answer of {item} (allowed: {choices})")


class InvalidTime(ScreeningError):
    """A per-item time that is not a finite number of seconds at or above zero."""

    def __init__(self, item: str, value: object, row: int | None) -> None:
        self.item = item
        self.value = value
        self.row = row
        where = "" if row is None else f"row index {row}: "
        super().__init__(f"{where}{value!r} is not a number of seconds for {item}")


class InvalidMatrix(ScreeningError):
    """An answer matrix of the wrong shape or of a type that cannot hold the answers."""


# InputError codes and their params (the vision and fitness rules, the readers):
# missing_column (also: the other missing columns, ", "-joined, or ""),
# duplicate_column, not_a_number (value), out_of_range (value, low, high, unit),
# not_whole (value), not_flag (value), empty, no_id, bad_grade (value), bad_sex (value),
# column_needed (grade, sex), no_table (item, grade, sex). Units: years, five_point,
# dioptres, mL, s, cm, kg, skips, sit-ups, pull-ups.
ERROR_CODES = frozenset(
    {
        "missing_column",
        "duplicate_column",
        "not_a_number",
        "out_of_range",
        "not_whole",
        "not_flag",
        "empty",
        "no_id",
        "bad_grade",
        "bad_sex",
        "column_needed",
        "no_table",
    }
)


class InputError(ScreeningError):
    """Bad input table. `row` 1 is the first data row, 0 the header row, None the whole
    file; `column` is the header name, or None when no single column is at fault.

    `message` is English (the batch commands print it). `code` names the kind of
    problem and `params` its figures, so that an application can say it in its users'
    language without parsing the English (codes: see ERROR_CODES). `found` is every
    error the same check found, this one first (one row checked alone: all of the
    row's problems at once)."""

    def __init__(
        self,
        message: str,
        row: int | None = None,
        column: str | None = None,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.row = row
        self.column = column
        self.code = code
        self.params: dict[str, Any] = dict(params or {})
        self.found: tuple[InputError, ...] = (self,)
        super().__init__(self.render())

    def render(self, source: str = "") -> str:
        parts = [source] if source else []
        if self.row is not None:
            parts.append("header row" if self.row == 0 else f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class _RowFirstError(InputError):
    """An InputError built row first (row, column, message, code, params), as the vision
    and fitness rules raise them; row and column conventions as InputError's."""

    def __init__(
        self,
        row: int | None,
        column: str | None,
        message: str,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, row, column, code, params)


class InvalidMeasurement(_RowFirstError):
    """A vision or fitness value the rules cannot accept: not a number, outside the
    plausible range of its column (VA 6.1, sphere -40, 50 m in 2 s), or an unknown code."""


class MissingTable(_RowFirstError):
    """A grade, sex and item whose scoring table is absent or marked missing/partial in
    coverage.csv: refused rather than guessed."""


class TableError(ScreeningError):
    """A reference table file that cannot be used (a missing column, a bad number, a
    threshold sequence that is not monotone)."""
