"""How a follow-up sits in the scope tree, registered with the access policy (which knows
no area): a follow-up is in a school's scope when it is that school's, in a district's
when its school is in the district; never in a class's."""

from __future__ import annotations

from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.roster.models import RoleAssignment, School
from wellbeing.security.policy import register_scope


def follow_up_in_scope(assignment: RoleAssignment, follow_up: FollowUp, action: str) -> bool:
    if assignment.school_id is not None:
        return follow_up.school_id == assignment.school_id
    if assignment.district_id is not None:
        return db.session.get(School, follow_up.school_id).district_id == assignment.district_id
    return False


register_scope(FollowUp, follow_up_in_scope)
