"""Importing a round from CSV or XLSX in the batch contract's columns (student_id is the
学籍号). Every row is checked first, every problem listed with its row and column; if
any row is wrong nothing is stored (all or nothing). Reading reuses screening.spreadsheets."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from screening.errors import InputError, ScreeningError
from screening.spreadsheets import open_bytes, text_rows
from wellbeing.extensions import db
from wellbeing.health import core, entry
from wellbeing.health.core import FieldError
from wellbeing.health.models import (
    FITNESS_ITEMS,
    FITNESS_MEASURES,
    VISION_MEASURES,
    FitnessRecord,
    VisionRecord,
)
from wellbeing.health.rounds import VisionRound
from wellbeing.health.signals import records_imported
from wellbeing.imports import ImportProblem, read_problem, text_problems, web_limits
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.audit import record_event

COMMON_OPTIONAL = ("measured_on", "status", "reason")
VISION_REQUIRED = ("student_id", *core.VISION_INPUTS)
VISION_OPTIONAL = ("age", "ortho_k", "axis_right", "axis_left", *COMMON_OPTIONAL)
FITNESS_REQUIRED = ("student_id", "height_cm", "weight_kg")
FITNESS_OPTIONAL = ("grade", "sex", *FITNESS_ITEMS, *COMMON_OPTIONAL)
# Status words schools type in either language.
STATUS_WORDS = {
    "": "measured",
    "measured": "measured",
    "已测": "measured",
    "正常": "measured",
    "absent": "absent",
    "缺测": "absent",
    "缺席": "absent",
    "缺考": "absent",
    "exempt": "exempt",
    "免测": "exempt",
    "免考": "exempt",
}
SEX_WORDS = {"M": "M", "F": "F", "男": "M", "女": "F", "1": "M", "2": "F"}
# A page listing 100,000 problems helps no one; the first ones show the pattern.
PROBLEMS_KEPT = 1000


@dataclass
class ImportOutcome:
    problems: list[ImportProblem] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    total_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Row:
    number: int
    cells: dict[str, str]
    student: Student
    fields: dict[str, Any]


def _school_students(school: School) -> dict[str, Student]:
    students = db.session.scalars(
        select(Student)
        .join(SchoolClass)
        .where(SchoolClass.school_id == school.id, Student.status == "enrolled")
    )
    return {student.student_number: student for student in students}


def _problem(number: int, cells: Mapping[str, str], error: FieldError) -> ImportProblem:
    value = cells.get(error.column or "", "")
    return ImportProblem(number, error.column, value, error.message, error.detail)


def _match_students(
    rows: Iterable[tuple[int, dict[str, str]]], school: School, outcome: ImportOutcome
) -> list[tuple[int, dict[str, str], Student]]:
    students = _school_students(school)
    seen: dict[str, int] = {}
    matched = []
    for number, cells in rows:
        # The same folding as the roster import: full-width letters and digits match too.
        key = unicodedata.normalize("NFKC", cells["student_id"]).strip().upper()
        student = students.get(key)
        if not key:
            message = _("The student number (学籍号) is empty.")
        elif key in seen:
            message = _("The same student appears again (first in row %(row)d).", row=seen[key])
        elif student is None:
            message = _("No enrolled student of this school has this student number.")
        else:
            seen[key] = number
            matched.append((number, cells, student))
            continue
        outcome.problems.append(ImportProblem(number, "student_id", cells["student_id"], message))
    return matched


def _payload(cells: Mapping[str, str]) -> dict[str, str]:
    payload = dict(cells)
    status = cells.get("status", "").strip().lower()
    payload["status"] = STATUS_WORDS.get(status, status)
    return payload


def _open(data: bytes, filename: str, required: Sequence[str], optional: Sequence[str]):
    table = open_bytes(data, filename, web_limits(current_app.config))
    present = table.require(required, optional)
    known = {*required, *optional}
    ignored = [name for name in table.header if name and name not in known]
    return table, [*required, *present], ignored


def _read(
    data: bytes,
    filename: str,
    school: School,
    required: Sequence[str],
    optional: Sequence[str],
) -> tuple[ImportOutcome, list[tuple[int, dict[str, str], Student]], list[str]]:
    outcome = ImportOutcome()
    try:
        table, columns, outcome.ignored_columns = _open(data, filename, required, optional)
        rows, refused = text_rows(table, columns)
    except InputError as error:
        outcome.problems.append(read_problem(error))
        return outcome, [], []
    outcome.rows = len(rows)
    # A row with a refused character is reported for it alone, and checked no further.
    outcome.problems += text_problems(refused)
    bad = {error.row for error in refused}
    rows = [(number, cells) for number, cells in rows if number not in bad]
    if not rows and not bad:
        outcome.problems.append(ImportProblem(None, None, "", _("The file has no data rows.")))
    return outcome, _match_students(rows, school, outcome), columns


def import_vision(
    data: bytes,
    filename: str,
    school: School,
    vision_round: VisionRound,
    default_day: date,
    user: Any,
) -> ImportOutcome:
    """Check a vision file for a school and round; store it only if every row is good."""
    outcome, matched, _columns = _read(data, filename, school, VISION_REQUIRED, VISION_OPTIONAL)
    checked, good = [], []
    for number, cells, student in matched:
        payload = _payload(cells) | {"measured_on": cells.get("measured_on") or default_day}
        # The grid's checks; the classification is done for all good rows at once.
        fields, errors = entry.check_vision_row(student, vision_round, payload, classify=False)
        outcome.problems += [_problem(number, cells, e) for e in errors]
        checked.append(row := _Row(number, cells, student, fields))
        if not errors:
            good.append(row)
    # Rows whose cells are good are classified even when others are not, so that the
    # doctor sees every problem of the file at once.
    _classify([row for row in good if row.fields["status"] == "measured"], outcome)
    if outcome.problems:
        return _trim(outcome)
    _store(checked, vision_round, user, outcome, VisionRecord, _vision_existing)
    record_event(
        "import",
        target=school,
        detail={"kind": "vision", "round": vision_round.key, **_counts(outcome)},
    )
    records_imported.send(
        school, kind="vision", school_year=vision_round.school_year, rows=outcome.rows
    )
    return outcome


def vision_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Checked rows (each with `.student` and `.fields`) in the core's vision columns."""
    return pd.DataFrame(
        [
            {"student_id": row.student.student_number, "age": row.fields["age"]}
            | {name: row.fields[name] for name in core.VISION_INPUTS}
            | {"ortho_k": row.fields["ortho_k"]}
            for row in rows
        ]
    ).astype({name: "float64" for name in ("age", *core.VISION_INPUTS)})


