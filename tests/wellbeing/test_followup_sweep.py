"""The follow-ups' sweep and digest on a real database: reminders once, the ladder at its
times in school time, repeated and crashed sweeps that tell nobody twice, counts without
names beyond the inbox, and no sealed field opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from tests.factories import make_user
from wellbeing import clock
from wellbeing.clock import from_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as v
from wellbeing.followups.digest import digest
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.followups.sweep import sweep
from wellbeing.notifications import services as notifications
from wellbeing.notifications.models import Notification
from wellbeing.notifications.services import link_to
from wellbeing.review.models import CrisisAlert
from wellbeing.scheduler.registry import jobs, sweep_jobs
from wellbeing.security.crypto import Keyring

MONDAY = datetime(2026, 12, 7)  # local dates: Monday 7 December 2026
FRIDAY = datetime(2026, 12, 4)


@pytest.fixture
def at() -> Iterator:
    """Set the app's clock to a local wall-clock time (the sweep's school day depends on
    it); put back after the test."""

    def set_local(local: datetime) -> datetime:
        clock.move(from_local(local) - utcnow())
        return from_local(local)

    yield set_local
    clock.reset()


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What the sweep passes to tell() (recorded, then told for real)."""
    calls: list[dict] = []
    real = notifications.tell

    def recording(recipients, kind, message, *, key, link=None, outside=None, personal=False):
        recipients = list(recipients)
        calls.append(
            {
                "to": sorted(p.username for p in recipients),
                "kind": kind,
                "message": message,
                "key": key,
                "link": link,
                "outside": outside,
                "personal": personal,
            }
        )
        real(recipients, kind, message, key=key, link=link, outside=outside, personal=personal)

    monkeypatch.setattr("wellbeing.followups.sweep.tell", recording)
    monkeypatch.setattr("wellbeing.followups.digest.tell", recording)
    return calls


def follow_up(world, due_at: datetime, assignee: str = "counselor", school: str = "A", **kw):
    student = world.students[f"{school}1-0"]
    item = FollowUp(
        school_id=world.schools[school].id,
        source=kw.get("source", v.FROM_COUNSELOR),
        kind=kw.get("kind", v.INTERVIEW),
        priority=kw.get("priority", v.RED),
        assignee_id=world.users[assignee].id,
        due_at=due_at,
    )
    item.subject = {"student_id": student.id, "source_id": None}
    db.session.add(item)
    db.session.flush()
    return item


def inbox(user) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def steps(subject: str = v.SUBJECT_FOLLOW_UP) -> list[tuple[int, str]]:
    return sorted(
        tuple(row)
        for row in db.session.execute(
            select(SlaEvent.subject_id, SlaEvent.step).where(SlaEvent.subject == subject)
        )
    )


def second_counselor(world):
    world.users["counselor2"] = make_user("counselor2", None, ("counselor", world.schools["A"]))
    db.session.flush()
    return world.users["counselor2"]


def test_the_jobs_are_declared():
    declared = {job.id: job for job in jobs()}
    assert declared["followups.sweep"].trigger_args == {"seconds": 60}
    assert declared["followups.sweep"] in sweep_jobs()
    assert declared["followups.digest"].trigger == "cron"
    assert declared["followups.digest"].trigger_args == {"hour": 7, "minute": 30}


