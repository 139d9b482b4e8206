"""Reading spreadsheets for the batch commands: CSV (UTF-8, UTF-8 with BOM, or GBK) and
XLSX (first sheet), in blocks of rows, without a database.

Row numbers follow the batch contract: 1 is the first data row, 0 the header row. A
row whose selected cells are all empty (a blank line, a row of commas) is skipped, and
the rows after it keep their numbers. Header names are matched exactly after trimming
spaces; cells beyond the header, and columns nobody asked for, are ignored.

CSV is read by pandas' C parser with numeric dtypes (the fast path). When it refuses a
block (a cell that is not a number, a header spanning lines), that block and the rest
of the file are read by the csv module and checked cell by cell (the careful path),
which finds the first bad cell with its row and column. Both paths accept the same
cells: blanks are empty; numbers may carry spaces, a sign, a decimal part, an exponent
or full-width digits (the careful path normalises them).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening.errors import InputError

CHUNK_ROWS = 100_000
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?", re.I)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class CellError:
    """A cell that is not what its column allows (found while reading)."""

    row: int
    column: str
    text: str
    reason: str


@dataclass
class Block:
    """Some consecutive rows of the selected columns.

    rows: the file row numbers (1 = first data row) of the rows kept; text columns:
    object arrays of stripped strings ("" = empty); numbers: float64 matrix, one column
    per requested number column, NaN = empty (or bad: see errors)."""

    rows: np.ndarray
    text: dict[str, np.ndarray]
    numbers: np.ndarray
    errors: list[CellError] = field(default_factory=list)


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is dropped) when it decodes strictly, else GBK (as its superset
    GB18030, so rarer characters in names survive)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("cannot read the file: it is neither UTF-8 nor GBK text")


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole floats without ".0", dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _numbers(cells: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse stripped text cells: (values with NaN for empty or bad, bad mask)."""
    series = pd.Series(cells, dtype=object).fillna("")
    if any(not cell.isascii() for cell in cells if isinstance(cell, str)):
        series = series.map(lambda cell: unicodedata.normalize("NFKC", cell).strip())
    series = series.astype(str).str.strip()
    empty = (series == "").to_numpy()
    syntax = series.str.fullmatch(NUMBER).to_numpy(dtype=bool)
    values = np.array(
        [float(cell) if ok else np.nan for cell, ok in zip(series, syntax, strict=True)],
        dtype=np.float64,
    )
    bad = ~empty & ~syntax
    return np.where(empty | bad, np.nan, values), bad


class Table(ABC):
    """An opened input file: its header and a way to read blocks of chosen columns."""

    def __init__(self, name: str, header: list[str], estimated_rows: int) -> None:
        self.name = name
        self.header = header
        self.estimated_rows = estimated_rows

    def position(self, column: str) -> int:
        return self.header.index(column)

    def require(self, required: Sequence[str], optional: Sequence[str] = ()) -> list[str]:
        """Check the header: every required column once, optional ones at most once.
        Returns the optional columns present. Raises InputError naming the column."""
        for column in (*required, *optional):
            if self.header.count(column) > 1:
                raise InputError("the column appears more than once in the header", 0, column)
        missing = [column for column in required if column not in self.header]
        if missing:
            also = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
            raise InputError(f"the required column is missing{also}", 0, missing[0])
        return [column for column in optional if column in self.header]

    @abstractmethod
    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int = CHUNK_ROWS
    ) -> Iterator[Block]:
        """The chosen columns in blocks of rows: text columns as strings, number columns
        as one float matrix (NaN for empty)."""

    def _finish(
        self, rows: np.ndarray, text: dict[str, np.ndarray], numbers: np.ndarray, errors: list
    ) -> Block:
        """Drop rows whose selected cells are all empty."""
        blank = np.all(np.isnan(numbers), axis=1) if numbers.shape[1] else np.ones(len(rows), bool)
        for values in text.values():
            blank &= values == ""
        bad_rows = {error.row for error in errors}
        if bad_rows:
            blank &= ~np.isin(rows, list(bad_rows))
        if blank.any():
            keep = ~blank
            rows, numbers = rows[keep], numbers[keep]
            text = {name: values[keep] for name, values in text.items()}
        return Block(rows, text, numbers, errors)