def _classify(rows: list[_Row], outcome: ImportOutcome) -> None:
    """Classify every measured row at once; if the core refuses the batch, row by row,
    so that every refused row is listed with its own row number."""
    if not rows:
        return
    frame = vision_frame(rows)
    try:
        results = core.classify_vision_frame(frame)
    except ScreeningError:
        results = []
        for row in rows:
            try:
                results.append(
                    core.classify_vision_one(row.fields["age"], row.fields, row.fields["ortho_k"])
                )
            except ScreeningError as error:
                outcome.problems += [
                    _problem(row.number, row.cells, e) for e in entry.core_errors(error)
                ]
    if len(results) == len(rows):
        for row, derived in zip(rows, results, strict=True):
            row.fields.update(derived)


def import_fitness(
    data: bytes,
    filename: str,
    school: School,
    school_year: int,
    default_day: date,
    user: Any,
) -> ImportOutcome:
    """Check a fitness file for a school and school year; store it only if all is good."""
    outcome, matched, columns = _read(data, filename, school, FITNESS_REQUIRED, FITNESS_OPTIONAL)
    checked = []
    missing_columns: set[str] = set()
    good = []
    for number, cells, student in matched:
        grade = student.school_class.grade
        errors = _identity_errors(cells, student, grade)
        payload = _payload(cells) | {"measured_on": cells.get("measured_on") or default_day}
        fields, row_errors = entry.check_fitness_row(
            student, grade, school_year, payload, score=False
        )
        errors += row_errors
        if not errors and fields["status"] == "measured":
            missing_columns |= set(fields["required"]) - set(columns)
        outcome.problems += [_problem(number, cells, e) for e in errors]
        checked.append(row := _Row(number, cells, student, fields))
        if not errors:
            good.append(row)
    for column in sorted(missing_columns):
        message = _("The column is missing, and the standard sets this item for some students.")
        outcome.problems.append(ImportProblem(0, column, "", message))
    if not missing_columns:
        _score([row for row in good if row.fields["status"] == "measured"], outcome)
    if outcome.problems:
        return _trim(outcome)
    for row in checked:
        row.fields.pop("required", None)
    _store(checked, school_year, user, outcome, FitnessRecord, _fitness_existing)
    record_event(
        "import",
        target=school,
        detail={"kind": "fitness", "school_year": school_year, **_counts(outcome)},
    )
    records_imported.send(school, kind="fitness", school_year=school_year, rows=outcome.rows)
    return outcome


