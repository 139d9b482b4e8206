"""Follow-ups as a counselor's work: a crisis alert acknowledged with its first follow-up
(both or neither), 我的随访 and the week, completing with a sealed outcome and the next
of a recurrence, reassigning, cancelling, opening one by hand from a student's page; the
scope refusals and the audit rows. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import login
from tests.factories import make_user
from tests.wellbeing.campaigns.conftest import answer_all, campaign_plan, target_of  # noqa: F401
from wellbeing.campaigns import services as campaign_services
from wellbeing.clock import local_text, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import services
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.notifications.models import Notification
from wellbeing.review import alerts as alert_services
from wellbeing.review.models import CrisisAlert
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

FORM_TIME = "%Y-%m-%dT%H:%M"


# ----------------------------------------------------------------------------- helpers


def _alert(world, campaign, label: str = "A1-0") -> CrisisAlert:
    """A real crisis alert: the student endorses PHQ-9 item 9 and submits."""
    target = target_of(campaign, world.students[label])
    answer_all(target, 0)
    campaign_services.autosave(target, "phq9", "phq9_9", 2)
    campaign_services.submit(target, utcnow())
    db.session.commit()  # a refused request's rollback keeps it
    alerts = db.session.scalars(select(CrisisAlert)).all()
    return next(a for a in alerts if a.student_id == world.students[label].id)


def _page(response) -> str:
    return response.get_data(as_text=True)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def _local_form(at) -> str:
    return to_local(at).strftime(FORM_TIME)


def _ack_url(world, alert) -> str:
    return f"/schools/{world.schools['A'].id}/alerts/{alert.id}/acknowledge"


def _follow_ups() -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).order_by(FollowUp.id)))


@pytest.fixture
def campaign(world, campaign_plan):  # noqa: F811
    """School A's open campaign, where the alerts are raised."""
    from wellbeing.campaigns.services import open_campaign

    opened = open_campaign(
        world.district, world.schools["A"], campaign_plan(world), world.users["counselor"]
    )
    db.session.commit()
    return opened


@pytest.fixture
def second(world, password_hash):
    """A second counselor of school A, and a counselor of school B."""
    world.users["counselor2"] = make_user(
        "counselor2", password_hash, ("counselor", world.schools["A"])
    )
    world.users["counselor_b"] = make_user(
        "counselor-b", password_hash, ("counselor", world.schools["B"])
    )
    db.session.commit()
    return world


def _open(world, **changes) -> FollowUp:
    values = {
        "student": world.students["A1-0"],
        "kind": v.INTERVIEW,
        "assignee": world.users["counselor"],
        "due_at": utcnow() + timedelta(hours=3),
        "priority": v.RED,
        "source": v.FROM_COUNSELOR,
        "source_id": None,
        "created_by": world.users["counselor"],
        "recurrence_days": None,
    }
    values.update(changes)
    follow_up = services.open_follow_up(**values)
    db.session.commit()
    return follow_up


# ----------------------------------------------------------------------------- the chain


