"""Grades and classes as schools name them (七年级1班, 高一10班) and in the order they count
them (grade, then class number: 2 before 10), on pages, in SQL and in Python alike."""

from __future__ import annotations

from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import login
from wellbeing.extensions import db
from wellbeing.roster.labels import class_name, grade_name
from wellbeing.roster.models import SchoolClass
from wellbeing.roster.vocabulary import class_name_zh, class_sort_key, grade_name_zh


def test_chinese_grade_names() -> None:
    names = [grade_name_zh(g) for g in range(1, 13)]
    assert names[:3] == ["一年级", "二年级", "三年级"]
    assert names[6:9] == ["七年级", "八年级", "九年级"]
    assert names[9:] == ["高一", "高二", "高三"]
    assert class_name_zh(7, "1") == "七年级1班"
    assert class_name_zh(10, "10") == "高一10班"
    # A class whose name already says 班 is not told twice.
    assert class_name_zh(11, "实验班") == "高二实验班"


@given(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 40)), min_size=2, unique=True))
def test_classes_sort_by_grade_then_number(classes: list[tuple[int, int]]) -> None:
    ordered = sorted(classes, key=lambda c: class_sort_key(c[0], str(c[1])))
    assert ordered == sorted(classes)


def test_names_follow_the_language(app) -> None:
    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            assert (grade_name(12), class_name(10, "3")) == ("高三", "高一3班")
        with force_locale("en"):
            assert (grade_name(12), class_name(10, "3")) == ("Grade 12", "Grade 10, class 3")


def test_sql_orders_classes_as_python_does(world) -> None:
    school = world.schools["B"]
    for grade, name in [(10, "10"), (7, "11"), (10, "2"), (7, "3"), (8, "1")]:
        db.session.add(SchoolClass(school=school, grade=grade, name=name, entry_year=2026))
    db.session.flush()
    rows = db.session.execute(
        select(SchoolClass.grade, SchoolClass.name)
        .where(SchoolClass.school_id == school.id)
        .order_by(*SchoolClass.ordering())
    ).all()
    assert [tuple(r) for r in rows] == sorted(
        [tuple(r) for r in rows], key=lambda c: class_sort_key(*c)
    )
    assert [tuple(r) for r in rows][:4] == [(7, "1"), (7, "2"), (7, "3"), (7, "11")]


def test_school_page_names_and_orders_classes(client, world) -> None:
    school = world.schools["A"]
    for name in ("10", "3"):
        db.session.add(SchoolClass(school=school, grade=7, name=name, entry_year=2026))
    db.session.flush()
    login(client, "admin")
    page = client.get(f"/schools/{school.id}").get_data(as_text=True)
    positions = [page.find(f"七年级{n}班") for n in ("1", "2", "3", "10")]
    assert -1 not in positions and positions == sorted(positions)
    assert "7年级" not in page
