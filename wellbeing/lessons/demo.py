"""The demo's lesson logs: every class, from grade 1 up, over the semesters of the
current and the previous school year up to yesterday (today is left free, so the demo
head teacher can log a lesson). Most classes hold 8 to 11 lessons a full semester, on
random school days (one a day at most); the classes of a few schools fall short (4 to
8). A running semester has its share so far. Logged by each class's head teacher
(the school's counselor where a class has none), written in one bulk insert."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select

from screening.semesters import Semester, latest_semester, semesters_of_year
from wellbeing.clock import from_local, local_today
from wellbeing.extensions import db
from wellbeing.lessons.models import Lesson
from wellbeing.lessons.vocabulary import SUGGESTED_TOPICS
from wellbeing.roster.models import RoleAssignment, SchoolClass

SHORT_SCHOOLS = 0.15  # the share of schools whose classes fall short of the target
ON_TARGET = (8, 11)  # lessons of a full semester, most classes
SHORT = (4, 8)


@dataclass
class DemoLessons:
    lessons: int = 0
    classes: int = 0
    semesters: int = 0
    short_schools: int = 0


def _loggers() -> tuple[dict[int, int], dict[int, int]]:
    """class id -> its head teacher's user id; school id -> its first counselor's."""
    teachers: dict[int, int] = {}
    counselors: dict[int, int] = {}
    for role, class_id, school_id, user_id in db.session.execute(
        select(
            RoleAssignment.role,
            RoleAssignment.class_id,
            RoleAssignment.school_id,
            RoleAssignment.user_id,
        )
        .where(RoleAssignment.role.in_(("head_teacher", "counselor")))
        .order_by(RoleAssignment.user_id)
    ):
        if role == "head_teacher" and class_id is not None:
            teachers.setdefault(class_id, user_id)
        elif role == "counselor" and school_id is not None:
            counselors.setdefault(school_id, user_id)
    return teachers, counselors


def _school_days(semester: Semester, until: date) -> list[date]:
    last = min(semester.last, until)
    days = (last - semester.first).days + 1
    return [
        day
        for day in (semester.first + timedelta(days=n) for n in range(max(days, 0)))
        if day.weekday() < 5
    ]


def _days(rng: random.Random, school_days: list[date], held: int) -> list[date]:
    """`held` distinct school days of the list (one lesson a day)."""
    return sorted(rng.sample(school_days, max(0, min(held, len(school_days)))))


def build_demo_lessons(seed: int, today: date | None = None) -> DemoLessons:
    """Write the demo's lesson logs (the caller commits)."""
    rng = random.Random(seed)
    today = today or local_today()
    # The school year of the latest semester begun (in August, the one just ended).
    year = latest_semester(today).school_year
    semesters = [s for y in (year - 1, year) for s in semesters_of_year(y) if s.first < today]
    classes = db.session.execute(
        select(SchoolClass.id, SchoolClass.school_id).order_by(SchoolClass.id)
    ).all()
    schools = sorted({school_id for _, school_id in classes})
    short = set(rng.sample(schools, min(len(schools), max(1, round(len(schools) * SHORT_SCHOOLS)))))
    teachers, counselors = _loggers()
    rows = []
    for semester in semesters:
        school_days = _school_days(semester, today - timedelta(days=1))
        share = len(school_days) / max(1, len(_school_days(semester, semester.last)))
        for class_id, school_id in classes:
            logger = teachers.get(class_id) or counselors.get(school_id)
            if logger is None:
                continue
            low, high = SHORT if school_id in short else ON_TARGET
            held = round(rng.randint(low, high) * share)
            for day in _days(rng, school_days, held):
                rows.append(
                    {
                        "class_id": class_id,
                        "held_on": day,
                        "topic": rng.choice(SUGGESTED_TOPICS),
                        "logged_by_id": logger,
                        "logged_at": from_local(datetime.combine(day, time(16, 30))),
                    }
                )
    if rows:
        db.session.execute(insert(Lesson), rows)
    db.session.flush()
    return DemoLessons(len(rows), len(classes), len(semesters), len(short))
