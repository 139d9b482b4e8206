"""The observations' risk feature (wellbeing/observations/features.py): a submitted
sitting's assessment counts the observations about its student in the last 14 days and
whether one was urgent, and its explanation shows them; older ones, and those about
classmates, do not count; a batch of students costs one query. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from tests.wellbeing.campaigns.conftest import (  # noqa: F401
    answer_all,
    campaign,
    campaign_plan,
    target_of,
)
from wellbeing.campaigns import services as campaign_services
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.features import observation_features
from wellbeing.observations.models import Observation
from wellbeing.review.assessments import FEATURE_SOURCES
from wellbeing.review.models import RiskAssessment

pytestmark = pytest.mark.app


def observe(world, student: str, days_ago: float, *, urgent: bool = False) -> Observation:
    """An observation about `student` ("A1-0"), submitted `days_ago` days ago in the
    student's class."""
    about = world.students[student]
    submitted = utcnow() - timedelta(days=days_ago)
    observation = Observation(
        school_id=about.school_class.school_id,
        class_id=about.class_id,
        reporter_id=world.users["committee"].id,
        reporter_role=v.BY_COMMITTEE,
        submitted_at=submitted,
        urgent=urgent,
        due_at=submitted + timedelta(hours=1),
    )
    observation.body = {
        "student_id": about.id,
        "signs": [v.SELF_HARM if urgent else v.WITHDRAWN],
        "certainty": v.SAW_MYSELF,
        "note": "",
    }
    db.session.add(observation)
    db.session.flush()
    return observation


def test_the_source_is_registered():
    assert observation_features in FEATURE_SOURCES


def test_counts_the_last_two_weeks_about_the_student_only(world):
    observe(world, "A1-0", 1)
    observe(world, "A1-0", 13.9, urgent=True)
    observe(world, "A1-0", 14.1, urgent=True)  # too old
    observe(world, "A1-2", 2, urgent=True)  # a classmate
    observe(world, "A2-0", 1)
    found = observation_features(
        [world.students[key].id for key in ("A1-0", "A1-1", "A1-2", "B1-0")]
    )
    assert found[world.students["A1-0"].id] == {"observations": 2, "observations_urgent": True}
    assert found[world.students["A1-1"].id] == {"observations": 0, "observations_urgent": False}
    assert found[world.students["A1-2"].id] == {"observations": 1, "observations_urgent": True}
    assert found[world.students["B1-0"].id] == {"observations": 0, "observations_urgent": False}
    assert world.students["A2-0"].id not in found  # not asked


def test_a_batch_of_students_is_one_query(world):
    for key in ("A1-0", "A2-0", "B1-0", "B2-1"):
        observe(world, key, 1)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    ids = [student.id for student in world.students.values()]
    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        found = observation_features(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sum(columns["observations"] for columns in found.values()) == 4
    assert len(statements) == 1, statements


def _sit(campaign, student) -> RiskAssessment:  # noqa: F811
    target = target_of(campaign, student)
    answer_all(target, 1)
    campaign_services.submit(target, utcnow())
    db.session.flush()
    return db.session.scalar(select(RiskAssessment).where(RiskAssessment.target_id == target.id))


def _contribution(assessment: RiskAssessment, feature: str) -> dict:
    (found,) = [c for c in assessment.explanation["contributions"] if c["feature"] == feature]
    return found


def test_a_submitted_sitting_explains_the_observations(world, campaign):  # noqa: F811
    observe(world, "A1-0", 3)
    observe(world, "A1-0", 5, urgent=True)
    observe(world, "A1-0", 20, urgent=True)  # too old
    observe(world, "A1-2", 1)  # a classmate
    assessment = _sit(campaign, world.students["A1-0"])
    inputs = assessment.explanation["inputs"]
    assert inputs["observations"] == 2 and inputs["observations_urgent"] is True
    several = _contribution(assessment, "observations")
    assert several["bin"] == "several" and several["points"] == 0  # the shipped model
    assert several["label"]["zh"] == "近两周观察记录"
    assert _contribution(assessment, "observations_urgent")["bin"] == "yes"

    quiet = _sit(campaign, world.students["A1-1"])
    assert quiet.explanation["inputs"]["observations"] == 0
    assert _contribution(quiet, "observations")["bin"] == "none"
    assert _contribution(quiet, "observations_urgent")["bin"] == "no"
