"""A student's health page (audited), a class's results, parent letters (logged), the
national upload file with its pre-flight check (audited), school summaries and the
server-drawn charts."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import login
from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.health import export, summaries
from wellbeing.health.charts import Series, bar_chart, line_chart
from wellbeing.health.models import FitnessRecord, LetterLog, VisionRecord
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.roster.vocabulary import class_name_zh
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _vision(student, vision_round, **values) -> VisionRecord:
    fields = {
        "status": "measured",
        "measured_on": utcnow().date(),
        "age": 13.0,
        "ucva_right": 5.0,
        "ucva_left": 5.0,
        "sph_right": 0.0,
        "cyl_right": 0.0,
        "axis_right": 0,
        "sph_left": 0.0,
        "cyl_left": 0.0,
        "axis_left": 0,
        "se_right": 0.0,
        "se_left": 0.0,
        "myopia": False,
        "myopia_degree": "none",
        "va_grade": "normal",
    } | values
    record = VisionRecord(student=student, year=vision_round.year, season=vision_round.season)
    for name, value in fields.items():
        setattr(record, name, value)
    db.session.add(record)
    return record


def _fitness(student, school_year, **values) -> FitnessRecord:
    fields = {
        "status": "measured",
        "measured_on": utcnow().date(),
        "grade": 7,
        "sex": student.sex,
        "height_cm": 160.0,
        "weight_kg": 50.0,
        "bmi": 19.5,
        "bmi_class": "normal",
        "standard": 75.0,
        "bonus": 0.0,
        "total": 75.0,
        "rating": "pass",
        "item_scores": {"score_bmi": 100},
    } | values
    record = FitnessRecord(student=student, school_year=school_year, **fields)
    db.session.add(record)
    return record


@pytest.fixture
def rounds():
    today = utcnow().date()
    return vision_round_for(today), school_year_for(today)


@pytest.fixture
def records(world, rounds):
    """A1-0 myopic now and before; A1-1 poor vision, fitness fail; A1-2 normal, obese."""
    now, year = rounds
    s = world.students
    _vision(s["A1-0"], now, ucva_right=4.6, sph_right=-2.0, se_right=-2.0, myopia=True,
            myopia_right=True, myopia_degree="low", va_grade="moderate")  # fmt: skip
    _vision(s["A1-0"], now.previous(), ucva_right=4.8, sph_right=-1.0, se_right=-1.0,
            myopia=True, myopia_degree="low", va_grade="moderate")  # fmt: skip
    _vision(s["A1-1"], now, ucva_left=4.9, va_grade="mild")
    _vision(s["A1-2"], now)
    _fitness(s["A1-1"], year, total=52.0, standard=52.0, rating="fail")
    _fitness(s["A1-2"], year, bmi=29.0, bmi_class="obese")
    _fitness(s["A1-2"], year - 1, total=65.0)
    db.session.flush()


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_student_page_draws_the_history_and_is_audited(client, world, records):
    student = world.students["A1-0"]
    login(client, "counselor")
    page = client.get(f"/health/students/{student.id}").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 2  # UCVA and SE (no fitness record)
    assert "<polyline" in page and "-2.00" in page
    event = _audit("view_student")[-1]
    assert event.target_id == str(student.id) and json.loads(event.detail) == {"page": "health"}


def test_the_student_page_is_refused_outside_scope_and_to_the_monitor(client, world, records):
    login(client, "teacher")
    assert client.get(f"/health/students/{world.students['A2-0'].id}").status_code == 403
    assert client.get(f"/health/students/{world.students['A1-2'].id}").status_code == 200
    client.post("/logout")
    login(client, "monitor")
    assert client.get(f"/health/students/{world.students['A1-0'].id}").status_code == 403


def test_the_class_page_shows_results_and_rates(client, world, records, rounds):
    login(client, "teacher")
    page = client.get(f"/health/classes/{world.classes['A1'].id}").get_data(as_text=True)
    assert world.students["A1-0"].name in page
    summary = page.split('id="class-vision-summary"')[1].split("</table>")[0]
    all_row = summary.split('data-grade="all" data-sex="all"')[1].split("</tr>")[0]
    assert '<td class="num" data-rate="myopia">33.3%</td>' in all_row
    assert '<td class="num" data-rate="poor_vision">66.7%</td>' in all_row


def test_vision_letters_are_listed_printed_and_logged(client, world, records, rounds):
    now, _ = rounds
    login(client, "doctor")
    url = f"/health/classes/{world.classes['A1'].id}/letters/vision/{now.key}"
    page = client.get(url).get_data(as_text=True)
    assert world.students["A1-0"].name in page and world.students["A1-1"].name in page
    assert world.students["A1-2"].name not in page
    printed = client.post(url, data={"student": [str(world.students["A1-0"].id)]})
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200
    assert text.count('<article class="letter"') == 1
    assert "睫状肌麻痹验光" in text and "回　执" in text and world.students["A1-0"].name in text
    logs = list(db.session.scalars(select(LetterLog)))
    assert [(log.student_id, log.kind, log.round_key, log.reason) for log in logs] == [
        (world.students["A1-0"].id, "vision", now.key, "myopia")
    ]
    assert logs[0].printed_by_id == world.users["doctor"].id
    assert json.loads(_audit("export")[-1].detail)["kind"] == "parent_letters_vision"
    again = client.get(url).get_data(as_text=True)
    assert local_text(utcnow(), "%Y-%m-%d") in again  # "printed before", in local time


def test_fitness_letters_go_to_a_fail(client, world, records, rounds):
    _, year = rounds
    login(client, "teacher")
    url = f"/health/classes/{world.classes['A1'].id}/letters/fitness/{year}"
    text = client.post(url).get_data(as_text=True)
    assert text.count('<article class="letter"') == 1
    assert world.students["A1-1"].name in text and "不及格" in text and "52" in text
    assert db.session.scalar(select(LetterLog.reason)) == "fitness_fail"


def test_the_export_lists_every_problem_and_downloads_audited(client, world, records, rounds):
    _, year = rounds
    school = world.schools["A"]
    _vision(world.students["A2-0"], vision_round_for(date(year, 10, 1)), ucva_right=6.0,
            axis_left=None)  # fmt: skip
    known = [s for label, s in world.students.items() if label.startswith("A") and label != "A1-1"]
    for student in known:
        student.ethnicity = "01"
    db.session.flush()
    national = export.build(school, year)
    assert national.students == 6 and len(national.rows) == 6
    messages = [(p.student and p.student.id, p.column) for p in national.problems]
    # Every student without an ethnicity is listed; none of the others.
    assert [m for m in messages if m[1] == "民族代码"] == [(world.students["A1-1"].id, "民族代码")]
    a20 = world.students["A2-0"].id
    assert (a20, "右眼裸眼视力") in messages and (a20, "左眼屈光") in messages
    login(client, "doctor")
    page = client.get(f"/health/schools/{school.id}/export/{year}").get_data(as_text=True)
    assert 'id="preflight-problems"' in page and "民族代码" in page
    assert not _audit("export")
    response = client.get(f"/health/schools/{school.id}/export/{year}.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(export.COLUMNS)
    by_number = {row[3]: row for row in rows[1:]}
    boy_row = by_number[world.students["A1-0"].student_number]
    assert boy_row[0] == 21 and boy_row[6] == 1  # 初一; male
    assert boy_row[4] == "01"  # 民族代码
    assert by_number[world.students["A1-1"].student_number][4] is None
    detail = json.loads(_audit("export")[-1].detail)
    assert detail["kind"] == "national_fitness" and detail["rows"] == 6


def test_minutes_seconds():
    assert export.minutes_seconds(225) == "3'45"
    assert export.minutes_seconds(59.6) == "1'00"


def test_the_school_summary(client, world, records, rounds):
    login(client, "doctor")
    page = client.get(f"/health/schools/{world.schools['A'].id}/summary").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 4
    fitness_table = page.split('id="fitness-summary"')[1].split("</table>")[0]
    girls = fitness_table.split('data-grade="7" data-sex="F"')[1].split("</tr>")[0]
    assert '<td class="num" data-rate="pass">0.0%</td>' in girls  # A1-1 failed
    assert world.students["A1-0"].name not in page  # rates only


def test_summaries_compare_the_same_students(world, records, rounds):
    now, year = rounds
    students = [world.students[k] for k in ("A1-0", "A1-1", "A1-2")]
    vision = summaries.vision_summary(students, now)
    total = vision.cell(None, None)
    assert (total.now["myopia"].count, total.now["myopia"].of) == (1, 3)
    assert (total.before["myopia"].count, total.before["myopia"].of) == (1, 1)
    assert total.change("myopia") == round(100 / 3 - 100, 1)
    boys = vision.cell(7, "M")
    assert boys.now["myopia"].of == 2  # A1-0 and A1-2
    fitness = summaries.fitness_summary(students, year)
    assert fitness.cell(None, None).now["obese"].percent == 50.0
    assert fitness.cell(None, None).now["pass"].percent == 50.0


def test_charts_are_well_formed_svg():
    chart = line_chart(
        "视力 <test>",
        ["2025 春", "2025 秋", "2026 春"],
        [Series("右眼", "series-a", [5.0, None, 4.6]), Series("左眼", "series-b", [4.9, 4.8, 4.7])],
        y_min=3.0,
        y_max=5.3,
        ticks=(3.0, 4.0, 5.0),
        reference=5.0,
    )
    root = ET.fromstring(str(chart))
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and "<test>" in root.find(f"{ns}title").text
    assert len(root.findall(f".//{ns}polyline")) == 3  # the gap splits the right eye
    assert "style" not in str(chart)
    bars = ET.fromstring(str(bar_chart("率", ["7", "8"], [Series("now", "series-a", [10, None])])))
    assert len(bars.findall(f".//{ns}rect[@class='bar']")) == 1


def test_ortho_k_wearers_and_absent_students_get_no_vision_letter(client, world, rounds):
    now, _ = rounds
    s = world.students
    _vision(s["A1-0"], now, ucva_right=4.6, se_right=-2.0, myopia=True, ortho_k=True)
    _vision(s["A1-1"], now, status="absent", reason="病假", va_grade=None, myopia=None)
    db.session.flush()
    login(client, "doctor")
    url = f"/health/classes/{world.classes['A1'].id}/letters/vision/{now.key}"
    assert 'id="no-letters"' in client.get(url).get_data(as_text=True)


def test_export_checks_items_statuses_and_acuity(world, rounds):
    _, year = rounds
    autumn = vision_round_for(date(year, 10, 1))
    s = world.students
    _fitness(s["A1-0"], year, run1000m_s=None, vital_capacity_ml=3000.0)
    _fitness(s["A1-1"], year, status="exempt", reason="心脏病", total=None, rating=None)
    _vision(s["A1-0"], autumn, ucva_left=0.0)  # below 3.0: the national 0
    _vision(s["A1-1"], autumn, status="absent", reason="病假")
    db.session.flush()
    national = export.build(world.schools["A"], year)
    found = {(p.student.id if p.student else None, p.column) for p in national.problems}
    assert (s["A1-0"].id, "1000米跑") in found and (s["A1-0"].id, "引体向上") in found
    assert (s["A1-0"].id, "肺活量") not in found
    assert (s["A1-0"].id, "左眼裸眼视力") not in found
    messages = [p.message for p in national.problems if p.student and p.student.id == s["A1-1"].id]
    assert any("心脏病" in m for m in messages) and any("病假" in m for m in messages)
    row = next(r for r in national.rows if r[3] == s["A1-0"].student_number)
    assert row[export.COLUMNS.index("左眼裸眼视力")] == 0


def test_the_precheck_groups_problems_by_kind_and_offers_the_whole_list(
    client, world, records, rounds
):
    _, year = rounds
    school = world.schools["A"]
    login(client, "doctor")
    page = client.get(f"/health/schools/{school.id}/export/{year}").get_data(as_text=True)
    national = export.build(school, year)
    groups = national.groups
    # One line per kind and column, with its count; the counts add up to every problem.
    assert sum(group.count for group in groups) == len(national.problems)
    assert len({(g.kind, g.column) for g in groups}) == len(groups)
    ethnicity = next(g for g in groups if g.kind == "no_ethnicity")
    assert (
        ethnicity.count == national.students and ethnicity.summary == "花名册中没有该学生的民族。"
    )
    assert page.count('<tr data-kind="') == len(groups)
    assert f'<td class="num">{ethnicity.count}</td>' in page
    assert f"/health/schools/{school.id}/export/{year}/problems.csv" in page
    assert not _audit("export")
    csv_answer = client.get(f"/health/schools/{school.id}/export/{year}/problems.csv")
    assert csv_answer.status_code == 200
    lines = csv_answer.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "学籍号,姓名,班级,列,问题" and len(lines) == len(national.problems) + 1
    xlsx_answer = client.get(f"/health/schools/{school.id}/export/{year}/problems.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx_answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == len(national.problems) + 1 and "年级" in rows[1][2] + "班"
    details = [json.loads(event.detail) for event in _audit("export")]
    assert [(d["kind"], d["format"]) for d in details] == [
        ("national_fitness_problems", "csv"),
        ("national_fitness_problems", "xlsx"),
    ]
    assert details[0]["problems"] == len(national.problems)


def test_the_precheck_of_a_big_school_is_one_short_page(client, world, rounds):
    """Some hundred students without records: a line per kind, not per student."""
    from tests.factories import make_student

    _, year = rounds
    school = world.schools["A"]
    for number in range(300):
        make_student(world.classes["A1"], f"学生{number}")
    db.session.flush()
    login(client, "doctor")
    page = client.get(f"/health/schools/{school.id}/export/{year}").get_data(as_text=True)
    assert page.count('<tr data-kind="') <= 6 and len(page) < 30_000


def test_every_chart_has_a_visible_title_axis_labels_and_fits_its_container(client, world, records):
    import re
    from pathlib import Path

    login(client, "doctor")
    pages = [
        client.get(f"/health/schools/{world.schools['A'].id}/summary").get_data(as_text=True),
        client.get(f"/health/students/{world.students['A1-0'].id}").get_data(as_text=True),
    ]
    charts = [svg for page in pages for svg in re.findall(r'<svg class="chart".*?</svg>', page)]
    assert len(charts) >= 6
    for svg in charts:
        title = re.search(r"<title>(.*?)</title>", svg)[1]
        assert f'<text class="chart-title" x="320.0" y="26" text-anchor="middle">{title}' in svg
        labels = re.findall(r'<text class="axis-label"[^>]*>([^<]+)</text>', svg)
        assert len(labels) == 2, svg[:300]
        assert 'viewBox="0 0 640 320" width="100%"' in svg
        assert "年级" in svg or "轮" in svg or "学年" in svg  # the x axis, in words
    summary = pages[0]
    assert "筛查性近视率" in summary or "近视" in summary
    css = (Path(__file__).parents[2] / "wellbeing" / "static" / "health.css").read_text()
    assert "minmax(min(26rem, 100%), 1fr)" in css


def test_empty_health_pages_say_what_is_missing_and_what_to_do(client, world, rounds):
    now, year = rounds
    school_class, school = world.classes["A1"], world.schools["A"]
    login(client, "doctor")
    page = client.get(f"/health/classes/{school_class.id}").get_data(as_text=True)
    assert 'id="empty-vision"' in page and "本班尚无视力记录。校医可在此" in page
    assert f'href="/health/classes/{school_class.id}/vision/{now.key}">录入</a>' in page
    assert f'href="/health/schools/{school.id}/import">导入</a>' in page
    assert 'id="empty-fitness"' in page
    summary = client.get(f"/health/schools/{school.id}/summary").get_data(as_text=True)
    assert "本校尚无本轮视力记录。" in summary and "本校尚无本学年的体质测试记录。" in summary
    letters = client.get(f"/health/classes/{school_class.id}/letters/vision/{now.key}")
    assert 'id="empty-vision"' in letters.get_data(as_text=True)
    fitness_letters = client.get(f"/health/classes/{school_class.id}/letters/fitness/{year}")
    assert 'id="empty-fitness"' in fitness_letters.get_data(as_text=True)
    # A head teacher cannot enter: told who will.
    client.post("/logout")
    login(client, "teacher")
    page = client.get(f"/health/classes/{school_class.id}").get_data(as_text=True)
    assert "校医录入或导入后会显示在这里。" in page and ">录入</a>" not in page


def test_a_class_and_school_without_students_say_so(client, world, rounds):
    from wellbeing.roster.models import School, SchoolClass

    now, year = rounds
    school = School(name="空校", code="EMPTY1", district=world.district, kind="junior")
    empty = SchoolClass(school=school, grade=7, name="9", entry_year=2026)
    db.session.add_all([school, empty])
    db.session.flush()
    login(client, "admin")
    grid = client.get(f"/health/classes/{empty.id}/vision/{now.key}").get_data(as_text=True)
    assert 'id="empty-students"' in grid and "本班尚无在读学生" in grid
    export_page = client.get(f"/health/schools/{school.id}/export/{year}").get_data(as_text=True)
    assert 'id="preflight-empty"' in export_page


def test_the_student_page_names_the_grade_of_each_fitness_record(client, world, records):
    login(client, "counselor")
    page = client.get(f"/health/students/{world.students['A1-2'].id}").get_data(as_text=True)
    assert "<td>七年级</td>" in page and "<td>7</td>" not in page


# Latin words a Chinese health page may show: the language switch, the login name, key
# and format names, and the file values the import page quotes (status words).
LATIN_ALLOWED = {"English", "doctor", "Tab", "CSV", "XLSX", "BMI"}
LATIN_ALLOWED |= {"status", "measured", "absent", "exempt"}


def _latin_words(html: str) -> set[str]:
    import re

    html = re.sub(r"<(script|style|code|title)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    html = re.sub(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+", " ", html)  # column names (student_id)
    return set(re.findall(r"[A-Za-z]{3,}", html)) - LATIN_ALLOWED


def test_health_pages_and_their_error_paths_are_in_chinese(client, world, records, rounds):
    now, year = rounds
    school, school_class = world.schools["A"].id, world.classes["A1"].id
    login(client, "doctor")
    urls = [
        f"/health/schools/{school}",
        f"/health/classes/{school_class}/vision/{now.key}",
        f"/health/classes/{school_class}/fitness/{year}",
        f"/health/schools/{school}/import",
        f"/health/students/{world.students['A1-0'].id}",
        f"/health/classes/{school_class}",
        f"/health/classes/{school_class}/letters/vision/{now.key}",
        f"/health/classes/{school_class}/letters/fitness/{year}",
        f"/health/schools/{school}/summary",
        f"/health/schools/{school}/export/{year}",
    ]
    for url in urls:
        assert _latin_words(client.get(url).get_data(as_text=True)) == set(), url
    # The import's error path: a file with text, impossible values and a missing column.
    header = "student_id,age,ucva_right,ucva_left,sph_right,cyl_right,sph_left,cyl_left"
    number = world.students["A1-0"].student_number
    for body in (f"{header}\n{number},13,abc,9.9,-40,0,0,x\n", "student_id,ucva_right\nX,5\n"):
        form = {
            "kind": "vision",
            "vision_round": now.key,
            "school_year": str(year),
            "measured_on": utcnow().date().isoformat(),
            "file": (io.BytesIO(body.encode()), "round.csv"),
        }
        page = client.post(
            f"/health/schools/{school}/import", data=form, content_type="multipart/form-data"
        ).get_data(as_text=True)
        assert 'id="import-errors"' in page
        # The file's own values and column names are quoted as they are.
        assert _latin_words(page) - {"abc"} == set()


def test_a_school_without_the_round_before_compares_with_its_last_measured_round(world, rounds):
    """No spring round was held: the autumn summary compares with last autumn, and says so."""
    from wellbeing.health import summaries
    from wellbeing.health.rounds import VisionRound

    now, _ = rounds
    last_year = VisionRound(now.year - 1, now.season_index)
    s = world.students
    _vision(s["A1-0"], now, ucva_right=4.6, sph_right=-2.0, se_right=-2.0, myopia=True,
            myopia_right=True, myopia_degree="low", va_grade="moderate")  # fmt: skip
    _vision(s["A1-0"], last_year, ucva_right=5.0, va_grade="normal", myopia=False)
    db.session.flush()
    summary = summaries.vision_summary([s["A1-0"]], now)
    assert summary.before_round == last_year
    assert summary.cell(None, None).recorded_before == 1
    # With nothing earlier at all, the round just before is named (and has no figures).
    alone = summaries.vision_summary([s["A1-1"]], now)
    assert alone.before_round == now.previous() and alone.cell(None, None).recorded_before == 0


def test_the_school_page_shows_each_class_s_progress_in_the_round(client, world, records, rounds):
    """Class A1 has a vision record for each of its three students and two fitness records;
    A2 has none: the doctor sees which classes are done without opening each."""
    now, year = rounds
    login(client, "doctor")
    page = client.get(
        f"/health/schools/{world.schools['A'].id}?vision_round={now.key}&school_year={year}"
    ).get_data(as_text=True)
    a1 = page.split(class_name_zh(7, "1"))[1].split("</tr>")[0]
    a2 = page.split(class_name_zh(7, "2"))[1].split("</tr>")[0]
    assert 'data-done="3" data-of="3"' in a1 and "已完成 3/3" in a1
    assert 'data-done="2" data-of="3"' in a1 and "已完成 2/3" not in a1
    assert 'data-done="0" data-of="3"' in a2


def test_stored_measurements_are_shown_as_doctors_write_them() -> None:
    from types import SimpleNamespace

    from wellbeing.health.pages import cell_text

    record = SimpleNamespace(ucva_right=5.0, ucva_left=0.0, sph_right=-1.0, cyl_right=0.0,
                             axis_right=90, height_cm=162.5, sph_left=None)  # fmt: skip
    shown = {name: cell_text(record, name) for name in vars(record)}
    assert shown == {"ucva_right": "5.0", "ucva_left": "0", "sph_right": "-1.00",
                     "cyl_right": "0.00", "axis_right": "90", "height_cm": "162.5",
                     "sph_left": ""}  # fmt: skip
