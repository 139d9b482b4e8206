"""How the review's objects sit in the scope tree, registered with the access policy
(which knows no area): an alert, an assessment and a decision are their school's."""

from __future__ import annotations

from typing import Any

from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert, ReviewDecision, RiskAssessment
from wellbeing.roster.models import RoleAssignment, School
from wellbeing.security.policy import register_scope


def in_school_scope(assignment: RoleAssignment, row: Any, action: str) -> bool:
    if assignment.school_id is not None:
        return row.school_id == assignment.school_id
    if assignment.district_id is not None:
        return db.session.get(School, row.school_id).district_id == assignment.district_id
    return False


for model in (CrisisAlert, RiskAssessment, ReviewDecision):
    register_scope(model, in_school_scope)
