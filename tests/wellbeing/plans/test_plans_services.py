"""The file's writes: opening (a second open file refused; every problem at once),
amendments that leave earlier versions as they were, a signature that locks a version,
review dates as follow-ups kept in step with each amendment, status changes, and closing
(which cancels the file's open follow-ups). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from wellbeing.clock import local_today, to_local
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.plans import services
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import PlanVersion
from wellbeing.plans.queries import current_version, versions_of
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

CANARY = "canary-plan-5d1e 该生近期在宿舍多次哭泣"


def body(world, *, reviews=(), change="", **changes) -> dict:
    """A valid body for student A1-0's file at school A."""
    value = {
        "summary": CANARY,
        "strengths": "喜欢画画，和同桌关系好",
        "risk_factors": "睡眠差，父母长期在外务工",
        "goals": ["按时睡觉", "每周与老师交流一次"],
        "measures": [
            {"owner": "head_teacher", "who": "班主任", "what": "每天课间问候", "how_often": "每天"},
            {"owner": "counselor", "who": "心理老师", "what": "每周面谈", "how_often": "每周"},
        ],
        "responsible": {
            "counselor_id": world.users["counselor"].id,
            "head_teacher_id": world.users["head_teacher"].id,
            "guardian": "母亲",
        },
        "review_dates": [d.isoformat() for d in reviews],
        "change": change,
    }
    value.update(changes)
    return value


def days(*offsets: int) -> list:
    return [local_today() + timedelta(days=n) for n in offsets]


def reviews_of(plan, status=fv.OPEN) -> dict[str, object]:
    return {
        to_local(f.due_at).date().isoformat(): f
        for f in services.follow_ups_of(plan)
        if f.kind == fv.PLAN_REVIEW and f.status == status
    }


def open_one(world, **kw):
    student = world.students["A1-0"]
    return services.open_plan(student, world.users["counselor"], body(world, **kw), "counselor")


def test_open_records_version_one_sealed_and_audited(world):
    plan = open_one(world)
    assert plan.status == v.ACTIVE and plan.version == 1
    assert plan.student_id == world.students["A1-0"].id
    (version,) = versions_of(plan)
    assert version.number == 1 and version.body["summary"] == CANARY
    raw = db.session.execute(text("SELECT body FROM plan_version")).scalar_one()
    assert CANARY.encode() not in bytes(raw) and b"canary-plan" not in bytes(raw)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan_open"))
    assert event.target_type == "growth_plan" and event.target_id == str(plan.id)
    assert "student" not in (event.detail or "")


def test_a_second_open_file_is_refused(world):
    open_one(world)
    with pytest.raises(services.PlanError) as refused:
        open_one(world)
    assert set(refused.value.problems) == {"plan"}


def test_every_problem_of_the_body_at_once(world):
    bad = body(
        world,
        summary="  ",
        goals=[""],
        measures=[{"owner": "nobody", "who": "x", "what": "", "how_often": ""}],
        responsible={"counselor_id": world.users["admin"].id, "head_teacher_id": 999999},
        review_dates=["2020-01-01", "not a date"],
    )
    with pytest.raises(services.PlanError) as refused:
        services.open_plan(world.students["A1-0"], world.users["counselor"], bad, "counselor")
    assert set(refused.value.problems) == {
        "summary",
        "goals",
        "measure-owner-0",
        "measure-what-0",
        "counselor_id",
        "head_teacher_id",
        "review_dates",
    }
    assert db.session.scalar(select(PlanVersion.id)) is None


def test_amend_keeps_old_versions_and_needs_a_change(world):
    plan = open_one(world)
    with pytest.raises(services.PlanError) as refused:
        services.amend(plan, world.users["counselor"], body(world, summary="新的概述"))
    assert set(refused.value.problems) == {"change"}
    version = services.amend(
        plan, world.users["counselor"], body(world, summary="新的概述", change="更新了概述")
    )
    assert version.number == 2 and plan.version == 2
    assert current_version(plan).body["summary"] == "新的概述"
    first = next(x for x in versions_of(plan) if x.number == 1)
    assert first.body["summary"] == CANARY and first.body["change"] == ""