def _identity_errors(cells: Mapping[str, str], student: Student, grade: int) -> list[FieldError]:
    """Grade and sex, when the file has them, must agree with the roster's."""
    errors = []
    grade_text = cells.get("grade", "").strip()
    if grade_text and grade_text not in (str(grade), f"{grade}.0"):
        errors.append(FieldError("grade", _("The grade differs from the roster's.")))
    sex_text = cells.get("sex", "").strip().upper()
    if sex_text and SEX_WORDS.get(sex_text) != student.sex:
        errors.append(FieldError("sex", _("The sex differs from the roster's.")))
    return errors


def fitness_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Checked rows (each with `.student` and `.fields`) in the core's scoring columns."""
    return pd.DataFrame(
        [
            {
                "student_id": row.student.student_number,
                "grade": row.fields["grade"],
                "sex": row.fields["sex"],
            }
            | {name: row.fields.get(name) for name in FITNESS_MEASURES}
            for row in rows
        ]
    ).astype({name: "float64" for name in FITNESS_MEASURES})


def _score(rows: list[_Row], outcome: ImportOutcome) -> None:
    if not rows:
        return
    frame = fitness_frame(rows)
    try:
        results = core.score_fitness_frame(frame)
    except ScreeningError:
        results = []
        for row in rows:
            values = {name: row.fields.get(name) for name in FITNESS_MEASURES}
            try:
                results.append(
                    core.score_fitness_one(row.fields["grade"], row.fields["sex"], values)
                )
            except ScreeningError as error:
                outcome.problems += [
                    _problem(row.number, row.cells, e) for e in entry.core_errors(error)
                ]
    if len(results) == len(rows):
        for row, derived in zip(rows, results, strict=True):
            row.fields.update(derived)


def _vision_existing(students: list[int], vision_round: VisionRound) -> dict[int, VisionRecord]:
    records = db.session.scalars(
        select(VisionRecord).where(
            VisionRecord.student_id.in_(students),
            VisionRecord.year == vision_round.year,
            VisionRecord.season == vision_round.season,
        )
    )
    return {record.student_id: record for record in records}


def _fitness_existing(students: list[int], school_year: int) -> dict[int, FitnessRecord]:
    records = db.session.scalars(
        select(FitnessRecord).where(
            FitnessRecord.student_id.in_(students), FitnessRecord.school_year == school_year
        )
    )
    return {record.student_id: record for record in records}


def _store(
    rows: list[_Row],
    round_value: VisionRound | int,
    user: Any,
    outcome: ImportOutcome,
    model: type[VisionRecord] | type[FitnessRecord],
    load_existing: Callable[[list[int], Any], dict[int, Any]],
) -> None:
    existing = load_existing([row.student.id for row in rows], round_value)
    for row in rows:
        record = existing.get(row.student.id)
        if record is None:
            record = model(student_id=row.student.id, **_round_fields(round_value))
            db.session.add(record)
            outcome.created += 1
        else:
            outcome.updated += 1
        for name, value in row.fields.items():
            setattr(record, name, value)
        record.measured_by_id = getattr(user, "id", None)
    db.session.flush()


def _round_fields(round_value: VisionRound | int) -> dict[str, Any]:
    if isinstance(round_value, VisionRound):
        return {"year": round_value.year, "season": round_value.season}
    return {"school_year": round_value}


def _counts(outcome: ImportOutcome) -> dict[str, int]:
    return {"rows": outcome.rows, "created": outcome.created, "updated": outcome.updated}


def _trim(outcome: ImportOutcome) -> ImportOutcome:
    outcome.problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    total = len(outcome.problems)
    outcome.problems = outcome.problems[:PROBLEMS_KEPT]
    outcome.total_problems = total
    return outcome


__all__ = ["VISION_MEASURES", "ImportOutcome", "ImportProblem", "import_fitness", "import_vision"]
