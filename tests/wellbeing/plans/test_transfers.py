"""A plan follows its student through the roster (wellbeing/plans/transfers.py): a real
roster import that moves the student to another school of the district moves the plan
there with a handover note, its follow-ups to the new school's counselors (told in their
inbox, nothing identifying by mail), audited; the old school loses access and the
history is untouched. A student who leaves the district is written once, and the
school's counselors are told to make the leaving package. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_plans, make_user
from tests.wellbeing.test_roster_import import STUDENTS_EN, csv_bytes, run
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import open_follow_up
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.plans import queries, transfers
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import PlanTransfer
from wellbeing.security.models import AuditEvent
from wellbeing.security.policy import can

pytestmark = pytest.mark.app


def _row(student, school_code: str, class_name: str = "1", status: str | None = None) -> list:
    row = [student.student_number, student.name, student.sex, "2013-05-01", school_code, 7]
    return [*row, class_name, *([status] if status else [])]


def _import(*rows: list, status: bool = False):
    header = [*STUDENTS_EN, "status"] if status else STUDENTS_EN
    result = run(csv_bytes(header, rows))
    assert result.ok, result.errors
    return result


def _snapshot(plan) -> dict:
    """The plan's history, by part: ids and opened contents."""
    return {
        "versions": [(x.id, x.body) for x in queries.versions_of(plan)],
        "contacts": [(x.id, x.body) for x in queries.contacts_of(plan)],
        "attachments": [(x.id, x.meta, x.content) for x in queries.attachments_of(plan)],
        "referrals": [(x.id, x.sheet, x.history) for x in queries.referrals_of(plan)],
    }


@pytest.fixture
def plan_world(world, password_hash):
    """Plan A (about A1-0, school A) with a future review date, a review follow-up and a
    follow-up chasing its referral; school B has a counselor of its own."""
    add_plans(world)
    plan, counselor = world.plans["A"], world.users["counselor"]
    version = queries.current_version(plan)
    body = version.body
    review = (local_today() + timedelta(days=20)).isoformat()
    body["review_dates"] = [(local_today() - timedelta(days=5)).isoformat(), review]
    version.body = body
    world.review_day = review
    student = world.students["A1-0"]
    due = utcnow() + timedelta(days=3)
    world.review_follow_up = open_follow_up(
        student, fv.PLAN_REVIEW, counselor, due, fv.ORANGE, fv.FROM_PLAN, plan.id, counselor
    )
    chase = open_follow_up(
        student, fv.REFERRAL_CHECK, counselor, due, fv.ORANGE, fv.FROM_PLAN, None, counselor
    )
    world.referrals["A"].follow_up_id = chase.id
    world.chase_follow_up = chase
    world.counselor_b = make_user("counselor-b", password_hash, ("counselor", world.schools["B"]))
    world.counselor_b.email = "counselor-b@school-b.example"
    db.session.flush()
    return world


