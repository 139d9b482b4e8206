"""Importing a round from CSV or XLSX: every problem listed with its row and column,
nothing stored unless every row is good, a second import updates, each import audited."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.conftest import login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health import importer
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

VISION_HEADER = "student_id,age,ucva_right,ucva_left,sph_right,cyl_right,sph_left,cyl_left,ortho_k"


def _vision_csv(world, *rows: str) -> bytes:
    return "\n".join([VISION_HEADER, *rows]).encode("utf-8")


def _row(world, key: str, values: str = "13,4.7,4.8,-1.25,-0.5,-1.0,0,") -> str:
    return f"{world.students[key].student_number},{values}"


def _import_vision(world, data: bytes, name: str = "round.csv"):
    today = utcnow().date()
    return importer.import_vision(
        data, name, world.schools["A"], vision_round_for(today), today, world.users["doctor"]
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_good_vision_file_is_stored_and_audited(world):
    data = _vision_csv(
        world, _row(world, "A1-0"), _row(world, "A2-1", "13,5.1,5.0,0.25,0,0.5,-0.25,")
    )
    outcome = _import_vision(world, data)
    assert outcome.ok, outcome.problems
    assert (outcome.rows, outcome.created, outcome.updated) == (2, 2, 0)
    records = {r.student_id: r for r in db.session.scalars(select(VisionRecord))}
    myopic = records[world.students["A1-0"].id]
    assert myopic.myopia is True and myopic.se_right == -1.5 and myopic.va_grade == "moderate"
    assert records[world.students["A2-1"].id].myopia is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert event.target_type == "school" and '"kind": "vision"' in event.detail
    # The same file again: updates, never duplicates.
    again = _import_vision(world, data)
    assert (again.created, again.updated) == (0, 2) and _count(VisionRecord) == 2


def test_every_bad_row_is_listed_and_nothing_is_stored(world):
    data = _vision_csv(
        world,
        _row(world, "A1-0"),
        _row(world, "A1-1", "13,6.1,4.8,-1.25,-0.5,-1.0,0,"),  # VA 6.1
        "G0000000000000000X,13,5.0,5.0,0,0,0,0,",  # not a student of the school
        _row(world, "A1-0"),  # the same student again
        _row(world, "B1-0"),  # another school's student
        _row(world, "A1-2", "13,4.8,4.8,-40,0,-1,0,"),  # sphere -40
        _row(world, "A2-0", "13,4.8,4.8,x,0,-1,0,"),  # not a number
        _row(world, "A2-1", "13,4.8,4.8,-1,0,-1,0,maybe"),  # not a flag
    )
    outcome = _import_vision(world, data)
    assert not outcome.ok
    found = {(p.row, p.column) for p in outcome.problems}
    assert found == {
        (2, "ucva_right"),
        (3, "student_id"),
        (4, "student_id"),
        (5, "student_id"),
        (6, "sph_right"),
        (7, "sph_right"),
        (8, "ortho_k"),
    }
    assert _count(VisionRecord) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import")) is None


def test_a_missing_column_or_an_unreadable_file_is_reported(world):
    outcome = _import_vision(world, b"student_id,ucva_right\nX,5.0\n")
    assert not outcome.ok and outcome.problems[0].row == 0
    assert outcome.problems[0].column == "ucva_left"
    outcome = _import_vision(world, b"\xd0\xcf\x11\xe0 old excel", "old.xls")
    assert not outcome.ok and outcome.problems[0].row is None
    outcome = _import_vision(world, VISION_HEADER.encode())
    assert not outcome.ok  # no data rows


def test_status_and_reason_columns(world):
    header = VISION_HEADER + ",status,reason"
    rows = [
        _row(world, "A1-0", "13,,,,,,,,缺测,病假"),
        _row(world, "A1-1", "13,,,,,,,,免测,"),  # exempt without a reason
    ]
    outcome = _import_vision(world, "\n".join([header, *rows]).encode())
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "reason")]
    rows[1] = _row(world, "A1-1", "13,,,,,,,,免测,眼疾术后")
    outcome = _import_vision(world, "\n".join([header, *rows]).encode())
    assert outcome.ok, outcome.problems
    statuses = sorted(db.session.scalars(select(VisionRecord.status)))
    assert statuses == ["absent", "exempt"]


FITNESS_HEADER = [
    "student_id",
    "grade",
    "sex",
    "height_cm",
    "weight_kg",
    "vital_capacity_ml",
    "run50m_s",
    "sit_reach_cm",
    "long_jump_cm",
    "pullups",
    "run1000m_s",
    "situps_1min",
    "run800m_s",
]


def _fitness_xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(FITNESS_HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _import_fitness(world, data: bytes):
    today = utcnow().date()
    return importer.import_fitness(
        data,
        "fitness.xlsx",
        world.schools["A"],
        school_year_for(today),
        today,
        world.users["doctor"],
    )


def test_a_fitness_workbook_is_scored_and_stored(world):
    boy, girl = world.students["A1-0"], world.students["A1-1"]
    data = _fitness_xlsx(
        [
            [boy.student_number, 7, "男", 160, 50, 3000, 8.2, 8.5, 205, 6, 255, None, None],
            [girl.student_number, 7, "女", 155, 45, 2200, 9.0, 12, 170, None, None, 40, 230],
        ]
    )
    outcome = _import_fitness(world, data)
    assert outcome.ok, outcome.problems
    records = {r.student_id: r for r in db.session.scalars(select(FitnessRecord))}
    assert records[boy.id].total is not None and records[boy.id].rating is not None
    assert records[girl.id].item_scores.get("score_run800m_s") is not None


def test_a_fitness_workbook_with_bad_rows_stores_nothing(world):
    boy, girl = world.students["A1-0"], world.students["A1-1"]
    data = _fitness_xlsx(
        [
            [boy.student_number, 7, "M", 160, 50, 3000, 2, 8.5, 205, 6, 255, None, None],
            [girl.student_number, 8, "F", 155, 45, 2200, 9.0, 12, 170, None, None, 40, 230],
            [
                world.students["A1-2"].student_number,
                7,
                "F",
                150,
                40,
                2000,
                9,
                9,
                180,
                3,
                260,
                None,
                None,
            ],
        ]
    )
    outcome = _import_fitness(world, data)
    found = {(p.row, p.column) for p in outcome.problems}
    assert found == {(1, "run50m_s"), (2, "grade"), (3, "sex")}
    assert _count(FitnessRecord) == 0


def test_a_column_the_grade_needs_must_be_in_the_file(world):
    book = Workbook()
    book.active.append(["student_id", "height_cm", "weight_kg"])
    book.active.append([world.students["A1-0"].student_number, 160, 50])
    buffer = io.BytesIO()
    book.save(buffer)
    outcome = _import_fitness(world, buffer.getvalue())
    assert {p.column for p in outcome.problems if p.row == 0} >= {"run1000m_s", "pullups"}


def test_the_import_page(client, world):
    login(client, "doctor")
    url = f"/health/schools/{world.schools['A'].id}/import"
    assert client.get(url).status_code == 200
    today = utcnow().date()
    form = {
        "kind": "vision",
        "vision_round": vision_round_for(today).key,
        "school_year": str(school_year_for(today)),
        "measured_on": today.isoformat(),
        "file": (io.BytesIO(_vision_csv(world, _row(world, "A1-0"))), "round.csv"),
    }
    page = client.post(url, data=form, content_type="multipart/form-data")
    assert page.status_code == 200
    assert 'id="import-summary"' in page.get_data(as_text=True)
    assert _count(VisionRecord) == 1
    bad = form | {"file": (io.BytesIO(_vision_csv(world, _row(world, "B1-0"))), "round.csv")}
    page = client.post(url, data=bad, content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="import-errors"' in page and "student_id" in page


def test_text_and_impossible_values_in_a_vision_file_are_listed_with_row_and_column(client, world):
    rows = (
        _row(world, "A1-0", "13,abc,4.8,-1.25,-0.5,-1.0,0,"),
        _row(world, "A1-1", "13,4.7,9.9,-40,-0.5,-1.0,0,"),
    )
    outcome = _import_vision(world, _vision_csv(world, *rows))
    found = {(p.row, p.column): p.message for p in outcome.problems}
    assert set(found) == {(1, "ucva_right"), (2, "ucva_left"), (2, "sph_right")}
    assert "abc" in found[(1, "ucva_right")] and "9.9" in found[(2, "ucva_left")]
    for problem in outcome.problems:
        words = re.findall(r"[A-Za-z]{3,}", problem.message.replace("abc", ""))
        assert problem.detail == "" and words == [], problem
    assert _count(VisionRecord) == 0
    # The same file through the page: the problems, never the 500 page.
    login(client, "doctor")
    today = utcnow().date()
    form = {
        "kind": "vision",
        "vision_round": vision_round_for(today).key,
        "school_year": str(school_year_for(today)),
        "measured_on": today.isoformat(),
        "file": (io.BytesIO(_vision_csv(world, *rows)), "round.csv"),
    }
    url = f"/health/schools/{world.schools['A'].id}/import"
    response = client.post(url, data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="import-errors"' in page and "不是数字" in page and "数值不可能" in page


def test_a_missing_column_is_said_in_chinese(world):
    outcome = _import_vision(world, b"student_id,ucva_right\nX,5.0\n")
    [problem] = outcome.problems
    assert problem.row == 0 and problem.column == "ucva_left"
    assert problem.message.startswith("缺少必需的列（另缺：") and "missing" not in problem.message


def test_a_fitness_file_takes_run_times_in_minutes_and_seconds(world):
    boy, girl = world.students["A1-0"], world.students["A1-1"]
    data = _fitness_xlsx(
        [
            [boy.student_number, 7, "男", 160, 50, 3000, 8.2, 8.5, 205, 6, "4'15\"", None, None],
            [girl.student_number, 7, "女", 155, 45, 2200, 9.0, 12, 170, None, None, 40, "3分50秒"],
        ]
    )
    outcome = _import_fitness(world, data)
    assert outcome.ok, outcome.problems
    records = {r.student_id: r for r in db.session.scalars(select(FitnessRecord))}
    assert records[boy.id].run1000m_s == 255 and records[girl.id].run800m_s == 230


def test_every_error_of_a_fitness_row_is_listed(world):
    boy = world.students["A1-0"]
    data = _fitness_xlsx(
        [[boy.student_number, 7, "M", 300, 50, 3000, 2, 8.5, 205, 2.5, "soon", None, None]]
    )
    outcome = _import_fitness(world, data)
    found = {(p.row, p.column) for p in outcome.problems}
    assert found == {(1, "height_cm"), (1, "run50m_s"), (1, "pullups"), (1, "run1000m_s")}


@pytest.mark.parametrize(
    ("header", "required", "expected"),
    [
        ("a,b", ["a", "c"], "缺少必需的列。"),
        ("a", ["a", "c", "d"], "缺少必需的列（另缺：d）。"),
        ("a,a", ["a"], "该列在表头中出现了不止一次。"),
    ],
)
def test_header_problems_are_translated_for_every_import(world, header, required, expected):
    """The roster, paper and health imports show the reader's refusals through
    read_problem: a missing or repeated column is said in Chinese, not in English."""
    from screening.errors import InputError
    from screening.spreadsheets import COMMAND_LIMITS, open_bytes
    from wellbeing.imports import read_problem

    table = open_bytes(f"{header}\n1,2\n".encode(), "x.csv", COMMAND_LIMITS)
    with pytest.raises(InputError) as caught:
        table.require(required)
    problem = read_problem(caught.value)
    assert (problem.row, problem.message) == (0, expected)
