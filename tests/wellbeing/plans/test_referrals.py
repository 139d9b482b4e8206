"""Referrals of a 一生一策 file to the district's partner hospitals (SQLite and
PostgreSQL): the minimum-necessary sheet, the states in order with their dates (out of
order, before the previous one or in the future refused), the hospital's feedback filed
into the plan, the printable Chinese sheet behind a fresh password, the SLA sweep that
turns a late referral into a follow-up the follow-ups' sweep escalates, and the demo's
referrals in every state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import add_plans
from tests.wellbeing.plans.test_attachments import confirm_password
from wellbeing import clock
from wellbeing.clock import from_local, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.plans import queries, referrals, sweep
from wellbeing.plans import vocabulary as v
from wellbeing.plans.demo_referrals import add_demo_referrals
from wellbeing.plans.models import Hospital, Referral
from wellbeing.scheduler.registry import sweep_jobs
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

MONDAY = datetime(2026, 12, 7)  # a school day (local dates)


@pytest.fixture
def planned(world):
    add_plans(world)
    db.session.flush()
    return world


def _all_fresh(world, now: datetime) -> None:
    """Every referral of the world sent at `now` (the clock was moved ahead of the day
    the factory sent them)."""
    for referral in world.referrals.values():
        referral.state_since = now
    db.session.flush()


@pytest.fixture
def at() -> Iterator:
    """Set the app's clock to a local wall-clock time; put back after the test."""

    def set_local(local: datetime) -> datetime:
        clock.move(from_local(local) - utcnow())
        return from_local(local)

    yield set_local
    clock.reset()


def _sheet(world, **values):
    return {
        "hospital": str(world.hospitals["A"].id),
        "reason": "持续情绪低落",
        "urgency": "soon",
        "observations": "课上常常走神",
        "contact": "心理老师 0830-0000000",
        "consent": "yes",
        "sent_on": local_today().isoformat(),
        **values,
    }


def _day(days: int = 0) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


def _advance(client, referral, state, on=None, **values):
    data = {"state": state, "on": on or _day(), "note": "", "feedback": "", **values}
    return client.post(f"/referrals/{referral.id}/state", data=data)


def test_a_new_referral_goes_to_a_hospital_of_the_district_as_sent(client, planned):
    plan = planned.plans["A"]
    login(client, "counselor")
    form = client.get(f"/plans/{plan.id}/referrals/new")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "合作医院A" in page and "合作医院C" not in page and "学生A1-0" in page
    response = client.post(f"/plans/{plan.id}/referrals/new", data=_sheet(planned))
    assert response.status_code == 303
    referral = queries.referrals_of(plan)[0]
    assert response.headers["Location"].endswith(f"/referrals/{referral.id}")
    assert (referral.state, referral.hospital_id) == (v.SENT, planned.hospitals["A"].id)
    assert referral.sheet == {
        "reason": "持续情绪低落",
        "urgency": "soon",
        "observations": "课上常常走神",
        "contact": "心理老师 0830-0000000",
        "consent": "yes",
    }
    assert referral.history == [
        {"state": "sent", "on": _day(), "by": planned.users["counselor"].id, "note": ""}
    ]
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "referral_send")).one()
    assert (row.target_type, row.target_id) == ("growth_plan", str(plan.id))


def test_a_bad_sheet_is_refused_beside_every_field(client, planned):
    plan = planned.plans["A"]
    before = len(queries.referrals_of(plan))
    login(client, "counselor")
    bad = _sheet(
        planned,
        hospital=str(planned.hospitals["C"].id),  # another district's
        reason="",
        urgency="tomorrow",
        observations="",
        contact="",
        consent="",
        sent_on=_day(2),
    )
    response = client.post(f"/plans/{plan.id}/referrals/new", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("hospital", "reason", "urgency", "observations", "contact", "consent", "sent_on"):
        assert f'id="error-{field}"' in page, field
    assert "请从本区合作医院名单中选择" in page
    assert len(queries.referrals_of(plan)) == before


def test_the_states_follow_in_order_with_their_dates(client, planned):
    referral = planned.referrals["A"]
    referral.history = [{"state": "sent", "on": _day(-10), "by": 1, "note": ""}]
    referral.state_since = utcnow() - timedelta(days=10)
    db.session.flush()
    login(client, "counselor")
    # Out of order: from sent, "seen" is not next.
    page = _advance(client, referral, "seen").get_data(as_text=True)
    assert 'id="error-state"' in page and referral.state == v.SENT
    # Before the previous state's date, and in the future.
    page = _advance(client, referral, "received", on=_day(-11)).get_data(as_text=True)
    assert 'id="error-on"' in page and "早于上一步" in page
    page = _advance(client, referral, "received", on=_day(1)).get_data(as_text=True)
    assert 'id="error-on"' in page and "日期在将来" in page
    assert referral.state == v.SENT
    assert _advance(client, referral, "received", on=_day(-8)).status_code == 303
    assert _advance(client, referral, "seen", on=_day(-5), note="门诊").status_code == 303
    # Feedback needs the hospital's words.
    page = _advance(client, referral, "feedback", on=_day(-2)).get_data(as_text=True)
    assert 'id="error-feedback"' in page and referral.state == v.SEEN
    response = _advance(client, referral, "feedback", on=_day(-2), feedback="建议四周后复诊")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/plans/{referral.plan_id}#referrals")
    assert referral.feedback == {"text": "建议四周后复诊", "on": _day(-2)}
    assert _advance(client, referral, "closed").status_code == 303
    assert [(e["state"], e["on"]) for e in referral.history] == [
        ("sent", _day(-10)),
        ("received", _day(-8)),
        ("seen", _day(-5)),
        ("feedback", _day(-2)),
        ("closed", _day()),
    ]
    assert referral.state == v.REFERRAL_CLOSED
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "referral_advance"))
    assert [json.loads(r.detail)["state"] for r in rows] == [
        "received",
        "seen",
        "feedback",
        "closed",
    ]
    # Closed is the end.
    assert 'id="advance-form"' not in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert 'id="error-state"' in _advance(client, referral, "closed").get_data(as_text=True)


