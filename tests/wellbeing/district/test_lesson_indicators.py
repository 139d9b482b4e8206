"""The lesson indicators' stored figures equal counts made directly on a small log: the
school year's ended semesters only, each active class once per semester (a class with
no lesson counts, an empty class does not, a class that has since emptied counts where
it logged lessons), a lesson outside the semesters (August) nowhere."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_student
from tests.wellbeing.district.test_sources import _stored
from wellbeing.district import lesson_sources
from wellbeing.district.indicators import indicator
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.lessons.models import Lesson
from wellbeing.roster.models import School, SchoolClass, Student

pytestmark = pytest.mark.app

YEAR = 2025  # autumn 2025-09-01 to 2026-01-31, spring 2026-02-01 to 2026-07-31
AUTUMN = (date(2025, 9, 1), date(2026, 1, 31))
SPRING = (date(2026, 2, 1), date(2026, 7, 31))


def _log(school_class: SchoolClass, user, first: date, count: int) -> None:
    for n in range(count):
        db.session.add(
            Lesson(
                class_id=school_class.id,
                held_on=first + timedelta(days=7 * n),
                topic="认识情绪",
                logged_by_id=user.id,
            )
        )


@pytest.fixture
def lesson_world(world, monkeypatch):
    """School A: A1 meets the target in both semesters, A2 holds 3 in autumn and none in
    spring, an empty grade-8 class logs nothing, a grade-9 class without students (its
    students have left) logged 9 in autumn. School B: B1 logs nothing, B2 holds 9 in
    autumn, 1 in spring and one lesson in August (no semester). School C, in the other
    district, logs 10 in autumn."""
    monkeypatch.setattr(lesson_sources, "local_today", lambda: date(2026, 12, 4))
    user = world.users["counselor"]
    a = world.schools["A"]
    world.empty = SchoolClass(school=a, grade=8, name="1", entry_year=2025)
    world.left = SchoolClass(school=a, grade=9, name="1", entry_year=2023)
    db.session.add_all([world.empty, world.left])
    gone = make_student(world.left, "学生已毕业")
    db.session.flush()
    gone.status = "graduated"
    _log(world.classes["A1"], user, AUTUMN[0], 9)
    _log(world.classes["A1"], user, SPRING[0], 10)
    _log(world.classes["A2"], user, AUTUMN[0], 3)
    _log(world.left, user, AUTUMN[0], 9)
    _log(world.classes["B2"], user, AUTUMN[0], 9)
    _log(world.classes["B2"], user, SPRING[0], 1)
    _log(world.classes["B2"], user, date(2026, 8, 10), 1)  # the summer break
    _log(world.classes["C1"], user, AUTUMN[0], 10)
    db.session.flush()
    world.school_year = YEAR
    return world


def _direct(world, semesters, school_id=None, grade=None) -> list[int]:
    """Each active class-semester's lesson count, counted without the sources."""
    classes = db.session.scalars(
        select(SchoolClass)
        .join(School, School.id == SchoolClass.school_id)
        .where(School.district_id == world.district.id)
    ).all()
    counts = []
    for school_class in classes:
        if school_id is not None and school_class.school_id != school_id:
            continue
        if grade is not None and school_class.grade != grade:
            continue
        enrolled = db.session.scalar(
            select(Student.id).where(
                Student.class_id == school_class.id, Student.status == "enrolled"
            )
        )
        for first, last in semesters:
            held = len(
                db.session.scalars(
                    select(Lesson.id).where(
                        Lesson.class_id == school_class.id,
                        Lesson.held_on >= first,
                        Lesson.held_on <= last,
                    )
                ).all()
            )
            if enrolled or held:
                counts.append(held)
    return counts


def test_lesson_figures_equal_a_direct_count(lesson_world):
    world = lesson_world
    refresh(world.district.id, YEAR)
    counts = _direct(world, (AUTUMN, SPRING))
    # A1 ×2, A2 ×2, the class that left (autumn only), B1 ×2, B2 ×2; not the empty class.
    assert sorted(counts) == [0, 0, 0, 1, 3, 9, 9, 9, 10]
    met = sum(n >= 9 for n in counts)
    assert _stored(world, "lessons_target_met") == (met, len(counts)) == (4, 9)
    assert _stored(world, "lessons_per_class_semester") == (sum(counts), len(counts)) == (41, 9)
    school_a, school_b = world.schools["A"].id, world.schools["B"].id
    for school_id in (school_a, school_b):
        mine = _direct(world, (AUTUMN, SPRING), school_id)
        assert _stored(world, "lessons_target_met", school_id=school_id) == (
            sum(n >= 9 for n in mine),
            len(mine),
        )
    grade_7 = _direct(world, (AUTUMN, SPRING), school_a, 7)
    assert _stored(world, "lessons_per_class_semester", school_id=school_a, grade=7) == (
        sum(grade_7),
        len(grade_7),
    )
    assert _stored(world, "lessons_target_met", school_id=school_a, grade=9) == (1, 1)


def test_a_semester_still_running_is_not_counted(lesson_world, monkeypatch):
    world = lesson_world
    monkeypatch.setattr(lesson_sources, "local_today", lambda: date(2026, 3, 1))
    refresh(world.district.id, YEAR)
    counts = _direct(world, (AUTUMN,))
    assert _stored(world, "lessons_per_class_semester") == (sum(counts), len(counts)) == (30, 5)
    # The current school year (2026) has no ended semester yet: no data, not zero.
    monkeypatch.setattr(lesson_sources, "local_today", lambda: date(2026, 12, 4))
    world.school_year = 2026
    refresh(world.district.id, 2026)
    assert _stored(world, "lessons_target_met") == (0, 0)


def test_the_indicators_declare_their_unit_target_and_cells():
    met, per_class = indicator("lessons_target_met"), indicator("lessons_per_class_semester")
    assert (met.unit, met.direction, met.target) == ("percent", "at_least", 100.0)
    assert (per_class.unit, per_class.direction, per_class.target) == ("ratio", "at_least", 9.0)
    for figure in (met, per_class):
        assert figure.group == "lessons" and figure.by_grade and not figure.by_sex
        assert not figure.suppress  # counts of classes and lessons, never of students
        assert "已结束的学期" in figure.definition["zh"]
