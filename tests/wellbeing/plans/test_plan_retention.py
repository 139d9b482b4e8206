"""Retention of 一生一策 files (wellbeing/plans/retention.py) through a real run of
`wellbeing retention run --apply`: a closed plan of a student no longer enrolled, closed
longer ago than RETENTION_PLANS_YEARS_AFTER_CLOSING, goes with every part (versions,
contacts, attachments, referrals, transfers, packages; children first, so the foreign
keys hold on SQLite and PostgreSQL); a recent one, and an old one whose student is still
enrolled, stay. Leaving packages never downloaded are emptied past PLAN_PACKAGE_HOURS.
And the compliance pack's sheet counts the year's plans (wellbeing/plans/compliance.py).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_plans
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.plans import compliance
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
from wellbeing.security import audit
from wellbeing.security.audit import record_event
from wellbeing.security.audit_cli import retention_group
from wellbeing.security.compliance import year_bounds
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

PARTS = (PlanVersion, GuardianContact, PlanAttachment, Referral, PlanTransfer, PlanPackage)


def _close(plan, when: datetime, reason: str = v.GOALS_MET) -> None:
    plan.status, plan.closed_at, plan.close_reason = v.CLOSED, when, reason


def _parts(plan_id: int) -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(
            select(func.count()).select_from(model).where(model.plan_id == plan_id)
        )
        for model in PARTS
    }


@pytest.fixture
def aged(world):
    """Plan A: closed 4 years ago, its student withdrawn (expired). Plan B: closed a year
    ago, its student graduated (kept). Plan C: closed 4 years ago, its student still
    enrolled (kept). Each with a transfer row; B's package made two days ago."""
    add_plans(world)
    now = utcnow()
    _close(world.plans["A"], now - timedelta(days=4 * 365 + 2), v.LEFT_DISTRICT)
    _close(world.plans["B"], now - timedelta(days=365))
    _close(world.plans["C"], now - timedelta(days=4 * 365 + 2))
    world.students["A1-0"].status = "withdrawn"
    world.students["B1-0"].status = "graduated"
    for key, plan in world.plans.items():
        transfer = PlanTransfer(
            plan_id=plan.id, kind=v.LEFT, from_school_id=plan.school_id, at=plan.closed_at
        )
        transfer.note = {"text": f"离开本区{key}"}
        db.session.add(transfer)
    world.packages["B"].made_at = now - timedelta(days=2)
    db.session.flush()
    return world


def test_a_real_run_purges_an_expired_plan_whole_and_keeps_the_others(app, aged):
    ids = {key: plan.id for key, plan in aged.plans.items()}
    assert _parts(ids["A"]) == dict.fromkeys(_parts(ids["A"]), 1)
    db.session.commit()  # the command runs in its own app context, on this connection
    runner = app.test_cli_runner()
    dry = runner.invoke(retention_group, ["run"])
    assert dry.exit_code == 0, dry.output
    assert "growth_plans: purge 1" in dry.output and f"ids: {ids['A']}" in dry.output
    applied = runner.invoke(retention_group, ["run", "--apply"])
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()

    assert db.session.get(GrowthPlan, ids["A"]) is None
    assert set(_parts(ids["A"]).values()) == {0}
    for key in ("B", "C"):
        plan = db.session.get(GrowthPlan, ids[key])
        assert plan is not None and plan.status == v.CLOSED
        assert set(_parts(ids[key]).values()) == {1}, key
        assert plan.student_id == aged.students[f"{key}1-0"].id  # still opens
    # B's package was never downloaded in time: emptied, its row kept.
    package_b = db.session.scalar(select(PlanPackage).where(PlanPackage.plan_id == ids["B"]))
    assert package_b.content_sealed is None
    package_c = db.session.scalar(select(PlanPackage).where(PlanPackage.plan_id == ids["C"]))
    assert package_c.content == b"PK"  # made now: kept
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention_run")).one()
    counts = json.loads(run.detail)["counts"]
    assert counts["growth_plans"] == 1 and counts["plan_versions"] == 1
    assert counts["plan_package_contents"] == 1
    # A second run finds nothing more.
    again = runner.invoke(retention_group, ["run"])
    assert "growth_plans: purge 0" in again.output
    assert "plan_package_contents: anonymise 0" in again.output


def test_the_compliance_sheet_counts_the_years_plans(world, monkeypatch):
    add_plans(world)
    start, _end = year_bounds(2025)
    inside, before = start + timedelta(days=40), start - timedelta(days=3)
    a, b, c = world.plans["A"], world.plans["B"], world.plans["C"]
    a.opened_at = b.opened_at = inside
    c.opened_at = before
    _close(a, inside + timedelta(days=10), v.LEFT_DISTRICT)
    _close(b, inside + timedelta(days=20), v.GOALS_MET)
    _close(c, before, v.GOALS_MET)  # the year before: not counted
    for plan, kind, at in (
        (a, v.MOVED_SCHOOL, inside),
        (a, v.LEFT, inside + timedelta(days=5)),
        (b, v.MOVED_SCHOOL, inside),
        (c, v.MOVED_SCHOOL, before),
    ):
        transfer = PlanTransfer(plan_id=plan.id, kind=kind, from_school_id=plan.school_id, at=at)
        transfer.note = {"text": "x"}
        db.session.add(transfer)
    db.session.flush()
    monkeypatch.setattr(audit, "utcnow", lambda: inside)
    grant = {"break_glass_grant": 7}
    record_event("view_sensitive", user=world.users["admin"], target=a, detail=grant)
    record_event("view_sensitive", user=world.users["admin"], target=a, detail=grant)
    record_event("view_sensitive", user=world.users["counselor"], target=a, detail={"page": "x"})
    student = world.students["A1-0"]  # the student's page: not the plan's
    record_event("view_student", user=world.users["admin"], target=student, detail=grant)
    monkeypatch.setattr(audit, "utcnow", lambda: before)
    record_event("view_sensitive", user=world.users["admin"], target=c, detail=grant)
    monkeypatch.undo()

    sheet = compliance.growth_files_sheet(year_bounds(2025))
    figures = {(row[0], row[1]): row[2] for row in sheet.rows}
    assert figures == {
        ("建档 Opened", ""): 2,
        ("结案 Closed", "目标达成 goals met"): 1,
        ("结案 Closed", "离开本区 left the district"): 1,
        ("结案 Closed", "毕业 graduated"): 0,
        ("结案 Closed", "其他 other"): 0,
        ("转移 Transferred", "区内转学 moved school"): 2,
        ("转移 Transferred", "离开本区 left"): 1,
        ("紧急调阅 Break-glass openings", ""): 2,
    }
    assert sheet.filename == compliance.FILENAME
