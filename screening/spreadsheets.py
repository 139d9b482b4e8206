"""Reading spreadsheets: CSV (UTF-8, UTF-8 with BOM, or GBK) and XLSX, in blocks of rows,
without a database. The batch commands and every import of the app read through here.

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

Text cells follow screening.text: they are normalised to NFC, and a cell holding a
character text may not hold (NUL, ESC, BEL, a line break, a bidirectional override...)
is reported as a CellError naming its code point; in the block it reads as `visible()`
of itself, so that no caller ever passes such a character on.

Limits. What a file costs to read is bounded by `Limits`, checked while reading, never
by trusting what the file says of itself. An XLSX is small on the wire and large in
memory: one cell at XFD1048576 in a 5 KB file, or a sheet that inflates a thousandfold.
So the XLSX reader checks each zip part's declared size and compression ratio before
inflating it, counts the bytes it really inflates against a budget, streams each sheet
row by row (holding only the cells of the columns asked for), and refuses a row or a
column beyond the ceilings when it meets one; the <dimension> tag is never used to size
anything. Beyond a limit, ReadError names it (`code`) with its figures.
"""

from __future__ import annotations

import csv
import io
import itertools
import posixpath
import re
import struct
import time
import unicodedata
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from screening.errors import InputError
from screening.text import InvalidText, clean_text, is_clean

CHUNK_ROWS = 100_000
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?", re.I)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
ZERO_WIDTH = "\ufeff\u200b"

# ----------------------------------------------------------------------------- limits

MIB = 1 << 20
# XLSX: parts below this size are never refused for their compression ratio (a small
# styles part may well compress 200 times); the byte budget bounds them anyway.
RATIO_FLOOR = MIB
# A workbook has tens of parts and a directory of a few KB; a zip directory beyond this
# would make the zip module allocate an entry object for every one of its records.
MAX_ZIP_DIRECTORY = MIB
MAX_ZIP_PARTS = 10_000
INFLATE_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """Ceilings on what reading one file may cost; None = no ceiling.

    rows: the last data row (1 = first data row) a sheet may have, blank rows counted.
    cells: cells held, over the whole file: for CSV the data rows times the columns asked
        for; for XLSX every cell element read, since each costs parsing time.
    columns: how far right a header, or a cell of an XLSX sheet, may reach.
    unzipped_bytes: XML inflated from an XLSX, all parts together.
    ratio: the largest inflated : compressed ratio of an XLSX part (above RATIO_FLOOR).
    seconds: reading time, from opening the file; callers may check the same Deadline.
    file_bytes: the size of the file itself.
    """

    rows: int | None = None
    cells: int | None = None
    columns: int = 1024
    unzipped_bytes: int = 4096 * MIB
    ratio: int = 100
    seconds: float | None = None
    file_bytes: int | None = None

    def deadline(self) -> Deadline:
        return Deadline(self.seconds)


# The batch commands: any number of rows, the far-cell and zip-bomb guards all the same.
COMMAND_LIMITS = Limits()


class ReadError(InputError):
    """A file the reader refuses, as a whole or at one cell. `code` names the kind of
    problem, for callers that translate; `params` holds its figures:

    encoding, xls, empty, csv (detail), xlsx (detail): the file cannot be read;
    text (codepoint): a header cell holds a character text may not hold;
    rows, cells, file, bytes (limit, found), columns (limit, found, letters), ratio
    (limit, found, part), seconds (limit): beyond a ceiling of Limits;
    missing_column (also: the other missing columns), duplicate_column: the header.
    """

    def __init__(
        self,
        code: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, row, column, code, params)


UNITS = {"rows": "rows", "columns": "columns", "cells": "cells", "bytes": "bytes inflated"}


def _beyond(
    code: str, what: str, limit: int, found: int, row: int | None = None, **more: Any
) -> ReadError:
    unit = UNITS.get(code, "bytes")
    return ReadError(
        code,
        f"the file is too large to read here: {what} (at most {limit:,} {unit})",
        row,
        None,
        limit=limit,
        found=found,
        **more,
    )


