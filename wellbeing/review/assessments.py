"""Tiers: each scored sitting is assessed with the active risk model (screening.risk) at
submission, and every assessment again when a model is activated. The model's input row
is kept sealed beside the explanation, so a recompute or a training run never reopens
the answers. Functions flush; the caller commits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from screening import risk
from wellbeing.campaigns.models import CampaignTarget, ScreeningResponse
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.review.models import RiskAssessment, RiskModel
from wellbeing.roster.models import Student

# Areas that know more about a student (the observations) register a source of input
# columns: (student ids) -> {student id: {column: value}}. The review knows no area above.
FeatureSource = Callable[[Sequence[int]], Mapping[int, Mapping[str, Any]]]
FEATURE_SOURCES: list[FeatureSource] = []


def register_feature_source(source: FeatureSource) -> None:
    FEATURE_SOURCES.append(source)


# Parsed models by their document (the canonical JSON): each submission reads one small
# row instead of checking the whole document again.
_PARSED: dict[str, risk.Model] = {}


def active_model() -> risk.Model:
    """The district's active model; the shipped default until one is activated."""
    document = db.session.scalar(select(RiskModel.document).where(RiskModel.status == v.ACTIVE))
    if document is None:
        return risk.default_model()
    key = json.dumps(document, sort_keys=True)
    model = _PARSED.get(key)
    if model is None:
        model = _PARSED[key] = risk.model_from_document(document)
    return model


def sitting_inputs(responses: Sequence[ScreeningResponse]) -> dict[str, Any]:
    """A sitting's scores as the model's input columns: <instrument>_band, _total and
    _valid for each instrument (band and total only when valid), and `critical` when any
    critical item was endorsed (valid or not: safety first)."""
    row: dict[str, Any] = {"critical": False}
    for response in responses:
        prefix = response.instrument_id
        row[f"{prefix}_valid"] = bool(response.valid)
        if response.valid and response.total is not None:
            row[f"{prefix}_band"] = response.band
            row[f"{prefix}_total"] = response.total
        row["critical"] = row["critical"] or bool(response.critical)
    return row


def context_inputs(students: Iterable[Student]) -> dict[int, dict[str, Any]]:
    """Each student's context columns (a trained model uses them only where they pass
    its calibration and fairness checks) and what the registered areas add."""
    students = list(students)
    found = {
        s.id: {"boarding": bool(s.boarding), "left_behind": bool(s.left_behind)} for s in students
    }
    for source in FEATURE_SOURCES:
        for student_id, columns in source([s.id for s in students]).items():
            found.setdefault(student_id, {}).update(columns)
    return found


def previous_tiers(student_ids: Sequence[int], campaign_id: int) -> dict[int, str]:
    """Each student's latest tier from another campaign (the counselor's, once reviewed)."""
    found: dict[int, tuple] = {}
    if not student_ids:
        return {}
    rows = db.session.scalars(
        select(RiskAssessment)
        .where(
            RiskAssessment.student_id.in_(student_ids),
            RiskAssessment.campaign_id != campaign_id,
        )
        .order_by(RiskAssessment.computed_at, RiskAssessment.id)
    )
    for row in rows:
        found[row.student_id] = row.current_tier
    return found


def _documents(result: risk.Assessments, row: int, language: str = "zh") -> tuple[dict, list]:
    contributions = [
        {
            "feature": c.feature,
            "bin": c.bin,
            "points": c.points,
            "detail": c.detail,
            "label": dict(c.label),
            "bin_label": dict(c.bin_label),
        }
        for c in result.contributions(row)
    ]
    rule_id = result.rule[row]
    rule = None
    if rule_id:
        found = next(r for r in result.model.rules if r.id == rule_id)
        rule = {"id": rule_id, "label": dict(found.label)}
    return rule, contributions


def _apply(
    assessment: RiskAssessment, result: risk.Assessments, row: int, inputs: dict[str, Any]
) -> None:
    """Write the row's tier and explanation; a newly flagged student enters the queue
    (waiting); a case already decided keeps its state and reviewed tier."""
    rule, contributions = _documents(result, row)
    status = dict(assessment.status or {})
    tier = str(result.tier[row])
    status.update(tier=tier, points=int(result.total[row]), rule=rule["id"] if rule else None)
    status.setdefault("reviewed_tier", None)
    status.setdefault("owner_id", None)
    status.setdefault("decided_at", None)
    if tier in v.FLAGGED and status.get("state") is None:
        status["state"], status["flagged_at"] = v.WAITING, utcnow().isoformat()
    elif tier not in v.FLAGGED and status.get("state") == v.WAITING:
        status["state"], status["flagged_at"] = None, None  # nobody decided: it leaves the queue
    status.setdefault("state", None)
    status.setdefault("flagged_at", None)
    assessment.status = status
    assessment.explanation = {"contributions": contributions, "rule": rule, "inputs": inputs}
    assessment.model_version = result.model.version
    assessment.computed_at = utcnow()


def _frame(inputs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records([dict(row) for row in inputs])


def assess_sitting(
    target: CampaignTarget, responses: Sequence[ScreeningResponse], model: risk.Model | None = None
) -> tuple[RiskAssessment, str | None]:
    """Tier a sitting just scored: one assessment per target (a retest replaces it).
    Returns it with the tier it had before (None for a first sitting)."""
    model = model or active_model()
    student = target.student
    inputs = sitting_inputs(responses)
    inputs.update(context_inputs([student]).get(student.id, {}))
    previous = previous_tiers([student.id], target.campaign_id).get(student.id)
    inputs["previous_tier"] = previous
    result = risk.assess(model, _frame([inputs]))
    assessment = db.session.scalar(
        select(RiskAssessment).where(RiskAssessment.target_id == target.id)
    )
    before = assessment.tier if assessment is not None else None
    if assessment is None:
        assessment = RiskAssessment(
            school_id=student.school_class.school_id,
            campaign_id=target.campaign_id,
            target_id=target.id,
            student_id=student.id,
        )
        db.session.add(assessment)
    assessment.attempt = target.attempt
    _apply(assessment, result, 0, _jsonable(inputs))
    db.session.flush()
    return assessment, before


def _jsonable(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v_, float) and v_ != v_ else v_) for k, v_ in inputs.items()}


def recompute(model: risk.Model, assessments: Iterable[RiskAssessment] | None = None) -> dict:
    """Tier every assessment again with the model, from their kept inputs. Returns the
    counts of tiers before and after, and the assessments that became red."""
    rows = list(
        assessments if assessments is not None else db.session.scalars(select(RiskAssessment))
    )
    if not rows:
        return {"assessed": 0, "became_red": []}
    before = [row.tier for row in rows]
    inputs = [row.explanation["inputs"] for row in rows]
    result = risk.assess(model, _frame(inputs))
    became_red = []
    for index, row in enumerate(rows):
        _apply(row, result, index, inputs[index])
        if row.tier == "red" and before[index] != "red":
            became_red.append(row)
    db.session.flush()
    return {"assessed": len(rows), "became_red": became_red}