def test_due_follow_ups_remind_each_assignee_once(world, at, told):
    now = at(MONDAY.replace(hour=9))
    other = second_counselor(world)
    mine = [follow_up(world, now - timedelta(minutes=m)) for m in (1, 5, 30)]
    theirs = follow_up(world, now - timedelta(minutes=2), assignee="counselor2")
    later = follow_up(world, now + timedelta(minutes=10))

    assert sweep() == {"due": 4, "reminded": 4, "escalated": 0}
    (message,) = inbox(world.users["counselor"])
    assert message.message == "您有 3 条随访已到期"
    assert message.link == link_to("followups.mine")  # 我的随访
    assert [n.message for n in inbox(other)] == ["您有 1 条随访已到期"]
    assert {call["outside"] for call in told} == {
        "您有 3 条随访已到期，请登录查看",
        "您有 1 条随访已到期，请登录查看",
    }
    assert all(call["personal"] for call in told)  # by mail, not to the group's webhook
    db.session.expire_all()
    assert all(abs(item.reminded_at - now) < timedelta(seconds=5) for item in [*mine, theirs])
    assert later.reminded_at is None
    assert steps() == sorted((item.id, v.REMINDED) for item in [*mine, theirs])

    # Again at once, and a minute later: nothing new to tell.
    assert sweep() == {"due": 4, "reminded": 0, "escalated": 0}
    at(MONDAY.replace(hour=9, minute=1))
    assert sweep()["reminded"] == 0
    assert len(inbox(world.users["counselor"])) == 1
    assert len(steps()) == 4

    # The later one falls due: its own reminder, one message.
    at(MONDAY.replace(hour=9, minute=11))
    assert sweep() == {"due": 5, "reminded": 1, "escalated": 0}
    assert [n.message for n in inbox(world.users["counselor"])][-1] == "您有 1 条随访已到期"


def test_closed_follow_ups_are_not_swept(world, at):
    now = at(MONDAY.replace(hour=9))
    done = follow_up(world, now - timedelta(hours=1))
    done.status = v.DONE
    db.session.flush()
    assert sweep() == {"due": 0, "reminded": 0, "escalated": 0}
    assert inbox(world.users["counselor"]) == []


def test_escalates_to_the_school_then_the_district_in_school_time(world, at, told):
    due = from_local(MONDAY.replace(hour=9))
    at(MONDAY.replace(hour=8))
    item = follow_up(world, due)
    admin, monitor, leader = (world.users[k] for k in ("admin", "monitor", "school_leader"))

    at(MONDAY.replace(hour=12, minute=59))  # 3 h 59 min late
    assert sweep() == {"due": 1, "reminded": 1, "escalated": 0}
    now = at(MONDAY.replace(hour=13))  # 4 school hours late: the school's leaders
    assert sweep() == {"due": 1, "reminded": 0, "escalated": 1}
    db.session.refresh(item)
    assert item.escalation_level == 1
    assert abs(item.escalated_at - now) < timedelta(seconds=5)
    assert [n.message for n in inbox(leader)] == ["测试学校A有 1 条随访逾期超过 4 小时（在校时间）"]
    assert inbox(admin) == inbox(monitor) == []
    assert told[-1]["outside"] == "测试学校A有 1 条随访逾期超过 4 小时（在校时间），请登录查看"
    assert not told[-1]["personal"]  # the school's news: to the group's webhook too

    # Overnight and the next day nothing climbs until 24 school hours: 8.5 on Monday,
    # 10 on Tuesday, 5.5 on Wednesday (13:00).
    for local in (MONDAY.replace(hour=23), MONDAY + timedelta(days=2, hours=12, minutes=59)):
        at(local)
        assert sweep()["escalated"] == 0
    at(MONDAY + timedelta(days=2, hours=13))
    assert sweep() == {"due": 1, "reminded": 0, "escalated": 1}
    db.session.refresh(item)
    assert item.escalation_level == 2
    expected = "1 所学校共有 1 条随访逾期超过 24 小时（在校时间）"
    assert [n.message for n in inbox(monitor)] == [expected]
    assert inbox(admin)[-1].message == expected
    assert told[-1]["link"] == link_to("oversight.district_sla")
    assert steps() == [
        (item.id, v.ESCALATED_DISTRICT),
        (item.id, v.ESCALATED_SCHOOL),
        (item.id, v.REMINDED),
    ]

    at(MONDAY + timedelta(days=9))
    assert sweep() == {"due": 1, "reminded": 0, "escalated": 0}
    assert len(inbox(admin)) == 1 and len(inbox(leader)) == 1