def _beyond_columns(limits: Limits, found: int, row: int) -> ReadError:
    letters = column_letters(min(found, 16384) - 1)  # XFD, the last column of any sheet
    return _beyond(
        "columns", f"a cell in column {letters}", limits.columns, found, row, letters=letters
    )


class Deadline:
    """A point in time past which reading (and whoever else checks) gives up."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise ReadError(
                "seconds",
                f"reading the file took longer than {self.seconds:g} seconds",
                limit=self.seconds,
            )


class _Counter:
    """The cells a file has cost so far, against Limits.cells."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, cells: int, row: int | None) -> None:
        self.used += cells
        if self.limit is not None and self.used > self.limit:
            raise _beyond("cells", f"more than {self.limit:,} cells", self.limit, self.used, row)


def _check_row(limits: Limits, row: int) -> None:
    if limits.rows is not None and row > limits.rows:
        raise _beyond("rows", f"data in row {row:,}", limits.rows, row, row)


# ----------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class CellError:
    """A cell that is not what its column allows (found while reading). `codepoint`
    (U+001B) is set when the cell is text holding a character text may not hold."""

    row: int
    column: str
    text: str
    reason: str
    codepoint: str | None = None


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
    raise ReadError("encoding", "cannot read the file: it is neither UTF-8 nor GBK text")


def visible(text: str) -> str:
    """The text with each character text may not hold written as its code point
    (张<U+001B>三): safe to show, store in a message, or compare."""
    return "".join(c if is_clean(c) else f"<U+{ord(c):04X}>" for c in text)


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole floats without ".0", dates as ISO dates."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == clock_time(0):
        return value.date().isoformat()  # a date cell is a datetime at midnight
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _clean_column(
    values: np.ndarray, rows: np.ndarray, column: str, errors: list[CellError]
) -> np.ndarray:
    """Text cells under screening.text's rule: NFC, and each refused cell reported and
    replaced by visible() of itself; zero-width spaces and byte-order marks that Excel
    leaves around pasted values are stripped. The whole column is checked at C speed
    first; only a column with something unusual is looked at cell by cell."""
    cells = values.tolist()
    joined = " ".join(cells)  # a space composes with nothing, so NFC holds cell by cell
    if joined.isprintable() and unicodedata.is_normalized("NFC", joined):
        return values
    if any(mark in joined for mark in ZERO_WIDTH):
        cells = [cell.strip().strip(ZERO_WIDTH).strip() for cell in cells]
        values, joined = np.array(cells, dtype=object), " ".join(cells)
    suspects = {c for c in set(joined) if not is_clean(c)}
    if not suspects and unicodedata.is_normalized("NFC", joined):
        return values  # only printable-but-unusual characters (U+3000, private use)
    cleaned = np.empty(len(cells), dtype=object)
    for index, cell in enumerate(cells):
        try:
            cleaned[index] = clean_text(cell)
        except InvalidText as problem:
            cleaned[index] = visible(cell)
            reason = str(problem)
            errors.append(CellError(int(rows[index]), column, cell, reason, problem.codepoint))
    return cleaned


