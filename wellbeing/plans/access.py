"""How the 一生一策 file's objects sit in the scope tree, registered with the access policy
(which knows no area), and what a break-glass grant opens of it.

A plan is its current school's: the school's counselors (and only they, of the roles that
hold "plans.*") reach it; a head teacher's class scope reaches it when the plan's student
is in their class ("plans.care" only: the policy gives them nothing else). Attachments,
referrals and leaving packages are their plan's. A hospital is its district's. A grant of
break-glass on the student opens "plans.read" of their plan (the read names the grant)."""

from __future__ import annotations

from typing import Any

from wellbeing.extensions import db
from wellbeing.plans.models import (
    GrowthPlan,
    Hospital,
    PlanAttachment,
    PlanPackage,
    Referral,
)
from wellbeing.roster.models import RoleAssignment, School, Student
from wellbeing.security.policy import register_break_glass, register_scope


def student_of(plan: GrowthPlan) -> Student | None:
    return db.session.get(Student, plan.student_id)


def plan_in_scope(assignment: RoleAssignment, plan: GrowthPlan, action: str) -> bool:
    if assignment.class_id is not None:
        student = student_of(plan)
        return student is not None and student.class_id == assignment.class_id
    if assignment.school_id is not None:
        return plan.school_id == assignment.school_id
    if assignment.district_id is not None:
        return db.session.get(School, plan.school_id).district_id == assignment.district_id
    return False


def part_in_scope(assignment: RoleAssignment, part: Any, action: str) -> bool:
    """An attachment, a referral or a package: as its plan."""
    return plan_in_scope(assignment, db.session.get(GrowthPlan, part.plan_id), action)


def hospital_in_scope(assignment: RoleAssignment, hospital: Hospital, action: str) -> bool:
    return assignment.school_id is None and assignment.district_id == hospital.district_id


register_scope(GrowthPlan, plan_in_scope)
for _part in (PlanAttachment, Referral, PlanPackage):
    register_scope(_part, part_in_scope)
register_scope(Hospital, hospital_in_scope)
register_break_glass("plans.read", GrowthPlan, student_of)
