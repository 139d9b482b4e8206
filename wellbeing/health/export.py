"""The national upload file (中国学生体质健康网, 学生体测成绩导入) of a school for a school
year, and the pre-flight check that lists every problem before it is uploaded.

The column names and codes follow the national platform's import template as far as
it could be established (see README, "National upload"): the vision columns and the VA
rule (3.0-5.3, or 0 below 3.0; sphere, cylinder and axis all required) are quoted from
the 2021 upload notes; the grade codes (11-16, 21-23, 31-33), the sex codes (1 male, 2
female) and the order of the other columns are the template as commonly distributed to
schools, not checked against the platform itself. The vision columns come from the
autumn round of the school year (the national collection runs September-December)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from screening import exports
from screening.errors import ScreeningError
from wellbeing.extensions import db
from wellbeing.health import core, entry
from wellbeing.health.labels import STATUS
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.audit import record_event

GRADE_CODES = {
    1: 11,
    2: 12,
    3: 13,
    4: 14,
    5: 15,
    6: 16,
    7: 21,
    8: 22,
    9: 23,
    10: 31,
    11: 32,
    12: 33,
}
SEX_CODES = {"M": 1, "F": 2}
GRADE_NAMES = {
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "初一",
    8: "初二",
    9: "初三",
    10: "高一",
    11: "高二",
    12: "高三",
}
TIMED_AS_MINUTES = ("run800m_s", "run1000m_s", "shuttle_50x8_s")
# (national column, the fitness item it carries)
FITNESS_COLUMNS = (
    ("身高", "height_cm"),
    ("体重", "weight_kg"),
    ("肺活量", "vital_capacity_ml"),
    ("50米跑", "run50m_s"),
    ("立定跳远", "long_jump_cm"),
    ("坐位体前屈", "sit_reach_cm"),
    ("800米跑", "run800m_s"),
    ("1000米跑", "run1000m_s"),
    ("一分钟仰卧起坐", "situps_1min"),
    ("引体向上", "pullups"),
    ("一分钟跳绳", "rope_skip_1min"),
    ("50米×8往返跑", "shuttle_50x8_s"),
)
VISION_COLUMNS = (
    ("左眼裸眼视力", "ucva_left"),
    ("左眼屈光球镜S", "sph_left"),
    ("左眼屈光柱镜C", "cyl_left"),
    ("左屈光轴位A", "axis_left"),
    ("右眼裸眼视力", "ucva_right"),
    ("右眼屈光球镜S", "sph_right"),
    ("右眼屈光柱镜C", "cyl_right"),
    ("右屈光轴位A", "axis_right"),
)
IDENTITY_COLUMNS = (
    "年级编号",
    "班级编号",
    "班级名称",
    "学籍号",
    "民族代码",
    "姓名",
    "性别",
    "出生日期",
    "家庭住址",
)
COLUMNS = (*IDENTITY_COLUMNS, *(c for c, _ in FITNESS_COLUMNS), *(c for c, _ in VISION_COLUMNS))
ITEM_COLUMN = {item: column for column, item in FITNESS_COLUMNS}
EYES = (("right", "右眼"), ("left", "左眼"))


@dataclass(frozen=True)
class Pupil:
    """What the file and the check need of a student (read as plain columns: an ORM
    object per student made the page slow)."""

    id: int
    name: str
    student_number: str
    sex: str
    birth_date: date
    ethnicity: str | None
    grade: int
    class_name: str


@dataclass(frozen=True)
class Problem:
    """One thing to put right before upload; student None: the whole file. `kind` names
    the sort of problem (problems are grouped by kind and column)."""

    student: Pupil | None
    column: str | None
    message: str
    kind: str = ""


@dataclass
class ProblemGroup:
    """The problems of one kind in one column: how many, what to do, the first few."""

    kind: str
    column: str | None
    summary: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.problems)

    @property
    def examples(self) -> list[Problem]:
        return self.problems[:EXAMPLES]


EXAMPLES = 5


@dataclass
class NationalFile:
    school: School
    school_year: int
    vision_round: VisionRound
    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    students: int = 0

    @property
    def groups(self) -> list[ProblemGroup]:
        """The problems by kind and column, the most frequent first."""
        groups: dict[tuple[str, str | None], ProblemGroup] = {}
        for problem in self.problems:
            key = (problem.kind, problem.column)
            if key not in groups:
                summary = str(KIND_SUMMARY.get(problem.kind, problem.message))
                groups[key] = ProblemGroup(problem.kind, problem.column, summary)
            groups[key].problems.append(problem)
        return sorted(groups.values(), key=lambda group: -group.count)


def minutes_seconds(seconds: float) -> str:
    """225 -> 3'45 (the national form writes endurance runs as minutes'seconds)."""
    whole = round(seconds)
    return f"{whole // 60}'{whole % 60:02d}"


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _class_code(student: Pupil) -> str:
    name = student.class_name
    return name if name.isdigit() else ""


def _identity(student: Pupil) -> list[Any]:
    grade = student.grade
    return [
        GRADE_CODES.get(grade),
        _class_code(student),
        f"{GRADE_NAMES.get(grade, grade)}{student.class_name}班",
        student.student_number,
        student.ethnicity,  # 民族代码 (GB/T 3304); empty when unknown, a pre-flight problem
        student.name,
        SEX_CODES.get(student.sex),
        student.birth_date.isoformat(),
        None,  # 家庭住址: not kept by this system
    ]


def _fitness_cells(record: FitnessRecord | None) -> list[Any]:
    cells = []
    for _column, item in FITNESS_COLUMNS:
        value = getattr(record, item) if record is not None else None
        if value is not None and item in TIMED_AS_MINUTES:
            cells.append(minutes_seconds(value))
        else:
            cells.append(_number(value))
    return cells


def _vision_cells(record: VisionRecord | None) -> list[Any]:
    return [
        _number(getattr(record, name)) if record is not None else None for _, name in VISION_COLUMNS
    ]


# What each kind of problem says in the group's heading (translated when shown).
KIND_SUMMARY = {
    "no_grade_code": _l("No national code for this grade."),
    "no_sex_code": _l("No national code for this sex."),
    "no_ethnicity": _l("No ethnicity in the roster."),
    "class_code": _l("The class name is not a number, so the class code is left empty."),
    "no_fitness": _l("No fitness record."),
    "no_vision": _l("No vision record."),
    "fitness_not_tested": _l("Fitness not tested (absent or exempt)."),
    "vision_not_tested": _l("Vision not tested (absent or exempt)."),
    "no_table": _l("No scoring table for this grade and sex: it cannot be scored."),
    "item_empty": _l("Required for this grade, but empty."),
    "ucva_empty": _l("Empty."),
    "ucva_range": _l("Must be from 3.0 to 5.3, or 0 below 3.0."),
    "refraction": _l("Sphere, cylinder and axis must all be present."),
}


class _Words:
    """The check's messages, translated once per file rather than once per problem."""

    def __init__(self) -> None:
        self.fixed = {kind: str(message) for kind, message in KIND_SUMMARY.items()}
        self.fitness_not_tested = _("Fitness not tested (%(status)s: %(reason)s).")
        self.vision_not_tested = _("Vision not tested (%(status)s: %(reason)s).")
        self.status = {name: str(label) for name, label in STATUS.items()}


