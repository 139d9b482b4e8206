"""The observations' input to the risk model, registered with the review (which knows no
area above it): per student, `observations` is how many observations about them were
submitted in the last FEATURE_DAYS (14) days, and `observations_urgent` whether any of
them was urgent. The shipped model gives them 0 points until the district's outcomes
train it; the explanation shows them either way.

Whom an observation is about is sealed, so the batch is narrowed on clear columns first
(the students' current classes, submitted in the window) with one query, and only those
bodies are opened. An observation filed while the student sat in another class (moved in
the last two weeks) is not counted: the window is short and moves are rare."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.models import Observation
from wellbeing.review.assessments import register_feature_source
from wellbeing.roster.models import Student

IN_CHUNKS = 1000  # ids per IN list (every driver's limits)


def observation_features(student_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{student id: {"observations": n, "observations_urgent": bool}} for each student
    asked (0 and False without any): the last FEATURE_DAYS days, up to now."""
    wanted = set(student_ids)
    found: dict[int, dict[str, Any]] = {
        student_id: {"observations": 0, "observations_urgent": False} for student_id in wanted
    }
    for observation in _recent_in_classes(sorted(wanted)):
        columns = found.get(observation.student_id)
        if columns is None:  # a classmate not in this batch
            continue
        columns["observations"] += 1
        columns["observations_urgent"] = columns["observations_urgent"] or bool(observation.urgent)
    return found


def _recent_in_classes(student_ids: Sequence[int]) -> list[Observation]:
    """The observations submitted in the window in the students' classes: one query (per
    thousand students), its rows opened later one by one."""
    since = utcnow() - timedelta(days=v.FEATURE_DAYS)
    found: dict[int, Observation] = {}
    for start in range(0, len(student_ids), IN_CHUNKS):
        classes = select(Student.class_id).where(
            Student.id.in_(student_ids[start : start + IN_CHUNKS])
        )
        for observation in db.session.scalars(
            select(Observation).where(
                Observation.class_id.in_(classes), Observation.submitted_at >= since
            )
        ):
            found[observation.id] = observation  # a class may recur across chunks
    return list(found.values())


register_feature_source(observation_features)
