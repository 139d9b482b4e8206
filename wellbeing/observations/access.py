"""How observations and weekly reports sit in the scope tree, registered with the access
policy (which knows no area): each is its class's and its school's. A class role (a
心理委员, a head teacher) reaches those of its class only, and the pages for them show
their own reports alone; a school role those of its school; a district role those of
its district's schools."""

from __future__ import annotations

from typing import Any

from wellbeing.extensions import db
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.roster.models import RoleAssignment, School
from wellbeing.security.policy import register_scope


def in_scope(assignment: RoleAssignment, item: Any, action: str) -> bool:
    """An observation or a weekly report: by its class and school (clear columns)."""
    if assignment.class_id is not None:
        return item.class_id == assignment.class_id
    if assignment.school_id is not None:
        return item.school_id == assignment.school_id
    if assignment.district_id is not None:
        return db.session.get(School, item.school_id).district_id == assignment.district_id
    return False


for _model in (Observation, WeeklyReport):
    register_scope(_model, in_scope)
