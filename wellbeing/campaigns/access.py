"""How a campaign sits in the scope tree, registered with the access policy (which knows
no area): a campaign is in a scope when one of its schools is; for a class, when its
school is covered and its grade is one of the campaign's. Actions only the owner takes
(the owning school's staff for a school campaign, the district's for a district one)
ask for ownership instead."""

from __future__ import annotations

from wellbeing.campaigns.models import Campaign
from wellbeing.extensions import db
from wellbeing.roster.models import RoleAssignment, SchoolClass
from wellbeing.security.policy import register_scope

OWNER_ACTIONS = frozenset({"campaign.edit"})


def campaign_in_scope(assignment: RoleAssignment, campaign: Campaign, action: str) -> bool:
    if assignment.district_id is not None:
        return campaign.district_id == assignment.district_id
    if action in OWNER_ACTIONS:
        return assignment.school_id is not None and campaign.owner_school_id == assignment.school_id
    school_ids = {school.id for school in campaign.schools}
    if assignment.school_id is not None:
        return assignment.school_id in school_ids
    school_class = db.session.get(SchoolClass, assignment.class_id)
    return school_class.school_id in school_ids and school_class.grade in campaign.grades


register_scope(Campaign, campaign_in_scope)
