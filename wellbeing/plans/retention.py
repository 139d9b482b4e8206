"""How long 一生一策 files are kept, registered with the retention run (which knows no
area): a closed plan whose student is no longer enrolled in the district expires once it
has been closed longer than RETENTION_PLANS_YEARS_AFTER_CLOSING; it is purged whole,
with its versions, contacts, attachments, referrals, transfers and packages.

The run deletes by rule, one table each, in the order registered: the parts first (their
foreign keys name the plan), the plan last. Each rule finds the same expired plans: a
plan's student is sealed, so the closed plans past the period are opened and their
students looked up (a district has hundreds of closed plans, not millions).

A second rule empties leaving packages past PLAN_PACKAGE_HOURS that were never
downloaded (the row, who made it and when, stays with its plan)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, select

from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import (
    GrowthPlan,
    GuardianContact,
    PlanAttachment,
    PlanPackage,
    PlanTransfer,
    PlanVersion,
    Referral,
)
from wellbeing.plans.transfers import has_left
from wellbeing.roster.models import Student
from wellbeing.security.retention import (
    ANONYMISE,
    PURGE,
    Period,
    RetentionRule,
    register_rule,
)

PERIOD = Period("RETENTION_PLANS_YEARS_AFTER_CLOSING", 3, unit="years")


def expired_plan_ids(cutoff: datetime) -> list[int]:
    """Closed before the cutoff, and the student no longer enrolled in the district."""
    closed = db.session.scalars(
        select(GrowthPlan).where(GrowthPlan.status == v.CLOSED, GrowthPlan.closed_at < cutoff)
    )
    return [
        plan.id
        for plan in closed
        if has_left(db.session.get(Student, plan.student_id), plan.school.district_id)
    ]


def _part_rule(kind: str, model: type, what: str) -> RetentionRule:
    return RetentionRule(
        kind=kind,
        model=model,
        action=PURGE,
        period=PERIOD,
        expired=lambda cutoff, _now: model.plan_id.in_(expired_plan_ids(cutoff)),
        description=f"{what} of the 一生一策 files purged below",
    )


# Children first: each table's rows name their plan by a foreign key (no cascade).
for _kind, _model, _what in (
    ("plan_packages", PlanPackage, "leaving packages"),
    ("plan_transfers", PlanTransfer, "transfers and handover notes"),
    ("plan_referrals", Referral, "referrals, their sheets and the hospitals' feedback"),
    ("plan_attachments", PlanAttachment, "attachments"),
    ("plan_contacts", GuardianContact, "guardian contact logs"),
    ("plan_versions", PlanVersion, "versions"),
):
    register_rule(_part_rule(_kind, _model, _what))

register_rule(
    RetentionRule(
        kind="growth_plans",
        model=GrowthPlan,
        action=PURGE,
        period=PERIOD,
        expired=lambda cutoff, _now: GrowthPlan.id.in_(expired_plan_ids(cutoff)),
        description=(
            "一生一策 files closed longer ago than the period whose student is no longer "
            "enrolled in the district (transferred, graduated, withdrawn, or elsewhere)"
        ),
    )
)


def _expired_packages(_cutoff: datetime, now: datetime) -> ColumnElement[bool]:
    hours = current_app.config["PLAN_PACKAGE_HOURS"]
    return PlanPackage.content_sealed.is_not(None) & (
        PlanPackage.made_at < now - timedelta(hours=hours)
    )


register_rule(
    RetentionRule(
        kind="plan_package_contents",
        model=PlanPackage,
        action=ANONYMISE,
        period=Period(),
        expired=_expired_packages,
        description="leaving packages not downloaded within PLAN_PACKAGE_HOURS: content deleted",
        anonymise={"content_sealed": None},
    )
)
