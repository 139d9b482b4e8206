"""The risk models a district can use: the list (the active one, drafts, retired ones),
the preview of a model's effect on the tiers (in memory, nothing written) with each
school's capacity check, and the audited activation. Functions flush; the request
commits once, so an activation (the model's status, every tier recomputed, the new red
alerts, the audit row) is saved whole or not at all.

The shipped default model ("default-1") has no row until it is activated again: it is
the active model whenever no row is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select

from screening import risk
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.review.alerts import raise_alert
from wellbeing.review.assessments import recompute
from wellbeing.review.models import CrisisAlert, RiskAssessment, RiskModel
from wellbeing.roster.models import RoleAssignment, School, User
from wellbeing.security.audit import record_event

# The capacity check: a school whose expected red and orange students exceed this many
# per active counselor is flagged on the preview. 15 open red or orange cases is about
# what one full-time counselor can see weekly beside teaching (an interview each, a
# guardian call, the checklist of a red one); a district sets its own figure here.
CAPACITY_PER_COUNSELOR = 15
SHIPPED = risk.DEFAULT_VERSION


class ActivationError(Exception):
    """Problems with an activation, by form field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class Entry:
    """A model the district can see: its row (None for the shipped default never
    activated) and its parsed model (None when its document cannot be read)."""

    version: str
    status: str
    document: Mapping[str, Any]
    row: RiskModel | None = None
    model: risk.Model | None = None
    problem: str | None = None  # why the document cannot be used

    @property
    def shipped(self) -> bool:
        return self.version == SHIPPED

    @property
    def card(self) -> Mapping[str, Any]:
        card = self.document.get("card")
        return card if isinstance(card, Mapping) else {}


def _entry(version: str, status: str, document: Mapping[str, Any], row: RiskModel | None) -> Entry:
    try:
        model = risk.model_from_document(document)
    except (risk.ModelError, KeyError, TypeError, ValueError) as error:
        return Entry(version, status, document, row, None, str(error))
    return Entry(version, status, document, row, model)


def _shipped() -> risk.Model:
    return risk.default_model()


def entries() -> tuple[Entry, list[Entry], list[Entry]]:
    """The active model (the shipped default when no row is active), the drafts (newest
    first) and the retired models (latest activated first)."""
    rows = db.session.scalars(select(RiskModel).order_by(RiskModel.created_at.desc())).all()
    active = next((row for row in rows if row.status == v.ACTIVE), None)
    if active is not None:
        current = _entry(active.version, v.ACTIVE, active.document, active)
    else:
        current = _entry(SHIPPED, v.ACTIVE, _shipped().document, None)
    drafts = [_entry(r.version, v.DRAFT, r.document, r) for r in rows if r.status == v.DRAFT]
    retired = sorted(
        (r for r in rows if r.status == v.RETIRED),
        key=lambda r: r.activated_at or r.created_at,
        reverse=True,
    )
    old = [_entry(r.version, v.RETIRED, r.document, r) for r in retired]
    if active is not None and not any(r.version == SHIPPED for r in rows):
        # The shipped default stays available to go back to.
        old.append(_entry(SHIPPED, v.RETIRED, _shipped().document, None))
    return current, drafts, old


def find(version: str) -> Entry | None:
    """The model of that version: a row, or the shipped default."""
    row = db.session.scalar(select(RiskModel).where(RiskModel.version == version))
    if row is not None:
        return _entry(row.version, row.status, row.document, row)
    if version == SHIPPED:
        active = db.session.scalar(select(RiskModel.id).where(RiskModel.status == v.ACTIVE))
        return _entry(SHIPPED, v.RETIRED if active else v.ACTIVE, _shipped().document, None)
    return None


def active_entry() -> Entry:
    return entries()[0]


# ----------------------------------------------------------------------------- preview


