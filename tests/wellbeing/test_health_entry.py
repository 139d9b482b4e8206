"""The school doctor's entry grid: each row saved on its own (JSON), classified or scored
by the pure core, impossible values refused with the column and nothing stored; absent
and exempt with a reason; one record per student per round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from screening import fitness, vision
from tests.conftest import login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import age_on, school_year_for, vision_round_for

pytestmark = pytest.mark.app

MYOPIC = {
    "ucva_right": "4.7",
    "ucva_left": "4.9",
    "sph_right": "-1.50",
    "cyl_right": "-0.50",
    "axis_right": "180",
    "sph_left": "-0.75",
    "cyl_left": "0",
    "axis_left": "90",
}
# A grade-7 boy's items (values chosen within the tables, not at an edge).
BOY = {
    "height_cm": "160",
    "weight_kg": "50",
    "vital_capacity_ml": "3000",
    "run50m_s": "8.2",
    "sit_reach_cm": "8.5",
    "long_jump_cm": "205",
    "pullups": "6",
    "run1000m_s": "255",
}


def _vision_url(world, key="A1", vision_round=None):
    vision_round = vision_round or vision_round_for(utcnow().date())
    return f"/health/classes/{world.classes[key].id}/vision/{vision_round.key}"


def _fitness_url(world, key="A1"):
    return f"/health/classes/{world.classes[key].id}/fitness/{school_year_for(utcnow().date())}"


def _save(client, url, student, **values):
    response = client.post(f"{url}/rows", json={"student": student.id, **values})
    assert response.status_code == 200
    return response.get_json()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_grid_page_lists_the_class_with_its_cells(client, world):
    login(client, "doctor")
    page = client.get(_vision_url(world)).get_data(as_text=True)
    for key in ("A1-0", "A1-1", "A1-2"):
        assert f'data-student="{world.students[key].id}"' in page
    assert world.students["A2-0"].name not in page
    assert 'name="ucva_right"' in page and 'data-min="3.0"' in page and "data-zero-ok" in page
    assert "health.js" in page and 'id="csrf-token"' in page
    assert "<script>" not in page  # no inline script (CSP)


def test_a_vision_row_is_classified_and_stored(client, world):
    student = world.students["A1-0"]
    login(client, "doctor")
    answer = _save(client, _vision_url(world), student, **MYOPIC)
    assert answer["ok"], answer
    record = db.session.scalar(select(VisionRecord))
    age = age_on(student.birth_date, utcnow().date())
    expected = vision.classify_one(age, 4.7, 4.9, -1.5, -0.5, -0.75, 0.0)
    assert record.se_right == expected["se_right"] == -1.75
    assert record.myopia is True and record.myopia_right is True
    assert record.myopia_degree == expected["myopia_degree"] == "low"
    assert record.va_grade == expected["va_grade"] == "moderate"
    assert (record.axis_right, record.axis_left) == (180, 90)
    assert record.measured_by_id == world.users["doctor"].id
    assert answer["record"]["myopia_degree"] == "low"
    assert answer["display"]["se_right"] == "-1.75"
    # Saved again (a correction): still one record for the student and round.
    answer = _save(client, _vision_url(world), student, **MYOPIC | {"ucva_right": "5.0"})
    assert answer["ok"] and _count(VisionRecord) == 1
    db.session.refresh(record)
    assert record.ucva_right == 5.0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ucva_right", "6.1"),
        ("ucva_left", "2.5"),
        ("sph_right", "-40"),
        ("cyl_left", "12"),
        ("axis_right", "200"),
        ("axis_left", "12.5"),
        ("sph_left", "abc"),
    ],
)
def test_an_impossible_vision_value_is_refused_with_its_column(client, world, column, value):
    login(client, "doctor")
    answer = _save(client, _vision_url(world), world.students["A1-0"], **MYOPIC | {column: value})
    assert answer["ok"] is False
    assert [error["column"] for error in answer["errors"]] == [column]
    assert _count(VisionRecord) == 0


def test_va_below_the_chart_is_recorded_as_zero(client, world):
    login(client, "doctor")
    answer = _save(
        client, _vision_url(world), world.students["A1-0"], **MYOPIC | {"ucva_left": "0"}
    )
    assert answer["ok"], answer
    assert db.session.scalar(select(VisionRecord.va_grade)) == "severe"


def test_absent_needs_a_reason_and_keeps_no_measurement(client, world):
    student = world.students["A1-1"]
    login(client, "doctor")
    answer = _save(client, _vision_url(world), student, status="absent", **MYOPIC)
    assert answer["errors"][0]["column"] == "reason" and _count(VisionRecord) == 0
    answer = _save(client, _vision_url(world), student, status="absent", reason="病假", **MYOPIC)
    assert answer["ok"]
    record = db.session.scalar(select(VisionRecord))
    assert (record.status, record.reason) == ("absent", "病假")
    assert record.ucva_right is None and record.myopia is None
    assert set(answer["display"]) == {"status"}


def test_rows_are_refused_for_a_student_of_another_class_or_a_bad_date(client, world):
    login(client, "doctor")
    url = _vision_url(world)
    answer = _save(client, url, world.students["A2-0"], **MYOPIC)
    assert answer["errors"][0]["column"] == "student"
    tomorrow = (utcnow().date() + timedelta(days=1)).isoformat()
    answer = _save(client, url, world.students["A1-0"], measured_on=tomorrow, **MYOPIC)
    assert answer["errors"][0]["column"] == "measured_on"
    previous = vision_round_for(utcnow().date()).previous()
    answer = _save(
        client, _vision_url(world, vision_round=previous), world.students["A1-0"], **MYOPIC
    )
    assert answer["errors"][0]["column"] == "measured_on"  # today is not in that round
    assert _count(VisionRecord) == 0


def test_an_empty_row_is_refused(client, world):
    login(client, "doctor")
    answer = _save(client, _vision_url(world), world.students["A1-0"])
    assert answer["ok"] is False and answer["errors"][0]["column"] is None
    assert client.post(f"{_vision_url(world)}/rows", data="not json").get_json()["ok"] is False


def test_a_fitness_row_is_scored_as_the_core_scores_it(client, world):
    boy = world.students["A1-0"]
    assert boy.sex == "M"
    login(client, "doctor")
    answer = _save(client, _fitness_url(world), boy, **BOY | {"situps_1min": "40"})
    assert answer["ok"], answer
    record = db.session.scalar(select(FitnessRecord))
    expected = fitness.score_one(7, "M", {k: float(v) for k, v in BOY.items()})
    assert record.total == expected["total"] and record.rating == expected["rating"]
    assert record.bmi == expected["bmi"] and record.bmi_class == expected["bmi_class"]
    assert record.item_scores["score_pullups"] == expected["score_pullups"]
    assert record.situps_1min is None  # not set for boys: not kept
    assert (record.grade, record.sex) == (7, "M")
    assert answer["display"]["total"] == f"{expected['total']:g}"


def test_a_missing_item_leaves_the_total_empty(client, world):
    login(client, "doctor")
    partial = {k: v for k, v in BOY.items() if k != "run1000m_s"}
    answer = _save(client, _fitness_url(world), world.students["A1-0"], **partial)
    assert answer["ok"]
    record = db.session.scalar(select(FitnessRecord))
    assert record.total is None and record.rating is None and record.bmi is not None


@pytest.mark.parametrize(
    ("column", "value"), [("run50m_s", "2"), ("height_cm", "400"), ("pullups", "5.5")]
)
def test_an_impossible_fitness_value_is_refused(client, world, column, value):
    login(client, "doctor")
    answer = _save(client, _fitness_url(world), world.students["A1-0"], **BOY | {column: value})
    assert answer["ok"] is False
    assert answer["errors"][0]["column"] == column
    assert _count(FitnessRecord) == 0


def test_the_fitness_grid_shows_only_each_sexs_items(client, world):
    login(client, "doctor")
    page = client.get(_fitness_url(world)).get_data(as_text=True)
    assert 'name="pullups"' in page and 'name="situps_1min"' in page
    assert 'name="rope_skip_1min"' not in page  # a primary-school item
    boy_row = page.split(f'data-student="{world.students["A1-0"].id}"')[1].split("</tr>")[0]
    assert 'name="pullups"' in boy_row and 'name="situps_1min"' not in boy_row


def test_saved_values_come_back_on_reload(client, world):
    login(client, "doctor")
    _save(client, _vision_url(world), world.students["A1-0"], **MYOPIC)
    page = client.get(_vision_url(world)).get_data(as_text=True)
    row = page.split(f'data-student="{world.students["A1-0"].id}"')[1].split("</tr>")[0]
    assert 'value="4.7"' in row and 'value="-1.50"' in row and "-1.75" in row


def test_a_combination_without_a_table_is_refused_not_guessed(client, world, monkeypatch):
    from screening.errors import MissingTable

    def no_table(grade, sex, measurements):
        raise MissingTable(1, "run1000m_s", "coverage.csv marks it missing: refused, not guessed")

    monkeypatch.setattr(fitness, "score_one", no_table)
    login(client, "doctor")
    answer = _save(client, _fitness_url(world), world.students["A1-0"], **BOY)
    assert answer["ok"] is False
    error = answer["errors"][0]
    assert error["column"] == "run1000m_s" and "无法评分" in error["message"]
    assert _count(FitnessRecord) == 0


def _english(text: str) -> list[str]:
    """Words of Latin letters in a message meant for Chinese readers (a unit such as D
    or a single letter is not a word)."""
    import re

    return re.findall(r"[A-Za-z]{3,}", text)


def test_text_in_an_acuity_cell_is_refused_beside_its_cell_not_a_500(client, world):
    login(client, "doctor")
    url = _vision_url(world)
    response = client.post(
        f"{url}/rows", json={"student": world.students["A1-0"].id, **MYOPIC, "ucva_right": "abc"}
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["ok"] is False
    errors = {error["column"]: error["message"] for error in answer["errors"]}
    assert list(errors) == ["ucva_right"] and "abc" in errors["ucva_right"]
    assert "不是数字" in errors["ucva_right"] and _count(VisionRecord) == 0


def test_every_error_of_a_vision_row_is_shown_at_once_in_chinese(client, world):
    login(client, "doctor")
    values = MYOPIC | {"ucva_left": "9.9", "sph_right": "-40", "axis_right": "200", "cyl_left": "x"}
    answer = _save(client, _vision_url(world), world.students["A1-0"], **values)
    assert answer["ok"] is False
    errors = {error["column"]: error["message"] for error in answer["errors"]}
    assert set(errors) == {"ucva_left", "sph_right", "axis_right", "cyl_left"}
    assert "9.9" in errors["ucva_left"] and "3.0 至 5.3" in errors["ucva_left"]
    assert "五分记录" in errors["ucva_left"]
    assert "-40" in errors["sph_right"] and "屈光度" in errors["sph_right"]
    for error in answer["errors"]:
        assert _english(error["message"]) == [] and error["detail"] == "", error
    assert _count(VisionRecord) == 0


def test_every_error_of_a_fitness_row_is_shown_at_once_in_chinese(client, world):
    login(client, "doctor")
    values = BOY | {"height_cm": "300", "run50m_s": "2", "pullups": "2.5", "weight_kg": "heavy"}
    answer = _save(client, _fitness_url(world), world.students["A1-0"], **values)
    errors = {error["column"]: error["message"] for error in answer["errors"]}
    assert set(errors) == {"height_cm", "run50m_s", "pullups", "weight_kg"}
    assert "300" in errors["height_cm"] and "80 至 230" in errors["height_cm"]
    assert "厘米" in errors["height_cm"] and "整数" in errors["pullups"]
    for error in answer["errors"]:
        assert _english(error["message"].replace("heavy", "")) == [], error
    assert _count(FitnessRecord) == 0


@pytest.mark.parametrize(
    "typed", ["3'50\"", "3′50″", "3’50”", "3:50", "3分50秒", "230", "３：５０"]
)
def test_run_times_are_typed_as_minutes_and_seconds_or_seconds(client, world, typed):
    login(client, "doctor")
    answer = _save(
        client, _fitness_url(world), world.students["A1-0"], **(BOY | {"run1000m_s": typed})
    )
    assert answer["ok"], answer
    assert db.session.scalar(select(FitnessRecord.run1000m_s)) == 230


def test_a_run_time_that_is_not_a_time_is_refused_in_words(client, world):
    login(client, "doctor")
    answer = _save(
        client, _fitness_url(world), world.students["A1-0"], **(BOY | {"run1000m_s": "3:75"})
    )
    assert answer["ok"] is False
    [error] = answer["errors"]
    assert error["column"] == "run1000m_s" and "不是时间" in error["message"]


def test_the_grid_pages_carry_the_messages_the_script_shows(client, world):
    login(client, "doctor")
    page = client.get(_vision_url(world)).get_data(as_text=True)
    for key in ("data-msg-failed", "data-msg-server", "data-msg-session", "data-msg-refused"):
        assert key in page
    fitness_page = client.get(_fitness_url(world)).get_data(as_text=True)
    assert 'name="run1000m_s"' in fitness_page and "data-time" in fitness_page
