"""`wellbeing vision classify` and `wellbeing fitness score` against
shared/contracts/batch-cli.md, clause by clause."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

import wellbeing.instruments_cli as instruments_cli
from screening import fitness
from wellbeing.health_cli import fitness_group, vision_group

VISION_HEADER = [
    "student_id",
    "age",
    "ucva_right",
    "ucva_left",
    "sph_right",
    "cyl_right",
    "sph_left",
    "cyl_left",
]
VISION_OUT = [
    "student_id",
    "se_right",
    "se_left",
    "myopia_right",
    "myopia_left",
    "myopia",
    "myopia_degree",
    "va_grade",
]
FITNESS_HEADER = [
    "student_id",
    "grade",
    "sex",
    "height_cm",
    "weight_kg",
    "vital_capacity_ml",
    "run50m_s",
    "sit_reach_cm",
    "rope_skip_1min",
]
FITNESS_OUT = [
    "student_id",
    "bmi",
    "bmi_class",
    "score_bmi",
    "score_vital_capacity_ml",
    "score_run50m_s",
    "score_sit_reach_cm",
    "score_rope_skip_1min",
    "score_situps_1min",
    "score_long_jump_cm",
    "score_pullups",
    "score_shuttle_50x8_s",
    "score_run800m_s",
    "score_run1000m_s",
    "standard",
    "bonus",
    "total",
    "rating",
]
GOOD_EYES = ["8", "5.0", "5.0", "0.25", "-0.5", "0.25", "-0.5"]
BOY = ["1", "M", "120", "22", "1000", "10.5", "10", "130"]


def _csv(rows: list[list[Any]], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write(
    tmp_path: Path,
    rows: list[list[Any]],
    header: list[str],
    name: str = "in.csv",
    encoding: str = "utf-8",
) -> Path:
    path = tmp_path / name
    path.write_text(_csv(rows, header), encoding)
    return path


def _vision(*args: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(vision_group, ["classify", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _fitness(*args: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(fitness_group, ["score", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ----------------------------------------------------------------------------- vision


def test_vision_columns_values_and_formats(tmp_path: Path) -> None:
    rows = [
        ["001", "7", "4.8", "5.0", "-1.0", "-0.5", "0.25", "-0.5"],
        ["002", "5", "4.8", "5.0", "-1.0", "-0.5", "", ""],
        ["003", "9.5", "4.5", "4.9", "-3.25", "0", "-6.5", "+0.5"],
    ]
    code, out, err = _vision(_write(tmp_path, rows, VISION_HEADER))
    assert code == 0 and err == ""
    header = out.splitlines()[0].split(",")
    assert header[: len(VISION_OUT)] == VISION_OUT
    assert "low_hyperopia_reserve_advisory" in header
    first, second, third = _parse(out)
    assert first["student_id"] == "001"  # leading zeros kept, input order
    assert (first["se_right"], first["se_left"]) == ("-1.25", "0.00")  # 2 decimals, a dot
    assert (first["myopia_right"], first["myopia_left"], first["myopia"]) == (
        "true",
        "false",
        "true",
    )
    assert (first["myopia_degree"], first["va_grade"]) == ("low", "moderate")
    assert (second["myopia"], second["va_grade"], second["se_left"]) == ("", "", "")  # under 6
    assert (third["se_left"], third["myopia_degree"], third["va_grade"]) == (
        "-6.25",
        "high",
        "severe",
    )


def test_vision_optional_ortho_k_unknown_columns_and_column_order(tmp_path: Path) -> None:
    header = ["class", "ortho_k", *reversed(VISION_HEADER), " note "]
    rows = [
        ["3", "true", *reversed(["a", *GOOD_EYES]), "x"],
        ["3", "", *reversed(["b", *GOOD_EYES]), "y"],
    ]
    code, out, _ = _vision(_write(tmp_path, rows, header))
    assert code == 0
    parsed = _parse(out)
    assert [r["myopia"] for r in parsed] == ["true", "false"]
    assert "class" not in parsed[0] and "note" not in parsed[0]


@pytest.mark.parametrize(
    ("cells", "column", "text"),
    [
        ({"ucva_right": "6.1"}, "ucva_right", "6.1 is outside"),
        ({"sph_left": "-40"}, "sph_left", "-40 is outside"),
        ({"age": "eight"}, "age", "'eight' is not a number"),
        ({"student_id": ""}, "student_id", "empty"),
    ],
)
def test_vision_bad_input_names_row_and_column_and_writes_nothing(
    tmp_path: Path, cells: dict[str, str], column: str, text: str
) -> None:
    good = ["a", *GOOD_EYES]
    bad = [cells.get(name, value) for name, value in zip(VISION_HEADER, good, strict=True)]
    source = _write(tmp_path, [good, [], bad], VISION_HEADER)  # a blank line keeps numbering
    target = tmp_path / "out.csv"
    code, out, err = _vision(source, "-o", target)
    assert code == 2 and out == ""
    assert f"in.csv, row 3, column {column}: " in err and text in err
    assert not target.exists()


def test_vision_missing_column_and_unreadable_file(tmp_path: Path) -> None:
    source = _write(tmp_path, [["a", *GOOD_EYES[:-1]]], VISION_HEADER[:-1])
    code, _, err = _vision(source)
    assert code == 2 and "header row, column cyl_left: the required column is missing" in err
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = _vision(broken)
    assert code == 2 and "broken.xlsx" in err
    code, _, err = _vision(tmp_path / "nowhere.csv")
    assert code == 2 and "cannot read the file" in err


# ----------------------------------------------------------------------------- fitness


def test_fitness_columns_values_and_formats(tmp_path: Path) -> None:
    rows = [
        ["a", *BOY],
        ["b", "1", "女", "120", "22", "1000", "10.5", "10", ""],
        ["c", "2", "M", "125", "40", "1000", "10.5", "-1.5", "1"],
    ]
    code, out, err = _fitness(_write(tmp_path, rows, FITNESS_HEADER))
    assert code == 0 and err == ""
    assert out.splitlines()[0].split(",") == FITNESS_OUT
    a, b, c = _parse(out)
    assert (a["bmi"], a["bmi_class"], a["score_bmi"]) == ("15.3", "normal", "100")
    assert (a["standard"], a["bonus"], a["total"], a["rating"]) == (
        "85.9",
        "10",
        "95.9",
        "excellent",
    )
    assert a["score_pullups"] == ""  # not an item of grade 1
    assert (b["score_rope_skip_1min"], b["standard"], b["total"], b["rating"]) == ("", "", "", "")
    assert b["score_run50m_s"] == "100"  # the other items are still scored
    assert (c["bmi_class"], c["score_rope_skip_1min"], c["rating"]) == ("obese", "0", "fail")


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("run50m_s", "2", "2 is outside the plausible range 5 to 60 s"),
        ("grade", "13", "13 is not a grade from 1 to 12"),
        ("sex", "X", "'X' is not M, F, 男 or 女"),
        ("rope_skip_1min", "lots", "'lots' is not a number"),
    ],
)
def test_fitness_bad_input_names_row_and_column_and_writes_nothing(
    tmp_path: Path, column: str, value: str, text: str
) -> None:
    bad = ["b", *BOY]
    bad[FITNESS_HEADER.index(column)] = value
    source = _write(tmp_path, [["a", *BOY], bad], FITNESS_HEADER)
    target = tmp_path / "out.xlsx"
    code, out, err = _fitness(source, "-o", target)
    assert code == 2 and out == ""
    assert f"row 2, column {column}: {text}" in err
    assert not target.exists()


def test_fitness_grade_and_sex_without_a_table_is_refused(tmp_path: Path, monkeypatch) -> None:
    shipped = fitness.default_standard()
    coverage = dict(shipped.coverage)
    coverage[("rope_skip_1min", "1", "F")] = "missing"
    monkeypatch.setattr(
        fitness,
        "default_standard",
        lambda: type(shipped)(
            shipped.levels, shipped.bmi, shipped.weights, shipped.bonus, coverage, shipped.ratings
        ),
    )
    source = _write(tmp_path, [["a", *BOY], ["b", "1", "F", *BOY[2:]]], FITNESS_HEADER)
    code, out, err = _fitness(source, "-o", tmp_path / "o.csv")
    assert code == 2 and out == "" and not (tmp_path / "o.csv").exists()
    assert "row 2, column rope_skip_1min: coverage.csv marks the rope_skip_1min table" in err
    assert "refused" in err


def test_fitness_items_of_other_grades_may_be_absent_or_odd(tmp_path: Path) -> None:
    header = [*FITNESS_HEADER, "pullups"]
    code, out, _ = _fitness(_write(tmp_path, [["a", *BOY, "900"]], header))
    assert code == 0 and _parse(out)[0]["score_pullups"] == ""
    code, _, err = _fitness(_write(tmp_path, [["a", "7", "M", *BOY[2:]]], FITNESS_HEADER))
    assert code == 2 and "row 1, column long_jump_cm: the column is missing" in err


def test_fitness_markers_in_items_the_row_does_not_use_are_ignored(tmp_path: Path) -> None:
    """Mixed sheets mark the other sex's items (免考, /, -): the contract ignores them."""
    header = ["student_id", "grade", "sex", "height_cm", "weight_kg", "vital_capacity_ml",
              "run50m_s", "sit_reach_cm", "long_jump_cm", "pullups", "situps_1min",
              "run1000m_s", "run800m_s"]  # fmt: skip
    boy = ["b", "7", "男", "160", "50", "3000", "8.0", "10", "200", "5", "免考", "250", "/"]
    girl = ["g", "7", "女", "155", "45", "2500", "9.0", "12", "170", "/", "30", "-", "240"]
    code, out, err = _fitness(_write(tmp_path, [boy, girl], header))
    assert code == 0, err
    rows = _parse(out)
    assert rows[0]["score_situps_1min"] == "" and rows[0]["rating"] != ""
    assert rows[1]["score_pullups"] == "" and rows[1]["rating"] != ""
    girl[10] = "免考"  # now in an item the girl's grade uses
    code, out, err = _fitness(_write(tmp_path, [boy, girl], header))
    assert code == 2 and out == "" and "row 2, column situps_1min: '免考'" in err