def _header_cells(cells: Sequence[Any]) -> list[str]:
    """Header cells as stripped text in NFC; a character text may not hold is refused
    (line breaks are allowed: a long header is often wrapped in its cell)."""
    header = []
    for cell in cells:
        text = _cell_text(cell)
        try:
            header.append(clean_text(text, multiline=True))
        except InvalidText as problem:
            raise ReadError(
                "text", str(problem), 0, visible(text), codepoint=problem.codepoint
            ) from None
    return header


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
    """An opened input file (or sheet): its header and a way to read blocks of chosen
    columns. `name` is the file's name, or the sheet's name in a workbook."""

    def __init__(self, name: str, header: list[str], estimated_rows: int, limits: Limits) -> None:
        self.name = name
        self.header = header
        self.estimated_rows = estimated_rows
        self.limits = limits
        if len(header) > limits.columns:
            raise _beyond_columns(limits, len(header), 0)

    def position(self, column: str) -> int:
        return self.header.index(column)

    def require(self, required: Sequence[str], optional: Sequence[str] = ()) -> list[str]:
        """Check the header: every required column once, optional ones at most once.
        Returns the optional columns present. Raises InputError naming the column."""
        for column in (*required, *optional):
            if self.header.count(column) > 1:
                message = "the column appears more than once in the header"
                raise ReadError("duplicate_column", message, 0, column)
        missing = [column for column in required if column not in self.header]
        if missing:
            also = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
            others = ", ".join(missing[1:])
            raise ReadError(
                "missing_column",
                f"the required column is missing{also}",
                0,
                missing[0],
                also=others,
            )
        return [column for column in optional if column in self.header]

    @abstractmethod
    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int | None = None
    ) -> Iterator[Block]:
        """The chosen columns in blocks of rows: text columns as strings, number columns
        as one float matrix (NaN for empty)."""

    def _finish(
        self, rows: np.ndarray, text: dict[str, np.ndarray], numbers: np.ndarray, errors: list
    ) -> Block:
        """Check the text cells; drop rows whose selected cells are all empty."""
        text = {name: _clean_column(values, rows, name, errors) for name, values in text.items()}
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
        errors.sort(key=lambda error: error.row)
        return Block(rows, text, numbers, errors)


