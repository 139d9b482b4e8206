"""District aggregates: counts only, never a student."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from wellbeing.extensions import db
from wellbeing.observations.committee import Coverage, coverage_by_class
from wellbeing.observations.vocabulary import COMMITTEE_FROM_GRADE, COMMITTEE_PER_CLASS
from wellbeing.roster.models import RoleAssignment, School, SchoolClass, Student, User


@dataclass(frozen=True)
class SchoolStaffing:
    school: School
    enrolled: int
    classes: int
    classes_needing_committee: int
    classes_with_two_committee: int
    counselors: int


def school_staffing(district_id: int) -> list[SchoolStaffing]:
    """Per school: enrolled students, classes, 心理委员 coverage (grade 4 up), counselors."""
    in_district = SchoolClass.school_id.in_(
        select(School.id).where(School.district_id == district_id)
    )
    enrolled = dict(
        db.session.execute(
            select(SchoolClass.school_id, func.count(Student.id))
            .join(Student, Student.class_id == SchoolClass.id)
            .where(Student.status == "enrolled", in_district)
            .group_by(SchoolClass.school_id)
        ).all()
    )
    # One count of members per class, shared with the committee's pages.
    coverage = coverage_by_class(in_district)
    classes_by_school = defaultdict(list)
    for row in db.session.execute(
        select(SchoolClass.id, SchoolClass.school_id, SchoolClass.grade).where(in_district)
    ):
        classes_by_school[row.school_id].append(row)
    counselors = dict(
        db.session.execute(
            select(RoleAssignment.school_id, func.count())
            .join(User, User.id == RoleAssignment.user_id)
            .where(
                RoleAssignment.role == "counselor",
                User.active.is_(True),
                RoleAssignment.school_id.in_(
                    select(School.id).where(School.district_id == district_id)
                ),
            )
            .group_by(RoleAssignment.school_id)
        ).all()
    )
    schools = db.session.scalars(
        select(School).where(School.district_id == district_id).order_by(School.code)
    )
    result = []
    for school in schools:
        own = classes_by_school[school.id]
        needing = [row for row in own if row.grade >= COMMITTEE_FROM_GRADE]
        result.append(
            SchoolStaffing(
                school=school,
                enrolled=enrolled.get(school.id, 0),
                classes=len(own),
                classes_needing_committee=len(needing),
                classes_with_two_committee=sum(
                    1
                    for row in needing
                    if coverage.get(row.id, Coverage()).members >= COMMITTEE_PER_CLASS
                ),
                counselors=counselors.get(school.id, 0),
            )
        )
    return result