def test_acknowledge_first_follow_up_complete_and_recurrence(client, world, campaign):
    """The whole chain: the alert page shows how long the alert has waited; acknowledging
    asks for the first follow-up with the defaults (me, interview, red, due 24 hours on);
    it shows in 我的随访; completing it opens the next one 14 days on."""
    alert = _alert(world, campaign)
    counselor = world.users["counselor"]
    login(client, "counselor")
    alerts_url = f"/schools/{world.schools['A'].id}/alerts"
    page = _page(client.get(alerts_url))
    assert "已等待 0 分钟" in page
    assert _ack_url(world, alert) in page

    form = _page(client.get(_ack_url(world, alert)))
    assert world.students["A1-0"].name in form and "确认危机预警" in form
    assert re.search(rf'<option selected value="{counselor.id}">', form)
    assert re.search(r'<option selected value="interview">约谈</option>', form)
    assert re.search(r'<option selected value="red">红色（一级）</option>', form)
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"', form).group(1)
    expected = to_local(utcnow() + timedelta(hours=24))
    assert abs(datetime.strptime(due, FORM_TIME) - expected) < timedelta(minutes=2)

    response = client.post(
        _ack_url(world, alert),
        data={
            "kind": "interview",
            "assignee": counselor.id,
            "due_at": due,
            "priority": "red",
            "recurrence_days": "14",
        },
    )
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_by_id == counselor.id
    (first,) = _follow_ups()
    assert (first.kind, first.priority, first.assignee_id, first.status) == (
        "interview",
        "red",
        counselor.id,
        "open",
    )
    assert (first.source, first.source_id, first.student_id) == (
        "crisis_alert",
        alert.id,
        world.students["A1-0"].id,
    )
    assert first.recurrence_days == 14
    acknowledged = db.session.scalar(select(SlaEvent).where(SlaEvent.step == v.ACKNOWLEDGED))
    assert (acknowledged.subject, acknowledged.subject_id) == (v.SUBJECT_ALERT, alert.id)
    assert acknowledged.user_id == counselor.id and acknowledged.at == alert.acknowledged_at

    # The alert page: how long it took, and its follow-up's state.
    page = _page(client.get(alerts_url))
    assert "用时 0 分钟" in page
    row = page[page.index(f'data-alert="{alert.id}"') :].split("</tr>")[0]
    assert f"/followups/{first.id}" in row and "约谈" in row and "待办" in row

    # 我的随访: due in 24 hours, so after today or today (late evening), never overdue.
    mine = _page(client.get("/followups"))
    assert "我的随访" in mine and world.students["A1-0"].name in mine
    assert re.search(r'data-count="overdue"><a href="#overdue">已逾期 <strong>0</strong>', mine)
    assert "七年级1班" in mine and "危机预警" in mine

    # Complete it: the outcome is sealed, the next one opened 14 days on.
    page = _page(client.get(f"/followups/{first.id}"))
    assert 'id="complete-form"' in page and 'name="complete-next_due"' in page
    response = client.post(
        f"/followups/{first.id}/complete",
        data={"complete-status": "done", "complete-outcome": "已约谈，情绪稳定，约定两周后再谈。"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    first, following = _follow_ups()
    assert response.headers["Location"].endswith(f"/followups/{following.id}")
    assert (first.status, first.closed_by_id) == ("done", counselor.id)
    assert first.outcome == "已约谈，情绪稳定，约定两周后再谈。"
    assert (following.status, following.source, following.source_id) == (
        "open",
        "follow_up",
        first.id,
    )
    assert following.previous_id == first.id and following.recurrence_days == 14
    assert following.student_id == first.student_id and following.assignee_id == counselor.id
    assert abs(following.due_at - (first.closed_at + timedelta(days=14))) < timedelta(minutes=2)
    completed = db.session.scalar(select(SlaEvent).where(SlaEvent.step == v.COMPLETED))
    assert (completed.subject_id, completed.due_at) == (first.id, first.due_at)

    # The history links both ways; stopping the repeat opens nothing more.
    page = _page(client.get(f"/followups/{following.id}"))
    assert "这项重复随访的历次记录" in page and f"/followups/{first.id}" in page
    client.post(
        f"/followups/{following.id}/complete",
        data={"complete-status": "missed", "complete-stop_repeating": "y"},
    )
    db.session.expire_all()
    assert [f.status for f in _follow_ups()] == ["done", "missed"]
    # Audit rows name the alert and the follow-ups, never the student.
    assert [e.target_id for e in _audit("alert_acknowledge")] == [str(alert.id)]
    opened = _audit("follow_up_open")
    assert [json.loads(e.detail)["source"] for e in opened] == ["crisis_alert", "follow_up"]
    completes = _audit("follow_up_complete")
    assert [json.loads(e.detail) for e in completes] == [
        {"status": "done", "next": following.id},
        {"status": "missed", "next": None},
    ]
    for event in opened + completes:
        assert event.target_type == "follow_up"
        assert world.students["A1-0"].name not in (event.detail or "")


def test_the_outcome_is_sealed_in_the_database(world):
    follow_up = _open(world)
    services.complete(follow_up, world.users["counselor"], v.DONE, "家访：父母离异，住外婆家")
    db.session.commit()
    raw = db.session.execute(
        text("SELECT outcome, subject FROM follow_up WHERE id = :id"), {"id": follow_up.id}
    ).one()
    for column in raw:
        assert isinstance(column, bytes | memoryview)
        stored = bytes(column)
        assert "外婆".encode() not in stored and b"student_id" not in stored
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).outcome == "家访：父母离异，住外婆家"


# ----------------------------------------------------------------------------- atomicity


def test_a_bad_first_follow_up_leaves_the_alert_unacknowledged(client, world, second, campaign):
    """An assignee of another school, a past due time, an unknown kind: every problem
    beside its field at once, and nothing written (neither the acknowledgement nor the
    follow-up, its ladder step or audit rows)."""
    alert = _alert(world, campaign)
    login(client, "counselor")
    events = _count(AuditEvent, AuditEvent.action != "view_student")
    past = _local_form(utcnow() - timedelta(hours=2))
    response = client.post(
        _ack_url(world, alert),
        data={
            "kind": "séance",
            "assignee": world.users["counselor_b"].id,
            "due_at": past,
            "priority": "purple",
            "recurrence_days": "0",
        },
    )
    page = _page(response)
    assert response.status_code == 200
    assert "预警尚未确认" in page
    for field, message in [
        ("kind", "请从列表中选择随访内容。"),
        ("assignee", "请选择测试学校A的心理教师。"),
        ("due_at", "截止时间已过"),
        ("priority", "请从列表中选择优先级。"),
        ("recurrence_days", "请填写 1 至 365 天"),
    ]:
        beside = page[page.index(f'id="{field}"') :].split("<label")[0]
        assert message in beside, field
    db.session.expire_all()
    assert db.session.get(CrisisAlert, alert.id).acknowledged_at is None
    assert _count(FollowUp) == 0 and _count(SlaEvent) == 0
    assert _count(AuditEvent, AuditEvent.action != "view_student") == events
    # A due time that is not a time at all: its own message, still nothing written.
    response = client.post(
        _ack_url(world, alert),
        data={"kind": "interview", "assignee": world.users["counselor"].id, "due_at": "明天"},
    )
    assert "不是有效的日期与时间值。" in _page(response)
    assert db.session.get(CrisisAlert, alert.id).acknowledged_at is None


def test_the_service_checks_before_it_writes(world, second, campaign):
    alert = _alert(world, campaign)
    plan = services.NewFollowUp(
        kind=v.INTERVIEW,
        assignee=world.users["counselor_b"],
        due_at=utcnow() + timedelta(hours=1),
        priority=v.RED,
    )
    with pytest.raises(services.FollowUpError) as refused:
        alert_services.acknowledge_alert(alert, world.users["counselor"], plan)
    assert set(refused.value.problems) == {"assignee"}
    assert alert.acknowledged_at is None and _count(FollowUp) == 0 and _count(SlaEvent) == 0


def test_an_acknowledged_alert_is_not_acknowledged_again(client, world, campaign):
    alert = _alert(world, campaign)
    login(client, "counselor")
    form = _page(client.get(_ack_url(world, alert)))
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"', form).group(1)
    data = {"kind": "interview", "assignee": world.users["counselor"].id, "due_at": due}
    data["priority"] = "red"
    assert client.post(_ack_url(world, alert), data=data).status_code == 302
    again = client.post(_ack_url(world, alert), data=data, follow_redirects=True)
    assert "此预警已被确认过。" in _page(again)
    assert client.get(_ack_url(world, alert)).status_code == 302
    assert _count(FollowUp) == 1 and _count(SlaEvent, SlaEvent.step == v.ACKNOWLEDGED) == 1


# ----------------------------------------------------------------------------- validation


def test_open_follow_up_refuses_what_it_cannot_keep(world, second):
    student = world.students["A1-0"]
    now = utcnow()
    cases = [
        ({"kind": "tea"}, "kind"),
        ({"priority": "none"}, "priority"),
        ({"assignee": world.users["counselor_b"]}, "assignee"),  # another school's
        ({"assignee": world.users["doctor"]}, "assignee"),  # not a counselor
        ({"due_at": now - timedelta(minutes=5)}, "due_at"),
        ({"recurrence_days": 0}, "recurrence_days"),
    ]
    for change, field in cases:
        with pytest.raises(services.FollowUpError) as refused:
            _open(world, **change)
        assert set(refused.value.problems) == {field}, change
    # A minute in the past is the form's time to fill in: accepted.
    assert _open(world, due_at=now - timedelta(seconds=50)).student_id == student.id
    with pytest.raises(ValueError):
        _open(world, source="rumour")


def test_completing_needs_an_outcome_and_an_open_follow_up(client, world):
    follow_up = _open(world)
    login(client, "counselor")
    url = f"/followups/{follow_up.id}/complete"
    page = _page(client.post(url, data={"complete-status": "done", "complete-outcome": "  "}))
    beside = page[page.index('id="complete-outcome"') :].split("<label")[0]
    assert "请填写随访情况。" in beside
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == "open"
    poisoned = client.post(url, data={"complete-status": "done", "complete-outcome": "谈\x00话"})
    assert poisoned.status_code == 200 and "U+0000" in _page(poisoned)
    assert client.post(url, data={"complete-status": "missed"}).status_code == 302
    again = client.post(url, data={"complete-status": "done", "complete-outcome": "补记"})
    assert "这项随访已经结束。" in _page(client.get(again.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == "missed"


def test_cancel_needs_a_reason_and_keeps_it_sealed(client, world):
    follow_up = _open(world)
    login(client, "counselor")
    url = f"/followups/{follow_up.id}/cancel"
    page = _page(client.post(url, data={"cancel-reason": ""}))
    assert "请填写原因（不超过 200 字）。" in page
    assert db.session.get(FollowUp, follow_up.id).status == "open"
    assert client.post(url, data={"cancel-reason": "学生已转学"}).status_code == 302
    db.session.expire_all()
    cancelled = db.session.get(FollowUp, follow_up.id)
    assert (cancelled.status, cancelled.outcome) == ("cancelled", "学生已转学")
    assert json.loads(_audit("follow_up_cancel")[-1].detail) == {"status": "cancelled"}


# ----------------------------------------------------------------------------- reassign


def test_reassign_tells_the_new_counselor_and_resets_the_reminder(client, world, second):
    follow_up = _open(world)
    follow_up.reminded_at = utcnow()
    db.session.commit()
    new = world.users["counselor2"]
    login(client, "counselor")
    page = _page(client.get(f"/followups/{follow_up.id}"))
    options = page[page.index('id="reassign-assignee"') :].split("</select>")[0]
    assert f'value="{new.id}"' in options
    assert f'value="{world.users["counselor"].id}"' not in options  # not to oneself
    assert f'value="{world.users["counselor_b"].id}"' not in options  # another school's
    refused = client.post(
        f"/followups/{follow_up.id}/reassign",
        data={"reassign-assignee": world.users["counselor_b"].id},
    )
    assert "请选择测试学校A的心理教师。" in _page(refused)
    response = client.post(
        f"/followups/{follow_up.id}/reassign", data={"reassign-assignee": new.id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    moved = db.session.get(FollowUp, follow_up.id)
    assert (moved.assignee_id, moved.reminded_at) == (new.id, None)
    (told,) = db.session.scalars(
        select(Notification).where(Notification.user_id == new.id, Notification.kind == "follow_up")
    )
    assert world.students["A1-0"].name in told.message  # the inbox may name the student
    assert told.link == f"/followups/{follow_up.id}"
    assert json.loads(_audit("follow_up_reassign")[-1].detail) == {
        "from": world.users["counselor"].id,
        "assignee": new.id,
    }
    client.post("/logout")
    login(client, "counselor2")
    assert world.students["A1-0"].name in _page(client.get("/followups"))


def test_the_outside_words_name_no_student(app, world):
    """What goes out by mail and webhooks (when the outbox sends it) names the school only."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        from flask_babel import gettext as _

        outside = _(
            "%(school)s has given you a follow-up. Please log in to see it.",
            school=world.schools["A"].name,
        )
    assert outside == "测试学校A有 1 项随访交给您，请登录查看。"


# ----------------------------------------------------------------------------- scope


def test_another_schools_counselor_is_refused(client, world, second):
    follow_up = _open(world)
    login(client, "counselor-b")
    assert client.get(f"/followups/{follow_up.id}").status_code == 403
    for action in ("complete", "reassign", "cancel"):
        assert client.post(f"/followups/{follow_up.id}/{action}").status_code == 403
    student = world.students["A1-0"]
    assert client.get(f"/students/{student.id}/followups/new").status_code == 403
    assert world.students["A1-0"].name not in _page(client.get("/followups"))
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == "open"


def test_an_alert_of_another_school_is_not_found_through_ones_own(client, world, campaign):
    from tests.factories import add_follow_ups

    add_follow_ups(world)
    db.session.commit()
    login(client, "counselor")
    url = f"/schools/{world.schools['A'].id}/alerts/{world.alerts['B'].id}/acknowledge"
    assert client.get(url).status_code == 404
    other = f"/schools/{world.schools['B'].id}/alerts/{world.alerts['B'].id}/acknowledge"
    assert client.get(other).status_code == 403


# ----------------------------------------------------------------------------- pages


def test_my_follow_ups_in_three_sections_with_counts_and_lateness(client, world):
    now = utcnow()
    late = _open(world, due_at=now + timedelta(seconds=30))
    late.due_at = now - timedelta(hours=5, minutes=3)  # as if opened earlier
    _open(world, student=world.students["A1-1"], due_at=now + timedelta(days=3), kind="rescreen")
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get("/followups"))
    counts = dict(
        re.findall(r'data-count="(\w+)"><a href="#\w+">[^<]*<strong>(\d+)</strong>', page)
    )
    assert counts["overdue"] == "1" and counts["upcoming"] == "1"
    overdue = page[page.index('id="overdue"') : page.index('id="today"')]
    assert world.students["A1-0"].name in overdue and "逾期 5 小时 3 分" in overdue
    upcoming = page[page.index('id="upcoming"') :]
    assert world.students["A1-1"].name in upcoming and "复测" in upcoming
    assert local_text(late.due_at) in overdue
    # The menu's badge and the home panel count the overdue one.
    assert re.search(r'id="nav-follow-ups">我的随访 <span class="badge"[^>]*>1</span>', page)
    home = _page(client.get("/home"))
    overdue_figure = home[home.index('data-figure="follow_ups_overdue"') :].split("</li>")[0]
    assert "我的逾期随访" in overdue_figure and '<span class="count">1</span>' in overdue_figure
    assert "/followups#overdue" in overdue_figure
    # One audit row for the page, over the viewer's own list.
    (row,) = [e for e in _audit("view_list") if json.loads(e.detail)["page"] == "followups.mine"]
    assert (row.target_type, row.target_id) == ("user_account", str(world.users["counselor"].id))
    assert json.loads(row.detail)["students"] == 2


def test_an_empty_list_says_so_and_writes_no_row(client, world):
    login(client, "counselor")
    before = _count(AuditEvent)
    page = _page(client.get("/followups"))
    assert "没有逾期的随访。" in page and "今天以后没有安排随访。" in page
    assert _count(AuditEvent) == before


def test_the_week_view_puts_each_follow_up_on_its_day(client, world):
    now = utcnow()
    due = now + timedelta(days=8)
    _open(world, due_at=due)
    login(client, "counselor")
    this_week = _page(client.get("/followups/week"))
    assert world.students["A1-0"].name not in this_week
    day = to_local(due).date()
    monday = day - timedelta(days=day.weekday())
    page = _page(client.get(f"/followups/week?start={day.isoformat()}"))
    cell = page[page.index(f'data-day="{day.isoformat()}"') :].split("</li>")[0]
    assert world.students["A1-0"].name in cell and "约谈" in cell
    assert f"start={(monday - timedelta(days=7)).isoformat()}" in page  # the previous week
    assert f"start={(monday + timedelta(days=7)).isoformat()}" in page
    assert client.get("/followups/week?start=2026-13-45").status_code == 200  # this week


def test_opening_a_follow_up_by_hand_from_the_students_page(client, world, second):
    student = world.students["A1-2"]
    login(client, "counselor")
    page = _page(client.get(f"/students/{student.id}"))
    assert "该学生没有随访。" in page and f"/students/{student.id}/followups/new" in page
    form = _page(client.get(f"/students/{student.id}/followups/new"))
    assert student.name in form
    due = _local_form(utcnow() + timedelta(days=2))
    response = client.post(
        f"/students/{student.id}/followups/new",
        data={
            "kind": "guardian_contact",
            "assignee": world.users["counselor2"].id,
            "due_at": due,
            "priority": "orange",
        },
    )
    assert response.status_code == 302
    (follow_up,) = _follow_ups()
    assert (follow_up.source, follow_up.source_id, follow_up.kind) == (
        "counselor",
        None,
        "guardian_contact",
    )
    assert follow_up.assignee_id == world.users["counselor2"].id
    # Opened for someone else: they are told.
    assert _count(Notification, Notification.user_id == world.users["counselor2"].id) == 1
    page = _page(client.get(f"/students/{student.id}"))
    section = page[page.index('id="follow-ups"') :]
    assert f"/followups/{follow_up.id}" in section and "联系家长" in section


def test_a_follow_up_page_writes_one_row_naming_the_student(client, world):
    follow_up = _open(world)
    login(client, "counselor")
    before = _count(AuditEvent)
    page = _page(client.get(f"/followups/{follow_up.id}"))
    assert world.students["A1-0"].name in page and "七年级1班" in page
    (row,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before))
    assert (row.action, row.target_type, row.target_id) == (
        "view_student",
        "student",
        str(world.students["A1-0"].id),
    )
    assert json.loads(row.detail) == {
        "page": "followups.view",
        "students": 1,
        "follow_up": follow_up.id,
    }


def test_durations_in_words(app):
    from wellbeing.followups.timing import duration_text, late_text

    with app.test_request_context():
        assert duration_text(timedelta(minutes=7, seconds=59)) == "7 分钟"
        assert duration_text(timedelta(hours=3, minutes=12)) == "3 小时 12 分"
        assert duration_text(timedelta(days=2, hours=5, minutes=1)) == "2 天 5 小时"
        assert duration_text(timedelta(seconds=-5)) == "0 分钟"
        now = utcnow()
        assert late_text(now - timedelta(hours=5), now) == "逾期 5 小时 0 分"
        assert late_text(now + timedelta(minutes=30), now) == "还有 30 分钟"


def test_a_school_without_a_counselor_gives_the_follow_up_to_the_administrator(client, world):
    """School B has no counselor: its alerts go to the district's administrator, who may
    acknowledge them and is the first follow-up's default (and only) assignee."""
    from tests.factories import add_follow_ups

    add_follow_ups(world)
    alert = world.alerts["B"]
    alert.raised_at = utcnow() - timedelta(hours=3, minutes=12, seconds=30)
    db.session.commit()
    admin = world.users["admin"]
    login(client, "admin")
    page = _page(client.get(f"/schools/{world.schools['B'].id}/alerts"))
    row = page[page.index(f'data-alert="{alert.id}"') :].split("</tr>")[0]
    assert "已等待 3 小时 12 分" in row
    url = f"/schools/{world.schools['B'].id}/alerts/{alert.id}/acknowledge"
    form = _page(client.get(url))
    options = form[form.index('id="assignee"') :].split("</select>")[0]
    assert re.findall(r'value="(\d+)"', options) == [str(admin.id)]
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"', form).group(1)
    data = {"kind": "guardian_contact", "assignee": admin.id, "due_at": due, "priority": "red"}
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(CrisisAlert, alert.id).acknowledged_by_id == admin.id
    first = db.session.scalars(
        select(FollowUp).where(FollowUp.source == "crisis_alert").order_by(FollowUp.id.desc())
    ).first()
    assert (first.assignee_id, first.kind, first.school_id) == (
        admin.id,
        "guardian_contact",
        world.schools["B"].id,
    )


def test_the_next_of_a_recurrence_can_be_dated_but_not_in_the_past(client, world):
    follow_up = _open(world, recurrence_days=7)
    login(client, "counselor")
    url = f"/followups/{follow_up.id}/complete"
    past = _local_form(utcnow() - timedelta(days=1))
    page = _page(
        client.post(
            url,
            data={
                "complete-status": "done",
                "complete-outcome": "已谈",
                "complete-next_due": past,
            },
        )
    )
    beside = page[page.index('id="complete-next_due"') :].split("<label")[0]
    assert "下一次的时间已过" in beside
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == "open"
    later = utcnow() + timedelta(days=3)
    client.post(
        url,
        data={
            "complete-status": "done",
            "complete-outcome": "已谈",
            "complete-next_due": _local_form(later),
        },
    )
    db.session.expire_all()
    _first, following = _follow_ups()
    assert local_text(following.due_at) == local_text(later)
    assert following.recurrence_days == 7