class _Careful:
    """Cell-by-cell parsing of rows given as the chosen cells, in the order text
    columns then number columns (csv records and XLSX rows, projected)."""

    def __init__(self, table: Table, text: Sequence[str], numbers: Sequence[str]) -> None:
        self.table = table
        self.text = list(text)
        self.numbers = list(numbers)
        self.positions = [table.position(c) for c in (*self.text, *self.numbers)]

    def project(self, record: Sequence[Any]) -> list[Any]:
        size = len(record)
        return [record[p] if p < size else None for p in self.positions]

    def block(self, rows: np.ndarray, records: list[Sequence[Any]]) -> Block:
        columns = list(zip(*records, strict=True)) if records else [()] * len(self.positions)
        text = {
            name: np.array([_cell_text(v) for v in columns[slot]], dtype=object)
            for slot, name in enumerate(self.text)
        }
        matrix = np.empty((len(records), len(self.numbers)), dtype=np.float64)
        errors: list[CellError] = []
        for slot, name in enumerate(self.numbers):
            cells = columns[len(self.text) + slot]
            values, bad = self._column(list(cells))
            matrix[:, slot] = values
            # Every bad cell: a caller may ignore some (a fitness item the row does not use).
            for row in np.flatnonzero(bad):
                shown = _cell_text(cells[row])
                errors.append(CellError(int(rows[row]), name, shown, "is not a number"))
        return self.table._finish(rows, text, matrix, errors)

    @staticmethod
    def _column(cells: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        # XLSX numbers arrive as numbers; booleans and dates are never answers.
        typed = [
            "\0"
            if isinstance(c, bool | datetime | date | clock_time)
            else c
            if not isinstance(c, int | float)
            else repr(float(c))
            for c in cells
        ]
        return _numbers(["" if c is None else str(c).strip() for c in typed])


# ----------------------------------------------------------------------------- CSV


class CsvTable(Table):
    def __init__(
        self,
        name: str,
        text: str,
        limits: Limits = COMMAND_LIMITS,
        deadline: Deadline | None = None,
    ) -> None:
        self.text = text
        self.deadline = deadline or limits.deadline()
        first = text.split("\n", 1)[0]
        try:
            header_record = next(csv.reader(io.StringIO(text)), None)
        except csv.Error as error:
            message = f"cannot read the header row: {error}"
            raise ReadError("csv", message, 0, detail=str(error)) from None
        if not header_record or not any(cell.strip() for cell in header_record):
            raise ReadError("empty", "the file is empty: no header row", 0)
        # A header cell with a line break makes line 1 a partial record: careful path only.
        self.header_is_one_line = next(csv.reader([first]), []) == header_record
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        header = _header_cells(header_record[: limits.columns + 1])
        super().__init__(name, header, max(lines - 1, 0), limits)

    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int | None = None
    ) -> Iterator[Block]:
        chunk_rows = chunk_rows or CHUNK_ROWS
        if self.limits.rows is not None:
            chunk_rows = min(chunk_rows, self.limits.rows + 1)
        cells = _Counter(self.limits.cells)
        self._done = 0  # data records the fast path has parsed completely
        if self.header_is_one_line:
            try:
                yield from self._fast(text, numbers, chunk_rows, cells)
                return
            except (ValueError, pd.errors.ParserError):
                pass  # a block has a cell the fast path refuses: read from it carefully
        yield from self._careful(text, numbers, chunk_rows, self._done, cells)

    def _fast(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int, cells: _Counter
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
            nrows=None if self.limits.rows is None else self.limits.rows + 1,
            engine="c",
        )
        start = 1
        with reader:
            for frame in reader:
                self.deadline.check()
                count = len(frame)
                _check_row(self.limits, start + count - 1)
                cells.spend(count * len(positions), start + count - 1)
                rows = np.arange(start, start + count, dtype=np.int64)
                columns = {
                    name: _strip(frame[self.position(name)].to_numpy(dtype=object)) for name in text
                }
                matrix = frame[[self.position(c) for c in numbers]].to_numpy(dtype=np.float64)
                start += count
                self._done = start - 1
                yield self._finish(rows, columns, matrix, [])

    def _careful(
        self,
        text: Sequence[str],
        numbers: Sequence[str],
        chunk_rows: int,
        done: int,
        cells: _Counter,
    ) -> Iterator[Block]:
        parser = _Careful(self, text, numbers)
        reader = csv.reader(io.StringIO(self.text))
        try:
            next(reader)  # the header
            row = 0
            records: list[list[Any]] = []
            first = done + 1
            for record in reader:
                row += 1
                if row <= done:
                    continue
                _check_row(self.limits, row)
                records.append(parser.project(record))
                if len(records) == chunk_rows:
                    self.deadline.check()
                    cells.spend(len(records) * len(parser.positions), row)
                    yield parser.block(np.arange(first, row + 1, dtype=np.int64), records)
                    first, records = row + 1, []
            if records:
                cells.spend(len(records) * len(parser.positions), row)
                yield parser.block(np.arange(first, row + 1, dtype=np.int64), records)
        except csv.Error as error:
            raise ReadError(
                "csv",
                f"cannot read the file as CSV: {error}",
                reader.line_num,
                detail=str(error),
            ) from None


def _strip(values: np.ndarray) -> np.ndarray:
    """Object array of cells (str or NaN) as stripped strings, "" for empty."""
    return np.array(
        ["" if not isinstance(v, str) else v.strip() for v in values.tolist()], dtype=object
    )


# ----------------------------------------------------------------------------- XLSX

MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # "Strict Open XML"
)
PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Built-in number formats that show dates or times: 14-22 and 45-47 everywhere, 27-36
# and 50-58 in Chinese, Japanese and Korean Excel (e.g. 31 = yyyy"年"m"月"d"日").
DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
# Excel writes characters XML cannot carry (control characters) as _xHHHH_.
ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
COLUMN_LETTERS = re.compile(r"[A-Za-z]{1,3}")


def _unescape(text: str) -> str:
    return ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _column_index(letters: str) -> int:
    """0-based column of a cell reference's letters ("B" -> 1). Anything but one to three
    letters is beyond any sheet: a large number, refused by the caller."""
    letters = letters.replace("$", "")
    if not COLUMN_LETTERS.fullmatch(letters):
        return 1 << 30
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1