def test_signing_locks_the_version(world):
    plan = open_one(world)
    version = current_version(plan)
    with pytest.raises(services.PlanError) as refused:
        services.sign_version(version, world.users["counselor"], None, "")
    assert set(refused.value.problems) == {"meeting_date", "attendees"}
    services.sign_version(
        version, world.users["counselor"], local_today(), "心理老师、班主任、母亲"
    )
    assert version.signed_at is not None and version.signed_by_id == world.users["counselor"].id
    meeting = version.meeting
    assert meeting["date"] == local_today().isoformat()
    assert meeting["digest"] == services.digest(version.body)
    with pytest.raises(services.PlanError) as again:
        services.sign_version(version, world.users["counselor"], local_today(), "再签一次")
    assert "version" in again.value.problems
    assert version.meeting == meeting
    # A later change is a new version; the signed one stays as signed.
    services.amend(plan, world.users["counselor"], body(world, summary="之后", change="会后修订"))
    db.session.expire_all()
    signed = next(x for x in versions_of(plan) if x.number == 1)
    assert signed.body["summary"] == CANARY
    assert services.digest(signed.body) == signed.meeting["digest"]


def test_review_dates_become_follow_ups_kept_in_step(world):
    plan = open_one(world, reviews=days(7, 28))
    opened = reviews_of(plan)
    assert sorted(opened) == [d.isoformat() for d in days(7, 28)]
    for follow_up in opened.values():
        assert follow_up.source == fv.FROM_PLAN and follow_up.source_id == plan.id
        assert follow_up.assignee_id == world.users["counselor"].id
        assert to_local(follow_up.due_at).hour == 9
    # Amend: 28 taken out (cancelled), 7 kept (the same follow-up), 56 new.
    services.amend(plan, world.users["counselor"], body(world, reviews=days(7, 56), change="改期"))
    now_open = reviews_of(plan)
    assert sorted(now_open) == [d.isoformat() for d in days(7, 56)]
    assert now_open[days(7)[0].isoformat()].id == opened[days(7)[0].isoformat()].id
    assert list(reviews_of(plan, fv.CANCELLED)) == [days(28)[0].isoformat()]
    # The same dates again: nothing new, no duplicate.
    services.amend(plan, world.users["counselor"], body(world, reviews=days(7, 56), change="同"))
    assert len([f for f in services.follow_ups_of(plan) if f.status == fv.OPEN]) == 2


def test_a_new_review_date_in_the_past_is_refused(world):
    with pytest.raises(services.PlanError) as refused:
        open_one(world, reviews=days(-1))
    assert set(refused.value.problems) == {"review_dates"}


def test_status_moves_between_active_and_monitoring(world):
    plan = open_one(world)
    services.set_status(plan, v.MONITORING, world.users["counselor"])
    assert plan.status == v.MONITORING
    with pytest.raises(services.PlanError):
        services.set_status(plan, v.MONITORING, world.users["counselor"])
    with pytest.raises(services.PlanError):
        services.set_status(plan, v.CLOSED, world.users["counselor"])
    services.set_status(plan, v.ACTIVE, world.users["counselor"])
    assert plan.status == v.ACTIVE


def test_close_cancels_the_open_follow_ups_and_seals_its_words(world):
    plan = open_one(world, reviews=days(7, 28))
    with pytest.raises(services.PlanError) as refused:
        services.close_plan(plan, world.users["counselor"], "bogus", "")
    assert set(refused.value.problems) == {"reason", "text"}
    services.close_plan(plan, world.users["counselor"], v.GOALS_MET, "目标达成 canary-close-9")
    assert plan.status == v.CLOSED and plan.close_reason == v.GOALS_MET
    assert not reviews_of(plan) and len(reviews_of(plan, fv.CANCELLED)) == 2
    raw = db.session.execute(text("SELECT closing FROM growth_plan")).scalar_one()
    assert b"canary-close-9" not in bytes(raw)
    with pytest.raises(services.PlanError):
        services.amend(plan, world.users["counselor"], body(world, change="x"))
    # A new file may be opened once the old one is closed.
    assert open_one(world).id != plan.id


def test_open_reviews_follow_a_new_responsible_counselor(world, password_hash):
    from tests.factories import make_user

    other = make_user("counselor2", password_hash, ("counselor", world.schools["A"]))
    db.session.flush()
    plan = open_one(world, reviews=days(7))
    changed = body(world, reviews=days(7), change="换责任老师")
    changed["responsible"] = {**changed["responsible"], "counselor_id": other.id}
    services.amend(plan, world.users["counselor"], changed)
    (review,) = reviews_of(plan).values()
    assert review.assignee_id == other.id
