"""What the health pages show, gathered for the templates (reads only, no writes except
through the import service)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from wellbeing.clock import utcnow
from wellbeing.health import importer, queries, summaries
from wellbeing.health.charts import Series, bar_chart, line_chart
from wellbeing.health.core import FieldError
from wellbeing.health.forms import ImportForm
from wellbeing.health.labels import (
    STATUS,
    fitness_display,
    round_label,
    school_year_label,
    vision_display,
)
from wellbeing.health.labels import number as signed
from wellbeing.health.rounds import (
    VisionRound,
    parse_vision_round,
    recent_school_years,
    recent_vision_rounds,
    school_year_for,
    vision_round_for,
)
from wellbeing.roster.labels import grade_name
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.roster.queries import classes_in_scope

UCVA_TICKS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.3)
SE_TICKS = (-8.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0)


def cell_text(record: Any, name: str) -> str:
    """A stored measurement as doctors write it: acuity with one decimal (5.0, and 0 for
    a chart not read), sphere and cylinder in quarter dioptres (-1.00), others as typed
    (90, 162.5); empty when not measured."""
    value = getattr(record, name, None) if record is not None else None
    if value is None:
        return ""
    if name.startswith("ucva_") and value:
        return f"{value:.1f}"
    if name.startswith(("sph_", "cyl_")):
        return f"{value:.2f}"
    return f"{value:g}"


def status_choices() -> list[tuple[str, str]]:
    return [(value, str(text)) for value, text in STATUS.items()]


def classes_for(user: Any, school: School) -> list[SchoolClass]:
    return classes_in_scope(user, "health.enter", school)


def round_choices() -> dict[str, list[tuple[str, str]]]:
    today = utcnow().date()
    return {
        "vision": [(r.key, round_label(r)) for r in recent_vision_rounds(today, count=4)],
        "fitness": [(str(y), school_year_label(y)) for y in recent_school_years(today, count=3)],
    }


def default_day(chosen: VisionRound | int) -> date:
    """Today if it falls in the round, else the round's last day (a late entry)."""
    today = utcnow().date()
    if isinstance(chosen, VisionRound):
        if vision_round_for(today) == chosen:
            return today
        if chosen.season == "spring":
            return date(chosen.year, 7, 31)
        return date(chosen.year + 1, 1, 31)
    if school_year_for(today) == chosen:
        return today
    return date(chosen + 1, 7, 31)


def run_import(form: ImportForm, school: School, user: Any) -> importer.ImportOutcome:
    uploaded = form.file.data
    data, name, day = uploaded.read(), uploaded.filename or "", form.measured_on.data
    if form.kind.data == "vision":
        chosen: VisionRound | int = parse_vision_round(form.vision_round.data)
        in_round = vision_round_for(day) == chosen
    else:
        chosen = int(form.school_year.data)
        in_round = school_year_for(day) == chosen
    if not in_round or day > utcnow().date():
        error = FieldError("measured_on", _("The date does not fall in this round."))
        return importer.ImportOutcome(
            problems=[importer.ImportProblem(None, error.column, day.isoformat(), error.message)]
        )
    if isinstance(chosen, VisionRound):
        return importer.import_vision(data, name, school, chosen, day, user)
    return importer.import_fitness(data, name, school, chosen, day, user)


