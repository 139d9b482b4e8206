"""Every spreadsheet the system writes, CSV or XLSX, goes through this module: one cell rule,
and the writers that apply it to every cell (pages, the compliance pack and the batch
commands alike). Pure: no Flask, no database.

The cell rule (`cell`):
- A text that a spreadsheet would run as a formula gets a leading apostrophe, so it is
  shown as text and never run: text whose first character is `=`, `+`, `-`, `@`, tab or
  carriage return, or whose first non-blank character is one of `= + - @` or their
  full-width forms `＝ ＋ － ＠` (as a Chinese input method types them). A text that is
  exactly a decimal number ("-2", "-1.25", "-1e-05") stays: a spreadsheet reads it as that
  number, never as a formula, and the batch commands print their negative numbers so.
- Control characters (C0 other than tab, line feed and carriage return; DEL; C1),
  unpaired surrogates and U+FFFE/U+FFFF are replaced by U+FFFD, one for one: XLSX (XML)
  cannot hold most of them (openpyxl raises), and in a CSV printed on a terminal ESC
  starts an escape sequence. The replacement shows that something was there, where
  dropping it would silently change a name. Input refuses these characters
  (screening.text); rows stored before that rule still reach exports.
- Numbers, booleans, dates, times and None are returned unchanged (an XLSX number cell
  stays a number; CSV prints it as before); any other object is written as its text.

    exports.write_csv(handle, [header, *rows])
    exports.xlsx_bytes([exports.Sheet("学生", [header, *rows])])
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from os import PathLike
from typing import IO, Any

from screening.spreadsheets import column_letters

REPLACEMENT = "\ufffd"
APOSTROPHE = "'"
# Characters a spreadsheet runs as the start of a formula (after blanks, for the
# operators; the full-width forms are what a Chinese input method types).
OPERATORS = "=+-@＝＋－＠"
_UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_UNSAFE_CHARACTER = re.compile(f"[{_UNSAFE}]")
_OPERATOR_CLASS = "[" + re.escape(OPERATORS) + "]"
_FORMULA = re.compile(rf"[\t\r]|\s*{_OPERATOR_CLASS}")
_NUMBER = re.compile(r"-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Over a column joined by line feeds: matches whenever some value needs a change (and
# sometimes when none does, which only costs the slow path). Blanks here exclude the line
# feed, so a column of empty values is one linear scan (a value whose leading blanks hold
# a line feed is still found, from its last one).
_SUSPECT = re.compile(rf"[{_UNSAFE}]|(?:\A|\n)(?:[\t\r]|[^\S\n]*{_OPERATOR_CLASS})")
# Ten times faster to scan for: no such character anywhere, nothing to change.
_SUSPECT_CHARACTER = re.compile(f"[{_UNSAFE}\t\r{re.escape(OPERATORS)}]")
_AS_IS = (int, float, Decimal, date, datetime, time, timedelta)  # bool is an int


@dataclass(frozen=True)
class Formatted:
    """A cell with an Excel number format ("@" keeps 学籍号 text, "0.0%" a rate); CSV
    writes just the value."""

    value: Any
    number_format: str


def safe_text(value: str) -> str:
    """The cell rule for one text (see the module's docstring)."""
    if _UNSAFE_CHARACTER.search(value):
        value = _UNSAFE_CHARACTER.sub(REPLACEMENT, value)
    if _FORMULA.match(value) and not _NUMBER.fullmatch(value):
        return APOSTROPHE + value
    return value


def cell(value: Any) -> Any:
    """Any value as a spreadsheet cell that shows what it holds and never runs."""
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, _AS_IS):
        return value
    if isinstance(value, Formatted):
        return Formatted(cell(value.value), value.number_format)
    return safe_text(str(value))