def _identity_problems(student: Pupil, words: _Words) -> list[Problem]:
    problems = []
    if student.grade not in GRADE_CODES:
        problems.append(Problem(student, "年级编号", words.fixed["no_grade_code"], "no_grade_code"))
    if student.sex not in SEX_CODES:
        problems.append(Problem(student, "性别", words.fixed["no_sex_code"], "no_sex_code"))
    if student.ethnicity is None:
        problems.append(Problem(student, "民族代码", words.fixed["no_ethnicity"], "no_ethnicity"))
    if not _class_code(student):
        problems.append(Problem(student, "班级编号", words.fixed["class_code"], "class_code"))
    return problems


def _not_measured(student: Pupil, record: Any, fitness: bool, words: _Words) -> list[Problem]:
    if record is None:
        kind = "no_fitness" if fitness else "no_vision"
        return [Problem(student, None, words.fixed[kind], kind)]
    if record.status == "measured":
        return []
    template = words.fitness_not_tested if fitness else words.vision_not_tested
    status = words.status.get(record.status, record.status)
    message = template % {"status": status, "reason": record.reason or ""}
    kind = "fitness_not_tested" if fitness else "vision_not_tested"
    return [Problem(student, None, message, kind)]


def fitness_problems(student: Pupil, record: Any, words: _Words | None = None) -> list[Problem]:
    words = words or _Words()
    not_measured = _not_measured(student, record, True, words)
    if not_measured:
        return not_measured
    problems = []
    try:
        required = _required(record.grade, record.sex)
    except ScreeningError as error:  # no table: say so, do not guess
        return [Problem(student, None, entry.core_message(error), "no_table")]
    for item in required:
        if getattr(record, item, None) is None:
            column = ITEM_COLUMN.get(item, item)
            problems.append(Problem(student, column, words.fixed["item_empty"], "item_empty"))
    return problems


