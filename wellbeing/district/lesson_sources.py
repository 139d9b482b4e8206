"""The district's mental-health lesson indicators, counted from the lesson log
(wellbeing/lessons): the plan asks for a lesson every two weeks, at least
LESSONS_PER_SEMESTER a semester in every class.

Which semesters a school year's figures count: those of its two semesters (autumn, 1
September to 31 January; spring, 1 February to 31 July; screening.semesters) that have
ended when the figures are refreshed. A semester still running is not counted: a class
cannot yet have fallen short of a whole semester's target, and a partial count would
read as one. So the current school year has no figure until 1 February, then the
autumn semester's, and from 1 August both.

The unit is the class-semester: each class counts once per ended semester, when it is
active: it has enrolled students now (the roster keeps no history), or it logged a
lesson in that semester (a class that has since graduated did hold it). Counted per
school and grade; lessons are not about students, so no cell is suppressed (as for the
staffing figures)."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from screening.indicators import AT_LEAST, PERCENT, RATIO, Indicator, Tally
from screening.semesters import Semester, ended_semesters
from wellbeing.clock import local_today
from wellbeing.district.indicators import register_indicator, shared
from wellbeing.extensions import db
from wellbeing.lessons.models import Lesson
from wellbeing.lessons.vocabulary import LESSONS_PER_SEMESTER
from wellbeing.roster.models import School, SchoolClass, Student

GROUP = "lessons"
Cell = tuple[int, int]  # (school id, grade)


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _lessons(district_id: int, semester: Semester) -> Counter:
    """The semester's lessons per class of the district, one grouped query."""
    return Counter(
        dict(
            db.session.execute(
                select(Lesson.class_id, func.count())
                .join(SchoolClass, SchoolClass.id == Lesson.class_id)
                .join(School, School.id == SchoolClass.school_id)
                .where(
                    School.district_id == district_id,
                    Lesson.held_on >= semester.first,
                    Lesson.held_on <= semester.last,
                )
                .group_by(Lesson.class_id)
            ).all()
        )
    )


@shared
def class_semesters(district_id: int, school_year: int) -> dict[Cell, list[int]]:
    """Per (school, grade): each active class-semester's lesson count, over the school
    year's ended semesters."""
    classes = db.session.execute(
        select(SchoolClass.id, SchoolClass.school_id, SchoolClass.grade)
        .join(School, School.id == SchoolClass.school_id)
        .where(School.district_id == district_id)
    ).all()
    enrolled = set(
        db.session.scalars(
            select(Student.class_id)
            .where(Student.status == "enrolled", Student.class_id.in_([row.id for row in classes]))
            .distinct()
        )
    )
    found: dict[Cell, list[int]] = defaultdict(list)
    for semester in ended_semesters(school_year, local_today()):
        held = _lessons(district_id, semester)
        for class_id, school_id, grade in classes:
            if class_id in enrolled or held[class_id]:
                found[(school_id, grade)].append(held[class_id])
    return found


def classes_meeting_target(district_id: int, school_year: int) -> list[Tally]:
    """Class-semesters with at least LESSONS_PER_SEMESTER lessons, over all of them."""
    return [
        Tally(school_id, grade, None, sum(n >= LESSONS_PER_SEMESTER for n in counts), len(counts))
        for (school_id, grade), counts in class_semesters(district_id, school_year).items()
    ]


def lessons_per_class(district_id: int, school_year: int) -> list[Tally]:
    """Lessons held, over the class-semesters they were held in."""
    return [
        Tally(school_id, grade, None, sum(counts), len(counts))
        for (school_id, grade), counts in class_semesters(district_id, school_year).items()
    ]


_SEMESTERS_COUNTED = _text(
    "计入本学年已结束的学期（秋季学期9月1日至次年1月31日，春季学期2月1日至7月31日）；"
    "进行中的学期不计入。",
    "Counts the school year's ended semesters (autumn, 1 September to 31 January; spring, "
    "1 February to 31 July); a semester still running is not counted.",
)
_CLASS_SEMESTERS = _text(
    "班级学期数：每个在用班级（现有在籍学生，或该学期记录过课程）每个已结束学期计一次",
    "Class-semesters: each active class (enrolled students now, or a lesson logged in the "
    "semester) once per ended semester",
)
_SOURCE = _text(
    "心理健康课记录（班主任或心理教师填写的日期和主题）",
    "The mental-health lesson log (dates and topics logged by head teachers or counselors)",
)

register_indicator(
    Indicator(
        id="lessons_target_met",
        name=_text(
            f"每学期心理健康课达标（不少于{LESSONS_PER_SEMESTER}节）的班级比例",
            f"Classes holding at least {LESSONS_PER_SEMESTER} mental-health lessons a semester",
        ),
        definition=_text(
            f"班级学期中，该学期上心理健康课不少于{LESSONS_PER_SEMESTER}节的比例。"
            + _SEMESTERS_COUNTED["zh"],
            f"Share of class-semesters with at least {LESSONS_PER_SEMESTER} mental-health "
            "lessons logged. " + _SEMESTERS_COUNTED["en"],
        ),
        numerator=_text(
            f"上课不少于{LESSONS_PER_SEMESTER}节的班级学期数",
            f"Class-semesters with at least {LESSONS_PER_SEMESTER} lessons",
        ),
        denominator=_CLASS_SEMESTERS,
        source=_SOURCE,
        unit=PERCENT,
        direction=AT_LEAST,
        target=100.0,
        by_sex=False,
        by_grade=True,
        group=GROUP,
        suppress=False,
    ),
    classes_meeting_target,
)
register_indicator(
    Indicator(
        id="lessons_per_class_semester",
        name=_text("每班每学期心理健康课节数", "Mental-health lessons per class per semester"),
        definition=_text(
            "平均每个班级每学期记录的心理健康课节数。" + _SEMESTERS_COUNTED["zh"],
            "Mental-health lessons logged per class and semester. " + _SEMESTERS_COUNTED["en"],
        ),
        numerator=_text("已结束学期记录的心理健康课节数", "Lessons logged in the ended semesters"),
        denominator=_CLASS_SEMESTERS,
        source=_SOURCE,
        unit=RATIO,
        direction=AT_LEAST,
        target=float(LESSONS_PER_SEMESTER),
        by_sex=False,
        by_grade=True,
        group=GROUP,
        suppress=False,
    ),
    lessons_per_class,
)
