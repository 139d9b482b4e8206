"""Reading input tables: encodings, XLSX cell types, the careful path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

from screening.errors import InputError
from screening.spreadsheets import CsvTable, decode_text, open_table


def _blocks(table, numbers: list[str]) -> list:
    return list(table.blocks(["id"], numbers))


def test_decode_text() -> None:
    assert decode_text("\ufeffid".encode()) == "id"
    assert decode_text("学号".encode("gbk")) == "学号"
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        decode_text(b"\x81\x20\xff\xff")


def test_careful_path_accepts_what_the_fast_path_accepts() -> None:
    text = "id,a\nx,１\ny, 2 \nz,+3e0\nw,\n"
    blocks = _blocks(CsvTable("t.csv", text), ["a"])
    numbers = np.concatenate([b.numbers for b in blocks])[:, 0]
    assert numbers[:3].tolist() == [1.0, 2.0, 3.0] and np.isnan(numbers[3])
    assert all(not b.errors for b in blocks)


def test_header_with_a_line_break_uses_the_careful_path() -> None:
    table = CsvTable("t.csv", 'id,"a\nb"\nx,1\n')
    assert table.header == ["id", "a\nb"] and not table.header_is_one_line
    assert _blocks(table, ["a\nb"])[0].numbers.tolist() == [[1.0]]


def test_xlsx_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append([" id ", "a"])
    sheet.append([12.0, 1])
    sheet.append(["y", True])
    sheet.append([None, None])
    sheet.append(["z", date(2026, 1, 1)])
    path = tmp_path / "t.xlsx"
    book.save(path)
    table = open_table(path)
    assert table.header == ["id", "a"]
    (block,) = _blocks(table, ["a"])
    assert block.text["id"].tolist() == ["12", "y", "z"] and block.rows.tolist() == [1, 2, 4]
    assert [(e.row, e.column, e.text) for e in block.errors] == [
        (2, "a", "true"),
        (4, "a", "2026-01-01"),  # a date cell reads as its date
    ]  # every bad cell, not only the first


def test_old_xls_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(InputError, match=r"\.xls"):
        open_table(path)
    with pytest.raises(InputError, match="cannot read"):
        open_table(tmp_path / "absent.csv")


def test_require_reports_duplicates_and_missing_columns() -> None:
    table = CsvTable("t.csv", "id,a,a,b\n")
    with pytest.raises(InputError) as caught:
        table.require(["id", "a"])
    assert (caught.value.row, caught.value.column) == (0, "a")
    with pytest.raises(InputError, match=r"also missing: d") as caught:
        table.require(["id", "c", "d"])
    assert caught.value.column == "c"
    assert table.require(["id", "b"], ["c"]) == []
