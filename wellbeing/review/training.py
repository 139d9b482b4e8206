"""Training a district's risk model from its counselors' confirmed outcomes.

An outcome is a reviewed assessment (a counselor confirmed or changed its tier): the
model's input row is the one kept sealed in its explanation (so training never reopens
the answers), the label is 1 when the reviewed tier is red or orange (the counselor
confirmed the student needs intervention). The card's fairness figures group the
students by sex, grade and school from the roster. A trained model is saved as a draft:
a district previews and activates it on the model page. Functions flush; the caller
commits."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from screening import risk
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.review.assessments import active_model
from wellbeing.review.models import RiskAssessment, RiskModel
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.audit import record_event

NEEDS_INTERVENTION = ("red", "orange")


def outcomes(district_id: int | None = None) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """(input rows, labels, groups) of every reviewed assessment (of one district, or
    all). groups has sex, grade, school (the school's name), reviewed_tier and date (of
    the decision). Ordered by assessment id, so that the same database trains the same
    model."""
    query = (
        select(RiskAssessment, Student.sex, SchoolClass.grade, School.name)
        .join(Student, Student.id == RiskAssessment.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .order_by(RiskAssessment.id)
    )
    if district_id is not None:
        query = query.where(School.district_id == district_id)
    inputs, labels, groups = [], [], []
    for row, sex, grade, school in db.session.execute(query):
        reviewed = row.reviewed_tier  # sealed: decrypted here, never filtered in SQL
        if reviewed is None:
            continue
        status = row.status or {}
        inputs.append(dict(row.explanation["inputs"]))
        labels.append(int(reviewed in NEEDS_INTERVENTION))
        groups.append(
            {
                "sex": sex,
                "grade": grade,
                "school": school,
                "reviewed_tier": reviewed,
                "date": (status.get("decided_at") or "")[:10] or None,
            }
        )
    return (
        pd.DataFrame.from_records(inputs),
        pd.Series(labels, dtype="int64", name="label"),
        pd.DataFrame.from_records(
            groups, columns=["sex", "grade", "school", "reviewed_tier", "date"]
        ),
    )


def _free_version() -> str:
    """trained-YYYY-MM-DD-N: the first N not taken."""
    today = utcnow().date()
    taken = set(db.session.scalars(select(RiskModel.version)))
    number = 1
    while f"trained-{today.isoformat()}-{number}" in taken:
        number += 1
    return f"trained-{today.isoformat()}-{number}"


def train(
    version: str | None = None,
    seed: int = 0,
    user: Any = None,
    *,
    district_id: int | None = None,
    username: str | None = None,
) -> RiskModel:
    """Learn a model from the confirmed outcomes and save it as a draft (its previous
    version: the active model). Raises risk.TooFewOutcomes below the minimum, and
    risk.ModelError for a version already taken. Audited as risk_model_train."""
    version = version or _free_version()
    if db.session.scalar(select(RiskModel.id).where(RiskModel.version == version)):
        raise risk.ModelError(f"version: {version} is already taken")
    frame, labels, groups = outcomes(district_id)
    model = risk.fit(
        frame,
        labels.to_numpy(),
        template=risk.default_model(),
        groups=groups,
        seed=seed,
        version=version,
        previous=active_model(),
    )
    row = RiskModel(
        version=version,
        document=dict(model.document),
        status=v.DRAFT,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record_event("risk_model_train", target=row, user=user, username=username)
    return row
