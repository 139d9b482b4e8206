"""The committee's health, read from clear columns only (never an observation's body):
who the 心理委员 of each class are (active accounts with the role committee on the class,
and the sex of the student each account is linked to), and which weeks each class
reported.

Coverage: a class from grade COMMITTEE_FROM_GRADE up is complete when it has at least
COMMITTEE_PER_CLASS active members, a boy and a girl among them.

Report rate: a class's week counts as reported when one of its 心理委员 filed the week's
report (nil or with observations). A head teacher's report does not count: the rate
measures the committee's weekly habit, and the reminders go to the members. The rate is
taken over the REPORT_RATE_WEEKS calendar weeks before the current one (the current week
is still open; it is shown apart as "this week"), for the classes that have members (a
class without any cannot report; coverage shows that gap)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select

from wellbeing.campaigns import ledger
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport
from wellbeing.roster.models import RoleAssignment, School, SchoolClass, Student, User

# The weeks the report rate is taken over (complete weeks before the current one).
REPORT_RATE_WEEKS = 4
COMMITTEE_ROLE = "committee"
BOY, GIRL = "M", "F"


def recent_weeks(today: date, weeks: int = REPORT_RATE_WEEKS) -> list[date]:
    """The Mondays of the `weeks` weeks before the one holding `today`, oldest first."""
    this_week = week_start(today)
    return [this_week - timedelta(weeks=n) for n in range(weeks, 0, -1)]


@dataclass(frozen=True)
class Coverage:
    """A class's active members: how many, how many boys and girls."""

    members: int = 0
    boys: int = 0
    girls: int = 0

    @property
    def complete(self) -> bool:
        return self.members >= v.COMMITTEE_PER_CLASS and self.boys > 0 and self.girls > 0


def _active_members() -> Any:
    return (
        select(RoleAssignment.class_id)
        .join(User, User.id == RoleAssignment.user_id)
        .outerjoin(Student, Student.id == User.student_id)
        .where(RoleAssignment.role == COMMITTEE_ROLE, User.active.is_(True))
    )


def coverage_by_class(*where: Any) -> dict[int, Coverage]:
    """Active members per class (classes without any are absent), one grouped query.
    `where` filters SchoolClass (joined)."""
    query = (
        _active_members()
        .add_columns(
            func.count(),
            func.sum(case((Student.sex == BOY, 1), else_=0)),
            func.sum(case((Student.sex == GIRL, 1), else_=0)),
        )
        .join(SchoolClass, SchoolClass.id == RoleAssignment.class_id)
        .where(*where)
        .group_by(RoleAssignment.class_id)
    )
    return {
        class_id: Coverage(members, int(boys or 0), int(girls or 0))
        for class_id, members, boys, girls in db.session.execute(query)
    }