# ----------------------------------------------------------------------------- files


def test_gbk_and_bom_input(tmp_path: Path) -> None:
    rows = [["甲", "1", "男", *BOY[2:]]]
    for encoding in ("gbk", "utf-8-sig"):
        source = _write(tmp_path, rows, [*FITNESS_HEADER, "姓名"], f"{encoding}.csv", encoding)
        code, out, _ = _fitness(source)
        assert code == 0 and _parse(out)[0]["student_id"] == "甲"


def test_xlsx_in_and_out(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append([*VISION_HEADER, "ortho_k"])
    sheet.append(["001", 8, 4.8, 5.0, -1.0, -0.5, 0.25, -0.5, True])
    sheet.append(["002", 8, 5.0, 5.0, 0, 0, 0, 0, None])
    source = tmp_path / "in.xlsx"
    book.save(source)
    target = tmp_path / "out.xlsx"
    code, _, err = _vision(source, "-o", target)
    assert code == 0 and "2 rows" in err
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert list(rows[0][: len(VISION_OUT)]) == VISION_OUT
    assert rows[1][:7] == ("001", -1.25, 0.0, "true", "false", "true", "low")
    assert rows[2][5] == "false"


def test_csv_output_file_and_a_bad_ending(tmp_path: Path) -> None:
    source = _write(tmp_path, [["a", *BOY]], FITNESS_HEADER)
    target = tmp_path / "out.csv"
    assert _fitness(source, "-o", target)[0] == 0
    assert _parse(target.read_text("utf-8"))[0]["total"] == "95.9"
    code, _, err = _fitness(source, "-o", tmp_path / "out.txt")
    assert code == 2 and "must end in .csv or .xlsx" in err


def test_progress_bar_only_on_a_terminal_for_large_inputs(tmp_path: Path, monkeypatch) -> None:
    big = _write(tmp_path, [[f"s{i}", *GOOD_EYES] for i in range(10_001)], VISION_HEADER)
    code, _, err = _vision(big, "-o", tmp_path / "o.csv")
    assert code == 0 and "%" not in err  # not a terminal
    monkeypatch.setattr(instruments_cli, "_stderr_is_terminal", lambda: True)
    code, _, err = _vision(big, "-o", tmp_path / "o.csv")
    assert code == 0 and "100%" in err
    small = _write(tmp_path, [["a", *BOY]] * 100, FITNESS_HEADER, "small.csv")
    assert "%" not in _fitness(small, "-o", tmp_path / "p.csv")[2]


CELL = st.one_of(
    st.sampled_from(["", "4.9", "-1.25", "8", "M", "女", "true", "1e400", "nan", "６", " 7 "]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=4),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@given(
    st.sampled_from(["vision", "fitness"]),
    st.lists(st.lists(CELL, min_size=9, max_size=9), min_size=1, max_size=6),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_csv_gives_rows_or_status_2_never_a_crash(kind: str, rows: list[list[str]]) -> None:
    header = [*VISION_HEADER, "ortho_k"] if kind == "vision" else FITNESS_HEADER
    with tempfile.TemporaryDirectory() as directory:
        source = _write(Path(directory), [row[: len(header)] for row in rows], header)
        code, out, err = (_vision if kind == "vision" else _fitness)(source)
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("error: in.csv") and out == ""
    else:
        assert len(_parse(out)) <= len(rows)  # blank rows are skipped
