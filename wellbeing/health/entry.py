"""Saving one row of the entry grid: parse what the doctor typed, let the pure core
classify or score it, store the record with its derived values (or nothing, with the
column at fault). Services flush; the request commits."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from screening import fitness
from screening.errors import ScreeningError
from wellbeing.clock import utcnow
from wellbeing.database import row_id
from wellbeing.extensions import db
from wellbeing.health import core
from wellbeing.health.core import FieldError
from wellbeing.health.models import (
    FITNESS_ITEMS,
    FITNESS_MEASURES,
    REASON_LENGTH,
    STATUSES,
    VISION_MEASURES,
    FitnessRecord,
    VisionRecord,
)
from wellbeing.health.rounds import VisionRound, age_on, school_year_for, vision_round_for
from wellbeing.roster.models import SchoolClass, Student
from wellbeing.text_input import TextFields

TRUE_TEXT = {"true", "1", "yes", "y", "是", "有", "√"}
FALSE_TEXT = {"false", "0", "no", "n", "否", "无", ""}


class BadValue(ValueError):
    """A cell that is not the kind of value its column holds."""


@dataclass
class RowOutcome:
    """The result of saving one row: the record, or the errors (then nothing was stored)."""

    errors: list[FieldError] = field(default_factory=list)
    record: VisionRecord | FitnessRecord | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_number(value: Any) -> float | None:
    """A typed or imported cell as a number; empty is None. Full-width digits and a
    decimal comma (as some keyboards type it) are accepted."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue(value)
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", ".")
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise BadValue(value) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(value)
    return number


def parse_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    raise BadValue(value)


def parse_day(value: Any, default: date) -> date:
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text.replace("/", "-").replace(".", "-")[:10])
    except ValueError:
        raise BadValue(value) from None


def _status_and_reason(payload: Mapping[str, Any]) -> tuple[str, str | None, list[FieldError]]:
    status = str(payload.get("status") or "measured").strip()
    reason = str(payload.get("reason") or "").strip() or None
    errors = []
    if status not in STATUSES:
        errors.append(FieldError("status", _("Choose measured, absent or exempt.")))
    elif status != "measured" and not reason:
        errors.append(FieldError("reason", _("Give the reason the student was not measured.")))
    if reason and len(reason) > REASON_LENGTH:
        errors.append(FieldError("reason", _("The reason is too long.")))
    return status, reason if status != "measured" else None, errors


def parse_time(value: Any) -> float | None:
    """A run time in seconds, typed as 230, 3'50", 3′50″, 3:50 or 3分50秒."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return parse_number(value)
    try:
        return fitness.seconds_from_text(str(value))
    except ValueError:
        raise BadValue(value) from None


def _numbers(payload: Mapping[str, Any], columns: tuple[str, ...]) -> tuple[dict, list]:
    """Each column's number (None when empty or refused), and an error per refused cell."""
    values: dict[str, float | None] = {}
    errors = []
    for column in columns:
        timed = column in fitness.TIMED_COLUMNS
        try:
            values[column] = (parse_time if timed else parse_number)(payload.get(column))
        except BadValue:
            values[column] = None
            shown = str(payload.get(column))
            if timed:
                message = _("Not a time: %(value)s. Write seconds (230) or 3'50\".", value=shown)
            else:
                message = _("Not a number: %(value)s.", value=shown)
            errors.append(FieldError(column, message))
    return values, errors


def _axis_errors(values: Mapping[str, float | None]) -> list[FieldError]:
    errors = []
    for column in ("axis_right", "axis_left"):
        axis = values.get(column)
        if axis is not None and (axis != int(axis) or not 0 <= axis <= 180):
            errors.append(FieldError(column, _("The axis is a whole number from 0 to 180.")))
    return errors


def _date_errors(day: date, expected: VisionRound | int) -> list[FieldError]:
    if day > utcnow().date():
        return [FieldError("measured_on", _("The date is in the future."))]
    if isinstance(expected, VisionRound):
        wrong = vision_round_for(day) != expected
    else:
        wrong = school_year_for(day) != expected
    if wrong:
        return [FieldError("measured_on", _("The date does not fall in this round."))]
    return []


# The core's error codes (screening.errors.ERROR_CODES) in words; params are its own.
CORE_MESSAGES = {
    "missing_column": _l("The required column is missing."),
    "duplicate_column": _l("The column appears more than once in the header."),
    "not_a_number": _l("Not a number: %(value)s."),
    "out_of_range": _l("Impossible value: %(value)s is outside %(low)s to %(high)s (%(unit)s)."),
    "not_whole": _l("%(value)s is not a whole number."),
    "not_flag": _l("%(value)s is neither yes nor no."),
    "empty": _l("Empty."),
    "no_id": _l("The student number is empty, but the row has measurements."),
    "bad_grade": _l("%(value)s is not a grade from 1 to 12."),
    "bad_sex": _l("%(value)s is not a sex (M, F, 男 or 女)."),
    "column_needed": _l("The column is missing, and the standard sets this item for this grade."),
    "no_table": _l("No scoring table for this grade and sex: it cannot be scored."),
}
UNITS = {
    "years": _l("years"),
    "five_point": _l("5-point notation, 0 for below 3.0"),
    "dioptres": _l("dioptres"),
    "mL": _l("mL"),
    "s": _l("seconds"),
    "cm": _l("cm"),
    "kg": _l("kg"),
    "skips": _l("skips"),
    "sit-ups": _l("sit-ups"),
    "pull-ups": _l("pull-ups"),
}