@dataclass
class SchoolLoad:
    """One school's expected red and orange students against its counselors."""

    school: School
    assessed: int = 0
    changed: int = 0
    red_before: int = 0
    orange_before: int = 0
    red: int = 0
    orange: int = 0
    counselors: int = 0

    @property
    def flagged(self) -> int:
        return self.red + self.orange

    @property
    def per_counselor(self) -> float | None:
        return self.flagged / self.counselors if self.counselors else None

    @property
    def over_capacity(self) -> bool:
        if not self.counselors:
            return self.flagged > 0
        return self.flagged > CAPACITY_PER_COUNSELOR * self.counselors


@dataclass
class Preview:
    """What activating a model would do to the tiers, computed in memory."""

    assessed: int = 0
    changed: int = 0
    became_red: int = 0
    matrix: Counter = field(default_factory=Counter)  # (model tier before, after) -> count
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    schools: list[SchoolLoad] = field(default_factory=list)
    capacity: int = CAPACITY_PER_COUNSELOR

    @property
    def over_capacity(self) -> list[SchoolLoad]:
        return [school for school in self.schools if school.over_capacity]


def counselors_by_school(school_ids: Collection[int]) -> dict[int, int]:
    """The number of active counselor accounts of each school."""
    if not school_ids:
        return {}
    rows = db.session.execute(
        select(RoleAssignment.school_id, func.count(func.distinct(RoleAssignment.user_id)))
        .join(User, User.id == RoleAssignment.user_id)
        .where(
            RoleAssignment.role == "counselor",
            RoleAssignment.school_id.in_(list(school_ids)),
            User.active.is_(True),
        )
        .group_by(RoleAssignment.school_id)
    )
    return dict(rows.all())


def _tiers(model: risk.Model, rows: Sequence[RiskAssessment]) -> list[str]:
    """The model's tier of each assessment, from the inputs sealed beside it."""
    if not rows:
        return []
    frame = pd.DataFrame.from_records([dict(row.explanation["inputs"]) for row in rows])
    return [str(tier) for tier in risk.assess(model, frame).tier]


def preview(model: risk.Model, school_ids: Collection[int]) -> Preview:
    """Every assessment of these schools tiered again with the model, nothing written:
    how many would change tier (the model's tier: a counselor's reviewed tier stays as
    it is), from which tier to which, and per school the red and orange students
    expected (the latest screening of each student, the counselor's tier where there
    is one, closed cases left out) against the school's active counselors."""
    rows = db.session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.school_id.in_(list(school_ids)))
        .order_by(RiskAssessment.computed_at, RiskAssessment.id)
    ).all()
    result = Preview()
    schools = {
        s.id: s for s in db.session.scalars(select(School).where(School.id.in_(list(school_ids))))
    }
    loads: dict[int, SchoolLoad] = {}
    latest: dict[int, tuple[RiskAssessment, str, str]] = {}
    for row, after in zip(rows, _tiers(model, rows), strict=True):
        before = row.tier
        load = loads.setdefault(row.school_id, SchoolLoad(schools[row.school_id]))
        load.assessed += 1
        result.assessed += 1
        result.matrix[(before, after)] += 1
        result.before[before] += 1
        result.after[after] += 1
        if before != after:
            load.changed += 1
            result.changed += 1
            result.became_red += after == "red"
        latest[row.student_id] = (row, before, after)  # rows come oldest first
    for row, before, after in latest.values():
        if row.state == v.CLOSED:
            continue
        load = loads[row.school_id]
        was, will = row.reviewed_tier or before, row.reviewed_tier or after
        load.red_before += was == "red"
        load.orange_before += was == "orange"
        load.red += will == "red"
        load.orange += will == "orange"
    counselors = counselors_by_school(list(loads))
    for school_id, load in loads.items():
        load.counselors = counselors.get(school_id, 0)
    result.schools = sorted(loads.values(), key=lambda load: load.school.code)
    return result