def student_page(student: Student) -> dict[str, Any]:
    vision = queries.vision_history(student)
    fitness = queries.fitness_history(student)
    measured = [r for r in vision if r.status == "measured"]
    labels = [round_label(r.round) for r in measured]
    charts = {}
    if measured:
        charts["ucva"] = line_chart(
            _("Uncorrected visual acuity"),
            labels,
            [
                Series(_("Right eye"), "series-a", [r.ucva_right for r in measured]),
                Series(_("Left eye"), "series-b", [r.ucva_left for r in measured]),
            ],
            y_min=3.0,
            y_max=5.3,
            ticks=UCVA_TICKS,
            reference=5.0,
            tick_format="{:.1f}".format,
            x_label=_("Screening round"),
            y_label=_("Acuity (5-point notation)"),
        )
        charts["se"] = line_chart(
            _("Spherical equivalent (D)"),
            labels,
            [
                Series(_("Right eye"), "series-a", [r.se_right for r in measured]),
                Series(_("Left eye"), "series-b", [r.se_left for r in measured]),
            ],
            y_min=-8.0,
            y_max=4.0,
            ticks=SE_TICKS,
            reference=-0.5,
            tick_format=signed,
            x_label=_("Screening round"),
            y_label=_("Spherical equivalent (D)"),
        )
    scored = [r for r in fitness if r.status == "measured" and r.total is not None]
    if scored:
        charts["fitness"] = line_chart(
            _("Fitness total score"),
            [school_year_label(r.school_year) for r in scored],
            [Series(_("Total"), "series-c", [r.total for r in scored])],
            y_min=0.0,
            y_max=120.0,
            ticks=(0, 20, 40, 60, 80, 100, 120),
            reference=60.0,
            x_label=_("School year"),
            y_label=_("Total score (points)"),
        )
    return {
        "vision": vision,
        "fitness": fitness,
        "charts": charts,
        "vision_display": {r.id: vision_display(r) for r in vision},
        "fitness_display": {r.id: fitness_display(r) for r in fitness},
    }


def class_page(school_class: SchoolClass, vision_round: VisionRound, school_year: int) -> dict:
    students = queries.enrolled_students(school_class)
    ids = [student.id for student in students]
    vision = queries.vision_by_student(ids, vision_round)
    fitness = queries.fitness_by_student(ids, school_year)
    return {
        "students": students,
        "vision": vision,
        "fitness": fitness,
        "vision_display": {sid: vision_display(r) for sid, r in vision.items()},
        "fitness_display": {sid: fitness_display(r) for sid, r in fitness.items()},
        "vision_summary": summaries.vision_summary(students, vision_round),
        "fitness_summary": summaries.fitness_summary(students, school_year),
    }


def _by_grade(summary: summaries.Summary, rate: str, *, before: bool) -> list[float | None]:
    values = []
    for grade in summary.grades:
        cell = summary.cell(grade, None)
        values.append((cell.before if before else cell.now)[rate].percent)
    return values


def _rate_chart(summary: summaries.Summary, rate: str, title: str, now: str, then: str) -> Any:
    labels = [grade_name(grade) for grade in summary.grades]
    return bar_chart(
        title,
        labels,
        [
            Series(now, "series-a", _by_grade(summary, rate, before=False)),
            Series(then, "series-d", _by_grade(summary, rate, before=True)),
        ],
        x_label=_("Grade"),
        y_label=_("Share of students with a record (%)"),
    )


def summary_parts(
    vision: summaries.Summary,
    fitness: summaries.Summary,
    vision_round: VisionRound,
    school_year: int,
) -> dict[str, Any]:
    v_now = round_label(vision_round)
    v_then = round_label(vision.before_round or vision_round.previous())
    f_now, f_then = school_year_label(school_year), school_year_label(school_year - 1)
    charts = {}
    if vision.grades:
        charts["myopia"] = _rate_chart(
            vision, "myopia", _("Screening myopia rate by grade"), v_now, v_then
        )
        charts["poor_vision"] = _rate_chart(
            vision, "poor_vision", _("Poor vision rate by grade"), v_now, v_then
        )
    if fitness.grades:
        charts["pass"] = _rate_chart(
            fitness, "pass", _("Fitness pass rate by grade"), f_now, f_then
        )
        charts["obese"] = _rate_chart(fitness, "obese", _("Obesity rate by grade"), f_now, f_then)
    return {
        "vision_summary": vision,
        "fitness_summary": fitness,
        "charts": charts,
        "vision_names": (v_now, v_then),
        "fitness_names": (f_now, f_then),
    }