def column_letters(index: int) -> str:
    """A sheet column's letters from its 0-based index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _damaged(detail: str) -> ReadError:
    return ReadError(
        "xlsx", f"cannot read the file as an XLSX workbook: {detail}", detail=detail[:200]
    )


def _zip_directory_size(data: bytes) -> tuple[int, int] | None:
    """(size of the central directory, number of records) from the end record; None
    when there is none (the zip module then says the file is damaged)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return None
    _sig, _disk, _first, _here, records, size, _offset, _note = struct.unpack(
        "<IHHHHIIH", data[end : end + 22]
    )
    return size, records


class Workbook:
    """An XLSX file opened for streaming under Limits: its sheets by name and path,
    shared strings and date styles; every part read through the byte budget."""

    def __init__(self, data: bytes, limits: Limits, deadline: Deadline | None = None) -> None:
        self.limits = limits
        self.deadline = deadline or limits.deadline()
        self.budget = limits.unzipped_bytes
        self.cells = _Counter(limits.cells)
        directory = _zip_directory_size(data)
        if directory is not None and (
            directory[0] > MAX_ZIP_DIRECTORY or directory[1] > MAX_ZIP_PARTS
        ):
            raise _damaged(f"its zip directory lists {directory[1]:,} parts")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
            raise _damaged(str(error)) from None
        self.parts = {info.filename: info for info in self.zip.infolist()}
        self.sheets = self._sheets()  # (name, part path) in workbook order

    # -- parts

    def _chunks(self, path: str) -> Iterator[bytes]:
        """A part's inflated bytes, checked before (declared size and ratio) and while
        inflating (bytes actually produced, time)."""
        info = self.parts.get(path)
        if info is None:
            raise _damaged(f"the part {path} is missing")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > self.limits.ratio:
            raise ReadError(
                "ratio",
                f"{path} is compressed {ratio:,.0f} times (at most {self.limits.ratio}): "
                "a zip bomb, not a spreadsheet",
                limit=self.limits.ratio,
                found=int(ratio),
                part=path,
            )
        if info.file_size > self.budget:
            raise _beyond(
                "bytes",
                f"{path} inflates to {info.file_size:,} bytes",
                self.limits.unzipped_bytes,
                info.file_size,
                part=path,
            )
        try:
            with self.zip.open(info) as stream:
                while chunk := stream.read(INFLATE_CHUNK):
                    # The declared size may lie: count what really comes out.
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        raise _beyond(
                            "bytes",
                            f"more than {self.limits.unzipped_bytes:,} bytes inflate from it",
                            self.limits.unzipped_bytes,
                            self.limits.unzipped_bytes - self.budget,
                            part=path,
                        )
                    self.deadline.check()
                    yield chunk
        except ReadError:
            raise
        except Exception as error:  # a bad CRC, zlib, encryption...: damage, never a crash
            raise _damaged(f"{path}: {error}") from None

    def _events(
        self, path: str, events: tuple[str, ...] = ("start", "end")
    ) -> Iterator[tuple[str, ElementTree.Element]]:
        """Events of a part's XML, streamed. Expat refuses entity expansion bombs and
        never fetches external entities."""
        parser = ElementTree.XMLPullParser(events=events)
        try:
            for chunk in self._chunks(path):
                parser.feed(chunk)
                yield from parser.read_events()
            parser.close()
            yield from parser.read_events()
        except ElementTree.ParseError as error:
            raise _damaged(f"{path}: {error}") from None

    def _tree(self, path: str) -> ElementTree.Element:
        """A small part (workbook, relationships, styles) as a tree, under the budget."""
        root = None
        for event, element in self._events(path):
            if root is None and event == "start":
                root = element
        if root is None:
            raise _damaged(f"{path} is empty")
        return root

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """id -> (type, part path) of a part's relationships."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{name}.rels")
        if rels not in self.parts:
            return {}
        found = {}
        for element in self._tree(rels).iter(f"{PACKAGE_RELATIONSHIPS}Relationship"):
            target = element.get("Target", "")
            if element.get("TargetMode") == "External":
                continue
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found[element.get("Id", "")] = (element.get("Type", ""), posixpath.normpath(path))
        return found

    def _sheets(self) -> list[tuple[str, str]]:
        documents = [
            path
            for kind, path in self._relationships("").values()
            if kind.endswith("/officeDocument")
        ]
        self.workbook_path = documents[0] if documents else "xl/workbook.xml"
        root = self._tree(self.workbook_path)
        self.ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        if self.ns.strip("{}") not in MAIN_NAMESPACES:
            raise _damaged("it holds no spreadsheet")
        properties = root.find(f"{self.ns}workbookPr")
        self.date1904 = properties is not None and properties.get("date1904") in ("1", "true")
        self.related = self._relationships(self.workbook_path)
        sheets = []
        for element in root.iter(f"{self.ns}sheet"):
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), "")
            kind, path = self.related.get(rid, ("", ""))
            if kind.endswith("/worksheet"):  # chart sheets hold no cells
                sheets.append((element.get("name", ""), path))
        return sheets

    def _related(self, suffix: str) -> str | None:
        return next((p for k, p in self.related.values() if k.endswith(suffix)), None)

    # -- shared strings and styles

    @cached_property
    def strings(self) -> list[str]:
        """The shared strings, read at the first cell that refers to one."""
        path = self._related("/sharedStrings")
        if path is None:
            return []
        strings: list[str] = []
        ns, root = self.ns, None
        item, text, run = f"{ns}si", f"{ns}t", f"{ns}r"
        for event, element in self._events(path):
            if root is None:
                root = element
            elif event == "end" and element.tag == item:
                strings.append(_unescape(_rich_text(element, text, run)))
                root.clear()  # keep only the list, not the elements
                if self.limits.cells is not None and len(strings) > self.limits.cells:
                    raise _beyond(
                        "cells",
                        f"more than {self.limits.cells:,} shared strings",
                        self.limits.cells,
                        len(strings),
                    )
        return strings

    @cached_property
    def date_styles(self) -> frozenset[int]:
        """Indexes of the cell formats that show numbers as dates or times."""
        from openpyxl.styles.numbers import is_date_format  # Excel's format-code rules

        path = self._related("/styles")
        if path is None:
            return frozenset()
        root = self._tree(path)
        custom = {
            element.get("numFmtId"): element.get("formatCode")
            for element in root.iter(f"{self.ns}numFmt")
        }
        formats = root.find(f"{self.ns}cellXfs")
        dates = set()
        for index, element in enumerate(formats if formats is not None else []):
            number = element.get("numFmtId", "0")
            if (number.isdigit() and int(number) in DATE_FORMAT_IDS) or (
                number in custom and is_date_format(custom[number])
            ):
                dates.add(index)
        return frozenset(dates)

    def epoch(self) -> datetime:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        return CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900


def _rich_text(element: ElementTree.Element, text: str, run: str) -> str:
    """The text of a shared or inline string: its <t>, or its runs' <t>; phonetic
    guides (<rPh>) are not part of the value."""
    parts = []
    for child in element:
        if child.tag == text:
            parts.append(child.text or "")
        elif child.tag == run:
            parts.extend(t.text or "" for t in child if t.tag == text)
    return "".join(parts)


class _SheetRows:
    """The rows of one sheet, streamed: (sheet row number, {column index: value}) for
    every row element that has cells. Rows beyond Limits.rows + 1 (the header is row
    1), cells beyond Limits.columns, and rows out of order are refused when met.

    Only start events are asked for: a row is complete when the next one starts (or
    the part ends), and the <sheetData> element, seen starting, is emptied as rows are
    read, so memory holds a chunk of rows, never the sheet."""

    def __init__(self, book: Workbook, path: str) -> None:
        self.book = book
        self.path = path
        self.dimension_rows = 0  # what the sheet says of itself: a progress estimate only
        ns = book.ns
        self.tags = {name: f"{ns}{name}" for name in ("row", "c", "v", "is", "t", "r")}
        self.columns: dict[str, int] = {}  # cell reference letters -> column index
        self.last_row = 0

    def __iter__(self) -> Iterator[tuple[int, dict[int, Any]]]:
        ns = self.book.ns
        row_tag, data_tag, dimension_tag = f"{ns}row", f"{ns}sheetData", f"{ns}dimension"
        data, previous = None, None
        for _event, element in self.book._events(self.path, ("start",)):
            tag = element.tag
            if tag == row_tag:
                if previous is not None:
                    cells = self._row(previous)
                    if cells:
                        yield self.last_row, cells
                previous = element
                if data is not None:
                    data.clear()  # rows already parsed stay alive through their events
            elif tag == data_tag:
                data = element
            elif tag == dimension_tag:
                self.dimension_rows = _dimension_rows(element.get("ref", ""))
        if previous is not None:
            cells = self._row(previous)
            if cells:
                yield self.last_row, cells

    def _row(self, element: ElementTree.Element) -> dict[int, Any]:
        book, limits, tags = self.book, self.book.limits, self.tags
        number = element.get("r")
        row = int(number) if number and number.isdigit() else self.last_row + 1
        if row <= self.last_row:
            raise _damaged(f"{self.path}: row {row} comes after row {self.last_row}")
        if limits.rows is not None and row > limits.rows + 1:
            raise _beyond("rows", f"data in row {row - 1:,}", limits.rows, row - 1, row - 1)
        self.last_row = row
        book.cells.spend(len(element), max(row - 1, 0))
        cell_tag, value_tag, inline_tag = tags["c"], tags["v"], tags["is"]
        cells: dict[int, Any] = {}
        column = -1
        for cell in element:
            if cell.tag != cell_tag:
                continue
            reference = cell.get("r")
            column = self._column(reference) if reference else column + 1
            if column >= limits.columns:
                raise _beyond_columns(limits, column + 1, max(row - 1, 0))
            kind = cell.get("t")
            if kind == "inlineStr":
                inline = cell.find(inline_tag)
                if inline is not None:
                    cells[column] = _unescape(_rich_text(inline, tags["t"], tags["r"]))
                continue
            text = cell.findtext(value_tag)
            if text:
                cells[column] = _value(book, kind or "n", text, cell)
        return cells

    def _column(self, reference: str) -> int:
        letters = reference.rstrip("0123456789")
        if not letters:
            raise _damaged(f"{self.path}: the cell reference {reference[:20]!r}")
        index = self.columns.get(letters)
        if index is None:
            index = _column_index(letters)
            if len(self.columns) < 20_000:
                self.columns[letters] = index
        return index


def _dimension_rows(reference: str) -> int:
    last = reference.rsplit(":", 1)[-1].lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ").replace("$", "")
    return int(last) if last.isdigit() else 0


def _value(book: Workbook, kind: str, text: str, cell: ElementTree.Element) -> Any:
    """A cell's <v> as openpyxl's read-only mode gives it (data_only): numbers, text,
    booleans, datetimes for numbers formatted as dates."""
    if kind == "s":
        strings = book.strings
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            raise _damaged(f"the cell {cell.get('r', '')} refers to no string") from None
    if kind == "n":
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise _damaged(f"the cell {cell.get('r', '')} holds {text[:20]!r}") from None
        style = cell.get("s")
        if style and style != "0" and style.isdigit() and int(style) in book.date_styles:
            return _from_excel(number, book) or number
        return number
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "d":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return text
    return _unescape(text)  # "str" (a formula's text), "e" (an error such as #N/A)


def _from_excel(number: float, book: Workbook) -> datetime | clock_time | None:
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(number, book.epoch())
    except (OverflowError, ValueError):
        return None  # no date: the number stays a number


class XlsxTable(Table):
    """One sheet of a workbook: the header is the sheet's row 1."""

    def __init__(self, name: str, book: Workbook, path: str) -> None:
        self.book = book
        self.source = _SheetRows(book, path)
        self.rows = iter(self.source)
        first = next(self.rows, None)
        self.pending: tuple[int, dict[int, Any]] | None = None
        cells: list[Any] = []
        if first is not None and first[0] == 1:
            width = max(first[1]) + 1
            cells = [first[1].get(index) for index in range(width)]
        elif first is not None:
            self.pending = first  # row 1 is empty: no header
        header = _header_cells(cells)
        while header and header[-1] == "":
            header.pop()
        estimated = max(self.source.dimension_rows - 1, 0)
        if book.limits.rows is not None:
            estimated = min(estimated, book.limits.rows)
        super().__init__(name, header, estimated, book.limits)

    def blocks(
        self, text: Sequence[str], numbers: Sequence[str], chunk_rows: int | None = None
    ) -> Iterator[Block]:
        chunk_rows = chunk_rows or CHUNK_ROWS
        parser = _Careful(self, text, numbers)
        positions = parser.positions
        rows: list[int] = []
        records: list[list[Any]] = []
        pending = [self.pending] if self.pending else []
        for row, cells in itertools.chain(pending, self.rows):
            rows.append(row - 1)
            records.append([cells.get(p) for p in positions])
            if len(records) == chunk_rows:
                yield parser.block(np.array(rows, dtype=np.int64), records)
                rows, records = [], []
        if records:
            yield parser.block(np.array(rows, dtype=np.int64), records)


