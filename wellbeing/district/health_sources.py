"""The district's health indicators: screening myopia, poor vision and high myopia from
the school year's autumn vision round, and the national fitness standard's ratings and
BMI classes from the school year's fitness tests, each counted per school, grade and sex.

The vision and fitness records are in clear (README, "What is sealed at rest"), so each
source is one grouped query over a whole district: counts only, never a student.

Which cells a record counts in:
- The school is the school of the student's class today: the roster keeps no history
  of enrolment, so a student who changed school is counted where they are now.
- A vision record carries no grade. The grade it was taken in follows from the class's
  stage entry year (2026级 of a junior school started grade 7 in 2026): the stage's first
  grade plus the school years since. Records from before grade 1 (kindergarten) or after
  grade 12 are left out, as is any record not `measured` (absent, exempt).
- A fitness record carries the grade and sex it was scored by; those are used.

The denominators are the summaries' (wellbeing/health/summaries.py), so a school's page
and the district agree: a vision rate counts students with both eyes' results, so a
half-measured student biases neither way."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, select

from screening.indicators import AT_LEAST, AT_MOST, POINTS, Indicator, Tally
from wellbeing.district.indicators import Source, register_indicator
from wellbeing.extensions import db
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import SEASONS
from wellbeing.roster.models import School, SchoolClass, Student

GROUP = "health"
# The autumn round opens the school year and is the one every school holds (the spring
# round is optional), so a school year's vision figures are its autumn round's.
AUTUMN = SEASONS[1]

# ----------------------------------------------------------------------------- sources
# The Chinese texts name the documents; the English ones also the reference files in
# ../shared/data/ the rules were taken from (the interface shows no file path in Chinese).

MYOPIA_STANDARD = {
    "zh": "《儿童青少年近视防控适宜技术指南》（国家卫生健康委）：6岁及以上，裸眼视力<5.0且"
    "非睫状肌麻痹验光等效球镜≤−0.50 D为筛查性近视；等效球镜按WS/T 663-2020第3.5条",
    "en": "NHC guideline on myopia prevention (适宜技术指南): age 6 and over, uncorrected "
    "acuity below 5.0 and non-cycloplegic SE ≤ −0.50 D is screening myopia; SE per WS/T "
    "663-2020 §3.5 (shared/data/vision/README.md)",
}
MYOPIA_PLAN = {
    "zh": "教育部等八部门《综合防控儿童青少年近视实施方案》（教体艺〔2018〕3号）：总体近视率"
    "每年降低0.5个百分点以上",
    "en": "Eight ministries' plan on child and adolescent myopia (教体艺〔2018〕3号): the "
    "overall myopia rate to fall by at least 0.5 points a year",
}
HIGH_MYOPIA_SOURCE = {
    "zh": "《近视防治指南》（2018）：高度近视为等效球镜<−6.00 D（分度为回忆所得，未与原文复核）",
    "en": "近视防治指南 (2018): high myopia is SE below −6.00 D (shared/data/vision/README.md: "
    "the bands are recalled, not re-verified against the guideline's text)",
}
POOR_VISION_SOURCE = {
    "zh": "视力不良分级（6岁及以上）：较差眼裸眼视力 4.9 轻度，4.6–4.8 中度，≤4.5 重度",
    "en": "Poor-vision grading (shared/data/vision/poor_vision_grading.csv, age 6 and "
    "over), by the worse eye's uncorrected acuity: 4.9 mild, 4.6–4.8 moderate, ≤ 4.5 severe",
}
FITNESS_STANDARD = {
    "zh": "《国家学生体质健康标准（2014年修订）》（教体艺〔2014〕5号）：总分≥90.0优秀，"
    "80.0–89.9良好，60.0–79.9及格",
    "en": "National student physical fitness standard (2014, 教体艺〔2014〕5号): total "
    "≥ 90.0 excellent, 80.0–89.9 good, 60.0–79.9 pass (shared/data/fitness/grade_bands.csv)",
}
BMI_STANDARD = {
    "zh": "《国家学生体质健康标准（2014年修订）》体重指数分年级、性别等级",
    "en": "National student physical fitness standard (2014): BMI bands by grade and sex "
    "(shared/data/fitness/bmi.csv)",
}

# ----------------------------------------------------------------------------- counting


def _grade_then(school_year: int) -> ColumnElement[int]:
    """The grade a class's students were in during `school_year`: the first grade of
    the class's stage (primary 1, junior 7, senior 10) plus the years since it began."""
    stage_start = case((SchoolClass.grade <= 6, 1), (SchoolClass.grade <= 9, 7), else_=10)
    # The year as SQL text, not a bound parameter: PostgreSQL matches the GROUP BY to the
    # selected expression only when both are written the same.
    return stage_start + (literal_column(str(int(school_year))) - SchoolClass.entry_year)


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _tallies(rows: Iterable) -> list[Tally]:
    return [
        Tally(school, grade, sex, int(n or 0), int(d or 0)) for school, grade, sex, n, d in rows
    ]


