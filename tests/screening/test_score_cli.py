"""`wellbeing score` against docs/batch-cli.md, clause by clause."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

import wellbeing.instruments_cli as cli
from tests.screening.conftest import GOOD
from wellbeing.instruments_cli import score_command

PHQ = [f"phq9_{i}" for i in range(1, 10)]
HEADER = ["respondent_id", *PHQ]
CONTRACT = ["respondent_id", "total", "band", "critical", "valid", "missing"]


def _csv(rows: list[list[object]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(score_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(
        _csv([["s1", *[1] * 9], ["s2", 0, 0, 0, 0, 0, 0, 0, 0, ""], ["007", *[3] * 9]]), "utf-8"
    )
    return path


def test_stdout_columns_and_values(good_csv: Path) -> None:
    code, out, err = _run("phq9", str(good_csv))
    assert code == 0 and err == ""
    assert out.splitlines()[0].split(",")[:6] == CONTRACT
    rows = _parse(out)
    assert [r["respondent_id"] for r in rows] == ["s1", "s2", "007"]  # order, leading zeros
    assert rows[0]["total"] == "9" and rows[0]["band"] == "mild"
    assert (
        rows[0]["critical"] == "true" and rows[0]["valid"] == "true" and rows[0]["missing"] == "0"
    )
    assert (rows[1]["total"], rows[1]["band"], rows[1]["valid"], rows[1]["missing"]) == (
        "",
        "",
        "false",
        "1",
    )
    assert rows[1]["critical"] == "false"
    assert rows[2]["total"] == "27" and rows[2]["band"] == "severe"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(_csv([["学生一", *[2] * 9]], [*HEADER, "姓名"]).encode(encoding))
    code, out, _ = _run("phq9", str(path))
    assert code == 0
    assert _parse(out)[0]["respondent_id"] == "学生一" and _parse(out)[0]["total"] == "18"


def test_header_trimmed_order_free_unknown_ignored(tmp_path: Path) -> None:
    header = ["  phq9_9 ", "note", *reversed(PHQ[:-1]), " respondent_id"]
    path = tmp_path / "in.csv"
    path.write_text(_csv([[1, "x", *[0] * 8, "a"]], header), "utf-8")
    code, out, _ = _run("phq9", str(path))
    assert code == 0 and _parse(out)[0]["critical"] == "true" and _parse(out)[0]["total"] == "1"


def test_exact_header_names_only(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(_csv([["a", *[0] * 9]], ["respondent_id", "PHQ9_1", *PHQ[1:]]), "utf-8")
    code, _, err = _run("phq9", str(path))
    assert code == 2 and "header row, column phq9_1" in err and "missing" in err


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([["a", *[0] * 9], ["b", 0, 0, 4, 0, 0, 0, 0, 0, 0]], "row 2, column phq9_3"),
        ([["a", 0, 0, 0, 0, 0, 0, 0, "x", 9]], "row 1, column phq9_8"),  # leftmost wins
        ([["a", *[0] * 9], ["b", 0, 0, 0.5, 0, 0, 0, 0, 0, 0]], "row 2, column phq9_3"),
        ([["a", *[0] * 9], ["", *[0] * 9]], "row 2, column respondent_id"),
        ([["a", *[0] * 9], ["b", 0, 0, 0, 0, 0, 0, 0, 0, "1 2"]], "row 2, column phq9_9"),
    ],
)
def test_bad_value_exit_2_names_row_and_column(tmp_path: Path, rows: list, where: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(_csv(rows), "utf-8")
    out = tmp_path / "out.csv"
    code, stdout, err = _run("phq9", str(path), "-o", str(out))
    assert code == 2
    assert where in err and stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == [path]  # nothing written


def test_first_bad_value_is_found_in_a_later_block(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("screening.spreadsheets.CHUNK_ROWS", 10)
    rows = [[f"s{i}", *[1] * 9] for i in range(55)]
    rows[42][5] = "？"
    rows[47][2] = 7
    path = tmp_path / "in.csv"
    path.write_text(_csv(rows), "utf-8")
    code, _, err = _run("phq9", str(path))
    assert code == 2 and "row 43, column phq9_5" in err


def test_blank_rows_are_skipped_and_numbering_kept(tmp_path: Path) -> None:
    lines = [",".join(HEADER), "a" + ",0" * 9, "", ",,,,,,,,,", "b" + ",0" * 8 + ",5"]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "in.csv"
    path.write_text(text, "utf-8")
    code, _, err = _run("phq9", str(path))
    assert code == 2 and "row 4, column phq9_9" in err


def test_missing_required_column_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(_csv([["a", *[0] * 8]], HEADER[:-1]), "utf-8")
    code, _, err = _run("phq9", str(path))
    assert code == 2 and "header row, column phq9_9" in err
    path.write_bytes(b"\xff\xfe\x00\x81\x00" * 10)
    assert _run("phq9", str(path))[0] == 2
    path.write_bytes(b"")
    assert _run("phq9", str(path))[0] == 2
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = _run("phq9", str(broken))
    assert code == 2 and "XLSX" in err
    assert _run("phq9", str(tmp_path / "absent.csv"))[0] == 2


def test_unknown_instrument_and_bad_output(good_csv: Path) -> None:
    code, _, err = _run("phq10", str(good_csv))
    assert code == 2 and "phq10" in err
    assert _run("phq9", str(good_csv), "-o", str(good_csv.with_suffix(".txt")))[0] == 2
    code, _, err = _run("phq9", str(good_csv), "-o", str(good_csv.parent / "no" / "o.csv"))
    assert code == 2 and "cannot write" in err


def test_xlsx_in_and_out(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER, "班级"])
    sheet.append([1001, *[2] * 9, "7-1"])  # ids typed as numbers in Excel
    sheet.append(["s2", 0, 0, 0, 0, 0, 0, 0, 0, None, "7-1"])
    path = tmp_path / "in.xlsx"
    book.save(path)
    out = tmp_path / "out.xlsx"
    code, _, err = _run("phq9", str(path), "-o", str(out))
    assert code == 0, err
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0][:6]) == CONTRACT
    assert rows[1][:6] == ("1001", 18, "moderately_severe", "true", "true", 0)
    assert rows[2][:6] == ("s2", None, None, "false", "false", 1)


def test_csv_output_file_is_utf8(tmp_path: Path, good_csv: Path) -> None:
    out = tmp_path / "out.csv"
    code, stdout, _ = _run("phq9", str(good_csv), "-o", str(out))
    assert code == 0 and stdout == ""
    assert out.read_bytes().startswith(b"respondent_id,total,band,critical,valid,missing")


def test_school_file_by_path_with_subscales_and_lie_scale(tmp_path: Path) -> None:
    items = [f"mht_{n}" for n in range(1, 101)]
    lies = {f"mht_{n}" for n in range(82, 101, 2)}
    liar = [1 if i in lies else 0 for i in items]
    path = tmp_path / "mht.csv"
    path.write_text(_csv([["a", *[0] * 100], ["b", *liar]], ["respondent_id", *items]), "utf-8")
    code, out, _ = _run(str(GOOD / "mht_shaped.yaml"), str(path))
    assert code == 0
    rows = _parse(out)
    assert list(rows[0])[:8] == [*CONTRACT, "subscale_learning_anxiety", "subscale_social_anxiety"]
    assert "band_learning_anxiety" in rows[0] and "lie_score" in rows[0]
    assert (rows[0]["valid"], rows[1]["valid"], rows[1]["lie_score"]) == ("true", "false", "10")
    assert rows[1]["invalid_reasons"] == "lie_scale" and rows[1]["total"] == "0"


def test_extra_directory_from_environment(tmp_path: Path, good_csv: Path, monkeypatch) -> None:
    school = tmp_path / "school"
    school.mkdir()
    (school / "tiny.yaml").write_bytes((GOOD / "tiny.yaml").read_bytes())
    path = tmp_path / "tiny.csv"
    path.write_text(_csv([["a", 1, 2, 0]], ["respondent_id", "q1", "q2", "q3"]), "utf-8")
    monkeypatch.setenv(cli.DIRS_ENV, str(school))
    code, out, _ = _run("tiny", str(path))
    assert code == 0 and _parse(out)[0]["total"] == "6"  # q3 reversed: 3 - 0


def test_progress_bar_only_on_a_terminal_for_large_inputs(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.csv"
    path.write_text(_csv([[f"s{i}", *[0] * 9] for i in range(10_001)]), "utf-8")
    code, _, err = _run("phq9", str(path), "-o", str(tmp_path / "o.csv"))
    assert code == 0 and "%" not in err  # not a terminal
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    code, _, err = _run("phq9", str(path), "-o", str(tmp_path / "o.csv"))
    assert code == 0 and "100%" in err
    small = tmp_path / "small.csv"
    small.write_text(_csv([[f"s{i}", *[0] * 9] for i in range(100)]), "utf-8")
    assert "%" not in _run("phq9", str(small), "-o", str(tmp_path / "p.csv"))[2]


def test_prorated_scores_are_printed_with_a_dot(tmp_path: Path) -> None:
    header = ["respondent_id", "w1", "w2", "w3", "w4", "w5", "w6"]
    path = tmp_path / "in.csv"
    path.write_text(_csv([["a", 5, 1, 4, 2, "", ""], ["b", 1, 1, 1, 1, 2, 0]], header), "utf-8")
    code, out, _ = _run(str(GOOD / "school_wellbeing.yaml"), str(path))
    assert code == 0
    rows = _parse(out)
    assert rows[0]["total"] == "4.5" and rows[0]["subscale_school"] == "8"
    assert rows[1]["total"] == "2.8"  # w2 and w4 reversed: (1 + 5 + 1 + 5 + 2) / 5