@dataclass(frozen=True)
class PointsChange:
    feature: Mapping[str, str]  # the feature's label
    bin: Mapping[str, str] | None  # the bin's label; None for the whole feature
    before: int | None  # None: not in the other model
    after: int | None


def points_changes(model: risk.Model, other: risk.Model) -> list[PointsChange]:
    """The points that differ between `other` (before) and `model` (after), bin by
    bin, with the features one of them lacks."""
    found = []
    theirs = {f.id: f for f in other.features}
    for feature in model.features:
        old = theirs.pop(feature.id, None)
        if old is None:
            found.append(
                PointsChange(feature.label, None, None, max(b.points for b in feature.bins))
            )
            continue
        old_bins = {b.id: b.points for b in old.bins}
        for item in feature.bins:
            before = old_bins.get(item.id)
            if before != item.points:
                found.append(PointsChange(feature.label, item.label, before, item.points))
        if old.missing_points != feature.missing_points:
            found.append(
                PointsChange(
                    feature.label, feature.missing_label, old.missing_points, feature.missing_points
                )
            )
    for old in theirs.values():
        found.append(PointsChange(old.label, None, max(b.points for b in old.bins), None))
    return found


# ----------------------------------------------------------------------------- activation


@dataclass(frozen=True)
class Activation:
    row: RiskModel
    assessed: int
    changed: int
    alerts: int


def activate(entry: Entry, user: User, confirmed: bool) -> Activation:
    """Make the model the active one: the previous active one retires, every assessment
    is tiered again, each assessment that became red without an alert of its own raises
    a red-tier crisis alert, and the activation is audited with the number of tiers
    changed. Everything is checked before anything is written (ActivationError)."""
    problems = {}
    if not confirmed:
        problems["confirm"] = _(
            "Tick the box to confirm that you have read the preview and want to activate "
            "this model."
        )
    if entry.model is None:
        problems["confirm"] = _(
            "This model's file cannot be used: %(problem)s", problem=entry.problem
        )
    # Serialize activations: two administrators at once must not leave two active models.
    rows = db.session.scalars(select(RiskModel).order_by(RiskModel.id).with_for_update()).all()
    active = next((row for row in rows if row.status == v.ACTIVE), None)
    if (active is not None and active.version == entry.version) or (
        active is None and entry.shipped
    ):
        problems["confirm"] = _("This model is already the active one.")
    if problems:
        raise ActivationError(problems)
    row = next((r for r in rows if r.version == entry.version), None)
    if row is None:  # the shipped default, activated again
        row = RiskModel(version=entry.version, document=dict(entry.document), status=v.DRAFT)
        db.session.add(row)
    if active is not None:
        active.status = v.RETIRED
    db.session.flush()  # the old one retired before the new one is active (one active)
    row.status, row.activated_at, row.activated_by_id = v.ACTIVE, utcnow(), user.id
    db.session.flush()
    assessments = db.session.scalars(select(RiskAssessment).order_by(RiskAssessment.id)).all()
    before = [a.tier for a in assessments]
    done = recompute(entry.model, assessments)
    changed = sum(a.tier != tier for a, tier in zip(assessments, before, strict=True))
    alerted = {alert.assessment_id for alert in db.session.scalars(select(CrisisAlert))}
    raised = 0
    for assessment in done["became_red"]:
        # A student a counselor has reviewed keeps the counselor's tier: the case page
        # shows the model's new tier, and no alert overrules the counselor's judgement.
        if assessment.id in alerted or assessment.reviewed_tier is not None:
            continue
        target = db.session.get(CampaignTarget, assessment.target_id)
        raise_alert(target, v.RED_TIER, f"{assessment.points}", assessment=assessment)
        raised += 1
    record_event(
        "risk_model_activate",
        target=row,
        user=user,
        detail={"model": entry.version, "changed": changed, "alerts": raised},
    )
    return Activation(row, done["assessed"], changed, raised)
