"""How a lesson sits in the scope tree, registered with the access policy (which knows no
area): a lesson is its class's and its school's. A class role (a head teacher) reaches
only the lessons it logged itself in its class (to delete one logged by mistake; a
counselor's entry stays the counselor's); a school role its school's; a district role
its district's schools'."""

from __future__ import annotations

from wellbeing.extensions import db
from wellbeing.lessons.models import Lesson
from wellbeing.roster.models import RoleAssignment, School, SchoolClass
from wellbeing.security.policy import register_scope


def in_scope(assignment: RoleAssignment, lesson: Lesson, action: str) -> bool:
    if assignment.class_id is not None:
        return lesson.class_id == assignment.class_id and (
            lesson.logged_by_id == assignment.user_id
        )
    school_id = db.session.get(SchoolClass, lesson.class_id).school_id
    if assignment.school_id is not None:
        return school_id == assignment.school_id
    if assignment.district_id is not None:
        return db.session.get(School, school_id).district_id == assignment.district_id
    return False


register_scope(Lesson, in_scope)