class _Careful:
    """Cell-by-cell parsing of rows given as lists of cells (csv records, XLSX rows)."""

    def __init__(self, table: Table, text: Sequence[str], numbers: Sequence[str]) -> None:
        self.table = table
        self.text = list(text)
        self.numbers = list(numbers)
        self.positions = [table.position(c) for c in (*self.text, *self.numbers)]

    def block(self, first_row: int, records: list[Sequence[Any]]) -> Block:
        width = len(self.positions)
        columns: list[list[Any]] = [[] for _ in range(width)]
        for record in records:
            size = len(record)
            for slot, position in enumerate(self.positions):
                columns[slot].append(record[position] if position < size else None)
        rows = np.arange(first_row, first_row + len(records), dtype=np.int64)
        text = {
            name: np.array([_cell_text(v) for v in columns[slot]], dtype=object)
            for slot, name in enumerate(self.text)
        }
        matrix = np.empty((len(records), len(self.numbers)), dtype=np.float64)
        errors: list[CellError] = []
        for slot, name in enumerate(self.numbers):
            values, bad = self._column(columns[len(self.text) + slot])
            matrix[:, slot] = values
            # Every bad cell: a caller may ignore some (a fitness item the row does not use).
            for row in np.flatnonzero(bad):
                shown = _cell_text(columns[len(self.text) + slot][row])
                errors.append(CellError(int(rows[row]), name, shown, "is not a number"))
        return self.table._finish(rows, text, matrix, errors)

    @staticmethod
    def _column(cells: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        # XLSX numbers arrive as numbers; booleans and dates are never answers.
        typed = [
            "\0"
            if isinstance(c, bool | datetime | date)
            else c
            if not isinstance(c, int | float)
            else repr(float(c))
            for c in cells
        ]
        return _numbers(["" if c is None else str(c).strip() for c in typed])


class CsvTable(Table):
    def __init__(self, name: str, text: str) -> None:
        self.text = text
        first = text.split("\n", 1)[0]
        try:
            header_record = next(csv.reader(io.StringIO(text)), None)
        except csv.Error as error:
            raise InputError(f"cannot read the header row: {error}", 0) from None
        if not header_record or not any(cell.strip() for cell in header_record):
            raise InputError("the file is empty: no header row", 0)
        # A header cell with a line break makes line 1 a partial record: careful path only.
        self.header_is_one_line = next(csv.reader([first]), []) == header_record
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        super().__init__(name, [cell.strip() for cell in header_record], max(lines - 1, 0))

    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int = CHUNK_ROWS
    ) -> Iterator[Block]:
        self._done = 0  # data records the fast path has parsed completely
        if self.header_is_one_line:
            try:
                yield from self._fast(text, numbers, chunk_rows)
                return
            except (ValueError, pd.errors.ParserError):
                pass  # a block has a cell the fast path refuses: read from it carefully
        yield from self._careful(text, numbers, chunk_rows, self._done)

    def _fast(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int
    ) -> Iterator[Block]:
        positions = [self.position(c) for c in (*text, *numbers)]
        dtypes = {self.position(c): object for c in text}
        dtypes.update({self.position(c): np.float64 for c in numbers})
        reader = pd.read_csv(
            io.StringIO(self.text),
            header=None,
            skiprows=1,
            usecols=positions,
            dtype=dtypes,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            chunksize=chunk_rows,
            engine="c",
        )
        start = 1
        with reader:
            for frame in reader:
                count = len(frame)
                rows = np.arange(start, start + count, dtype=np.int64)
                columns = {
                    name: _strip(frame[self.position(name)].to_numpy(dtype=object)) for name in text
                }
                matrix = frame[[self.position(c) for c in numbers]].to_numpy(dtype=np.float64)
                start += count
                self._done = start - 1
                yield self._finish(rows, columns, matrix, [])

    def _careful(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int, done: int
    ) -> Iterator[Block]:
        parser = _Careful(self, text, numbers)
        reader = csv.reader(io.StringIO(self.text))
        try:
            next(reader)  # the header
            row = 0
            records: list[list[str]] = []
            first = done + 1
            for record in reader:
                row += 1
                if row <= done:
                    continue
                records.append(record)
                if len(records) == chunk_rows:
                    yield parser.block(first, records)
                    first, records = row + 1, []
            if records:
                yield parser.block(first, records)
        except csv.Error as error:
            raise InputError(f"cannot read the file as CSV: {error}", reader.line_num) from None


def _strip(values: np.ndarray) -> np.ndarray:
    """Object array of cells (str or NaN) as stripped strings, "" for empty."""
    return np.array(
        ["" if not isinstance(v, str) else v.strip() for v in values.tolist()], dtype=object
    )


class XlsxTable(Table):
    def __init__(self, name: str, data: bytes) -> None:
        from openpyxl import load_workbook  # only XLSX input pays for the import

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            self.rows = sheet.iter_rows(values_only=True)
            header = next(self.rows, None)
        except Exception as error:  # any damage to the zip or its XML: report, never crash
            raise InputError(f"cannot read the file as an XLSX workbook: {error}") from None
        if not header or not any(_cell_text(c) for c in header):
            raise InputError("the first sheet is empty: no header row", 0)
        estimated = (sheet.max_row or 1) - 1
        super().__init__(name, [_cell_text(c) for c in header], estimated)

    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int = CHUNK_ROWS
    ) -> Iterator[Block]:
        parser = _Careful(self, text, numbers)
        first, records = 1, []
        for record in self.rows:
            records.append(record)
            if len(records) == chunk_rows:
                yield parser.block(first, records)
                first, records = first + len(records), []
        if records:
            yield parser.block(first, records)


def open_table(path: Path) -> Table:
    """Open a .csv or .xlsx file (told apart by content, so a renamed file still reads)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}") from None
    return open_bytes(data, path.name)


def open_bytes(data: bytes, name: str) -> Table:
    """A file's bytes (an upload) as a Table: XLSX, or CSV in UTF-8 (BOM or not) or GBK."""
    if data.startswith(ZIP_MAGIC):
        return XlsxTable(name, data)
    if data.startswith(OLE_MAGIC):
        raise InputError("old .xls workbooks are not supported: save as .xlsx or CSV")
    return CsvTable(name, decode_text(data))


def text_rows(table: Table, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Every non-blank row as (row number, text cells): for callers that check values
    cell by cell themselves, so that every bad cell is reported with its row and column."""
    rows = []
    for block in table.blocks(list(columns), []):
        for index, number in enumerate(block.rows.tolist()):
            rows.append((int(number), {c: str(block.text[c][index]) for c in columns}))
    return rows