def test_a_sweep_after_a_long_outage_climbs_every_rung_once(world, at):
    """Down for days: the first sweep back reminds, and tells each school's rung and the
    district's at once (each rung recorded); the next adds nothing. The district hears
    once for all its schools; school B has no leader, so its rung goes to the district's
    administrators (an escalation must reach someone)."""
    due = from_local(MONDAY.replace(hour=9))
    follow_up(world, due)
    follow_up(world, due + timedelta(minutes=1))
    follow_up(world, due, school="B")
    at(MONDAY + timedelta(days=7, hours=10))
    assert sweep() == {"due": 3, "reminded": 3, "escalated": 3}
    assert [n.message for n in inbox(world.users["school_leader"])] == [
        "测试学校A有 2 条随访逾期超过 4 小时（在校时间）"
    ]
    assert [n.message for n in inbox(world.users["admin"])] == [
        "测试学校B有 1 条随访逾期超过 4 小时（在校时间）",
        "2 所学校共有 3 条随访逾期超过 24 小时（在校时间）",
    ]
    assert [n.message for n in inbox(world.users["monitor"])] == [
        "2 所学校共有 3 条随访逾期超过 24 小时（在校时间）"
    ]
    assert len(steps()) == 9
    assert sweep() == {"due": 3, "reminded": 0, "escalated": 0}
    assert len(steps()) == 9


def test_the_school_rung_tells_the_schools_leaders(world, at):
    leader = world.users["school_leader"]
    follow_up(world, from_local(MONDAY.replace(hour=8)))
    at(MONDAY.replace(hour=12))
    sweep()
    assert [n.message for n in inbox(leader)] == ["测试学校A有 1 条随访逾期超过 4 小时（在校时间）"]
    assert inbox(world.users["admin"]) == []


def test_a_crashed_sweep_is_done_again_and_tells_once(world, at):
    """Everything of a sweep is one transaction: rolled back, the next one does it all."""
    now = at(MONDAY.replace(hour=14))
    follow_up(world, now - timedelta(hours=5))
    db.session.commit()  # the follow-up exists before the sweep starts
    assert sweep() == {"due": 1, "reminded": 1, "escalated": 1}
    db.session.rollback()  # the scheduler died before committing
    assert inbox(world.users["counselor"]) == [] and steps() == []
    assert sweep() == {"due": 1, "reminded": 1, "escalated": 1}
    db.session.commit()
    assert sweep() == {"due": 1, "reminded": 0, "escalated": 0}
    assert len(inbox(world.users["counselor"])) == 1
    assert len(inbox(world.users["school_leader"])) == 1


def alert(world, raised_at: datetime, school: str = "A") -> CrisisAlert:
    item = CrisisAlert(
        school_id=world.schools[school].id, source="critical_item", raised_at=raised_at
    )
    item.subject = {"student_id": world.students[f"{school}1-1"].id, "response_id": None}
    item.detail = "phq9: phq9_9"
    db.session.add(item)
    db.session.flush()
    return item


def test_an_alert_raised_after_school_waits_for_the_morning(world, at, told):
    """Raised on Friday at 17:00: one school hour to acknowledge runs out on Monday at
    08:00; nothing is reminded or escalated over the weekend."""
    raised = alert(world, from_local(FRIDAY.replace(hour=17)))
    assert ladder.alert_deadline(raised.raised_at) == from_local(MONDAY.replace(hour=8))
    counselor = world.users["counselor"]
    for local in (
        FRIDAY.replace(hour=23),
        FRIDAY + timedelta(days=2, hours=12),
        MONDAY.replace(hour=7, minute=59),
    ):
        at(local)
        assert sweep() == {"due": 0, "reminded": 0, "escalated": 0}
    assert inbox(counselor) == []

    at(MONDAY.replace(hour=8))
    assert sweep()["escalated"] == 0
    (reminder,) = inbox(counselor)
    assert reminder.message == "测试学校A有 1 条危机预警超过 1 小时（在校时间）未确认"
    assert reminder.link == f"/schools/{world.schools['A'].id}/alerts"
    assert (
        told[-1]["outside"] == "测试学校A有 1 条危机预警超过 1 小时（在校时间）未确认，请登录查看"
    )
    assert steps(v.SUBJECT_ALERT) == [(raised.id, v.REMINDED)]

    at(MONDAY.replace(hour=11, minute=59))
    assert sweep()["escalated"] == 0
    at(MONDAY.replace(hour=12))
    assert sweep()["escalated"] == 1
    (escalation,) = inbox(world.users["school_leader"])
    assert escalation.message == "测试学校A有 1 条危机预警逾期未确认超过 4 小时（在校时间）"
    assert escalation.link == f"/schools/{world.schools['A'].id}/overdue"
    assert sweep()["escalated"] == 0
    assert len(inbox(counselor)) == 1 and len(inbox(world.users["school_leader"])) == 1

    # Acknowledged: the sweep leaves it alone.
    raised.acknowledged_at = utcnow()
    db.session.flush()
    at(MONDAY + timedelta(days=5))
    assert sweep()["escalated"] == 0
    assert steps(v.SUBJECT_ALERT) == [(raised.id, v.ESCALATED_SCHOOL), (raised.id, v.REMINDED)]


