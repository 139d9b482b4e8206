"""Loading what a campaign page's URL names, for the campaign, coverage and paper pages:
the campaign together with the school, class or student the policy checked, and a 404
unless the campaign covers it (its schools; for a class, also its grade)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from wellbeing.campaigns.models import Campaign, CampaignSchool, CampaignTarget
from wellbeing.extensions import db
from wellbeing.roster.models import District, School, SchoolClass, Student


def covers_school(campaign: Campaign, school: School) -> bool:
    key = {"campaign_id": campaign.id, "school_id": school.id}
    return db.session.get(CampaignSchool, key) is not None


def covers_class(campaign: Campaign, school_class: SchoolClass) -> bool:
    return school_class.grade in campaign.grades and covers_school(campaign, school_class.school)


def campaign_of_district(district: District, campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.district_id != district.id:
        abort(404)
    return campaign


def campaign_of_school(school: School, campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if not covers_school(campaign, school):
        abort(404)
    return campaign


def campaign_of_class(school_class: SchoolClass, campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if not covers_class(campaign, school_class):
        abort(404)
    return campaign


def target_of_student(student: Student, campaign_id: int) -> CampaignTarget:
    """The student's ledger row in the campaign; 404 when the campaign did not draw them."""
    target = db.session.scalar(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == campaign_id, CampaignTarget.student_id == student.id
        )
    )
    if target is None:
        abort(404)
    return target