def member_names(class_ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    """The members' own names (and sex) per class, for one page of classes."""
    if not class_ids:
        return {}
    query = (
        _active_members()
        .add_columns(User.display_name, Student.sex)
        .where(RoleAssignment.class_id.in_(class_ids))
        .order_by(RoleAssignment.class_id, User.display_name)
    )
    names: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for class_id, name, sex in db.session.execute(query):
        names[class_id].append((name, sex))
    return names


def reports_by_class(today: date, *where: Any) -> dict[int, tuple[int, bool]]:
    """Per class with a committee report in the recent weeks or this one: (the recent
    weeks reported, whether this week's is filed). One grouped query over the clear
    columns; `where` filters WeeklyReport."""
    weeks = recent_weeks(today)
    this_week = week_start(today)
    recent = case((WeeklyReport.week_start < this_week, WeeklyReport.week_start))
    query = (
        select(
            WeeklyReport.class_id,
            func.count(distinct(recent)),
            func.max(case((WeeklyReport.week_start == this_week, 1), else_=0)),
        )
        .where(
            WeeklyReport.reporter_role == v.BY_COMMITTEE,
            WeeklyReport.week_start >= weeks[0],
            WeeklyReport.week_start <= this_week,
            *where,
        )
        .group_by(WeeklyReport.class_id)
    )
    return {
        class_id: (int(reported), bool(now))
        for class_id, reported, now in db.session.execute(query)
    }


# ------------------------------------------------------------------------- a school


@dataclass
class ClassHealth:
    school_class: SchoolClass
    coverage: Coverage
    reported_weeks: int
    this_week: bool
    weeks: int = REPORT_RATE_WEEKS
    members: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Reported weeks over the recent weeks; None for a class without members."""
        return self.reported_weeks / self.weeks if self.coverage.members else None


def school_classes(school_id: int, today: date) -> list[ClassHealth]:
    """The school's classes from grade COMMITTEE_FROM_GRADE up, in grade and number
    order, with their coverage and reports (members' names are added per page)."""
    classes = db.session.scalars(
        select(SchoolClass)
        .where(SchoolClass.school_id == school_id, SchoolClass.grade >= v.COMMITTEE_FROM_GRADE)
        .order_by(*SchoolClass.ordering())
    ).all()
    coverage = coverage_by_class(SchoolClass.school_id == school_id)
    reports = reports_by_class(today, WeeklyReport.school_id == school_id)
    return [
        ClassHealth(c, coverage.get(c.id, Coverage()), *reports.get(c.id, (0, False)))
        for c in classes
    ]


def add_names(rows: list[ClassHealth]) -> None:
    names = member_names([row.school_class.id for row in rows])
    for row in rows:
        row.members = names.get(row.school_class.id, [])


# ------------------------------------------------------------------------- a district

# The district table's counts (units: classes, and class-weeks) and the parts that add up
# to a total in the same row, for the district's one suppression rule.
COUNTS = ("classes", "complete", "incomplete", "class_weeks", "reported", "unreported")
PARTS = ((("complete", "incomplete"), "classes"), (("reported", "unreported"), "class_weeks"))
RATES = {"coverage": ("complete", "classes"), "report_rate": ("reported", "class_weeks")}


def school_counts(district_id: int, today: date) -> list[tuple[School, dict[str, int]]]:
    """Per school of the district, in code order: its classes from grade
    COMMITTEE_FROM_GRADE up, complete and not, and the recent class-weeks of its classes
    with members, reported and not. A few grouped queries for the whole district."""
    schools = db.session.scalars(
        select(School).where(School.district_id == district_id).order_by(School.code)
    ).all()
    in_district = SchoolClass.school_id.in_([s.id for s in schools])
    classes = db.session.execute(
        select(SchoolClass.id, SchoolClass.school_id).where(
            in_district, SchoolClass.grade >= v.COMMITTEE_FROM_GRADE
        )
    ).all()
    coverage = coverage_by_class(in_district)
    reports = reports_by_class(today, WeeklyReport.school_id.in_([s.id for s in schools]))
    counts: dict[int, dict[str, int]] = {s.id: dict.fromkeys(COUNTS, 0) for s in schools}
    for class_id, school_id in classes:
        row, members = counts[school_id], coverage.get(class_id, Coverage())
        row["classes"] += 1
        row["complete" if members.complete else "incomplete"] += 1
        if members.members:
            reported = reports.get(class_id, (0, False))[0]
            row["class_weeks"] += REPORT_RATE_WEEKS
            row["reported"] += reported
            row["unreported"] += REPORT_RATE_WEEKS - reported
    return [(school, counts[school.id]) for school in schools]


def total(rows: list[dict[str, int]]) -> dict[str, int]:
    return {key: sum(row[key] for row in rows) for key in COUNTS}


def shown_rows(table: list[dict[str, int]], suppress: bool) -> list[ledger.ShownRow]:
    """The table (its last row the total) through the district's one suppression rule:
    with `suppress`, counts of 1 to k - 1 classes or class-weeks, and the cells that would
    give them away by subtraction, are hidden, and so is each rate built on one."""
    return ledger.shown_table(table, PARTS, RATES, suppress)