def core_message(error: ScreeningError) -> str:
    """One refusal of the core in the user's language, from its code and figures."""
    code = getattr(error, "code", "")
    params = dict(getattr(error, "params", {}) or {})
    if "unit" in params:
        params["unit"] = str(UNITS.get(params["unit"], params["unit"]))
    if code == "missing_column" and params.get("also"):
        return _("The required column is missing (also missing: %(also)s).", also=params["also"])
    if code in CORE_MESSAGES:
        return str(CORE_MESSAGES[code]) % params if params else str(CORE_MESSAGES[code])
    if core.is_missing_table(error):
        return str(CORE_MESSAGES["no_table"])
    return _("Impossible value.")


def core_errors(error: ScreeningError) -> list[FieldError]:
    """Every refusal the core found in the same check (a row checked alone: all of its
    problems), each with its column, in words people can read."""
    found = getattr(error, "found", None) or (error,)
    return [FieldError(core.error_column(each), core_message(each)) for each in found]


def core_error(error: ScreeningError) -> FieldError:
    """The core's (first) refusal as a field error people can read."""
    return core_errors(error)[0]


def class_student(school_class: SchoolClass, student_id: Any) -> Student | None:
    """The enrolled student of this class with that id (ids typed by a client: checked)."""
    ident = row_id(student_id)
    if ident is None:
        return None
    return db.session.scalar(
        select(Student).where(
            Student.id == ident,
            Student.class_id == school_class.id,
            Student.status == "enrolled",
        )
    )


def _measured_on(payload: Mapping[str, Any], expected: VisionRound | int) -> tuple[date, list]:
    try:
        day = parse_day(payload.get("measured_on"), utcnow().date())
    except BadValue:
        return utcnow().date(), [FieldError("measured_on", _("Not a date (YYYY-MM-DD)."))]
    return day, _date_errors(day, expected)


def vision_record_for(student: Student, vision_round: VisionRound) -> VisionRecord | None:
    return db.session.scalar(
        select(VisionRecord).where(
            VisionRecord.student_id == student.id,
            VisionRecord.year == vision_round.year,
            VisionRecord.season == vision_round.season,
        )
    )


def fitness_record_for(student: Student, school_year: int) -> FitnessRecord | None:
    return db.session.scalar(
        select(FitnessRecord).where(
            FitnessRecord.student_id == student.id, FitnessRecord.school_year == school_year
        )
    )


# What an absent or exempt student's record holds: no measurement, so nothing stale is
# ever reported, printed or exported for them.
NO_VISION = dict.fromkeys(VISION_MEASURES) | dict.fromkeys(core.VISION_DERIVED) | {"ortho_k": False}


def _vision_values(payload: Mapping[str, Any]) -> tuple[dict, bool, list[FieldError]]:
    values, errors = _numbers(payload, VISION_MEASURES)
    errors += _axis_errors(values)
    try:
        ortho_k = parse_flag(payload.get("ortho_k"))
    except BadValue:
        ortho_k = False
        errors.append(FieldError("ortho_k", _("Yes or no.")))
    if all(values[c] is None for c in VISION_MEASURES) and not ortho_k and not errors:
        errors.append(FieldError(None, _("Enter a measurement, or mark the student absent.")))
    values["axis_right"] = _whole(values.get("axis_right"))
    values["axis_left"] = _whole(values.get("axis_left"))
    return values, ortho_k, errors


