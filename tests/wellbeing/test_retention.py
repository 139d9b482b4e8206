"""Retention: the dry run lists and changes nothing, --apply purges in one transaction and
is audited, floors hold whatever the config says, audit rows are never purged, and a new
kind is one registry entry. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notes.models import StudentNote
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.security import audit, retention
from wellbeing.security.audit import record_event
from wellbeing.security.audit_cli import retention_group, run_command
from wellbeing.security.audit_verify import verify_chain
from wellbeing.security.models import AccountLock, AuditEvent, LoginAttempt

pytestmark = pytest.mark.app

DEFAULTS = {
    "RETENTION_LOGIN_ATTEMPTS_DAYS": 180,
    "RETENTION_NOTIFICATIONS_DAYS": 365,
    "RETENTION_STUDENT_NOTES_YEARS_AFTER_LEAVING": 3,
    "RETENTION_AUDIT_DAYS": 1095,
}


def _ago(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def _attempt(days: int) -> LoginAttempt:
    attempt = LoginAttempt(
        at=_ago(days), username="someone", address="10.0.0.1", success=False, reason="x"
    )
    db.session.add(attempt)
    return attempt


def _note(world, student: str, days: int) -> StudentNote:
    note = StudentNote(
        student=world.students[student],
        author=world.users["counselor"],
        created_at=_ago(days),
        body="来访记录",
    )
    db.session.add(note)
    return note


@pytest.fixture
def records(world):
    """Old and recent rows of every kind; `expired` holds what the defaults purge."""
    users = world.users
    old_attempt, _recent_attempt = _attempt(200), _attempt(10)
    db.session.add_all(
        [
            AccountLock(username="ended", locked_until=_ago(1)),
            AccountLock(username="active", locked_until=utcnow() + timedelta(minutes=20)),
        ]
    )
    old_read = Notification(
        user_id=users["counselor"].id, kind="k", message="m", created_at=_ago(500)
    )
    old_read.read_at = _ago(400)
    recent_read = Notification(user_id=users["counselor"].id, kind="k", message="m")
    recent_read.read_at = _ago(10)
    old_unread = Notification(
        user_id=users["counselor"].id, kind="k", message="m", created_at=_ago(900)
    )
    db.session.add_all([old_read, recent_read, old_unread])
    # Delivered a year and more ago: purged; given up as long ago, or delivered lately: kept.
    outbox = [
        OutboxMessage(
            key=f"k{n}",
            channel="mail",
            recipient="a@school.cn",
            subject="s",
            body="b",
            status=status,
            sent_at=sent,
            created_at=_ago(500),
        )
        for n, (status, sent) in enumerate(
            [("sent", _ago(400)), ("sent", _ago(10)), ("failed", None)]
        )
    ]
    db.session.add_all(outbox)
    # Graduated, newest note four years old: every note goes.
    world.students["A1-1"].status = "graduated"
    graduated = [_note(world, "A1-1", 365 * 5), _note(world, "A1-1", 365 * 4)]
    # Withdrawn, but a note one year old: all kept.
    world.students["A1-2"].status = "withdrawn"
    _note(world, "A1-2", 365 * 5)
    _note(world, "A1-2", 365)
    # Transferred two years ago: kept. Enrolled with old notes: kept.
    world.students["A2-0"].status = "transferred"
    _note(world, "A2-0", 365 * 2)
    _note(world, "A1-0", 365 * 6)
    db.session.flush()
    return {
        "login_attempts": [old_attempt.id],
        "account_locks": ["ended"],
        "notifications": [old_read.id],
        "student_notes": sorted(note.id for note in graduated),
        "outbox_messages": [outbox[0].id],
    }


def _by_kind(outcomes) -> dict:
    return {outcome.kind: outcome for outcome in outcomes}


def _counts() -> dict[str, int]:
    models = {
        "login_attempts": LoginAttempt,
        "account_locks": AccountLock,
        "notifications": Notification,
        "student_notes": StudentNote,
        "outbox_messages": OutboxMessage,
    }
    return {
        kind: db.session.scalar(select(func.count()).select_from(model))
        for kind, model in models.items()
    }


def test_the_dry_run_lists_what_expired_and_changes_nothing(records):
    before = _counts()
    found = _by_kind(retention.plan(DEFAULTS))
    for kind, ids in records.items():
        assert found[kind].count == len(ids), kind
        if kind != "account_locks":  # a lock's key is a typed name: never listed
            assert found[kind].ids == ids, kind
    assert found["account_locks"].ids == []
    assert found["audit_events"].action == retention.REPORT
    assert _counts() == before
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "retention_run")) == 0


def test_apply_purges_and_audits_the_run(records):
    before = _counts()
    done = _by_kind(retention.apply(DEFAULTS, actor="cli:tester"))
    after = _counts()
    for kind, ids in records.items():
        assert done[kind].count == len(ids), kind
        assert after[kind] == before[kind] - len(ids), kind
    assert db.session.get(LoginAttempt, records["login_attempts"][0]) is None
    remaining_notes = db.session.scalars(select(StudentNote)).all()
    assert all(note.id not in records["student_notes"] for note in remaining_notes)
    assert {note.body for note in remaining_notes} == {"来访记录"}  # the rest still opens
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention_run")).one()
    assert run.username == "cli:tester"
    detail = json.loads(run.detail)
    # Areas register kinds of their own (the scheduler's job runs): none expired here.
    assert {kind: detail["counts"][kind] for kind in records} == {
        kind: len(ids) for kind, ids in records.items()
    }
    assert not any(count for kind, count in detail["counts"].items() if kind not in records)
    assert all(outcome.count == 0 for outcome in retention.plan(DEFAULTS)[:4])
    assert verify_chain().intact


def test_floors_hold_whatever_the_config_says(db_session):
    attempt = _attempt(100)
    db.session.flush()
    config = {"RETENTION_LOGIN_ATTEMPTS_DAYS": 30, "RETENTION_AUDIT_DAYS": 10}
    found = _by_kind(retention.plan(config))
    assert found["login_attempts"].count == 0
    assert "raised to the floor" in found["login_attempts"].period
    assert found["audit_events"].cutoff < _ago(179)
    retention.apply(config)
    assert db.session.get(LoginAttempt, attempt.id) is not None


def test_audit_rows_are_reported_never_purged(db_session, monkeypatch):
    monkeypatch.setattr(audit, "utcnow", lambda: _ago(4 * 365))
    record_event("login", username="old")
    monkeypatch.undo()
    record_event("login", username="new")
    done = _by_kind(retention.apply(DEFAULTS))
    assert done["audit_events"].count == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.username == "old")) == 1
    assert verify_chain().intact


def test_a_new_kind_is_one_registry_entry(db_session):
    old, recent = _attempt(400), _attempt(1)
    db.session.flush()
    anonymise_names = retention.RetentionRule(
        kind="login_attempt_names",
        model=LoginAttempt,
        action=retention.ANONYMISE,
        period=retention.Period("RETENTION_LOGIN_ATTEMPTS_DAYS", 180),
        expired=lambda cutoff, _now: (
            (LoginAttempt.at < cutoff) & (LoginAttempt.username != "anonymous")
        ),
        description="names and addresses of old login attempts",
        anonymise={"username": "anonymous", "address": "-"},
    )
    rules = (*retention.RULES, anonymise_names)
    assert _by_kind(retention.plan(DEFAULTS, rules=rules))["login_attempt_names"].ids == [old.id]
    done = retention.apply(DEFAULTS, rules=(anonymise_names,))
    assert done[0].count == 1
    db.session.expire_all()
    assert db.session.get(LoginAttempt, old.id).username == "anonymous"
    assert db.session.get(LoginAttempt, recent.id).username == "someone"
    assert retention.plan(DEFAULTS, rules=(anonymise_names,))[0].count == 0


def test_the_command_is_a_dry_run_unless_told_to_apply(app, records):
    runner = app.test_cli_runner()
    dry = runner.invoke(run_command)
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was changed" in dry.output
    assert "login_attempts: purge 1" in dry.output
    assert f"ids: {records['login_attempts'][0]}" in dry.output
    assert "audit_events: keep" in dry.output
    assert db.session.get(LoginAttempt, records["login_attempts"][0]) is not None
    applied = runner.invoke(retention_group, ["run", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "student_notes: purge 2" in applied.output
    db.session.expire_all()
    assert db.session.get(LoginAttempt, records["login_attempts"][0]) is None
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention_run")).one()
    assert run.username.startswith("cli:")
