"""What reading a spreadsheet may cost: hostile workbooks (a far cell, a zip bomb, a
dimension that lies, an entity bomb) and over-large files are refused quickly, in
bounded memory, with the limit named; text cells follow screening.text's rule.

The builders of hostile files live here; the app's tests (tests/wellbeing/
test_hardening_uploads.py) send the same files through the imports."""

from __future__ import annotations

import io
import os
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import Workbook

from screening import vision
from screening.spreadsheets import (
    COMMAND_LIMITS,
    CsvTable,
    Limits,
    ReadError,
    open_bytes,
    open_workbook,
    text_rows,
)

REPO = Path(__file__).resolve().parents[2]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
GIB = 1 << 30

# ----------------------------------------------------------------------------- builders


def workbook_bytes(rows: list[list[object]], title: str = "Sheet1", far: str = "") -> bytes:
    """A workbook as openpyxl writes it; `far` puts one more cell at that reference."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if far:
        sheet[far] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def far_cell_xlsx(rows: list[list[object]], title: str = "Sheet1") -> bytes:
    """The review's 5 KB workbook: its only far cell is XFD1048576, so its <dimension>
    says A1:XFD1048576 and a reader that pads rows allocates 17 billion cells."""
    return workbook_bytes(rows, title, far="XFD1048576")


_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _cell(reference: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    return f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>'


def _row_xml(number: int, values: list[object]) -> str:
    cells = "".join(_cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def sheet_head(header: list[str], dimension: str = "") -> bytes:
    tag = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{tag}'
        f"<sheetData>{_row_xml(1, list(header))}"
    ).encode()


SHEET_TAIL = b"</sheetData></worksheet>"


LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
DIRECTORY_RECORD = struct.Struct("<IHHHHHHIIIHHHHHII")
DIRECTORY_END = struct.Struct("<IHHHHIIH")


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, deflated bytes, crc, declared inflated size, compression):
    written by hand, so that a member may declare any size it likes."""
    out, directory = io.BytesIO(), []
    for name, payload, crc, size, method in members:
        encoded, offset = name.encode(), out.tell()
        sizes = (crc, len(payload), size, len(encoded), 0)
        out.write(LOCAL_HEADER.pack(0x04034B50, 20, 0, method, 0, 0x21, *sizes))
        out.write(encoded + payload)
        record = DIRECTORY_RECORD.pack(
            0x02014B50, 20, 20, 0, method, 0, 0x21, *sizes, 0, 0, 0, 0, offset
        )
        directory.append(record + encoded)
    start = out.tell()
    out.write(b"".join(directory))
    count, length = len(members), out.tell() - start
    out.write(DIRECTORY_END.pack(0x06054B50, 0, 0, count, count, length, start, 0))
    return out.getvalue()


def _deflated(text: str) -> tuple[bytes, int, int, int]:
    data = text.encode()
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data), 8


def xlsx_from_sheet(
    sheet: tuple[bytes, int, int], title: str = "Sheet1", declared: int | None = None
) -> bytes:
    """A minimal workbook around an already deflated sheet part (payload, crc, size)."""
    payload, crc, size = sheet
    members = [(name, *_deflated(text.replace("{title}", title))) for name, text in _PARTS.items()]
    members.append(
        ("xl/worksheets/sheet1.xml", payload, crc, size if declared is None else declared, 8)
    )
    return _zip(members)