def _vision_counts(
    district_id: int, school_year: int, numerator: ColumnElement[bool], valid: ColumnElement[bool]
) -> list[Tally]:
    """Per school, grade then and sex: students of the autumn round with a valid result
    (`valid`), and those among them that `numerator` holds for."""
    grade = _grade_then(school_year)
    rows = db.session.execute(
        select(
            SchoolClass.school_id,
            grade,
            Student.sex,
            _sum(and_(valid, numerator)),
            _sum(valid),
        )
        .select_from(VisionRecord)
        .join(Student, Student.id == VisionRecord.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(
            School.district_id == district_id,
            VisionRecord.year == school_year,
            VisionRecord.season == AUTUMN,
            VisionRecord.status == "measured",
            grade.between(1, 12),
        )
        .group_by(SchoolClass.school_id, grade, Student.sex)
    )
    return _tallies(rows)


def _fitness_counts(
    district_id: int, school_year: int, numerator: ColumnElement[bool], valid: ColumnElement[bool]
) -> list[Tally]:
    """Per school, grade and sex (as the record was scored): students tested in the
    school year with a valid result, and those among them that `numerator` holds for."""
    rows = db.session.execute(
        select(
            SchoolClass.school_id,
            FitnessRecord.grade,
            FitnessRecord.sex,
            _sum(and_(valid, numerator)),
            _sum(valid),
        )
        .select_from(FitnessRecord)
        .join(Student, Student.id == FitnessRecord.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(
            School.district_id == district_id,
            FitnessRecord.school_year == school_year,
            FitnessRecord.status == "measured",
        )
        .group_by(SchoolClass.school_id, FitnessRecord.grade, FitnessRecord.sex)
    )
    return _tallies(rows)


# A screening-myopia result: classified, from both eyes' acuity and refraction (an
# Ortho-K wearer counts as myopic without a refraction, as the core classifies).
MYOPIA_VALID = and_(
    VisionRecord.myopia.is_not(None),
    or_(
        VisionRecord.ortho_k.is_(True),
        and_(
            VisionRecord.ucva_right.is_not(None),
            VisionRecord.ucva_left.is_not(None),
            VisionRecord.se_right.is_not(None),
            VisionRecord.se_left.is_not(None),
        ),
    ),
)
# A poor-vision result: graded, from both eyes' acuity.
POOR_VISION_VALID = and_(
    VisionRecord.va_grade.is_not(None),
    VisionRecord.ucva_right.is_not(None),
    VisionRecord.ucva_left.is_not(None),
)
RATED = FitnessRecord.rating.is_not(None)
BMI_CLASSED = FitnessRecord.bmi_class.is_not(None)


def vision_source(numerator: ColumnElement[bool], valid: ColumnElement[bool]) -> Source:
    def source(district_id: int, school_year: int) -> list[Tally]:
        return _vision_counts(district_id, school_year, numerator, valid)

    return source


def fitness_source(numerator: ColumnElement[bool], valid: ColumnElement[bool]) -> Source:
    def source(district_id: int, school_year: int) -> list[Tally]:
        return _fitness_counts(district_id, school_year, numerator, valid)

    return source


# ----------------------------------------------------------------------------- indicators


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


VISION_DENOMINATOR = _t(
    "本学年秋季视力筛查中双眼裸眼视力与验光结果齐全（或配戴角膜塑形镜）、已判定是否筛查性近视的学生数",
    "Students of the school year's autumn vision round with a screening-myopia result "
    "(both eyes' acuity and refraction, or Ortho-K)",
)
POOR_VISION_DENOMINATOR = _t(
    "本学年秋季视力筛查中双眼裸眼视力齐全、已分级的学生数",
    "Students of the school year's autumn vision round with both eyes' uncorrected acuity, graded",
)
RATED_DENOMINATOR = _t(
    "本学年体质健康测试中已评定等级（必测项目齐全）的学生数",
    "Students of the school year's fitness tests with a rating (every required item taken)",
)
BMI_DENOMINATOR = _t(
    "本学年体质健康测试中已判定体重指数等级的学生数",
    "Students of the school year's fitness tests with a BMI class",
)

MYOPIA = register_indicator(
    Indicator(
        id="health_myopia",
        name=_t("筛查性近视率", "Screening myopia rate"),
        definition=_t(
            "本学年秋季视力筛查中筛查性近视学生占有效筛查学生的百分比",
            "Share of students screened as myopic in the school year's autumn vision round, "
            "of those with a valid result",
        ),
        numerator=_t("其中筛查性近视的学生数", "Of them, students screened as myopic"),
        denominator=VISION_DENOMINATOR,
        source=MYOPIA_STANDARD,
        direction=AT_MOST,
        group=GROUP,
    ),
    vision_source(VisionRecord.myopia.is_(True), MYOPIA_VALID),
)
register_indicator(
    Indicator(
        id="health_myopia_change",
        name=_t("筛查性近视率年度变化", "Change in the screening myopia rate"),
        definition=_t(
            "本学年秋季筛查性近视率减上一学年秋季筛查性近视率（百分点）",
            "This school year's autumn screening myopia rate less last school year's, in points",
        ),
        numerator=_t("本学年筛查性近视率", "This school year's screening myopia rate"),
        denominator=_t("上一学年筛查性近视率", "Last school year's screening myopia rate"),
        source=MYOPIA_PLAN,
        unit=POINTS,
        direction=AT_MOST,
        target=-0.5,
        change_of=MYOPIA.id,
        group=GROUP,
    )
)
register_indicator(
    Indicator(
        id="health_high_myopia",
        name=_t("高度近视率", "High myopia rate"),
        definition=_t(
            "本学年秋季视力筛查中筛查性近视且较近视眼等效球镜<−6.00 D的学生占有效筛查学生的百分比",
            "Share of students screened as myopic with the more myopic eye's SE below "
            "−6.00 D in the school year's autumn vision round, of those with a valid result",
        ),
        numerator=_t("其中高度近视的学生数", "Of them, students with high myopia"),
        denominator=VISION_DENOMINATOR,
        source=HIGH_MYOPIA_SOURCE,
        direction=AT_MOST,
        group=GROUP,
    ),
    vision_source(VisionRecord.myopia_degree == "high", MYOPIA_VALID),
)

POOR_VISION_GRADES = {
    "mild": ("轻度", VisionRecord.va_grade == "mild"),
    "moderate": ("中度", VisionRecord.va_grade == "moderate"),
    "severe": ("重度", VisionRecord.va_grade == "severe"),
}
register_indicator(
    Indicator(
        id="health_poor_vision",
        name=_t("视力不良率", "Poor vision rate"),
        definition=_t(
            "本学年秋季视力筛查中较差眼裸眼视力<5.0的学生占有效筛查学生的百分比",
            "Share of students whose worse eye's uncorrected acuity is below 5.0 in the "
            "school year's autumn vision round, of those with both eyes' acuity",
        ),
        numerator=_t("其中视力不良（轻、中、重度）的学生数", "Of them, students with poor vision"),
        denominator=POOR_VISION_DENOMINATOR,
        source=POOR_VISION_SOURCE,
        direction=AT_MOST,
        group=GROUP,
    ),
    vision_source(VisionRecord.va_grade != "normal", POOR_VISION_VALID),
)
for grade_id, (grade_zh, condition) in POOR_VISION_GRADES.items():
    register_indicator(
        Indicator(
            id=f"health_poor_vision_{grade_id}",
            name=_t(f"{grade_zh}视力不良率", f"Poor vision rate, {grade_id}"),
            definition=_t(
                f"本学年秋季视力筛查中{grade_zh}视力不良的学生占有效筛查学生的百分比",
                f"Share of students with {grade_id} poor vision in the school year's autumn "
                "vision round, of those with both eyes' acuity",
            ),
            numerator=_t(f"其中{grade_zh}视力不良的学生数", f"Of them, {grade_id} poor vision"),
            denominator=POOR_VISION_DENOMINATOR,
            source=POOR_VISION_SOURCE,
            direction=AT_MOST,
            group=GROUP,
        ),
        vision_source(condition, POOR_VISION_VALID),
    )

RATING_ZH = {"pass": "及格", "good": "良好", "excellent": "优秀"}
# (id, zh, en, the ratings counted in the numerator)
RATING_RATES = (
    ("pass", "达标率（及格及以上）", "Pass rate (pass or better)", ("pass", "good", "excellent")),
    ("good", "优良率（良好及以上）", "Good rate (good or excellent)", ("good", "excellent")),
    ("excellent", "优秀率", "Excellent rate", ("excellent",)),
)
for rate_id, zh, en, ratings in RATING_RATES:
    register_indicator(
        Indicator(
            id=f"health_fitness_{rate_id}",
            name=_t(f"体质健康{zh}", f"Fitness: {en.lower()}"),
            definition=_t(
                f"本学年体质健康测试中等级为{'、'.join(RATING_ZH[r] for r in ratings)}"
                "的学生占已评定等级学生的百分比",
                f"Share of students rated {' or '.join(ratings)} in the school year's fitness "
                "tests, of those rated",
            ),
            numerator=_t("其中达到该等级的学生数", "Of them, students with such a rating"),
            denominator=RATED_DENOMINATOR,
            source=FITNESS_STANDARD,
            direction=AT_LEAST,
            group=GROUP,
        ),
        fitness_source(FitnessRecord.rating.in_(ratings), RATED),
    )

for class_id, zh, en in (
    ("overweight", "超重率", "Overweight rate"),
    ("obese", "肥胖率", "Obesity rate"),
):
    register_indicator(
        Indicator(
            id=f"health_{class_id}",
            name=_t(zh, en),
            definition=_t(
                f"本学年体质健康测试中体重指数等级为{zh[:-1]}的学生占已判定学生的百分比",
                f"Share of students whose BMI class is {class_id} in the school year's fitness "
                "tests, of those with a BMI class",
            ),
            numerator=_t(f"其中{zh[:-1]}的学生数", f"Of them, students {class_id}"),
            denominator=BMI_DENOMINATOR,
            source=BMI_STANDARD,
            direction=AT_MOST,
            group=GROUP,
        ),
        fitness_source(FitnessRecord.bmi_class == class_id, BMI_CLASSED),
    )
