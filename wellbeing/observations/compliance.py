"""The committee's sheet of the yearly compliance pack, registered with the pack (which
knows no area): per school, its classes from COMMITTEE_FROM_GRADE up, those complete now
(COMMITTEE_PER_CLASS 心理委员, a boy and a girl), and the class-weeks of the year in which
a class's 心理委员 filed the weekly report. Counts only, never a student or an
observation."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from wellbeing.clock import to_local
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.committee import Coverage, coverage_by_class
from wellbeing.observations.models import WeeklyReport
from wellbeing.roster.models import School, SchoolClass
from wellbeing.security.compliance import Sheet, register_sheet

FILENAME = "09_committee.csv"


def _reported_weeks(bounds: tuple[datetime, datetime]) -> dict[int, int]:
    """school id -> class-weeks of the year with a committee report."""
    first, last = (to_local(at).date() for at in bounds)
    weeks = (
        select(WeeklyReport.school_id, WeeklyReport.class_id, WeeklyReport.week_start)
        .where(
            WeeklyReport.reporter_role == v.BY_COMMITTEE,
            WeeklyReport.week_start >= first,
            WeeklyReport.week_start < last,
        )
        .distinct()
        .subquery()
    )
    query = select(weeks.c.school_id, func.count()).group_by(weeks.c.school_id)
    return dict(db.session.execute(query).all())


def committee_sheet(bounds: tuple[datetime, datetime]) -> Sheet:
    coverage = coverage_by_class(SchoolClass.grade >= v.COMMITTEE_FROM_GRADE)
    classes = db.session.execute(
        select(SchoolClass.id, SchoolClass.school_id).where(
            SchoolClass.grade >= v.COMMITTEE_FROM_GRADE
        )
    ).all()
    reported = _reported_weeks(bounds)
    by_school: dict[int, list[int]] = defaultdict(list)
    for class_id, school_id in classes:
        by_school[school_id].append(class_id)
    rows: list[list[object]] = []
    for school in db.session.scalars(select(School).order_by(School.code)):
        own = by_school[school.id]
        complete = sum(1 for c in own if coverage.get(c, Coverage()).complete)
        rows.append([school.code, school.name, len(own), complete, reported.get(school.id, 0)])
    return Sheet(
        FILENAME,
        "committee",
        [
            "学校代码 School code",
            "学校 School",
            "应设心理委员的班级 Classes",
            "配齐的班级 Classes complete",
            "已报告的班级周数 Class-weeks reported",
        ],
        rows,
        "心理委员的年度统计（仅数量，不含任何学生或观察内容）：各校四年级以上的班级数，"
        "目前配齐（两名，一男一女）的班级数，以及本年度心理委员提交周报的班级周数。",
        "The 心理委员 of the year, counts only (no student, no observation): each school's "
        "classes from grade 4 up, those complete now (two members, a boy and a girl), and "
        "the class-weeks of the year in which a class's 心理委员 filed the weekly report.",
    )


register_sheet(committee_sheet)