def rows_xlsx(header: list[str], rows: int, make_row, title: str = "Sheet1") -> bytes:
    """A plain workbook of many rows (no openpyxl: a million rows in seconds)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    crc, size, parts = 0, 0, []

    def put(data: bytes) -> None:
        nonlocal crc, size
        crc, size = zlib.crc32(data, crc), size + len(data)
        parts.append(packer.compress(data))

    put(sheet_head(header))
    batch = []
    for number in range(2, rows + 2):
        batch.append(_row_xml(number, make_row(number - 1)))
        if len(batch) == 10_000:
            put("".join(batch).encode())
            batch = []
    put("".join(batch).encode() + SHEET_TAIL)
    parts.append(packer.flush())
    return xlsx_from_sheet((b"".join(parts), crc, size), title)


def zip_bomb_xlsx(header: list[str], inflated: int = 4 * GIB, honest: bool = True) -> bytes:
    """A workbook whose sheet XML inflates to `inflated` bytes of rows (4 GiB by default)
    from about a thousandth of that. Honest: the zip declares the true size (the ratio
    gives it away); not honest: it declares 64 KB, and only counting what really comes
    out of the inflater can stop it. The CRC is not computed (it would take longer than
    the test): a reader that inflates it all finds out at the very end."""
    unit = b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c></row>'
    chunk = unit * (MIB_UNITS := (1 << 20) // len(unit))
    head = sheet_head(header)

    def segment(data: bytes, final: bool = False) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    repeat = max((inflated - len(head)) // len(chunk), 1)
    # Full flushes make each segment stand alone, so one compressed megabyte repeats.
    payload = segment(head) + segment(chunk) * repeat + segment(SHEET_TAIL, final=True)
    size = len(head) + repeat * len(unit) * MIB_UNITS + len(SHEET_TAIL)
    declared = min(size, 0xFFFFFFFF) if honest else 1 << 16
    return xlsx_from_sheet((payload, 0, size), declared=declared)


def entity_bomb_xlsx(header: list[str]) -> bytes:
    """Billion laughs in a sheet: a DTD whose entities expand to gigabytes."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    text = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        + sheet_head(header).decode().split("?>", 1)[1]
        + '<row r="2"><c r="A2" t="inlineStr"><is><t>&j;</t></is></c></row>'
        + SHEET_TAIL.decode()
    )
    payload, crc, size, _method = _deflated(text)
    return xlsx_from_sheet((payload, crc, size))


# ----------------------------------------------------------------------------- helpers


def refused(data: bytes, limits: Limits = COMMAND_LIMITS, columns: list[str] | None = None):
    """Open and read everything; the ReadError raised, and the seconds it took."""
    start = time.perf_counter()
    with pytest.raises(ReadError) as caught:
        for table in open_workbook(data, "f.xlsx", limits):
            list(table.blocks(columns or table.header, []))
    return caught.value, time.perf_counter() - start


def run_limited(args: list[str], memory: int = GIB, timeout: float = 120, **settings: str) -> str:
    """A Python subprocess whose address space is capped (RLIMIT_AS); its output.
    Single-threaded numerics: BLAS threads each reserve address space."""
    env = {**os.environ, **settings, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("COVERAGE_PROCESS_START", None)
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)),
    )
    assert done.returncode in (0, 2), done.stdout + done.stderr
    return done.stdout + done.stderr


HEADER = ["student_id", "name"]


WEB_LIKE = Limits(rows=100_000, cells=2_000_000, unzipped_bytes=256 << 20, seconds=60)

# ----------------------------------------------------------------------------- far cells


@pytest.mark.parametrize(
    ("limits", "code", "row"),
    [(COMMAND_LIMITS, "columns", 1_048_575), (WEB_LIKE, "rows", 1_048_575)],
)
def test_a_far_cell_is_refused_at_once(limits: Limits, code: str, row: int) -> None:
    data = far_cell_xlsx([HEADER, ["G1", "甲"]])
    assert len(data) < 6_000  # the review's 5 KB file
    error, seconds = refused(data, limits)
    assert (error.code, error.row) == (code, row)
    assert seconds < 0.5
    if code == "columns":
        assert error.params["letters"] == "XFD" and "column XFD" in str(error)


def test_a_far_cell_in_the_header_row_is_refused() -> None:
    error, _seconds = refused(workbook_bytes([HEADER], far="XFD1"))
    assert (error.code, error.row, error.params["found"]) == ("columns", 0, 16_384)