def column(values: Sequence[Any]) -> list[Any]:
    """[cell(v) for v in values]: one regular-expression pass over the joined column
    when nothing needs changing, which is most columns of a big batch file."""
    try:
        joined = "\n".join(values)
    except TypeError:  # not all text
        return [cell(value) for value in values]
    if _SUSPECT_CHARACTER.search(joined) and _SUSPECT.search(joined):
        return [cell(value) for value in values]
    return list(values)


def _plain(value: Any) -> Any:
    safe = cell(value)
    return safe.value if isinstance(safe, Formatted) else safe


# ----------------------------------------------------------------------------- CSV


def csv_chunks(
    rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n", chunk_chars: int = 64_000
) -> Iterator[str]:
    """CSV text in chunks of about chunk_chars, every cell through `cell` (a caller that
    wants Excel to read UTF-8 writes the BOM first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([_plain(value) for value in row])
        if buffer.tell() > chunk_chars:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(
    handle: IO[str], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n"
) -> None:
    for chunk in csv_chunks(rows, lineterminator=lineterminator):
        handle.write(chunk)


def csv_bytes(
    rows: Iterable[Sequence[Any]], *, bom: bool = True, lineterminator: str = "\r\n"
) -> bytes:
    """A small CSV file as UTF-8, with the BOM by default (Excel then reads it as UTF-8)."""
    body = "".join(csv_chunks(rows, lineterminator=lineterminator))
    return body.encode("utf-8-sig" if bom else "utf-8")


def write_csv_columns(
    handle: IO[str],
    header: Sequence[str],
    blocks: Iterable[Sequence[Sequence[Any]]],
    *,
    lineterminator: str = "\r\n",
) -> None:
    """A big CSV given block by block as columns (the batch commands): each column goes
    through `column`, then its rows are written."""
    writer = csv.writer(handle, lineterminator=lineterminator)
    writer.writerow(column(header))
    for columns in blocks:
        writer.writerows(zip(*(column(values) for values in columns), strict=True))


# ----------------------------------------------------------------------------- XLSX


@dataclass
class Sheet:
    """One worksheet: its title, its rows (any iterable, read once while writing: a
    generator keeps a big sheet out of memory) and optional column widths."""

    title: str
    rows: Iterable[Sequence[Any]] = field(default_factory=list)
    widths: Sequence[float] = ()

    def append(self, row: Sequence[Any]) -> None:
        """Add a row to a sheet built as a list."""
        if not isinstance(self.rows, list):
            raise TypeError("append needs a sheet whose rows are a list")
        self.rows.append(row)


@dataclass
class Book:
    """Sheets built one after another, as with openpyxl's Workbook."""

    sheets: list[Sheet] = field(default_factory=list)

    def create_sheet(self, title: str, widths: Sequence[float] = ()) -> Sheet:
        sheet = Sheet(title, [], widths)
        self.sheets.append(sheet)
        return sheet


def write_xlsx(target: str | PathLike[str] | IO[bytes], sheets: Iterable[Sheet]) -> None:
    """An XLSX workbook in openpyxl's write-only mode (rows streamed to the file, so the
    memory does not grow with the rows), every cell through `cell`."""
    from openpyxl import Workbook  # only XLSX output pays for the import
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for sheet in sheets:
        worksheet = book.create_sheet(sheet.title)
        for index, width in enumerate(sheet.widths, start=1):
            worksheet.column_dimensions[get_column_letter(index)].width = width
        for row in sheet.rows:
            cells = []
            for value in row:
                safe = cell(value)
                if isinstance(safe, Formatted):
                    formatted = WriteOnlyCell(worksheet, value=safe.value)
                    formatted.number_format = safe.number_format
                    safe = formatted
                cells.append(safe)
            worksheet.append(cells)
    book.save(target)


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, sheets)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- plain XLSX

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_BUILT_IN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "0%": 9, "0.00%": 10, "@": 49}
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