@cache
def _required(grade: int, sex: str) -> tuple[str, ...]:
    return tuple(core.required_fitness_items(grade, sex))


def vision_problems(student: Pupil, record: Any, words: _Words | None = None) -> list[Problem]:
    words = words or _Words()
    not_measured = _not_measured(student, record, False, words)
    if not_measured:
        return not_measured
    problems = []
    for eye, label in EYES:
        ucva = getattr(record, f"ucva_{eye}")
        if ucva is None:
            problems.append(
                Problem(student, f"{label}裸眼视力", words.fixed["ucva_empty"], "ucva_empty")
            )
        elif ucva != 0 and not 3.0 <= ucva <= 5.3:
            problems.append(
                Problem(student, f"{label}裸眼视力", words.fixed["ucva_range"], "ucva_range")
            )
        refraction = [getattr(record, f"{part}_{eye}") for part in ("sph", "cyl", "axis")]
        if any(value is None for value in refraction):
            problems.append(
                Problem(student, f"{label}屈光", words.fixed["refraction"], "refraction")
            )
    return problems


FITNESS_FIELDS = ("status", "reason", "grade", "sex", *(item for _, item in FITNESS_COLUMNS))
VISION_FIELDS = ("status", "reason", *(item for _, item in VISION_COLUMNS))


def _rows(school: School, school_year: int, vision_round: VisionRound) -> list[Any]:
    """Every enrolled student of the school with the school year's fitness record and
    the round's vision record, in one query of plain columns (by grade, class, number)."""
    fitness = FitnessRecord.__table__.c
    vision = VisionRecord.__table__.c
    query = (
        select(
            Student.id,
            Student.name,
            Student.student_number,
            Student.sex,
            Student.birth_date,
            Student.ethnicity,
            SchoolClass.grade,
            SchoolClass.name.label("class_name"),
            fitness.id.label("f_id"),
            *(fitness[name].label(f"f_{name}") for name in FITNESS_FIELDS),
            vision.id.label("v_id"),
            *(vision[name].label(f"v_{name}") for name in VISION_FIELDS),
        )
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .outerjoin(
            FitnessRecord.__table__,
            and_(fitness.student_id == Student.id, fitness.school_year == school_year),
        )
        .outerjoin(
            VisionRecord.__table__,
            and_(
                vision.student_id == Student.id,
                vision.year == vision_round.year,
                vision.season == vision_round.season,
            ),
        )
        .where(SchoolClass.school_id == school.id, Student.status == "enrolled")
        .order_by(*SchoolClass.ordering(), Student.student_number)
    )
    return list(db.session.execute(query))


