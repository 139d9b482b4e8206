"""The mental-health lesson log: a head teacher logs their class's lessons, the school's
counselors any class's; every problem of a lesson typed in is shown beside its field at
once; deleting an entry logged by mistake; the scope of each; the school's overview in
grade and class order, paged; the counts against the target. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from screening.semesters import semester_of
from tests.conftest import login
from tests.factories import make_student
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for
from wellbeing.lessons import blueprint as lesson_pages
from wellbeing.lessons import services
from wellbeing.lessons.models import Lesson
from wellbeing.roster.models import SchoolClass
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

# The pages' today: a Friday of the autumn semester 2026 (1 September to 31 January).
TODAY = date(2026, 12, 4)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    for module in (services, lesson_pages):
        monkeypatch.setattr(module, "local_today", lambda: TODAY)


def _as(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def _lessons(school_class: SchoolClass) -> list[Lesson]:
    return list(
        db.session.scalars(
            select(Lesson).where(Lesson.class_id == school_class.id).order_by(Lesson.held_on)
        )
    )


def _day() -> date:
    return TODAY


def _add(school_class: SchoolClass, user, day: date, topic: str = "认识情绪") -> Lesson:
    lesson = Lesson(class_id=school_class.id, held_on=day, topic=topic, logged_by_id=user.id)
    db.session.add(lesson)
    db.session.commit()  # a refused request after this rolls back to here
    return lesson


def _actions(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def test_a_head_teacher_logs_a_lesson_of_their_class(client, world):
    a1 = world.classes["A1"]
    _as(client, "teacher")
    page = _page(client, f"/classes/{a1.id}/lessons")
    assert "2026–27学年秋季学期（2026-09-01 至 2027-01-31）" in page
    assert "本学期已上 0 节，目标至少 9 节" in page
    assert "本班本学期还没有心理健康课记录。" in page  # the empty state says what to do
    assert "每上完一节课，请在上方表单中记录日期和主题。" in page
    assert f'value="{_day().isoformat()}"' in page  # the date defaults to today
    assert "情绪调节与压力管理" in page  # a suggested topic
    response = client.post(
        f"/classes/{a1.id}/lessons/new",
        data={"held_on": _day().isoformat(), "topic": " 认识  情绪 "},
    )
    assert response.status_code == 303
    [lesson] = _lessons(a1)
    assert (lesson.held_on, lesson.topic) == (_day(), "认识 情绪")
    assert lesson.logged_by_id == world.users["head_teacher"].id
    page = _page(client, response.headers["Location"])
    assert "已记录这节课。" in page and "本学期已上 1 节，目标至少 9 节" in page
    assert "认识 情绪" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lesson_log"))
    assert event.target_type == "lesson" and event.target_id == str(lesson.id)
    assert event.user_id == world.users["head_teacher"].id


def test_every_problem_is_shown_beside_its_field_at_once(client, world):
    a1 = world.classes["A1"]
    semester = services.shown_semester()
    _as(client, "teacher")
    cases = [
        # A future date and no topic.
        ({"held_on": (TODAY + timedelta(days=1)).isoformat(), "topic": "  "},
         {"held_on": "日期在将来", "topic": "请填写课程主题。"}),
        # Before the semester, and a topic too long.
        ({"held_on": (semester.first - timedelta(days=1)).isoformat(), "topic": "情" * 101},
         {"held_on": f"请填写本学期内的日期（{semester.first.isoformat()}", "topic": "100"}),
        # Not a date at all, and a character nobody types.
        ({"held_on": "明天", "topic": "认识\x1b情绪"},
         {"held_on": "2026-09-15", "topic": "U+001B"}),
    ]  # fmt: skip
    for data, problems in cases:
        response = client.post(f"/classes/{a1.id}/lessons/new", data=data)
        assert response.status_code == 200
        page = html.unescape(response.get_data(as_text=True))
        assert "没有保存：请更正下面标出的栏目。" in page
        for field, words in problems.items():
            start = page.index(f'id="error-{field}"')
            assert words in page[start : page.index("</p>", start)], (data, field)
    assert _lessons(a1) == []
    assert _actions("lesson_log") == 0


def test_a_second_lesson_on_the_same_day_is_refused(client, world):
    a1 = world.classes["A1"]
    _add(a1, world.users["counselor"], _day())
    _as(client, "teacher")
    response = client.post(
        f"/classes/{a1.id}/lessons/new", data={"held_on": _day().isoformat(), "topic": "亲子沟通"}
    )
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    start = page.index('id="error-held_on"')
    assert "已记录一节心理健康课：每天只能记录一节" in page[start : page.index("</p>", start)]
    assert 'value="亲子沟通"' in page  # what was typed stays in the form
    assert len(_lessons(a1)) == 1
    # Another class may hold its lesson that day.
    _as(client, "counselor")
    a2 = world.classes["A2"]
    assert (
        client.post(
            f"/classes/{a2.id}/lessons/new",
            data={"held_on": _day().isoformat(), "topic": "亲子沟通"},
        ).status_code
        == 303
    )


def test_the_service_refuses_a_racing_duplicate(world):
    a1 = world.classes["A1"]
    services.log_lesson(a1, world.users["head_teacher"], held_on=_day().isoformat(), topic="一")
    with pytest.raises(services.LessonError) as refused:
        services.log_lesson(a1, world.users["counselor"], held_on=_day().isoformat(), topic="二")
    assert set(refused.value.problems) == {"held_on"}


def test_deleting_an_entry_logged_by_mistake(client, world):
    a1 = world.classes["A1"]
    teacher, counselor = world.users["head_teacher"], world.users["counselor"]
    own = _add(a1, teacher, _day())
    theirs = _add(a1, counselor, _day() - timedelta(days=1), "亲子沟通")
    own_id, theirs_id = own.id, theirs.id
    _as(client, "teacher")
    page = _page(client, f"/classes/{a1.id}/lessons")
    assert f'data-delete="{own_id}"' in page and f'data-delete="{theirs_id}"' not in page
    # Only one's own entry: the counselor's stays the counselor's.
    assert client.post(f"/lessons/{theirs_id}/delete").status_code == 403
    response = client.post(f"/lessons/{own_id}/delete")
    assert response.status_code == 302
    assert "已删除这节课的记录。" in _page(client, response.headers["Location"])
    assert [lesson.id for lesson in _lessons(a1)] == [theirs_id]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lesson_delete"))
    assert (event.target_type, event.target_id) == ("lesson", str(own_id))
    # The school's counselor may delete any entry of the school.
    _as(client, "counselor")
    assert client.post(f"/lessons/{theirs_id}/delete").status_code == 302
    assert _lessons(a1) == []


def test_each_logs_only_inside_their_scope(client, world):
    data = {"held_on": _day().isoformat(), "topic": "认识情绪"}
    _as(client, "teacher")
    assert (
        client.post(f"/classes/{world.classes['A2'].id}/lessons/new", data=data).status_code == 403
    )
    other = _add(world.classes["A2"], world.users["counselor"], _day())
    assert client.post(f"/lessons/{other.id}/delete").status_code == 403
    _as(client, "counselor")
    assert (
        client.post(f"/classes/{world.classes['B1'].id}/lessons/new", data=data).status_code == 403
    )
    b1 = _add(world.classes["B1"], world.users["admin"], _day())
    assert client.post(f"/lessons/{b1.id}/delete").status_code == 403
    a2 = f"/classes/{world.classes['A2'].id}/lessons/new"
    assert client.post(a2, data=data).status_code == 200  # the day is taken
    yesterday = {**data, "held_on": (_day() - timedelta(days=1)).isoformat()}
    assert client.post(a2, data=yesterday).status_code == 303
    # Readers read: no form for the school's leader, and they may not post.
    _as(client, "leader")
    page = _page(client, f"/classes/{world.classes['A1'].id}/lessons")
    assert 'id="lesson-form"' not in page
    assert "每节课上完后，由班主任或学校心理教师在此记录。" in page
    assert (
        client.post(f"/classes/{world.classes['A1'].id}/lessons/new", data=data).status_code == 403
    )
    assert [len(_lessons(world.classes[key])) for key in ("A1", "A2", "B1")] == [0, 2, 1]


def test_a_class_log_is_paged_newest_first(client, world, monkeypatch):
    monkeypatch.setattr(lesson_pages, "PER_PAGE", 2)
    a1 = world.classes["A1"]
    semester = services.shown_semester()
    days = [semester.first + timedelta(days=n) for n in (0, 14, 28)]
    for n, day in enumerate(days):
        _add(a1, world.users["head_teacher"], day, f"主题{n}")
    _add(a1, world.users["head_teacher"], semester.first - timedelta(days=40), "上学期的课")
    _as(client, "teacher")
    first = _page(client, f"/classes/{a1.id}/lessons")
    assert "本学期已上 3 节" in first  # the lesson of the semester before is not counted
    assert first.index("主题2") < first.index("主题1") and "主题0" not in first
    assert "共 3 条" in first
    second = _page(client, f"/classes/{a1.id}/lessons?page=2")
    assert "主题0" in second and "主题2" not in second and "上学期的课" not in second


def _class(world, grade: int, name: str, students: int = 1) -> SchoolClass:
    school_class = SchoolClass(school=world.schools["A"], grade=grade, name=name, entry_year=2026)
    db.session.add(school_class)
    for index in range(students):
        make_student(school_class, f"学生{grade}-{name}-{index}")
    db.session.flush()
    return school_class


def test_the_school_overview_in_grade_and_class_order(client, world, monkeypatch):
    ten, two = _class(world, 10, "10"), _class(world, 10, "2")
    first = _class(world, 1, "1")
    semester = services.shown_semester()
    for n in range(9):
        _add(two, world.users["counselor"], semester.first + timedelta(days=n))
    _add(first, world.users["counselor"], semester.first)
    _as(client, "counselor")
    page = _page(client, f"/schools/{world.schools['A'].id}/lessons")
    assert "2026–27学年秋季学期" in page
    names = ["一年级1班", "七年级1班", "七年级2班", "高一2班", "高一10班"]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    row = page[page.index(f'data-class="{two.id}"') :]
    assert "9 / 9" in row[: row.index("</tr>")] and "已达标" in row[: row.index("</tr>")]
    assert f'href="/classes/{ten.id}/lessons"' in page
    assert '<strong data-figure="met">1</strong> / 5' in page
    monkeypatch.setattr(lesson_pages, "CLASSES_PER_PAGE", 2)
    second = _page(client, f"/schools/{world.schools['A'].id}/lessons?page=2")
    assert "七年级2班" in second and "高一2班" in second and "一年级1班" not in second
    assert "共 5 条" in second


def test_administrators_and_leaders_read_the_overview(client, world):
    url = f"/schools/{world.schools['A'].id}/lessons"
    for username in ("admin", "leader"):
        _as(client, username)
        assert "测试学校A心理健康课" in _page(client, url)
    for username in ("teacher", "doctor", "monitor", "committee", "student"):
        _as(client, username)
        assert client.get(url).status_code == 403, username


def test_an_empty_school_says_what_is_missing(client, world):
    from wellbeing.roster.models import School

    school = School(district=world.district, code="SE", name="空学校", kind="primary")
    db.session.add(school)
    db.session.flush()
    _as(client, "admin")
    page = _page(client, f"/schools/{school.id}/lessons")
    assert "本校还没有班级。" in page and "班级来自名册导入。" in page


def test_home_pages_link_the_log(client, world):
    _as(client, "teacher")
    assert f"/classes/{world.classes['A1'].id}/lessons" in _page(client, "/home")
    _as(client, "counselor")
    assert f"/schools/{world.schools['A'].id}/lessons" in _page(client, "/home")


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31)))
def test_a_semester_belongs_to_the_school_year_of_its_days(day):
    semester = semester_of(day)
    if semester is not None:
        assert semester.school_year == school_year_for(day)
