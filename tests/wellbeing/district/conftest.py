"""A district with something behind every indicator: screenings (one transferred
student, tiers of each kind), an acknowledged alert and an overdue follow-up, 一生一策
files with referrals (one closed), a counselor at school A only, and a 心理委员 at A1
who reported last week."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories import add_follow_ups, add_plans, screen
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport


@pytest.fixture
def district_world(world) -> SimpleNamespace:
    from tests.factories import add_campaigns

    add_campaigns(world)
    for key, profile in (("A1-0", "red"), ("A1-2", "orange"), ("A2-0", "yellow"), ("B1-0", "none")):
        campaign = world.campaigns[key[0]]
        screen(campaign, world.students[key], profile)
    moved = db.session.scalar(
        select(CampaignTarget).where(CampaignTarget.student_id == world.students["B2-2"].id)
    )
    moved.state = "transferred"
    add_follow_ups(world)
    world.alerts["A"].acknowledged_at = utcnow()
    add_plans(world)
    world.referrals["A"].state = "closed"
    committee = world.users["committee"]
    db.session.add(
        WeeklyReport(
            school_id=world.schools["A"].id,
            class_id=world.classes["A1"].id,
            reporter_id=committee.id,
            reporter_role="committee",
            week_start=week_start(local_today()) - timedelta(weeks=1),
            nil=True,
            submitted_at=utcnow(),
        )
    )
    db.session.flush()
    world.school_year = school_year_for(local_today())
    return world