def _without(values: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """The values with the refused ones emptied, so that the core judges the rest."""
    refused = {error.column for error in errors}
    return {name: None if name in refused else value for name, value in values.items()}


def check_vision_row(
    student: Student,
    vision_round: VisionRound,
    payload: Mapping[str, Any],
    *,
    classify: bool = True,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Everything a vision record needs from one row, or all of its errors at once. No
    writes. Without `classify` the derived values of a good row are left for the caller
    (an import classifies every row at once)."""
    status, reason, errors = _status_and_reason(payload)
    day, date_errors = _measured_on(payload, vision_round)
    errors += date_errors
    fields: dict[str, Any] = {"status": status, "reason": reason, "measured_on": day}
    fields["age"] = age_on(student.birth_date, day)
    if status != "measured":
        return fields | NO_VISION, errors
    values, ortho_k, value_errors = _vision_values(payload)
    errors += value_errors
    if not classify and not errors:
        return fields | values | {"ortho_k": ortho_k}, []
    try:
        derived = core.classify_vision_one(fields["age"], _without(values, errors), ortho_k)
    except ScreeningError as error:
        return fields, errors + core_errors(error)
    if errors:
        return fields, errors
    return fields | values | {"ortho_k": ortho_k} | derived, []


def _whole(value: float | None) -> int | None:
    # An axis that failed its check stays as typed; the row is refused anyway.
    return int(value) if value is not None and value == int(value) else value


def check_fitness_row(
    student: Student,
    grade: int,
    school_year: int,
    payload: Mapping[str, Any],
    *,
    score: bool = True,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Everything a fitness record needs from one row, or the errors. No writes.
    Items the standard does not set for the grade and sex are not kept. Without `score`
    the scores are left for the caller, and "required" lists the grade's items."""
    status, reason, errors = _status_and_reason(payload)
    day, date_errors = _measured_on(payload, school_year)
    errors += date_errors
    fields: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "measured_on": day,
        "grade": grade,
        "sex": student.sex,
    }
    empty = dict.fromkeys(FITNESS_MEASURES) | dict.fromkeys(core.FITNESS_DERIVED)
    if status != "measured":
        return fields | empty | {"item_scores": None}, errors
    try:
        required = core.required_fitness_items(grade, student.sex)
    except ScreeningError as error:
        return fields, [*errors, *core_errors(error)]
    columns = ("height_cm", "weight_kg", *(c for c in FITNESS_ITEMS if c in required))
    values, number_errors = _numbers(payload, columns)
    errors += number_errors
    if all(value is None for value in values.values()) and not errors:
        errors.append(FieldError(None, _("Enter a measurement, or mark the student absent.")))
    if not score and not errors:
        return fields | empty | values | {"required": required}, []
    try:
        derived = core.score_fitness_one(grade, student.sex, _without(values, errors))
    except ScreeningError as error:
        return fields, errors + core_errors(error)
    if errors:
        return fields, errors
    return fields | empty | values | derived, []


def store_vision(
    student: Student, vision_round: VisionRound, fields: Mapping[str, Any], user: Any
) -> VisionRecord:
    record = vision_record_for(student, vision_round) or VisionRecord(
        student=student, year=vision_round.year, season=vision_round.season
    )
    return _write(record, fields, user)


def store_fitness(
    student: Student, school_year: int, fields: Mapping[str, Any], user: Any
) -> FitnessRecord:
    record = fitness_record_for(student, school_year) or FitnessRecord(
        student=student, school_year=school_year
    )
    return _write(record, fields, user)


def _write(record: Any, fields: Mapping[str, Any], user: Any) -> Any:
    """Create or update a record with checked fields, noting who measured."""
    db.session.add(record)
    for name, value in fields.items():
        setattr(record, name, value)
    record.measured_by_id = getattr(user, "id", None)
    db.session.flush()
    return record


def typed_text(payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """A grid row's typed text cleaned by screening.text's rule (NFC, no control
    characters); each refused value is its column's error."""
    fields = TextFields(payload)
    cleaned = {
        key: fields.get(key) if isinstance(value, str) else value for key, value in payload.items()
    }
    return cleaned, [FieldError(column, message) for column, message in fields.errors.items()]


def save_vision_row(
    school_class: SchoolClass, vision_round: VisionRound, payload: Mapping[str, Any], user: Any
) -> RowOutcome:
    payload, errors = typed_text(payload)
    if errors:
        return RowOutcome(errors)
    student = class_student(school_class, payload.get("student"))
    if student is None:
        return RowOutcome([FieldError("student", _("No such student in this class."))])
    fields, errors = check_vision_row(student, vision_round, payload)
    if errors:
        return RowOutcome(errors)
    return RowOutcome(record=store_vision(student, vision_round, fields, user))


def save_fitness_row(
    school_class: SchoolClass, school_year: int, payload: Mapping[str, Any], user: Any
) -> RowOutcome:
    payload, errors = typed_text(payload)
    if errors:
        return RowOutcome(errors)
    student = class_student(school_class, payload.get("student"))
    if student is None:
        return RowOutcome([FieldError("student", _("No such student in this class."))])
    fields, errors = check_fitness_row(student, school_class.grade, school_year, payload)
    if errors:
        return RowOutcome(errors)
    return RowOutcome(record=store_fitness(student, school_year, fields, user))


def vision_json(record: VisionRecord) -> dict[str, Any]:
    """What the grid shows of a saved vision row."""
    names = ("status", "reason", *VISION_MEASURES, "ortho_k", *core.VISION_DERIVED)
    data = {name: getattr(record, name) for name in names}
    data["measured_on"] = record.measured_on.isoformat()
    data["age"] = record.age
    return data


def fitness_json(record: FitnessRecord) -> dict[str, Any]:
    names = ("status", "reason", *FITNESS_MEASURES, *core.FITNESS_DERIVED, "item_scores")
    data = {name: getattr(record, name) for name in names}
    data["measured_on"] = record.measured_on.isoformat()
    return data
