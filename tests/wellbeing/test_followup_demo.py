"""The demo's follow-ups: alerts acknowledged with a first follow-up, a few left waiting,
and the demo counselor's list with work due within minutes and overdue, so that the
first sweep reminds and escalates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wellbeing import clock
from wellbeing.campaigns.demo import build_demo_campaign
from wellbeing.clock import utcnow
from wellbeing.demo import build_demo
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.followups.sweep import sweep
from wellbeing.notifications.models import Notification
from wellbeing.review.demo import build_demo_followups
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import User

SEED = 11


@pytest.fixture
def demo(db_session):
    build_demo(db.session, seed=SEED, students=3_000, school_year=2026)
    build_demo_campaign(SEED)
    played = build_demo_followups(SEED)
    yield played
    clock.reset()


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_alerts_are_acknowledged_with_a_first_follow_up_or_left_waiting(demo):
    assert demo.acknowledged > 0 and demo.unacknowledged > 0
    acknowledged = db.session.scalars(
        select(CrisisAlert).where(CrisisAlert.acknowledged_at.is_not(None))
    ).all()
    assert len(acknowledged) == demo.acknowledged
    steps = {
        subject_id
        for (subject_id,) in db.session.execute(
            select(SlaEvent.subject_id).where(
                SlaEvent.subject == v.SUBJECT_ALERT, SlaEvent.step == v.ACKNOWLEDGED
            )
        )
    }
    assert steps == {alert.id for alert in acknowledged}
    from_alerts = db.session.scalars(
        select(FollowUp).where(FollowUp.source == v.FROM_CRISIS_ALERT)
    ).all()
    by_alert = {item.source_id: item for item in from_alerts}
    for alert in acknowledged:
        first = by_alert[alert.id]
        assert first.student_id == alert.student_id and first.school_id == alert.school_id
        assert first.priority == v.RED
        assert alert.acknowledged_at - alert.raised_at < timedelta(hours=1)
    done = [item for item in from_alerts if item.status == v.DONE]
    assert done and all(item.outcome and item.closed_at for item in done)
    assert any(item.recurrence_days == 14 for item in from_alerts)


def test_the_demo_counselor_has_work_due_in_minutes_overdue_and_this_week(demo):
    counselor = _user("counselor")
    now = utcnow()
    due = db.session.scalars(
        select(FollowUp.due_at).where(
            FollowUp.assignee_id == counselor.id, FollowUp.status == v.OPEN
        )
    ).all()
    soon = sorted(
        round((at - now).total_seconds() / 60)
        for at in due
        if now < at < now + timedelta(minutes=15)
    )
    assert soon == [2, 5, 10]
    assert sum(at <= now for at in due) >= 3
    assert sum(now + timedelta(days=1) <= at <= now + timedelta(days=7) for at in due) >= 4
    assert demo.due_soon >= 3 and demo.overdue >= 3 and demo.done >= 3


def test_the_first_sweep_reminds_and_escalates_visibly(demo):
    counselor, admin = _user("counselor"), _user("admin")
    first = sweep()
    assert first["reminded"] >= 3 and first["escalated"] >= 2
    told = [
        n.message
        for n in db.session.scalars(
            select(Notification).where(
                Notification.user_id == counselor.id, Notification.kind == "followups_due"
            )
        )
    ]
    assert len(told) == 1 and told[0].startswith("您有 ")
    kinds = set(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == admin.id))
    )
    assert "followups_escalated" in kinds
    # Ten minutes on, the three soon-due ones are reminded in one message.
    clock.move(timedelta(minutes=11))
    assert sweep()["reminded"] >= 3
    count = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == counselor.id, Notification.kind == "followups_due")
    )
    assert count == 2