class _Styles:
    """The number formats used, as cell style indexes (0 = General)."""

    def __init__(self) -> None:
        self.formats: list[str] = []

    def index(self, number_format: str) -> int:
        if number_format not in self.formats:
            self.formats.append(number_format)
        return self.formats.index(number_format) + 1

    def xml(self) -> str:
        custom = [f for f in self.formats if f not in _BUILT_IN_FORMATS]
        ids = {f: _BUILT_IN_FORMATS[f] for f in self.formats if f in _BUILT_IN_FORMATS}
        ids |= {f: 164 + i for i, f in enumerate(custom)}
        num_fmts = "".join(
            f'<numFmt numFmtId="{ids[f]}" formatCode="{f.translate(_XML_ESCAPES)}"/>'
            for f in custom
        )
        xfs = "".join(
            f'<xf numFmtId="{ids[f]}" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/>'
            for f in self.formats
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_MAIN}">'
            + (f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>' if custom else "")
            + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(self.formats) + 1}">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            f"{xfs}</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )


def _plain_cell(reference: str, value: Any, styles: _Styles) -> str:
    style = ""
    if isinstance(value, Formatted):
        style = f' s="{styles.index(value.number_format)}"'
        value = value.value
    if value == "" or (isinstance(value, float) and not math.isfinite(value)):
        value = None  # as openpyxl writes them: an empty cell
    if value is None:
        return f'<c r="{reference}"{style}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{reference}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{reference}"{style}><v>{value}</v></c>'
    text = (value if isinstance(value, str) else str(value)).translate(_XML_ESCAPES)
    return (
        f'<c r="{reference}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    )


def _plain_sheet(sheet: Sheet, styles: _Styles) -> str:
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_MAIN}">']
    if sheet.widths:
        parts.append("<cols>")
        parts += [
            f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
            for i, width in enumerate(sheet.widths, start=1)
        ]
        parts.append("</cols>")
    parts.append("<sheetData>")
    letters: list[str] = []
    for number, row in enumerate(sheet.rows, start=1):
        while len(letters) < len(row):
            letters.append(column_letters(len(letters)))
        parts.append(f'<row r="{number}">')
        for i, value in enumerate(row):
            kind = type(value)
            if kind is str and value:  # the common cases first, without `cell`'s dispatch
                if _SUSPECT_CHARACTER.search(value):
                    value = safe_text(value)
                text = value.translate(_XML_ESCAPES)
                parts.append(
                    f'<c r="{letters[i]}{number}" t="inlineStr">'
                    f'<is><t xml:space="preserve">{text}</t></is></c>'
                )
            elif kind is int or (kind is float and math.isfinite(value)):
                parts.append(f'<c r="{letters[i]}{number}"><v>{value}</v></c>')
            elif value is not None and value != "":
                parts.append(_plain_cell(f"{letters[i]}{number}", cell(value), styles))
        parts.append("</row>")
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def plain_xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of text, numbers, booleans and empty cells (with Formatted number
    formats and column widths), written directly: about ten times faster than
    `xlsx_bytes` (openpyxl) for a page's download of some thousand rows. Every cell goes
    through `cell`; a value of another type (a date) is written as its text. The sheets
    are built in memory: for big batch files use write_xlsx."""
    import zipfile

    styles = _Styles()
    bodies = [_plain_sheet(sheet, styles) for sheet in sheets]
    names = "".join(
        f'<sheet name="{sheet.title.translate(_XML_ESCAPES)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, sheet in enumerate(sheets, start=1)
    )
    relations = "".join(
        f'<Relationship Id="rId{i}" Type="{_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    relations += (
        f'<Relationship Id="rId{len(sheets) + 1}" Type="{_RELS}/styles" Target="styles.xml"/>'
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    parts = {
        "[Content_Types].xml": (
            f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'{head}<Relationships xmlns="{_PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{head}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{names}</sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{head}<Relationships xmlns="{_PACKAGE_RELS}">{relations}</Relationships>'
        ),
        **{f"xl/worksheets/sheet{i}.xml": body for i, body in enumerate(bodies, start=1)},
        "xl/styles.xml": styles.xml(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()
