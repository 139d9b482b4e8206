"""`wellbeing risk tier` without a database: `wellbeing score` outputs in, tiers out
(shared/contracts/batch-cli.md's common rules)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from screening import risk
from wellbeing.instruments_cli import score_command
from wellbeing.review.cli import risk_group

PHQ = [f"phq9_{i}" for i in range(1, 10)]
GAD = [f"gad7_{i}" for i in range(1, 8)]
OUT = ["respondent_id", "tier", "points", "reasons", "rule"]


def _write(
    path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8"
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding)
    return path


def _xlsx(path: Path, source: Path) -> Path:
    book = Workbook()
    for row in csv.reader(io.StringIO(source.read_text("utf-8"))):
        book.active.append(row)
    book.save(path)
    return path


def _tier(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(risk_group, ["tier", *args])
    return result.exit_code, result.stdout, result.stderr


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def scored(tmp_path: Path) -> tuple[Path, Path]:
    """PHQ-9 and GAD-7 answers scored by `wellbeing score` (GAD-7 lacks one student)."""
    phq = _write(
        tmp_path / "phq.csv",
        ["respondent_id", *PHQ],
        [
            ["s1", *[0] * 9],
            ["s2", *[2] * 8, 0],  # 16: moderately severe
            ["s3", *[1] * 8, 1],  # 9, item 9 endorsed: the rule
            ["s4", *[3] * 9],  # 27: severe, critical
            ["s5", 1, 1, "", "", "", "", "", "", ""],  # too many missing: not valid
        ],
    )
    gad = _write(
        tmp_path / "gad.csv",
        ["respondent_id", *GAD],
        [["s2", *[2] * 7], ["s1", *[0] * 7], ["s4", *[1] * 7], ["s5", *[3] * 7]],
    )
    out = []
    for name, source in (("phq9", phq), ("gad7", gad)):
        target = tmp_path / f"{name}_scores.csv"
        result = CliRunner().invoke(score_command, [name, str(source), "-o", str(target)])
        assert result.exit_code == 0, result.stderr
        out.append(target)
    return out[0], out[1]


def test_tiers_in_the_first_inputs_order_with_reasons_and_rules(scored) -> None:
    phq, gad = scored
    code, out, err = _tier(f"phq9={phq}", f"gad7={gad}")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == ",".join(OUT)
    rows = {row["respondent_id"]: row for row in _rows(out)}
    assert list(rows) == ["s1", "s2", "s3", "s4", "s5"]
    assert (rows["s1"]["tier"], rows["s1"]["points"], rows["s1"]["rule"]) == ("none", "0", "")
    assert rows["s1"]["reasons"] == "各项均未计分（0 分）"
    # PHQ-9 16 (moderately severe, 30) + GAD-7 14 (moderate, 20) = 50: orange.
    assert (rows["s2"]["tier"], rows["s2"]["points"]) == ("orange", "50")
    assert rows["s2"]["reasons"] == "PHQ-9 中重度（16 分）：+30；GAD-7 中度（14 分）：+20"
    # s3 is not in the GAD-7 file: not measured there; its critical item makes red.
    assert (rows["s3"]["tier"], rows["s3"]["points"], rows["s3"]["rule"]) == (
        "red",
        "5",
        "critical_item",
    )
    assert rows["s3"]["reasons"].startswith("规则：关键题目阳性")
    assert rows["s4"]["tier"] == "red" and rows["s4"]["points"] == "45"
    # s5's PHQ-9 is not valid: its band does not count (as in the app); GAD-7 does.
    assert (rows["s5"]["tier"], rows["s5"]["points"]) == ("orange", "30")


def test_csv_gbk_bom_and_xlsx_agree(scored, tmp_path) -> None:
    phq, gad = scored
    expected = _tier(f"phq9={phq}", f"gad7={gad}")[1]
    for encoding in ("gbk", "utf-8-sig"):
        other = tmp_path / f"phq_{encoding}.csv"
        other.write_text(phq.read_text("utf-8"), encoding)
        assert _tier(f"phq9={other}", f"gad7={gad}")[1] == expected
    book = _xlsx(tmp_path / "phq.xlsx", phq)
    assert _tier(f"phq9={book}", f"gad7={_xlsx(tmp_path / 'gad.xlsx', gad)}")[1] == expected
    target = tmp_path / "tiers.xlsx"
    code, _out, err = _tier(f"phq9={book}", f"gad7={gad}", "-o", str(target))
    assert code == 0 and "5 rows tiered with default-1" in err
    sheet = load_workbook(target).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == OUT and cells[2][:3] == ["s2", "orange", 50]
    assert [[str(c) if c is not None else "" for c in row] for row in cells[1:]] == [
        [row[c] for c in OUT] for row in _rows(expected)
    ]


def test_optional_columns_of_the_first_input_are_used(scored, tmp_path) -> None:
    phq, _gad = scored
    lines = phq.read_text("utf-8").splitlines()
    extra = ["previous_tier", "observations", "observations_urgent", "boarding"]
    values = [["red", "2", "true", "true"], ["", "", "", ""], ["none", "0", "false", "false"]]
    values += [["", "", "", ""]] * 2
    text = "\n".join(
        [lines[0] + "," + ",".join(extra)]
        + [line + "," + ",".join(v) for line, v in zip(lines[1:], values, strict=True)]
    )
    (tmp_path / "extra.csv").write_text(text + "\n", "utf-8")
    document = json.loads(json.dumps(risk.default_model().document))
    for feature in document["features"]:
        if feature["id"] == "previous_tier":
            feature["bins"][3]["points"] = 25
        if feature["id"] == "observations":
            feature["bins"][2]["points"] = 7
    (tmp_path / "model.json").write_text(json.dumps(document), "utf-8")
    code, out, err = _tier(
        f"phq9={tmp_path / 'extra.csv'}", "--model", str(tmp_path / "model.json")
    )
    assert code == 0, err
    first = _rows(out)[0]
    assert first["points"] == "32" and first["tier"] == "orange"
    assert first["reasons"] == "近两周观察记录 2 条及以上：+7；上次筛查等级 一级：+25"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("band", "s2", "moderately_severe", "bogus"), "row 2, column band: 'bogus' is not a band"),
        (("critical", "s3", "true", "maybe"), "row 3, column critical: expected true or false"),
        (("total", "s4", "27", "x27"), "row 4, column total: 'x27' is not a number"),
        (("respondent_id", "s4", "s4", "s2"), "row 4, column respondent_id: s2 appears again"),
        (("respondent_id", "s1", "s1", ""), "row 1, column respondent_id: the respondent id"),
    ],
)
def test_bad_cells_exit_2_with_row_and_column_and_no_output(scored, tmp_path, change, expected):
    phq, gad = scored
    column, who, old, new = change
    rows = _rows(phq.read_text("utf-8"))
    for row in rows:
        if row["respondent_id"] == who:
            assert row[column] == old
            row[column] = new
    bad = _write(tmp_path / "bad.csv", list(rows[0]), [list(r.values()) for r in rows])
    target = tmp_path / "out.csv"
    code, out, err = _tier(f"phq9={bad}", f"gad7={gad}", "-o", str(target))
    assert code == 2 and out == ""
    assert err.startswith("error: bad.csv, ") and expected in err
    assert not target.exists()


def test_bad_arguments_and_files_exit_2(scored, tmp_path) -> None:
    phq, _gad = scored
    code, _out, err = _tier("phq9")
    assert code == 2 and "expected INSTRUMENT=PATH" in err
    no_band = _write(tmp_path / "cut.csv", ["respondent_id", "total"], [["s1", "3"]])
    code, _out, err = _tier(f"phq9={no_band}")
    assert code == 2 and "cut.csv, header row, column band: the required column is missing" in err
    code, _out, err = _tier(f"phq9={phq}", f"gad7={tmp_path / 'absent.csv'}")
    assert code == 2 and "absent.csv: cannot read the file" in err
    code, _out, err = _tier(f"phq9={phq}", "-o", str(tmp_path / "out.txt"))
    assert code == 2 and "must end in .csv or .xlsx" in err
    (tmp_path / "broken.json").write_text("{", "utf-8")
    code, _out, err = _tier(f"phq9={phq}", "--model", str(tmp_path / "broken.json"))
    assert code == 2 and "not a usable model" in err
    extra = _write(
        tmp_path / "prev.csv",
        ["respondent_id", "total", "band", "critical", "valid", "previous_tier"],
        [["s1", "3", "minimal", "false", "true", "purple"]],
    )
    code, _out, err = _tier(f"phq9={extra}")
    assert code == 2 and "row 1, column previous_tier: expected one of red" in err