def test_a_move_within_the_district_moves_the_plan_with_a_handover_note(
    app, plan_world, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_HOST", "127.0.0.1")  # mail on: what would leave
    w = plan_world
    plan, student = w.plans["A"], w.students["A1-0"]
    history = _snapshot(plan)
    result = _import(_row(student, "SB"))
    assert result.refreshed["plans"] == 1

    db.session.refresh(plan)
    assert plan.school_id == w.schools["B"].id and plan.status == v.ACTIVE
    assert _snapshot(plan) == history  # versions, contacts, attachments, referrals intact
    [transfer] = queries.transfers_of(plan)
    assert (transfer.kind, transfer.from_school_id, transfer.to_school_id) == (
        v.MOVED_SCHOOL,
        w.schools["A"].id,
        w.schools["B"].id,
    )
    note = transfer.note["text"]
    for expected in ("移交说明", "共有 1 个版本", "按时睡觉", "每天问候", "每周面谈", "合作医院A"):
        assert expected in note, expected
    assert "医院尚未确认接收" in note  # the referral's state, in words
    assert f"下次复查日期：{w.review_day}" in note  # the next one, not the past one

    # Access follows the plan: the old school's counselor is out, the new one in.
    assert not can(w.users["counselor"], "plans.read", plan)
    assert can(w.counselor_b, "plans.read", plan)
    assert not can(w.users["head_teacher"], "plans.care", plan)  # no longer their class

    for follow_up in (w.review_follow_up, w.chase_follow_up):
        db.session.refresh(follow_up)
        assert follow_up.school_id == w.schools["B"].id
        assert follow_up.assignee_id == w.counselor_b.id and follow_up.status == fv.OPEN

    [told] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == w.counselor_b.id, Notification.kind == "plan_transfer"
        )
    ).all()
    assert student.name in told.message and "移交说明" in told.message
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert any(m.recipient == w.counselor_b.email for m in mails)
    for mail in mails:
        assert student.name not in mail.subject + mail.body
        assert student.student_number not in mail.subject + mail.body

    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan_transfer")).one()
    assert (audit.target_type, audit.target_id) == ("growth_plan", str(plan.id))
    detail = json.loads(audit.detail)
    assert detail == {
        "kind": v.MOVED_SCHOOL,
        "from_school": w.schools["A"].id,
        "to_school": w.schools["B"].id,
        "follow_ups": 2,
    }
    # A second import with nothing new changes nothing.
    assert _import(_row(student, "SB")).refreshed["plans"] == 0
    assert len(queries.transfers_of(plan)) == 1


def test_without_counselors_the_follow_ups_go_to_the_district_administrators(plan_world):
    w = plan_world
    db.session.delete(w.counselor_b.roles[0])
    db.session.flush()
    _import(_row(w.students["A1-0"], "SB"))
    db.session.refresh(w.review_follow_up)
    assert w.review_follow_up.assignee_id == w.users["admin"].id
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "plan_transfer")
    ).all()
    assert told == [w.users["admin"].id]


def test_leaving_the_district_is_written_once_and_the_counselors_are_told(plan_world):
    w = plan_world
    plan, student = w.plans["A"], w.students["A1-0"]
    result = _import(_row(student, "SA", status="transferred"), status=True)
    assert result.refreshed["plans"] == 1
    db.session.refresh(plan)
    assert plan.school_id == w.schools["A"].id and plan.status == v.ACTIVE  # until the package
    [left] = queries.transfers_of(plan)
    assert (left.kind, left.from_school_id, left.to_school_id) == (v.LEFT, w.schools["A"].id, None)
    assert "离开本区" in left.note["text"]
    [told] = db.session.scalars(
        select(Notification).where(Notification.kind == "plan_transfer")
    ).all()
    assert told.user_id == w.users["counselor"].id and "移交包" in told.message
    # Written once: the next import (or any) adds nothing.
    assert transfers.follow_students() == 0
    assert _import(_row(student, "SA", status="transferred"), status=True).refreshed["plans"] == 0
    assert len(queries.transfers_of(plan)) == 1
    review = db.session.get(FollowUp, w.review_follow_up.id)
    assert review.status == fv.OPEN  # still the school's, until the package closes the plan


def test_a_school_of_another_district_is_leaving_too(plan_world):
    w = plan_world
    plan, student = w.plans["A"], w.students["A1-0"]
    student.class_id = w.classes["C1"].id  # enrolled, but in the neighbouring district
    db.session.flush()
    db.session.expire(student)
    assert transfers.follow_students() == 1
    [left] = db.session.scalars(select(PlanTransfer).where(PlanTransfer.plan_id == plan.id))
    assert (left.kind, left.to_school_id) == (v.LEFT, w.schools["C"].id)
    db.session.refresh(plan)
    assert plan.school_id == w.schools["A"].id  # the other district never reads it


def test_closed_plans_stay_where_they_were(plan_world):
    w = plan_world
    plan = w.plans["A"]
    plan.status, plan.closed_at, plan.close_reason = v.CLOSED, utcnow(), v.GOALS_MET
    db.session.flush()
    assert _import(_row(w.students["A1-0"], "SB")).refreshed["plans"] == 0
    db.session.refresh(plan)
    assert plan.school_id == w.schools["A"].id and queries.transfers_of(plan) == []
