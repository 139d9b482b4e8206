"""Campaign fixtures: an open PHQ-9 + GAD-7 campaign over the test world's school A."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from wellbeing.clock import utcnow


@pytest.fixture
def campaign_plan():
    from wellbeing.campaigns.services import CampaignPlan

    def plan(world: SimpleNamespace, **changes: object) -> CampaignPlan:
        now = utcnow()
        values = {
            "name": "2026 秋季新生筛查",
            "instrument_refs": ["phq9", "gad7"],
            "school_ids": [world.schools["A"].id],
            "grades": [7],
            "opens_at": now - timedelta(days=1),
            "closes_at": now + timedelta(days=14),
            "consent_mode": "opt_out",
            "legal_basis": "statutory_duty",
            "notice_version": "2026-秋-1",
            "show_results": False,
            "languages": ["zh", "en"],
        }
        values.update(changes)
        return CampaignPlan(**values)

    return plan


@pytest.fixture
def campaign(world: SimpleNamespace, campaign_plan):
    """An open school campaign of school A (its six grade-7 students are the targets)."""
    from wellbeing.campaigns.services import open_campaign
    from wellbeing.extensions import db

    opened = open_campaign(
        world.district, world.schools["A"], campaign_plan(world), world.users["counselor"]
    )
    # Committed (into the test's savepoint): a refused request's rollback keeps it.
    db.session.commit()
    return opened


def target_of(campaign, student):
    from sqlalchemy import select

    from wellbeing.campaigns.models import CampaignTarget
    from wellbeing.extensions import db

    return db.session.scalar(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.student_id == student.id
        )
    )


def answer_all(target, value: int = 0) -> None:
    """Autosave an answer to every item of the battery."""
    from wellbeing.campaigns import services
    from wellbeing.campaigns.battery import battery

    for instrument in battery(target.campaign):
        for item in instrument.items:
            services.autosave(target, instrument.id, item.id, value, 3.0)