def test_closing_early_needs_a_reason(client, planned):
    referral = planned.referrals["A"]
    login(client, "counselor")
    page = _advance(client, referral, "closed").get_data(as_text=True)
    assert 'id="error-note"' in page and "说明" in page
    assert _advance(client, referral, "closed", note="家长拒绝就诊").status_code == 303
    assert referral.state == v.REFERRAL_CLOSED and referral.feedback is None


def test_the_referral_page_shows_states_and_feedback_and_is_audited(client, planned):
    referral = planned.referrals["A"]
    login(client, "counselor")
    _advance(client, referral, "received")
    _advance(client, referral, "seen")
    _advance(client, referral, "feedback", feedback="轻度焦虑，建议复诊")
    before = db.session.scalar(select(func.max(AuditEvent.id)))
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "轻度焦虑，建议复诊" in page and "学生A1-0" in page
    assert page.count("<li data-state=") == 4
    (row,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert (row.action, row.target_type, row.target_id) == (
        "view_sensitive",
        "growth_plan",
        str(referral.plan_id),
    )
    assert json.loads(row.detail) == {"page": "plans.referral", "referral": referral.id}


def test_the_sheet_asks_for_a_fresh_password_and_carries_only_the_minimum(client, planned):
    referral = planned.referrals["A"]
    referral.sheet = {**referral.sheet, "contact": "心理老师 0830-0000000", "consent": "yes"}
    db.session.flush()
    login(client, "counselor")
    url = f"/referrals/{referral.id}/sheet"
    first = client.get(url)
    assert first.status_code == 302 and first.headers["Location"].startswith("/confirm")
    confirm_password(client)
    client.get("/language/en")  # the sheet is Chinese whatever the viewer's language
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    student = planned.students["A1-0"]
    for shown in (student.name, "测试学校A", "持续情绪低落", "合作医院A", "心理老师 0830-0000000"):
        assert shown in page, shown
    assert "学生心理健康转介单" in page and "男" in page
    # No file text (summary, risk factors), no 学籍号, no guardian's phone.
    for hidden in ("情况概述A", "睡眠差", student.student_number, "13800000000"):
        assert hidden not in page, hidden
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (row.target_type, row.target_id) == ("growth_plan", str(referral.plan_id))
    assert json.loads(row.detail)["what"] == "referral_sheet"


def test_the_referral_sweep_runs_before_the_follow_ups_sweep():
    order = [job.id for job in sweep_jobs()]
    assert order.index("plans.referral_sweep") < order.index("followups.sweep")


def _run_sweep(app) -> dict:
    from wellbeing.scheduler.cli import scheduler_group

    if "scheduler" not in app.cli.commands:
        app.cli.add_command(scheduler_group)
    result = app.test_cli_runner().invoke(args=["scheduler", "sweep"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_a_referral_left_at_sent_past_its_sla_escalates_through_the_sweeps(app, planned, at):
    now = at(MONDAY.replace(hour=9))
    _all_fresh(planned, now)
    referral = planned.referrals["A"]
    referral.state_since = now - timedelta(days=2)  # within the 3 days of "sent"
    db.session.flush()
    assert _run_sweep(app).get("referrals_chased", 0) == 0
    assert referral.follow_up_id is None

    now = at(MONDAY.replace(hour=9) + timedelta(days=1, hours=1))  # Tuesday 10:00: 3 days
    totals = _run_sweep(app)
    db.session.expire_all()
    assert totals["referrals_chased"] == 1 and totals["reminded"] >= 1
    follow_up = db.session.get(FollowUp, referral.follow_up_id)
    assert (follow_up.kind, follow_up.source, follow_up.priority, follow_up.status) == (
        fv.REFERRAL_CHECK,
        fv.FROM_PLAN,
        fv.RED,
        fv.OPEN,
    )
    assert follow_up.subject == {
        "student_id": planned.students["A1-0"].id,
        "source_id": referral.plan_id,
    }
    assert follow_up.assignee_id == planned.users["counselor"].id
    assert abs(follow_up.due_at - now) < timedelta(seconds=5)
    assert follow_up.escalation_level == 0 and follow_up.reminded_at is not None
    # Swept again: the open follow-up chases it; no second one.
    assert _run_sweep(app).get("referrals_chased", 0) == 0

    # The ladder's school hours later, the follow-ups' sweep escalates it to the school.
    at(MONDAY.replace(hour=15) + timedelta(days=1))  # Tuesday 15:00: 5 school hours late
    totals = _run_sweep(app)
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, referral.follow_up_id)
    assert totals["escalated"] >= 1 and follow_up.escalation_level == 1
    steps = db.session.scalars(
        select(SlaEvent.step).where(
            SlaEvent.subject == fv.SUBJECT_FOLLOW_UP, SlaEvent.subject_id == follow_up.id
        )
    ).all()
    assert set(steps) == {fv.REMINDED, fv.ESCALATED_SCHOOL}


def test_moving_a_referral_on_completes_its_chasing_follow_up(app, client, planned, at):
    now = at(MONDAY.replace(hour=9))
    _all_fresh(planned, now)
    referral = planned.referrals["A"]
    referral.state_since = now - timedelta(days=4)
    referral.history = [{"state": "sent", "on": "2026-12-03", "by": 1, "note": ""}]
    db.session.flush()
    assert sweep.sweep() == {"referrals_late": 1, "referrals_chased": 1}
    follow_up = db.session.get(FollowUp, referral.follow_up_id)
    login(client, "counselor")
    assert "已逾期" in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert _advance(client, referral, "received").status_code == 303
    assert follow_up.status == fv.DONE and follow_up.outcome
    # The new state's clock starts again: nothing late now.
    assert sweep.sweep() == {}


def test_a_late_referral_of_a_closed_plan_is_not_chased(planned, at):
    now = at(MONDAY.replace(hour=9))
    _all_fresh(planned, now)
    referral = planned.referrals["A"]
    referral.state_since = now - timedelta(days=30)
    planned.plans["A"].status = v.CLOSED
    db.session.flush()
    assert sweep.sweep().get("referrals_chased", 0) == 0


def test_the_sla_days_come_from_the_settings(app, planned, at, monkeypatch):
    now = at(MONDAY.replace(hour=9))
    _all_fresh(planned, now)
    referral = planned.referrals["A"]
    referral.state, referral.state_since = v.RECEIVED, now - timedelta(days=2)
    db.session.flush()
    assert sweep.sweep().get("referrals_chased", 0) == 0  # 14 days by default
    monkeypatch.setitem(app.config, "PLAN_REFERRAL_SLA_DAYS", {"received": 1})
    assert sweep.sweep()["referrals_chased"] == 1


def test_the_demo_has_referrals_in_every_state(app, world):
    plans = add_plans(world).plans
    db.session.query(Referral).delete()
    db.session.query(Hospital).filter(Hospital.district_id == world.district.id).delete()
    db.session.flush()
    made = add_demo_referrals([plans["A"], plans["B"]], world.users["counselor"], utcnow())
    assert {r.state for r in made} == set(v.REFERRAL_STATES)
    hospitals = db.session.scalars(
        select(Hospital).where(Hospital.district_id == world.district.id)
    ).all()
    assert 2 <= len(hospitals) <= 3 and all("示范" in h.name for h in hospitals)
    with_feedback = [r for r in made if r.state in (v.FEEDBACK, v.REFERRAL_CLOSED)]
    assert with_feedback and all(r.feedback["text"] for r in with_feedback)
    for referral in made:
        days = [e["on"] for e in referral.history]
        assert days == sorted(days) and referral.history[-1]["state"] == referral.state
    late = sweep.late_referrals(utcnow())
    assert [r.state for r in late] == [v.SENT]
    # Again: the list is kept, not doubled.
    add_demo_referrals([plans["A"]], world.users["counselor"], utcnow())
    assert len(
        db.session.scalars(select(Hospital).where(Hospital.district_id == world.district.id)).all()
    ) == len(hospitals)
    assert referrals.allowed_states(made[0]) == [v.RECEIVED, v.REFERRAL_CLOSED]


def test_a_break_glass_grant_opens_the_referral_page_and_is_named(client, planned):
    from wellbeing.security.models import BreakGlassGrant

    referral = planned.referrals["A"]
    login(client, "admin")
    assert client.get(f"/referrals/{referral.id}").status_code == 403
    purpose = "学生当晚失联，家长报警，需核实转介情况"
    opened = client.post(
        "/break-glass",
        data={"purpose": purpose, "student_number": planned.students["A1-0"].student_number},
    )
    assert opened.status_code in (302, 303)
    grant = db.session.scalars(select(BreakGlassGrant)).one()
    before = db.session.scalar(select(func.max(AuditEvent.id)))
    assert client.get(f"/referrals/{referral.id}").status_code == 200
    (row,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert json.loads(row.detail)["break_glass_grant"] == grant.id
    # Reading only: the grant moves nothing on.
    assert _advance(client, referral, "received").status_code == 403
    assert client.get(f"/referrals/{planned.referrals['B'].id}").status_code == 403