def test_a_far_row_within_the_columns_reads_without_filling_the_gap() -> None:
    data = workbook_bytes([HEADER, ["G1", "甲"]], far="A1048576")
    start = time.perf_counter()
    table = open_bytes(data, "far.xlsx")
    (block,) = table.blocks(HEADER, [])
    assert block.rows.tolist() == [1, 1_048_575]
    assert block.text["student_id"].tolist() == ["G1", "x"]
    assert time.perf_counter() - start < 0.5


def test_the_dimension_tag_is_never_trusted() -> None:
    rows = b"".join(_row_xml(n, [f"G{n}", "乙"]).encode() for n in range(2, 502))
    for dimension, count in (("A1:XFD1048576", 3), ("A1:B1", 500)):
        body = sheet_head(HEADER, dimension) + rows[: len(rows) if count == 500 else 0]
        body += b"".join(_row_xml(n, ["G", "丙"]).encode() for n in range(2, 2 + (count == 3) * 3))
        sheet = _deflated((body + SHEET_TAIL).decode())
        table = open_bytes(xlsx_from_sheet(sheet[:3]), "d.xlsx", WEB_LIKE)
        assert sum(len(b.rows) for b in table.blocks(HEADER, [])) == count
        assert table.estimated_rows <= WEB_LIKE.rows  # a progress estimate, clamped


# ----------------------------------------------------------------------------- zip bombs


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    data = zip_bomb_xlsx(HEADER)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size > 4_000_000_000 and len(data) < 16 << 20
    error, seconds = refused(data)
    assert error.code == "ratio" and error.params["part"] == "xl/worksheets/sheet1.xml"
    assert seconds < 0.5


def test_a_zip_bomb_that_lies_about_its_size_is_refused() -> None:
    error, seconds = refused(zip_bomb_xlsx(HEADER, honest=False))
    assert error.code == "xlsx" and seconds < 0.5


def test_the_bytes_inflated_have_a_budget() -> None:
    data = rows_xlsx(HEADER, 2_000, lambda i: [f"G{i:018d}", f"学生{i}"])
    error, _seconds = refused(data, Limits(unzipped_bytes=64 << 10))
    assert error.code == "bytes" and error.params["limit"] == 64 << 10
    assert sum(len(b.rows) for b in open_bytes(data, "ok.xlsx").blocks(HEADER, [])) == 2_000


def test_an_entity_bomb_is_refused() -> None:
    error, seconds = refused(entity_bomb_xlsx(HEADER))
    assert error.code == "xlsx" and seconds < 2


def test_a_zip_whose_directory_lists_too_many_parts_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"p{number}", b"")
    error, _seconds = refused(buffer.getvalue())
    assert error.code == "xlsx" and "10,001 parts" in str(error)


@pytest.mark.parametrize("damage", [b"PK\x03\x04garbage", b"PK\x03\x04" + b"\0" * 100])
def test_a_damaged_workbook_is_refused(damage: bytes) -> None:
    error, _seconds = refused(damage)
    assert error.code == "xlsx"


# ----------------------------------------------------------------------------- ceilings


def _csv(rows: int, columns: int = 2) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    lines = [",".join(f"v{r}_{i}" for i in range(columns)) for r in range(rows)]
    return "\n".join([header, *lines]).encode()


@pytest.mark.parametrize("careful", [False, True])
def test_csv_rows_and_cells_ceilings(careful: bool) -> None:
    numbers = ["c1"] if careful else []  # "v.." is no number: the careful path
    text = ["c0"] if careful else ["c0", "c1"]
    table = CsvTable("t.csv", _csv(150).decode(), Limits(rows=100))
    with pytest.raises(ReadError) as caught:
        list(table.blocks(text, numbers))
    assert (caught.value.code, caught.value.row) == ("rows", 101)
    table = CsvTable("t.csv", _csv(150).decode(), Limits(cells=250))
    with pytest.raises(ReadError) as caught:
        list(table.blocks(text, numbers))
    assert caught.value.code == "cells"
    fits = CsvTable("t.csv", _csv(100).decode(), Limits(rows=100, cells=200))
    assert sum(len(b.rows) for b in fits.blocks(["c0", "c1"], [])) == 100