def test_outside_text_names_no_student_and_no_kind(world, at, told):
    now = at(MONDAY.replace(hour=15))
    for kind in v.KINDS:
        follow_up(world, now - timedelta(days=3), kind=kind)
    alert(world, now - timedelta(days=3))
    sweep()
    names = {student.name for student in world.students.values()}
    words = ("访谈", "家长", "复筛", "转诊", "一生一策", "观察", "interview", "guardian")
    assert len(told) >= 4
    for call in told:
        text = call["outside"]
        assert text and "请登录查看" in text
        assert not any(name in text for name in names)
        assert not any(word in text for word in words)
        assert not any(name in call["message"] for name in names)


def test_the_sweep_opens_no_sealed_field(world, at, monkeypatch):
    now = at(MONDAY.replace(hour=15))
    for hours in (1, 5, 30):
        follow_up(world, now - timedelta(hours=hours))
    alert(world, now - timedelta(days=2))
    db.session.commit()
    db.session.expunge_all()
    opened = []
    real_open = Keyring.open

    def recording_open(self, sealed, context, *args, **kwargs):
        opened.append(context)
        return real_open(self, sealed, context, *args, **kwargs)

    monkeypatch.setattr(Keyring, "open", recording_open)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        counts = sweep()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert counts["reminded"] == 3 and counts["escalated"] == 3
    assert opened == []
    sealed = (
        "follow_up.subject",
        "follow_up.outcome",
        "crisis_alert.subject",
        "crisis_alert.detail",
    )
    assert not [s for s in statements if any(column in s for column in sealed)]


def test_ladder_defaults(app, db_session):
    acknowledged = datetime(2026, 12, 7, 2, 0)
    assert ladder.first_contact_due(acknowledged) == acknowledged + timedelta(hours=24)
    assert ladder.due_for_priority(v.RED, acknowledged) == acknowledged + timedelta(hours=24)
    assert ladder.due_for_priority(v.ORANGE, acknowledged) == acknowledged + timedelta(hours=72)
    assert ladder.due_for_priority(v.YELLOW, acknowledged) == acknowledged + timedelta(days=14)


# ----------------------------------------------------------------------------- the digest


def test_the_morning_digest_counts_each_counselors_follow_ups(world, at, told):
    now = at(MONDAY.replace(hour=7, minute=30))
    other = second_counselor(world)
    follow_up(world, now - timedelta(hours=20))  # overdue
    follow_up(world, now + timedelta(hours=8))  # today (local)
    follow_up(world, now + timedelta(days=2))  # this week
    follow_up(world, now + timedelta(days=6))  # this week
    follow_up(world, now + timedelta(days=9))  # later: not counted
    closed = follow_up(world, now - timedelta(hours=2))
    closed.status = v.DONE
    # Assigned to the counselor at a school where they are no counselor: not theirs here.
    follow_up(world, now - timedelta(hours=2), school="B")
    db.session.flush()

    assert digest() == {"digests": 1}
    (message,) = inbox(world.users["counselor"])
    assert message.message == "您的随访：逾期 1 条，今日到期 1 条，未来七天 2 条。"
    assert told[-1]["outside"] == "您的随访：逾期 1 条，今日到期 1 条，未来七天 2 条。请登录查看"
    assert told[-1]["key"].endswith(":2026-12-07")
    assert inbox(other) == []  # all zero: nothing sent

    # Run again the same morning (a scheduler catching up): nobody gets a second one.
    at(MONDAY.replace(hour=9))
    assert digest() == {"digests": 0}
    at(MONDAY + timedelta(days=1, hours=7, minutes=30))
    assert digest() == {"digests": 1}
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2
