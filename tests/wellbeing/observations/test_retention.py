"""Retention of observations and weekly reports (wellbeing/observations/retention.py)
through a real run of `wellbeing retention run --apply`: an observation older than the
period about a student no longer enrolled is purged; one as old about an enrolled
student, and a recent one about a student who left, stay; weekly reports older than the
period go once no kept observation belongs to them (the report of a purged observation
in the same run). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.security.audit_cli import retention_group
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

YEAR = 365


def report(world, class_key: str, days_ago: int, *, nil: bool = False) -> WeeklyReport:
    school_class = world.classes[class_key]
    row = WeeklyReport(
        school_id=school_class.school_id,
        class_id=school_class.id,
        reporter_id=world.users["head_teacher"].id,
        reporter_role=v.BY_HEAD_TEACHER,
        week_start=week_start(local_today() - timedelta(days=days_ago)),
        nil=nil,
        submitted_at=utcnow() - timedelta(days=days_ago),
    )
    db.session.add(row)
    db.session.flush()
    return row


def observe(world, student: str, days_ago: int, within: WeeklyReport | None) -> Observation:
    about = world.students[student]
    submitted = utcnow() - timedelta(days=days_ago)
    row = Observation(
        report_id=within.id if within else None,
        school_id=about.school_class.school_id,
        class_id=about.class_id,
        reporter_id=world.users["head_teacher"].id,
        reporter_role=v.BY_HEAD_TEACHER,
        submitted_at=submitted,
        urgent=within is None,
        due_at=submitted + timedelta(hours=1),
    )
    row.body = {"student_id": about.id, "signs": [v.WITHDRAWN], "certainty": v.NOT_SURE}
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def aged(world):
    """Four years ago: class A1's report with an observation about A1-0 (withdrawn since:
    expired) and class A2's with one about A2-0 (still enrolled: kept), B1's nil report
    (expired); an urgent one about B1-0 (graduated) a year ago (kept); this week's nil
    report of B2 (kept)."""
    world.students["A1-0"].status = "withdrawn"
    world.students["B1-0"].status = "graduated"
    old = 4 * YEAR + 10
    rows = {
        "report_gone": report(world, "A1", old),
        "report_kept": report(world, "A2", old),
        "nil_gone": report(world, "B1", old, nil=True),
        "nil_recent": report(world, "B2", 0, nil=True),
    }
    rows["gone"] = observe(world, "A1-0", old, rows["report_gone"])
    rows["kept_enrolled"] = observe(world, "A2-0", old, rows["report_kept"])
    rows["kept_recent"] = observe(world, "B1-0", YEAR, None)
    db.session.flush()
    return {key: (type(row), row.id) for key, row in rows.items()}


def test_a_real_run_purges_what_expired_and_keeps_the_rest(app, aged):
    db.session.commit()  # the command runs in its own app context, on this connection
    runner = app.test_cli_runner()
    dry = runner.invoke(retention_group, ["run"])
    assert dry.exit_code == 0, dry.output
    assert "observations: purge 1" in dry.output and f"ids: {aged['gone'][1]}" in dry.output
    # A dry run changes nothing: the purged observation's report is still named by it.
    assert "weekly_reports: purge 1" in dry.output
    applied = runner.invoke(retention_group, ["run", "--apply"])
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()
    gone = {"gone", "report_gone", "nil_gone"}
    for key, (model, ident) in aged.items():
        assert (db.session.get(model, ident) is None) == (key in gone), key
    assert db.session.get(Observation, aged["kept_enrolled"][1]).student_id is not None
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention_run")).one()
    counts = json.loads(run.detail)["counts"]
    assert counts["observations"] == 1 and counts["weekly_reports"] == 2
    again = runner.invoke(retention_group, ["run"])
    assert "observations: purge 0" in again.output and "weekly_reports: purge 0" in again.output
