"""Vision and fitness pages: the school's health hub, the entry grid and its per-row
saves, import, a class's and a student's health pages, parent letters, the national
export and the school summary. Views check access (@requires), call a service, render."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    render_template,
    request,
    send_file,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from screening import fitness
from wellbeing.clock import utcnow
from wellbeing.health import (
    entry,
    export,
    grid,
    importer,
    labels,
    letters,
    pages,
    queries,
    summaries,
)
from wellbeing.health.forms import ImportForm
from wellbeing.health.labels import fitness_display, round_label, school_year_label, vision_display
from wellbeing.health.rounds import (
    BadRound,
    VisionRound,
    check_school_year,
    parse_vision_round,
    school_year_for,
    vision_round_for,
)
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import can, requires

bp = Blueprint("health", __name__, url_prefix="/health")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {
        "statuses": pages.status_choices(),
        "cell": pages.cell_text,
        "round_name": round_label,
        "year_name": school_year_label,
        "measure_name": lambda name: labels.label(labels.MEASURE, name),
        "reason_name": lambda reason: labels.label(labels.LETTER_REASON, reason),
        "signed": labels.number,
        "plain": labels.plain_number,
        "minutes": export.minutes_seconds,
    }


def _vision_round(text: str) -> VisionRound:
    try:
        return parse_vision_round(text)
    except BadRound:
        abort(404)


def _school_year(year: int) -> int:
    try:
        return check_school_year(year)
    except BadRound:
        abort(404)


def _chosen_rounds() -> tuple[VisionRound, int]:
    """The rounds named in the query string, else the current ones."""
    today = utcnow().date()
    vision_round = vision_round_for(today)
    school_year = school_year_for(today)
    if request.args.get("vision_round"):
        vision_round = _vision_round(request.args["vision_round"])
    # isdecimal, not isdigit: int() refuses digits such as "²" that isdigit accepts.
    if request.args.get("school_year", "").isdecimal():
        school_year = _school_year(int(request.args["school_year"]))
    return vision_round, school_year


@bp.get("/schools/<int:school_id>")
@requires("health.enter", School)
def school(school: School) -> str:
    vision_round, school_year = _chosen_rounds()
    in_school = SchoolClass.school_id == school.id
    return render_template(
        "health/school.html",
        school=school,
        classes=pages.classes_for(current_user, school),
        enrolled=queries.enrolled_by_class(in_school),
        vision_done=queries.vision_records_by_class(in_school, vision_round),
        fitness_done=queries.fitness_records_by_class(in_school, school_year),
        vision_round=vision_round,
        school_year=school_year,
        rounds=pages.round_choices(),
        can_export=can(current_user, "health.export", school),
        can_summary=can(current_user, "health.school_summary", school),
    )


@bp.get("/classes/<int:class_id>/vision/<vision_round>")
@requires("health.enter", SchoolClass)
def vision_grid(school_class: SchoolClass, vision_round: str) -> str:
    chosen = _vision_round(vision_round)
    students = queries.enrolled_students(school_class)
    records = queries.vision_by_student([s.id for s in students], chosen)
    record_view(school_class, len(students), round=chosen.key)
    return render_template(
        "health/vision_grid.html",
        school_class=school_class,
        vision_round=chosen,
        round_name=round_label(chosen),
        students=students,
        records=records,
        display={sid: vision_display(record) for sid, record in records.items()},
        columns=grid.VISION_COLUMNS,
        today=pages.default_day(chosen),
    )


@bp.post("/classes/<int:class_id>/vision/<vision_round>/rows")
@requires("health.enter", SchoolClass)
def save_vision(school_class: SchoolClass, vision_round: str) -> Response:
    chosen = _vision_round(vision_round)
    outcome = entry.save_vision_row(school_class, chosen, _payload(), current_user)
    if not outcome.ok:
        return _refused(outcome)
    return jsonify(
        ok=True,
        record=entry.vision_json(outcome.record),
        display=vision_display(outcome.record),
    )


@bp.get("/classes/<int:class_id>/fitness/<int:school_year>")
@requires("health.enter", SchoolClass)
def fitness_grid(school_class: SchoolClass, school_year: int) -> str:
    year = _school_year(school_year)
    students = queries.enrolled_students(school_class)
    records = queries.fitness_by_student([s.id for s in students], year)
    record_view(school_class, len(students), school_year=year)
    return render_template(
        "health/fitness_grid.html",
        school_class=school_class,
        school_year=year,
        year_name=school_year_label(year),
        students=students,
        records=records,
        display={sid: fitness_display(record) for sid, record in records.items()},
        columns=grid.fitness_slots(school_class.grade),
        today=pages.default_day(year),
    )


@bp.post("/classes/<int:class_id>/fitness/<int:school_year>/rows")
@requires("health.enter", SchoolClass)
def save_fitness(school_class: SchoolClass, school_year: int) -> Response:
    year = _school_year(school_year)
    outcome = entry.save_fitness_row(school_class, year, _payload(), current_user)
    if not outcome.ok:
        return _refused(outcome)
    return jsonify(
        ok=True,
        record=entry.fitness_json(outcome.record),
        display=fitness_display(outcome.record),
    )


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _refused(outcome: entry.RowOutcome) -> Response:
    # A refused row is an answer like any other (the grid shows it in the row): 200,
    # with nothing stored, since every check runs before the first write.
    return jsonify(ok=False, errors=[error.as_json() for error in outcome.errors])


@bp.route("/schools/<int:school_id>/import", methods=["GET", "POST"])
@requires("health.enter", School)
def import_file(school: School) -> Response:
    form = ImportForm()
    today = utcnow().date()
    form.set_choices(today)
    outcome = None
    if form.validate_on_submit():
        outcome = pages.run_import(form, school, current_user)
    page = render_template(
        "health/import.html",
        school=school,
        form=form,
        outcome=outcome,
        vision_columns=importer.VISION_REQUIRED + importer.VISION_OPTIONAL,
        fitness_columns=importer.FITNESS_REQUIRED + importer.FITNESS_OPTIONAL,
        timed_columns=fitness.TIMED_COLUMNS,
    )
    return make_response(page)


@bp.get("/students/<int:student_id>")
@requires("health.view_student", Student)
def student(student: Student) -> str:
    record_event("view_student", target=student, detail={"page": "health"})
    return render_template("health/student.html", student=student, **pages.student_page(student))


@bp.get("/classes/<int:class_id>")
@requires("health.view_class", SchoolClass)
def school_class(school_class: SchoolClass) -> str:
    vision_round, school_year = _chosen_rounds()
    shown = pages.class_page(school_class, vision_round, school_year)
    record_view(
        school_class, len(shown["students"]), round=vision_round.key, school_year=school_year
    )
    return render_template(
        "health/class.html",
        school_class=school_class,
        vision_round=vision_round,
        school_year=school_year,
        rounds=pages.round_choices(),
        **shown,
        can_enter=can(current_user, "health.enter", school_class),
        can_letters=can(current_user, "health.letters", school_class),
    )


@bp.route("/classes/<int:class_id>/letters/vision/<vision_round>", methods=["GET", "POST"])
@requires("health.letters", SchoolClass)
def vision_letters(school_class: SchoolClass, vision_round: str) -> str:
    chosen = _vision_round(vision_round)
    batch = letters.vision_letters(school_class, chosen)
    ids = [student.id for student in queries.enrolled_students(school_class)]
    recorded = len(queries.vision_by_student(ids, chosen))
    return _letters_page(
        school_class, batch, "vision", chosen.key, round_label(chosen), recorded, chosen, None
    )


@bp.route("/classes/<int:class_id>/letters/fitness/<int:school_year>", methods=["GET", "POST"])
@requires("health.letters", SchoolClass)
def fitness_letters(school_class: SchoolClass, school_year: int) -> str:
    year = _school_year(school_year)
    batch = letters.fitness_letters(school_class, year)
    ids = [student.id for student in queries.enrolled_students(school_class)]
    recorded = len(queries.fitness_by_student(ids, year))
    return _letters_page(
        school_class, batch, "fitness", str(year), school_year_label(year), recorded, None, year
    )


def _letters_page(
    school_class: SchoolClass,
    batch: list,
    kind: str,
    round_key: str,
    round_name: str,
    recorded: int,
    vision_round: VisionRound | None,
    school_year: int | None,
) -> str:
    """GET: who would get a letter and what was printed before. POST (the print action):
    the letters themselves, logged as printed."""
    template = "health/letters.html"
    if request.method == "POST":
        chosen = set(request.form.getlist("student"))
        if chosen:
            batch = [letter for letter in batch if str(letter.student.id) in chosen]
        if batch:
            letters.log_printed(batch, kind, round_key, school_class, current_user)
            template = "health/letters_print.html"
        else:  # a stale selection: print nothing, log nothing
            flash(_("None of the chosen students needs a letter now."), "error")
    if template == "health/letters.html":  # the printed letters are audited as an export
        record_view(school_class, len(batch), letters=kind, round=round_key)
    return render_template(
        template,
        school_class=school_class,
        letters=batch,
        kind=kind,
        round_key=round_key,
        round_name=round_name,
        letter_round=letters.chinese_round(kind, round_key),
        printed_on=utcnow().date(),
        recorded=recorded,
        vision_round=vision_round,
        school_year=school_year,
        can_enter=can(current_user, "health.enter", school_class),
    )


@bp.get("/schools/<int:school_id>/summary")
@requires("health.school_summary", School)
def school_summary(school: School) -> str:
    vision_round, school_year = _chosen_rounds()
    students = queries.school_students(school)
    record_view(school, len(students), round=vision_round.key, school_year=school_year)
    return render_template(
        "health/summary.html",
        school=school,
        vision_round=vision_round,
        school_year=school_year,
        rounds=pages.round_choices(),
        can_enter=can(current_user, "health.enter", school),
        **pages.summary_parts(
            summaries.vision_summary(students, vision_round),
            summaries.fitness_summary(students, school_year),
            vision_round,
            school_year,
        ),
    )


@bp.get("/schools/<int:school_id>/export/<int:school_year>")
@requires("health.export", School)
def export_check(school: School, school_year: int) -> str:
    national = export.build(school, _school_year(school_year))
    record_view(school, national.students, school_year=school_year)
    return render_template(
        "health/export.html", school=school, national=national, columns=export.COLUMNS
    )


@bp.get("/schools/<int:school_id>/export/<int:school_year>.xlsx")
@requires("health.export", School)
def export_file(school: School, school_year: int) -> Response:
    year = _school_year(school_year)
    data = export.export(school, year)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"national-fitness-{school.code}-{year}.xlsx",
    )


@bp.get("/schools/<int:school_id>/export/<int:school_year>/problems.csv")
@requires("health.export", School)
def export_problems_csv(school: School, school_year: int) -> Response:
    return _problems_download(school, school_year, "csv")


@bp.get("/schools/<int:school_id>/export/<int:school_year>/problems.xlsx")
@requires("health.export", School)
def export_problems_xlsx(school: School, school_year: int) -> Response:
    return _problems_download(school, school_year, "xlsx")


def _problems_download(school: School, school_year: int, kind: str) -> Response:
    year = _school_year(school_year)
    data = export.problems_file(school, year, kind)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE if kind == "xlsx" else "text/csv; charset=utf-8",
        as_attachment=True,
        download_name=f"national-fitness-problems-{school.code}-{year}.{kind}",
    )
