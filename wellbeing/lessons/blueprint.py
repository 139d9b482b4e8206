"""The lesson log's pages, phone-first and without script:

    /classes/<id>/lessons         a class's lessons of the semester (paged) against the
                                  target, and the form to log one (head teacher, counselor)
    /classes/<id>/lessons/new     log a lesson (POST; a path of its own, so that an id out
                                  of range is 404 for every method, not 405)
    /lessons/<id>/delete          delete a lesson logged by mistake (POST)
    /schools/<id>/lessons         the school's classes with their counts (counselors,
                                  leaders, administrators)

No page shows a student: nothing is audited as a read; the writes are audited as acts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from screening.semesters import AUTUMN, Semester, on_track
from wellbeing.clock import local_today
from wellbeing.lessons import services
from wellbeing.lessons.models import Lesson
from wellbeing.lessons.vocabulary import LESSONS_PER_SEMESTER, SUGGESTED_TOPICS, TOPIC_LENGTH
from wellbeing.paging import paginate, paginate_query
from wellbeing.roster.models import School, SchoolClass
from wellbeing.security.policy import can, requires
from wellbeing.text_input import TextFields

bp = Blueprint("lessons", __name__)

PER_PAGE = 20  # a class's lessons: about ten a semester, so rarely a second page
CLASSES_PER_PAGE = 30


def semester_name(semester: Semester) -> str:
    """The semester as schools name it: its school year and term (2026–27学年秋季学期)."""
    year = f"{semester.school_year}–{str(semester.school_year + 1)[-2:]}"
    if semester.term == AUTUMN:
        return _("%(year)s school year, autumn semester", year=year)
    return _("%(year)s school year, spring semester", year=year)


@bp.get("/classes/<int:class_id>/lessons")
@requires("lessons.class", SchoolClass)
def class_log(school_class: SchoolClass) -> str:
    return _class_page(school_class, {}, {})


@bp.post("/classes/<int:class_id>/lessons/new")
@requires("lessons.log", SchoolClass)
def log(school_class: SchoolClass) -> Any:
    fields = TextFields(request.form)
    values = {"held_on": fields.get("held_on"), "topic": fields.get("topic")}
    errors = dict(fields.errors)
    try:
        # A field with a refused character reads as empty: both are required, so nothing
        # is stored, and the other field's problems are found too (all at once).
        services.log_lesson(school_class, current_user, **values)
    except services.LessonError as error:
        return _class_page(school_class, values, {**error.problems, **errors})
    return redirect(url_for("lessons.class_log", class_id=school_class.id, saved=1), code=303)


@bp.post("/lessons/<int:lesson_id>/delete")
@requires("lessons.log", Lesson)
def delete(lesson: Lesson) -> Any:
    class_id = lesson.class_id
    services.delete_lesson(lesson, current_user)
    return redirect(url_for("lessons.class_log", class_id=class_id, deleted=1))


def _class_page(school_class: SchoolClass, values: dict[str, str], errors: dict[str, str]) -> str:
    today = local_today()
    semester = services.shown_semester(today)
    page = paginate_query(services.class_lessons(school_class.id, semester), per_page=PER_PAGE)
    held = services.counts_by_class([school_class.id], semester)[school_class.id]
    may_log = can(current_user, "lessons.log", school_class)
    latest = min(today, semester.last)
    return render_template(
        "lessons/class.html",
        school_class=school_class,
        semester=semester,
        semester_label=semester_name(semester),
        page=page,
        held=held,
        target=LESSONS_PER_SEMESTER,
        on_track=on_track(held, LESSONS_PER_SEMESTER, semester, today),
        ended=today > semester.last,
        may_log=may_log,
        may_delete=lambda lesson: can(current_user, "lessons.log", lesson),
        school_link=can(current_user, "lessons.school", school_class.school),
        values={"held_on": latest.isoformat(), **values},
        errors=errors,
        first_day=semester.first.isoformat(),
        last_day=latest.isoformat(),
        topics=SUGGESTED_TOPICS,
        topic_length=TOPIC_LENGTH,
        saved=request.args.get("saved") == "1" and not errors,
        deleted=request.args.get("deleted") == "1" and not errors,
    )


@bp.get("/schools/<int:school_id>/lessons")
@requires("lessons.school", School)
def school(school: School) -> str:
    today = local_today()
    semester = services.shown_semester(today)
    rows = services.school_counts(school.id, semester, today)
    page = paginate(rows, per_page=CLASSES_PER_PAGE)
    return render_template(
        "lessons/school.html",
        school=school,
        semester_label=semester_name(semester),
        page=page,
        target=LESSONS_PER_SEMESTER,
        met=sum(1 for row in rows if row.target_met),
        behind=sum(1 for row in rows if not row.on_track),
        ended=today > semester.last,
    )
