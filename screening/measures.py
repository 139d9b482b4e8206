"""Shared plumbing of the vision and fitness rules: reading measurement columns out of a
DataFrame, rounding as people do, and reporting the first bad cell.

Row numbers follow the batch contract: 1 is the frame's first row (by position, not by
index label). "First" means the smallest row, then the leftmost column of the frame.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening.errors import InputError, TableError

# Parsed decimals and table thresholds are the same floats, but values computed upstream
# (minutes * 60 + seconds, converted acuities) may carry binary noise: compare with slack.
EPS = 1e-9


def shipped(folder: str) -> Traversable:
    """A folder of the tables shipped as package data (screening/tables/<folder>)."""
    return files("screening").joinpath("tables", folder)


def read_table(directory: Traversable | Path, name: str) -> list[dict[str, str]]:
    """A reference CSV as rows of stripped text."""
    try:
        text = directory.joinpath(name).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise TableError(f"{name}: cannot read: {error}") from None
    return [
        {key.strip(): (value or "").strip() for key, value in row.items() if key}
        for row in csv.DictReader(io.StringIO(text))
    ]


def table_number(row: dict[str, str], column: str, source: str) -> float | None:
    """A number cell of a reference table; None when empty, TableError when not a number."""
    text = row.get(column, "")
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise TableError(f"{source}: {column} {text!r} is not a number") from None


def round_half_away(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round as on paper (2.45 -> 2.5, -3.125 -> -3.13), not to even; NaN stays NaN.

    The slack absorbs representation error (1.005 is stored as 1.00499...)."""
    scale = 10.0**decimals
    rounded = np.sign(values) * np.floor(np.abs(values) * scale + 0.5 + 1e-7) / scale
    return rounded + 0.0  # no negative zero in the output


def is_empty(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


class FirstError:
    """Collects candidate errors; raises the one in the smallest row, then leftmost column,
    with every error found in its `found` (in the same order)."""

    def __init__(self, columns: list[str]) -> None:
        self.order = {name: position for position, name in enumerate(columns)}
        self.found: list[InputError] = []

    def add_where(
        self,
        bad: np.ndarray,
        column: str,
        message: Callable[[int], str],
        error: type = InputError,
        code: str = "",
        params: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        """Record the first row flagged in `bad` (a bool mask); message(position) explains
        in English, `code` and params(position) say the same for translation."""
        if bad.any():
            position = int(bad.argmax())
            figures = params(position) if params else {}
            self.found.append(_make(error, position + 1, column, message(position), code, figures))

    def add(self, error: InputError) -> None:
        self.found.append(error)

    def raise_first(self) -> None:
        if self.found:
            ordered = sorted(
                self.found,
                key=lambda e: (e.row or 0, self.order.get(e.column or "", len(self.order))),
            )
            ordered[0].found = tuple(ordered)
            raise ordered[0]


def _make(
    error: type, row: int, column: str, message: str, code: str, params: dict[str, Any]
) -> InputError:
    if error is InputError:
        return InputError(message, row, column, code, params)
    return error(row, column, message, code, params)


def numbers(
    frame: pd.DataFrame, column: str, errors: FirstError, error: type, needed: np.ndarray | None
) -> np.ndarray:
    """A column as float64 (NaN = empty). Cells that are not numbers are reported (only
    where `needed`, when given); they read as NaN."""
    series = frame[column]
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    if pd.api.types.is_bool_dtype(series.dtype):
        bad = np.ones(len(series), dtype=bool) if needed is None else needed.copy()
        errors.add_where(
            bad,
            column,
            lambda _: "a true/false value is not a number",
            error,
            "not_a_number",
            lambda i: {"value": str(series.iloc[i])},
        )
        return np.full(len(series), np.nan)
    text = series.astype(object).map(_number_text)
    values = pd.to_numeric(text, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan, copy=True
    )
    bad = text.notna().to_numpy() & np.isnan(values)
    if needed is not None:
        bad &= needed
    errors.add_where(
        bad,
        column,
        lambda i: f"{series.iloc[i]!r} is not a number",
        error,
        "not_a_number",
        lambda i: {"value": str(series.iloc[i])},
    )
    return values


def _number_text(value: Any) -> Any:
    """A cell as something to_numeric reads: None for empty, full-width digits folded."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return "not a number"
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    return value


def result_frame(columns: dict[str, Any], index: pd.Index) -> pd.DataFrame:
    """Output columns as given; object arrays (text, None = empty) stay object, where
    pandas would infer str and turn None into NaN."""
    return pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=object)
            if isinstance(values, np.ndarray) and values.dtype == object
            else values
            for name, values in columns.items()
        },
        index=index,
    )