# Positions in a row of _rows: the student's 8 columns, then each record's id and fields.
_FITNESS_AT = 8
_VISION_AT = _FITNESS_AT + 1 + len(FITNESS_FIELDS)


def _record(row: Any, at: int, names: tuple[str, ...]) -> SimpleNamespace | None:
    if row[at] is None:
        return None
    return SimpleNamespace(**dict(zip(names, row[at + 1 : at + 1 + len(names)], strict=True)))


def build(school: School, school_year: int) -> NationalFile:
    """Rows and pre-flight problems for every enrolled student of the school."""
    vision_round = VisionRound(school_year, 1)
    result = NationalFile(school, school_year, vision_round)
    words = _Words()
    for row in _rows(school, school_year, vision_round):
        student = Pupil(*row[:8])
        f_record = _record(row, _FITNESS_AT, FITNESS_FIELDS)
        v_record = _record(row, _VISION_AT, VISION_FIELDS)
        result.rows.append(
            [*_identity(student), *_fitness_cells(f_record), *_vision_cells(v_record)]
        )
        result.problems += _identity_problems(student, words)
        result.problems += fitness_problems(student, f_record, words)
        result.problems += vision_problems(student, v_record, words)
        result.students += 1
    return result


TEXT_COLUMNS = {"班级编号", "学籍号", "民族代码", "出生日期", "800米跑", "1000米跑", "50米×8往返跑"}


def workbook_bytes(national: NationalFile) -> bytes:
    # Text cells stay text in Excel (a 学籍号 must not become a number).
    text = [name in TEXT_COLUMNS for name in COLUMNS]
    rows: list[list[Any]] = [list(COLUMNS)]
    for row in national.rows:
        cells = zip(row, text, strict=True)
        rows.append(
            [exports.Formatted(value, "@") if is_text else value for value, is_text in cells]
        )
    return exports.plain_xlsx_bytes([exports.Sheet("学生体测成绩", rows)])


def export(school: School, school_year: int, audit: Callable[..., Any] = record_event) -> bytes:
    """The XLSX file, audited (action "export") with its row and problem counts."""
    national = build(school, school_year)
    audit(
        "export",
        target=school,
        detail={
            "kind": "national_fitness",
            "school_year": school_year,
            "vision_round": national.vision_round.key,
            "rows": len(national.rows),
            "problems": len(national.problems),
        },
    )
    return workbook_bytes(national)


def problem_rows(national: NationalFile) -> list[list[Any]]:
    """The pre-flight problems one a line, with a header in the user's language."""
    header = [_("Student number"), _("Name"), _("Class"), _("Column"), _("Problem")]
    rows: list[list[Any]] = [header]
    whole = _("Whole file")
    for problem in national.problems:
        student = problem.student
        if student is None:
            rows.append(["", whole, "", problem.column or "", problem.message])
            continue
        rows.append(
            [
                exports.Formatted(student.student_number, "@"),
                student.name,
                class_name(student.grade, student.class_name),
                problem.column or "",
                problem.message,
            ]
        )
    return rows


def problems_file(
    school: School, school_year: int, kind: str, audit: Callable[..., Any] = record_event
) -> bytes:
    """The whole list of pre-flight problems as CSV or XLSX, audited like the file."""
    national = build(school, school_year)
    audit(
        "export",
        target=school,
        detail={
            "kind": "national_fitness_problems",
            "format": kind,
            "school_year": school_year,
            "problems": len(national.problems),
        },
    )
    rows = problem_rows(national)
    if kind == "csv":
        return exports.csv_bytes(rows)
    return exports.plain_xlsx_bytes(
        [exports.Sheet(_("Problems"), rows, widths=[22, 12, 14, 16, 60])]
    )