def test_xlsx_rows_and_cells_ceilings() -> None:
    data = rows_xlsx(HEADER, 150, lambda i: [f"G{i}", "甲"])
    error, _seconds = refused(data, Limits(rows=100))
    assert (error.code, error.row) == ("rows", 101)
    error, _seconds = refused(data, Limits(cells=250))
    assert error.code == "cells"


def test_a_header_wider_than_the_columns_ceiling_is_refused() -> None:
    with pytest.raises(ReadError) as caught:
        CsvTable("t.csv", _csv(1, 1025).decode())
    assert (caught.value.code, caught.value.params["letters"]) == ("columns", "AMK")
    CsvTable("t.csv", _csv(1, 1024).decode())  # the last column allowed


def test_the_time_and_size_ceilings() -> None:
    for data in (_csv(10), workbook_bytes([HEADER, ["G1", "甲"]])):
        error, _seconds = refused(data, Limits(seconds=0))
        assert error.code == "seconds"
        error, _seconds = refused(data, Limits(file_bytes=len(data) - 1))
        assert error.code == "file" and error.params["found"] == len(data)


# ----------------------------------------------------------------------------- text


BAD_TEXT = {
    "\x00": "U+0000",
    "\x1b": "U+001B",
    "\x07": "U+0007",
    "\t": "U+0009",
    "\u202e": "U+202E",
    "\ufffe": "U+FFFE",
}


@pytest.mark.parametrize("careful", [False, True])
def test_text_cells_with_refused_characters_are_reported(careful: bool) -> None:
    rows = [f"G{i},张{bad}三,{'x' if careful and i == 0 else i}" for i, bad in enumerate(BAD_TEXT)]
    table = CsvTable("t.csv", "\n".join(["id,name,n", *rows, "G9,李四,9"]))
    (block,) = table.blocks(["id", "name"], ["n"])
    text_errors = [e for e in block.errors if e.codepoint]
    assert [(e.row, e.column, e.codepoint) for e in text_errors] == [
        (row, "name", point) for row, point in enumerate(BAD_TEXT.values(), start=1)
    ]
    assert text_errors[1].text == "张\x1b三"  # as read; the block holds a visible form
    assert block.text["name"].tolist()[1] == "张<U+001B>三"
    assert block.text["name"].tolist()[-1] == "李四"
    assert (block.numbers[-1, 0], len(block.errors)) == (9.0, len(BAD_TEXT) + careful)


def test_text_is_normalised_to_nfc_and_unusual_but_allowed_characters_stay() -> None:
    text = "id,name\nG1,Jose\u0301\nG2,王\u3000芳\nG3,\ue000\nG4,\u200b 李四\ufeff\n"
    (block,) = CsvTable("t.csv", text).blocks(["id", "name"], [])
    assert block.text["name"].tolist() == ["José", "王\u3000芳", "\ue000", "李四"]
    assert not block.errors  # and the zero-width marks Excel leaves around a value: gone


def test_excel_escaped_control_characters_are_refused() -> None:
    # Excel writes ESC as _x001B_ (XML cannot carry it); openpyxl writes the text as is.
    data = workbook_bytes([HEADER, ["G1", "张_x001B_三"], ["G2", "王_x0007_五"], ["G3", "赵六"]])
    rows, errors = text_rows(open_bytes(data, "t.xlsx"), HEADER)
    assert [(e.row, e.column, e.codepoint) for e in errors] == [
        (1, "name", "U+001B"),
        (2, "name", "U+0007"),
    ]
    assert [cells["name"] for _row, cells in rows] == ["张<U+001B>三", "王<U+0007>五", "赵六"]


