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
from typing import Any

from flask_babel import gettext as _

from screening import exports
from screening.errors import ScreeningError
from wellbeing.health import core, entry, queries
from wellbeing.health.labels import STATUS
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.models import School, Student
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
class Problem:
    """One thing to put right before upload; student None: the whole file."""

    student: Student | None
    column: str | None
    message: str


@dataclass
class NationalFile:
    school: School
    school_year: int
    vision_round: VisionRound
    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    students: int = 0


def minutes_seconds(seconds: float) -> str:
    """225 -> 3'45 (the national form writes endurance runs as minutes'seconds)."""
    whole = round(seconds)
    return f"{whole // 60}'{whole % 60:02d}"


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _class_code(student: Student) -> str:
    name = student.school_class.name
    return name if name.isdigit() else ""


def _identity(student: Student) -> list[Any]:
    grade = student.school_class.grade
    return [
        GRADE_CODES.get(grade),
        _class_code(student),
        f"{GRADE_NAMES.get(grade, grade)}{student.school_class.name}班",
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


def _identity_problems(student: Student) -> list[Problem]:
    problems = []
    if student.school_class.grade not in GRADE_CODES:
        problems.append(Problem(student, "年级编号", _("No national code for this grade.")))
    if student.sex not in SEX_CODES:
        problems.append(Problem(student, "性别", _("No national code for this sex.")))
    if student.ethnicity is None:
        problems.append(Problem(student, "民族代码", _("No ethnicity in the roster.")))
    if not _class_code(student):
        message = _("The class name is not a number, so the class code is left empty.")
        problems.append(Problem(student, "班级编号", message))
    return problems


def _not_measured(student: Student, record: Any, fitness: bool) -> list[Problem]:
    if record is None:
        message = _("No fitness record.") if fitness else _("No vision record.")
        return [Problem(student, None, message)]
    if record.status == "measured":
        return []
    reason = record.reason or ""
    if fitness:
        message = _(
            "Fitness not tested (%(status)s: %(reason)s).", status=_status(record), reason=reason
        )
    else:
        message = _(
            "Vision not tested (%(status)s: %(reason)s).", status=_status(record), reason=reason
        )
    return [Problem(student, None, message)]


def _status(record: Any) -> str:
    return str(STATUS.get(record.status, record.status))


def fitness_problems(student: Student, record: FitnessRecord | None) -> list[Problem]:
    not_measured = _not_measured(student, record, fitness=True)
    if not_measured:
        return not_measured
    problems = []
    try:
        required = core.required_fitness_items(record.grade, record.sex)
    except ScreeningError as error:  # no table: say so, do not guess
        return [Problem(student, None, entry.core_message(error))]
    for item in required:
        if getattr(record, item, None) is None:
            column = ITEM_COLUMN.get(item, item)
            problems.append(Problem(student, column, _("Required for this grade, but empty.")))
    return problems


def vision_problems(student: Student, record: VisionRecord | None) -> list[Problem]:
    not_measured = _not_measured(student, record, fitness=False)
    if not_measured:
        return not_measured
    problems = []
    for eye, label in EYES:
        ucva = getattr(record, f"ucva_{eye}")
        if ucva is None:
            problems.append(Problem(student, f"{label}裸眼视力", _("Empty.")))
        elif ucva != 0 and not 3.0 <= ucva <= 5.3:
            message = _("Must be from 3.0 to 5.3, or 0 below 3.0.")
            problems.append(Problem(student, f"{label}裸眼视力", message))
        refraction = [getattr(record, f"{part}_{eye}") for part in ("sph", "cyl", "axis")]
        if any(value is None for value in refraction):
            message = _("Sphere, cylinder and axis must all be present.")
            problems.append(Problem(student, f"{label}屈光", message))
    return problems


def build(school: School, school_year: int) -> NationalFile:
    """Rows and pre-flight problems for every enrolled student of the school."""
    vision_round = VisionRound(school_year, 1)
    result = NationalFile(school, school_year, vision_round)
    students = queries.school_students(school)
    ids = [student.id for student in students]
    fitness = queries.fitness_by_student(ids, school_year)
    vision = queries.vision_by_student(ids, vision_round)
    result.students = len(students)
    for student in students:
        f_record, v_record = fitness.get(student.id), vision.get(student.id)
        result.rows.append(
            [*_identity(student), *_fitness_cells(f_record), *_vision_cells(v_record)]
        )
        result.problems += _identity_problems(student)
        result.problems += fitness_problems(student, f_record)
        result.problems += vision_problems(student, v_record)
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
    return exports.xlsx_bytes([exports.Sheet("学生体测成绩", rows)])


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
