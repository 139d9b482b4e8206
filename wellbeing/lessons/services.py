"""The lesson log's reads and writes. Writes flush only (the request commits once) and
are audited as acts ("lesson_log", "lesson_delete"), as the weekly reports are: who
logged which class's lesson of which day. A lesson is about no student, so its pages
write no read row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from screening.semesters import Semester, latest_semester, on_track
from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.lessons.models import Lesson
from wellbeing.lessons.vocabulary import LESSONS_PER_SEMESTER, TOPIC_LENGTH
from wellbeing.roster.models import SchoolClass, User
from wellbeing.security.audit import record_event


class LessonError(Exception):
    """What is wrong with a lesson typed in, by field name, all at once."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


# ----------------------------------------------------------------------------- reads


def class_lessons(class_id: int, semester: Semester) -> Select:
    """A class's lessons of the semester, newest first (for paging)."""
    return (
        select(Lesson)
        .where(
            Lesson.class_id == class_id,
            Lesson.held_on >= semester.first,
            Lesson.held_on <= semester.last,
        )
        .order_by(Lesson.held_on.desc(), Lesson.id.desc())
    )


def counts_by_class(class_ids: list[int] | Select, semester: Semester) -> Counter:
    """Lessons of the semester per class id, one grouped query."""
    return Counter(
        dict(
            db.session.execute(
                select(Lesson.class_id, func.count())
                .where(
                    Lesson.class_id.in_(class_ids),
                    Lesson.held_on >= semester.first,
                    Lesson.held_on <= semester.last,
                )
                .group_by(Lesson.class_id)
            ).all()
        )
    )


@dataclass(frozen=True)
class ClassCount:
    school_class: SchoolClass
    held: int
    on_track: bool
    target: int = LESSONS_PER_SEMESTER

    @property
    def target_met(self) -> bool:
        return self.held >= self.target


def school_counts(school_id: int, semester: Semester, today: date) -> list[ClassCount]:
    """The school's classes (grade 1 up, in grade and class-number order) with their
    lessons of the semester and whether each keeps pace with the target."""
    classes = db.session.scalars(
        select(SchoolClass)
        .where(SchoolClass.school_id == school_id)
        .order_by(*SchoolClass.ordering())
    ).all()
    held = counts_by_class(
        select(SchoolClass.id).where(SchoolClass.school_id == school_id), semester
    )
    return [
        ClassCount(c, held[c.id], on_track(held[c.id], LESSONS_PER_SEMESTER, semester, today))
        for c in classes
    ]


def shown_semester(today: date | None = None) -> Semester:
    """The semester the pages show and take lessons for: the one running, or in the
    summer break the spring semester just ended."""
    return latest_semester(today or local_today())


# ----------------------------------------------------------------------------- writes


def _checked_day(text: str, semester: Semester, today: date, problems: dict[str, str]) -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        problems["held_on"] = _("Give a date, e.g. 2026-09-15.")
        return today
    if day > today:
        problems["held_on"] = _("The date is in the future: give the day it happened.")
    elif not semester.holds(day):
        problems["held_on"] = _(
            "Give a day of this semester (%(first)s to %(last)s).",
            first=semester.first.isoformat(),
            last=min(semester.last, today).isoformat(),
        )
    return day


def _checked_topic(text: str, problems: dict[str, str]) -> str:
    topic = " ".join((text or "").split())
    if not topic:
        problems["topic"] = _("Give the lesson's topic.")
    elif len(topic) > TOPIC_LENGTH:
        problems["topic"] = _("At most %(n)d characters.", n=TOPIC_LENGTH)
    return topic


def log_lesson(
    school_class: SchoolClass, user: User, *, held_on: str, topic: str, today: date | None = None
) -> Lesson:
    """Log a lesson the class held this semester. Every problem is raised at once: a
    date that is not one, in the future or outside the semester, the day already
    logged, an empty or too long topic."""
    today = today or local_today()
    semester = shown_semester(today)
    problems: dict[str, str] = {}
    day = _checked_day(held_on, semester, today, problems)
    topic = _checked_topic(topic, problems)
    if "held_on" not in problems and _held(school_class.id, day):
        problems["held_on"] = _already(day)
    if problems:
        raise LessonError(problems)
    lesson = Lesson(class_id=school_class.id, held_on=day, topic=topic, logged_by_id=user.id)
    try:
        with db.session.begin_nested():  # a racing second tap for the same day
            db.session.add(lesson)
    except IntegrityError:
        raise LessonError({"held_on": _already(day)}) from None
    record_event(
        "lesson_log",
        target=lesson,
        user=user,
        detail={"class": school_class.id, "held_on": day.isoformat()},
    )
    return lesson


def _already(day: date) -> str:
    return _(
        "A lesson of %(day)s is already logged for this class: one lesson a day.",
        day=day.isoformat(),
    )


def _held(class_id: int, day: date) -> bool:
    return bool(
        db.session.scalar(
            select(func.count()).where(Lesson.class_id == class_id, Lesson.held_on == day)
        )
    )


def delete_lesson(lesson: Lesson, user: User) -> None:
    """Delete a lesson logged by mistake (the audit row keeps which class and day)."""
    detail = {"class": lesson.class_id, "held_on": lesson.held_on.isoformat()}
    target = ("lesson", lesson.id)
    db.session.delete(lesson)
    db.session.flush()
    record_event("lesson_delete", target=target, user=user, detail=detail)