def test_a_header_cell_with_a_refused_character_is_refused() -> None:
    with pytest.raises(ReadError) as caught:
        CsvTable("t.csv", "id,na\x00me\nG1,甲\n")
    assert (caught.value.code, caught.value.row, caught.value.params["codepoint"]) == (
        "text",
        0,
        "U+0000",
    )
    assert caught.value.column == "na<U+0000>me"
    # A line break in a header cell is a wrapped title, not a control character.
    assert CsvTable("t.csv", 'id,"na\nme"\nG1,甲\n').header == ["id", "na\nme"]


def test_the_batch_commands_name_the_row_column_and_code_point(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wellbeing.health_cli import fitness_group, vision_group
    from wellbeing.instruments_cli import score_command

    cases = [
        (
            score_command,
            ["phq9"],
            "respondent_id," + ",".join(f"phq9_{i}" for i in range(1, 10)),
            "r0" + ",0" * 9,
            "r\x1b1" + ",0" * 9,
            "column respondent_id",
        ),
        (
            vision_group,
            ["classify"],
            "student_id,age,ucva_right,ucva_left,sph_right,cyl_right,sph_left,cyl_left",
            "G0,13,5.0,5.0,0,0,0,0",
            "G\x001,13,5.0,5.0,0,0,0,0",
            "column student_id",
        ),
        (
            fitness_group,
            ["score"],
            "student_id,grade,sex,height_cm,weight_kg",
            "G0,7,M,160,50",
            "G1,7,M\x07,160,50",
            "column sex",
        ),
    ]
    for command, args, header, good, row, where in cases:
        path = tmp_path / "in.csv"
        path.write_text(f"{header}\n{row}\n{good}\n", "utf-8")
        result = CliRunner().invoke(command, [*args, str(path)])
        assert result.exit_code == 2, result.output
        assert f"row 1, {where}" in result.stderr and "U+00" in result.stderr


# ----------------------------------------------------------------------------- memory

BATCH_UNDER_LIMIT = """
import resource, sys, time
from click.testing import CliRunner
from wellbeing.health_cli import fitness_group, vision_group
from wellbeing.instruments_cli import score_command
commands = {"score": (score_command, ["phq9"]), "vision": (vision_group, ["classify"]),
            "fitness": (fitness_group, ["score"])}
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1]
    command, args = commands[name.split("-")[0]]
    start = time.perf_counter()
    result = CliRunner().invoke(command, [*args, path])
    seconds = time.perf_counter() - start
    print(name, result.exit_code, f"{seconds:.3f}", result.stderr.strip()[-160:], sep="\t")
print("peak_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, sep="\t")
"""
BATCH_HEADERS = {
    "score": ["respondent_id", *(f"phq9_{i}" for i in range(1, 10))],
    "vision": list(vision.INPUT_COLUMNS),
    "fitness": ["student_id", "grade", "sex", "height_cm", "weight_kg"],
}


def test_the_batch_commands_refuse_hostile_workbooks_in_bounded_memory(tmp_path: Path) -> None:
    """`wellbeing score`, `vision classify` and `fitness score` read through the same
    reader: each hostile file ends with status 2 and its reason, fast, in a process
    whose address space is capped at 1 GiB."""
    paths = []
    for command, header in BATCH_HEADERS.items():
        for kind, data in (
            ("far", far_cell_xlsx([header, ["1"] * len(header)])),
            ("bomb", zip_bomb_xlsx(header)),
            ("liar", zip_bomb_xlsx(header, honest=False)),
        ):
            paths.append(tmp_path / f"{command}-{kind}.xlsx")
            paths[-1].write_bytes(data)
    out = run_limited(["-c", BATCH_UNDER_LIMIT, *map(str, paths)])
    lines = [line.split("\t") for line in out.splitlines() if line.count("\t") == 3]
    assert len(lines) == 9, out
    reasons = {"far": "column XFD", "bomb": "zip bomb", "liar": "XLSX"}
    for name, code, seconds, message in lines:
        assert code == "2" and reasons[name.split("-")[1][:-5]] in message, (name, message)
        assert float(seconds) < 2, (name, seconds)