# ----------------------------------------------------------------------------- opening


def open_table(path: Path, limits: Limits = COMMAND_LIMITS) -> Table:
    """Open a .csv or .xlsx file (told apart by content, so a renamed file still reads)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}") from None
    return open_bytes(data, path.name, limits)


def open_bytes(
    data: bytes, name: str, limits: Limits = COMMAND_LIMITS, deadline: Deadline | None = None
) -> Table:
    """A file's bytes (an upload) as a Table: the first sheet of an XLSX, or CSV in
    UTF-8 (BOM or not) or GBK."""
    tables = open_workbook(data, name, limits, deadline, first_only=True)
    if not tables or not any(tables[0].header):
        raise ReadError("empty", "the first sheet is empty: no header row", 0)
    return tables[0]


def open_workbook(
    data: bytes,
    name: str,
    limits: Limits = COMMAND_LIMITS,
    deadline: Deadline | None = None,
    *,
    first_only: bool = False,
) -> list[Table]:
    """Every sheet of an XLSX (named by sheet; an empty sheet has an empty header), or
    a CSV file as one table named by the file. Raises ReadError for a file that cannot
    be read or is beyond the limits."""
    deadline = deadline or limits.deadline()
    if limits.file_bytes is not None and len(data) > limits.file_bytes:
        raise _beyond("file", f"{len(data):,} bytes", limits.file_bytes, len(data))
    if data.startswith(ZIP_MAGIC):
        book = Workbook(data, limits, deadline)
        sheets = book.sheets[:1] if first_only else book.sheets
        return [XlsxTable(sheet, book, path) for sheet, path in sheets]
    if data.startswith(OLE_MAGIC):
        raise ReadError("xls", "old .xls workbooks are not supported: save as .xlsx or CSV")
    return [CsvTable(name, decode_text(data), limits, deadline)]


def text_rows(
    table: Table, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[CellError]]:
    """Every non-blank row as (row number, text cells), and every cell whose text was
    refused (it reads as visible() of itself): for callers that check values cell by
    cell themselves, so that every bad cell is reported with its row and column."""
    rows, errors = [], []
    for block in table.blocks(list(columns), []):
        errors += block.errors
        for index, number in enumerate(block.rows.tolist()):
            rows.append((int(number), {c: str(block.text[c][index]) for c in columns}))
    return rows, errors
