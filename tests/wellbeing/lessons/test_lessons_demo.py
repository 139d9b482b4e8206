"""The demo's lesson logs, built on the test world: every class, the semesters of the
current and the previous school year up to yesterday, one lesson a day at most, most
classes near the target and some schools short. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from screening.semesters import Semester, semester_of
from tests.factories import make_user
from wellbeing.extensions import db
from wellbeing.lessons.demo import build_demo_lessons
from wellbeing.lessons.models import Lesson
from wellbeing.roster.models import SchoolClass

pytestmark = pytest.mark.app

TODAY = date(2026, 12, 4)


def test_demo_logs_lessons_for_every_class(world):
    # The demo district gives every class a head teacher; the world, A1 only.
    for key in ("B1", "B2", "C1"):
        make_user(f"teacher-{key}", None, ("head_teacher", world.classes[key]))
    db.session.flush()
    started = time.perf_counter()
    built = build_demo_lessons(seed=3, today=TODAY)
    assert time.perf_counter() - started < 5
    lessons = db.session.scalars(select(Lesson)).all()
    classes = db.session.scalars(select(SchoolClass.id)).all()
    assert built.lessons == len(lessons) and built.classes == len(classes) == 5
    assert built.semesters == 3 and built.short_schools == 1
    assert {lesson.class_id for lesson in lessons} == set(classes)
    assert all(lesson.held_on < TODAY and lesson.held_on.weekday() < 5 for lesson in lessons)
    days = Counter((lesson.class_id, lesson.held_on) for lesson in lessons)
    assert max(days.values()) == 1  # one lesson a day
    semesters = {semester_of(lesson.held_on) for lesson in lessons}
    assert semesters == {Semester(2025, 1), Semester(2025, 2), Semester(2026, 1)}
    # A full semester: 8 to 11 lessons, or 4 to 8 at the one short school.
    spring = Counter(
        lesson.class_id for lesson in lessons if semester_of(lesson.held_on) == Semester(2025, 2)
    )
    assert all(4 <= n <= 11 for n in spring.values()) and len(spring) == 5
    # A class's head teacher logs its lessons; the school's counselor where it has none.
    by_class = {key: world.classes[key].id for key in ("A1", "A2")}
    loggers = {
        key: {lesson.logged_by_id for lesson in lessons if lesson.class_id == class_id}
        for key, class_id in by_class.items()
    }
    assert loggers == {
        "A1": {world.users["head_teacher"].id},
        "A2": {world.users["counselor"].id},
    }
    # The same seed, the same log.
    db.session.query(Lesson).delete()
    again = build_demo_lessons(seed=3, today=TODAY)
    assert again == built
