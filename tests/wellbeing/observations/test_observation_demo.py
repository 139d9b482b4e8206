"""The demo's weekly reports, built on the test world: mostly nil, routine observations
with sealed bodies and deadlines, one urgent waiting at the demo counselor's school, the
demo committee login's class still to report this week. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.demo import DEMO_WEEKS, build_demo_observations
from wellbeing.observations.models import Observation, WeeklyReport

pytestmark = pytest.mark.app


@pytest.fixture
def members(world):
    """A second 心理委员 in A1 (a girl), and two in each of A2 and B1."""
    girl = make_user("committee-2", None, ("committee", world.classes["A1"]))
    girl.student = world.students["A1-2"]
    for key in ("A2-0", "A2-1", "B1-0", "B1-1"):
        user = make_user(f"committee-{key}", None, ("committee", world.classes[key[:2]]))
        user.student = world.students[key]
    db.session.flush()
    return girl


def test_demo_builds_reports_observations_and_one_urgent(world, members):
    started = time.perf_counter()
    built = build_demo_observations(seed=3)
    assert time.perf_counter() - started < 5
    reports = db.session.scalars(select(WeeklyReport)).all()
    assert built.reports == len(reports) and built.nil == sum(r.nil for r in reports)
    assert {r.class_id for r in reports} <= {world.classes[k].id for k in ("A1", "A2", "B1")}
    assert all(r.reporter_role == "committee" for r in reports)
    this_week = week_start(local_today())
    assert min(r.week_start for r in reports) >= this_week.fromordinal(
        this_week.toordinal() - 7 * DEMO_WEEKS
    )
    a1 = world.classes["A1"].id
    # The demo login's class has not reported this week; its past reports are the login's.
    assert not [r for r in reports if r.class_id == a1 and r.week_start == this_week]
    own = [r for r in reports if r.class_id == a1]
    assert own and all(r.reporter_id == world.users["committee"].id for r in own)
    urgent = db.session.scalars(select(Observation).where(Observation.urgent.is_(True))).all()
    assert built.urgent == len(urgent) == 1
    (alarm,) = urgent
    assert alarm.school_id == world.schools["A"].id and alarm.acknowledged_at is None
    assert alarm.reporter_id == members.id and alarm.report_id is None
    assert alarm.student_id in {world.students["A1-0"].id, world.students["A1-1"].id}
    assert "hopeless_talk" in alarm.signs and alarm.due_at > alarm.submitted_at
    routine = db.session.scalars(select(Observation).where(Observation.urgent.is_(False))).all()
    assert len(routine) == built.observations
    assert built.acknowledged + built.waiting + built.late == built.observations
    # One routine observation at the demo counselor's school is left late; the others
    # there are acknowledged or still within their deadline.
    now = utcnow()
    late = [
        o
        for o in routine
        if o.school_id == world.schools["A"].id and o.acknowledged_at is None and o.due_at < now
    ]
    assert len(late) == 1 and late[0].class_id == world.classes["A2"].id
    for observation in routine:
        assert observation.student_id != observation.reporter.student_id
        assert observation.signs and observation.report.nil is False


def test_no_committee_login_still_builds_without_urgent(world):
    world.users["committee"].username = "someone-else"
    db.session.flush()
    built = build_demo_observations(seed=1)
    assert built.urgent == 0
    assert db.session.scalar(select(func.count()).select_from(WeeklyReport)) == built.reports
