"""Reads of the roster within a user's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select

from wellbeing.extensions import db
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.policy import scopes_for


def schools_in_scope(user: Any, action: str) -> list[School]:
    """The schools a user may take the action in (through any of their assignments)."""
    conditions = []
    for assignment in scopes_for(user, action):
        if assignment.district_id is not None:
            conditions.append(School.district_id == assignment.district_id)
        elif assignment.school_id is not None:
            conditions.append(School.id == assignment.school_id)
        elif assignment.class_id is not None:
            conditions.append(
                School.id
                == select(SchoolClass.school_id)
                .where(SchoolClass.id == assignment.class_id)
                .scalar_subquery()
            )
    if not conditions:
        return []
    return list(db.session.scalars(select(School).where(or_(*conditions)).order_by(School.code)))


def classes_in_scope(user: Any, action: str, school: School) -> list[SchoolClass]:
    """Classes of one school that the user may take the action on."""
    query: Select = select(SchoolClass).where(SchoolClass.school_id == school.id)
    assignments = scopes_for(user, action)
    class_ids = [a.class_id for a in assignments if a.class_id is not None]
    wider = any(
        a.school_id == school.id or a.district_id == school.district_id for a in assignments
    )
    if not wider:
        query = query.where(SchoolClass.id.in_(class_ids))
    return list(db.session.scalars(query.order_by(*SchoolClass.ordering())))


def enrolled_counts_by_class(class_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(Student.class_id, func.count())
        .where(Student.class_id.in_(class_ids), Student.status == "enrolled")
        .group_by(Student.class_id)
    )
    return dict(rows.all())
