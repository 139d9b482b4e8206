"""The demo's files: opened at the demo counselor's school for red and orange students,
with a signed second version, review dates as follow-ups, times spread over six weeks."""

from __future__ import annotations

import time

import pytest

from tests.factories import add_assessments
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.plans import services
from wellbeing.plans import vocabulary as v
from wellbeing.plans.demo import add_demo_plans
from wellbeing.plans.queries import versions_of

pytestmark = pytest.mark.app


def test_demo_plans_have_signed_versions_and_reviews(world):
    add_assessments(world)
    db.session.flush()
    started = time.perf_counter()
    plans = add_demo_plans(seed=1)
    elapsed = time.perf_counter() - started
    assert plans and elapsed < 5
    school = world.users["counselor"].roles[0].school_id
    for plan in plans:
        assert plan.school_id == school and plan.status == v.ACTIVE
        assert plan.source in (v.FROM_REVIEW, v.FROM_ALERT)
        versions = {x.number: x for x in versions_of(plan)}
        assert 2 <= len(versions) <= 3 and versions[2].signed_at is not None
        assert versions[2].meeting["digest"] == services.digest(versions[2].body)
        assert versions[1].created_at < versions[2].signed_at
        reviews = [
            f
            for f in services.follow_ups_of(plan)
            if f.kind == fv.PLAN_REVIEW and f.status == fv.OPEN
        ]
        assert len(reviews) == 2
    # Built twice: no second file for the same students.
    assert add_demo_plans(seed=1) == []


def test_no_demo_counselor_no_plans(world):
    world.users["counselor"].username = "someone-else"
    db.session.flush()
    assert add_demo_plans() == []
