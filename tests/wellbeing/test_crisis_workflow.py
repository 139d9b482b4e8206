"""The crisis workflow: alerts raised by a critical item or a red tier (the review's
subscriber), acknowledged within or after their deadline, then worked through the crisis
checklist on the alert's page, each step recorded once with its time and who recorded
it, opening or completing the alert's follow-ups; every problem beside its field with
nothing written; the explanation shown to the school's counselors only; the pages in
Chinese. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import login
from tests.wellbeing.campaigns.conftest import campaign_plan, target_of  # noqa: F401
from tests.wordcheck import problems, visible_text
from wellbeing import clock
from wellbeing.campaigns import services as campaign_services
from wellbeing.campaigns.battery import battery
from wellbeing.clock import from_local, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.followups.queries import of_alerts
from wellbeing.followups.services import NewFollowUp, open_follow_up
from wellbeing.review import alerts as alert_services
from wellbeing.review import vocabulary as v
from wellbeing.review.alerts import AlertError, StepRecord
from wellbeing.review.models import AlertStep, CrisisAlert, RiskAssessment
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

FORM_TIME = "%Y-%m-%dT%H:%M"
MONDAY = datetime(2026, 12, 7)  # local: Monday 7 December 2026
FRIDAY = datetime(2026, 12, 4)


# ----------------------------------------------------------------------------- helpers


def _campaign(world, campaign_plan, school: str = "A"):  # noqa: F811
    opened = campaign_services.open_campaign(
        world.district,
        world.schools[school],
        campaign_plan(world, school_ids=[world.schools[school].id]),
        None,
    )
    db.session.commit()
    return opened


@pytest.fixture
def campaign(world, campaign_plan):  # noqa: F811
    """School A's open PHQ-9 + GAD-7 campaign."""
    return _campaign(world, campaign_plan)


def _sit(campaign, student, answers: dict[str, int]) -> list[CrisisAlert]:
    """The student answers (every item not given: 0) and submits; the alerts raised."""
    target = target_of(campaign, student)
    for instrument in battery(campaign):
        for item in instrument.items:
            value = answers.get(item.id, answers.get(instrument.id, 0))
            campaign_services.autosave(target, instrument.id, item.id, value, 3.0)
    before = _count(CrisisAlert)
    campaign_services.submit(target, utcnow())
    db.session.commit()  # a refused request's rollback keeps it
    raised = db.session.scalars(select(CrisisAlert).order_by(CrisisAlert.id)).all()[before:]
    return [a for a in raised if a.student_id == student.id]


# PHQ-9 items 1-8 at 3 (24: severe) without item 9, GAD-7 at 3 (21: severe): red by points.
RED_WITHOUT_CRITICAL = {"phq9": 3, "phq9_9": 0, "gad7": 3}
# Item 9 endorsed, nothing else: red by the rule, 0 points.
CRITICAL_ONLY = {"phq9_9": 2}


def _red_alert(world, campaign, label: str = "A1-0") -> CrisisAlert:
    (alert,) = _sit(campaign, world.students[label], RED_WITHOUT_CRITICAL)
    return alert


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _page(response) -> str:
    return response.get_data(as_text=True)


def _text(response) -> str:
    return visible_text(_page(response))


def _url(alert: CrisisAlert, tail: str = "") -> str:
    return f"/schools/{alert.school_id}/alerts/{alert.id}{tail}"


def _acknowledge(world, alert, *, kind: str = fv.INTERVIEW, user: str = "counselor") -> FollowUp:
    plan = NewFollowUp(kind, world.users[user], utcnow() + timedelta(hours=24), fv.RED)
    follow_up = alert_services.acknowledge_alert(alert, world.users[user], plan)
    db.session.commit()
    return follow_up


def _local(at: datetime) -> str:
    return to_local(at).strftime(FORM_TIME)


def _step(client, alert, step: str, note: str = "", **fields) -> object:
    data = {"step": step, f"{step}-note": note}
    data.update({f"{step}-{name}": value for name, value in fields.items()})
    return client.post(_url(alert, "/steps"), data=data)


def _follow_ups(alert) -> list[FollowUp]:
    db.session.expire_all()
    return alert_services.alert_follow_ups(db.session.get(CrisisAlert, alert.id))


# ----------------------------------------------------------------------------- raised


def test_a_red_sitting_without_a_critical_item_raises_a_red_tier_alert(client, world, campaign):
    alert = _red_alert(world, campaign)
    assessment = db.session.get(RiskAssessment, alert.assessment_id)
    assert (alert.source, assessment.tier, assessment.rule) == ("red_tier", "red", None)
    assert alert.detail == str(assessment.points) and assessment.points >= 60
    assert alert.student_id == world.students["A1-0"].id and alert.response_id is None
    login(client, "counselor")
    row = _text(client.get(f"/schools/{alert.school_id}/alerts"))
    assert f"一级（红色）等级，{assessment.points} 分" in row
    assert "0/5" in row


def test_a_critical_item_raises_its_own_alert_and_no_second_one(world, campaign):
    """A critical item raises one alert (its own), even when the points are red too; a
    critical item alone is red by the rule."""
    (alone,) = _sit(campaign, world.students["A1-0"], CRITICAL_ONLY)
    (both,) = _sit(campaign, world.students["A1-1"], {"phq9": 3, "gad7": 3})
    for alert in (alone, both):
        assessment = db.session.get(RiskAssessment, alert.assessment_id)
        assert (alert.source, alert.detail) == ("critical_item", "phq9@1.0: phq9_9")
        assert (assessment.tier, assessment.rule) == ("red", "critical_item")
        assert alert.response_id is not None
    assert db.session.get(RiskAssessment, alone.assessment_id).points == 0
    # Orange points without a critical item: no alert at all.
    assert _sit(campaign, world.students["A1-2"], {"phq9": 2, "phq9_9": 0}) == []


def _paper(target, answers: dict[str, dict[str, int]]) -> None:
    """A paper sitting with exactly these answers (items left out are blank)."""
    instruments = battery(target.campaign)
    split = {i.id: (answers.get(i.id, {}), {}) for i in instruments}
    campaign_services.record_responses(target, instruments, split, "paper", None)
    db.session.commit()


def test_a_retest_still_red_raises_no_second_red_tier_alert(world, campaign):
    """Red by the rule with GAD-7 left blank (a retest is due), then red by points on the
    retest: the case is open already, so the tier is updated without a second alert."""
    target = target_of(campaign, world.students["A1-0"])
    phq9 = {f"phq9_{n}": 3 for n in range(1, 10)}
    _paper(target, {"phq9": phq9})
    assert target.state == "retest_pending" and _count(CrisisAlert) == 1
    campaign_services.issue_retest(target, world.users["counselor"])
    _paper(target, {"phq9": {**phq9, "phq9_9": 0}, "gad7": {f"gad7_{n}": 3 for n in range(1, 8)}})
    assessment = db.session.scalar(
        select(RiskAssessment).where(RiskAssessment.target_id == target.id)
    )
    assert (assessment.tier, assessment.rule, assessment.attempt) == ("red", None, 2)
    assert _count(CrisisAlert) == 1


def test_the_alert_message_links_to_the_alerts_own_page(world, campaign):
    from wellbeing.notifications.models import Notification

    alert = _red_alert(world, campaign)
    links = [n.link for n in db.session.scalars(select(Notification))]
    assert links and all(link.endswith(f"/alerts/{alert.id}") for link in links)


# ----------------------------------------------------------------------------- the deadline


def test_acknowledged_within_its_deadline(client, world, campaign):
    alert = _red_alert(world, campaign)
    login(client, "counselor")
    page = _page(client.get(_url(alert)))
    assert 'data-sla="waiting"' in page and "请在" in _text(client.get(_url(alert)))
    form = _page(client.get(_url(alert, "/acknowledge")))
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"', form).group(1)
    data = {"kind": "interview", "assignee": world.users["counselor"].id, "due_at": due}
    response = client.post(_url(alert, "/acknowledge"), data=data | {"priority": "red"})
    # Acknowledged: on to the alert's page, where the checklist goes on.
    assert response.status_code == 302 and response.headers["Location"] == _url(alert)
    db.session.refresh(alert)
    assert alert_services.acknowledged_in_time(alert) is True
    page = client.get(_url(alert), follow_redirects=True)
    assert 'data-sla="in_time"' in _page(page) and "在期限" in _text(page)
    listed = _page(client.get(f"/schools/{alert.school_id}/alerts"))
    assert 'data-sla="in_time"' in listed
    # Again: already acknowledged, back to its page.
    again = client.post(_url(alert, "/acknowledge"), data=data | {"priority": "red"})
    assert again.headers["Location"] == _url(alert)


def test_acknowledged_after_its_deadline(client, world, campaign):
    """Raised on Monday at 09:00 a week ago: due at 10:00 that day, acknowledged now."""
    alert = _red_alert(world, campaign)
    alert.raised_at = from_local(MONDAY.replace(hour=9)) - timedelta(days=7)
    db.session.commit()
    assert alert_services.acknowledge_due(alert) == alert.raised_at + timedelta(hours=1)
    login(client, "counselor")
    assert 'data-sla="overdue"' in _page(client.get(f"/schools/{alert.school_id}/alerts"))
    _acknowledge(world, alert)
    assert alert_services.acknowledged_in_time(alert) is False
    page = client.get(_url(alert))
    assert 'data-sla="late"' in _page(page) and "超过期限" in _text(page)


def test_the_sweep_escalates_an_unacknowledged_red_tier_alert_not_an_acknowledged_one(
    world, campaign
):
    from wellbeing.followups.sweep import sweep

    late = _red_alert(world, campaign, "A1-0")
    done = _red_alert(world, campaign, "A1-1")
    for alert in (late, done):
        alert.raised_at = from_local(MONDAY.replace(hour=9)) - timedelta(days=7)
    _acknowledge(world, done)
    clock.move(from_local(MONDAY.replace(hour=9) - timedelta(days=3)) - utcnow())
    try:
        sweep()
    finally:
        clock.reset()
    escalated = db.session.scalars(
        select(SlaEvent.subject_id).where(
            SlaEvent.subject == fv.SUBJECT_ALERT, SlaEvent.step == fv.ESCALATED_SCHOOL
        )
    ).all()
    assert escalated == [late.id]


# ----------------------------------------------------------------------------- the checklist


def test_the_alert_list_follows_the_acknowledgements_follow_up_not_a_steps(world, campaign):
    """A referral's check, opened later by the checklist, does not replace the
    acknowledgement's interview as the alert's follow-up on the list."""
    alert = _red_alert(world, campaign)
    interview = _acknowledge(world, alert)
    counselor = world.users["counselor"]
    plan = NewFollowUp(fv.REFERRAL_CHECK, counselor, utcnow() + timedelta(days=3), fv.RED)
    alert_services.record_checklist_step(
        alert, StepRecord(v.REFERRAL, "市精神卫生中心", plan), counselor
    )
    db.session.commit()
    assert len(_follow_ups(alert)) == 2
    shown = of_alerts(alert.school_id, [alert.id], alert.raised_at)
    assert shown[alert.id].id == interview.id


def test_the_checklist_step_by_step(client, world, campaign):
    """Seen and safe completes the alert's interview; guardian contacted its guardian
    follow-up; the safety plan is recorded; the referral (with the hospital) opens its
    check; the watch opens its check a day on. Each once, with its time and its user."""
    alert = _red_alert(world, campaign)
    counselor = world.users["counselor"]
    interview = _acknowledge(world, alert)
    guardian = open_follow_up(
        world.students["A1-0"], fv.GUARDIAN_CONTACT, counselor, utcnow() + timedelta(hours=4),
        fv.RED, fv.FROM_CRISIS_ALERT, alert.id, counselor,
    )  # fmt: skip
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get(_url(alert)))
    assert all(f'id="step-{step}"' in page for step in alert_services.v.CHECKLIST)

    response = _step(client, alert, "seen_safe", "已面谈，学生安全，情绪稍稳定。")
    assert response.status_code == 302 and response.headers["Location"] == _url(alert)
    shown = client.get(_url(alert))
    assert "已记录：已见到学生，学生安全。" in _text(shown)
    assert [f.status for f in _follow_ups(alert)] == ["done", "open"]
    interview = db.session.get(FollowUp, interview.id)
    assert interview.outcome.startswith("已在危机处置清单中记录：已见到学生，学生安全")
    assert interview.closed_by_id == counselor.id

    assert _step(client, alert, "guardian_contacted", "已电话联系母亲。").status_code == 302
    assert db.session.get(FollowUp, guardian.id).status == "done"
    assert _step(client, alert, "safety_plan").status_code == 302

    referral_due = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = _step(
        client, alert, "referral", "市精神卫生中心门诊",
        assignee=counselor.id, due_at=_local(referral_due),
    )  # fmt: skip
    assert response.status_code == 302
    response = _step(
        client, alert, "watch", "班主任与宿管轮流看护",
        assignee=counselor.id, due_at=_local(utcnow() + timedelta(hours=24)),
    )  # fmt: skip
    assert response.status_code == 302

    db.session.expire_all()
    steps = db.session.scalars(select(AlertStep).where(AlertStep.alert_id == alert.id)).all()
    assert sorted(s.step for s in steps) == sorted(alert_services.v.CHECKLIST)
    assert {s.done_by_id for s in steps} == {counselor.id}
    assert all(abs(s.done_at - utcnow()) < timedelta(minutes=2) for s in steps)
    by_step = {s.step: s for s in steps}
    assert by_step["referral"].note == "市精神卫生中心门诊"
    opened = {f.kind: f for f in _follow_ups(alert) if f.status == "open"}
    assert set(opened) == {fv.REFERRAL_CHECK, fv.OBSERVATION_CHECK}
    for step, kind in (("referral", fv.REFERRAL_CHECK), ("watch", fv.OBSERVATION_CHECK)):
        follow_up = opened[kind]
        assert by_step[step].follow_up_id == follow_up.id
        assert (follow_up.source, follow_up.source_id) == ("crisis_alert", alert.id)
        assert (follow_up.priority, follow_up.assignee_id) == ("red", counselor.id)
        assert follow_up.student_id == world.students["A1-0"].id
    assert opened[fv.REFERRAL_CHECK].due_at == from_local(to_local(referral_due))

    text = _text(client.get(_url(alert)))
    assert "5/5" in text or "已完成 5 项，共 5 项" in text
    assert "市精神卫生中心门诊" in text and "转介就医核实" in text
    assert 'id="step-' not in _page(client.get(_url(alert)))  # nothing left to record
    listed = _text(client.get(f"/schools/{alert.school_id}/alerts"))
    assert "5/5" in listed
    # Recorded once: again is refused at the top of the page, nothing written.
    again = _step(client, alert, "safety_plan")
    assert again.status_code == 200 and "该步骤已记录。" in _text(again)
    assert _count(AlertStep) == 5
    # Audited by the alert, never the student.
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "alert_step").order_by(AuditEvent.id)
    ).all()
    assert [json.loads(e.detail)["step"] for e in events] == [
        "seen_safe", "guardian_contacted", "safety_plan", "referral", "watch",
    ]  # fmt: skip
    assert {(e.target_type, e.target_id) for e in events} == {("crisis_alert", str(alert.id))}


def test_the_page_offers_each_steps_defaults(client, world, campaign):
    """The referral's check defaults to three school days on, the watch's to a day on;
    the viewer follows them up."""
    alert = _red_alert(world, campaign)
    _acknowledge(world, alert)
    login(client, "counselor")
    page = _page(client.get(_url(alert)))
    now = utcnow()
    for step, expected in (
        ("referral", alert_services.step_follow_up_due("referral", now)),
        ("watch", now + timedelta(hours=24)),
    ):
        due = re.search(rf'name="{step}-due_at"[^>]*value="([^"]+)"', page).group(1)
        assert abs(datetime.strptime(due, FORM_TIME) - to_local(expected)) < timedelta(minutes=2)
        chosen = rf'name="{step}-assignee".*?<option selected value="{world.users["counselor"].id}"'
        assert re.search(chosen, page, re.S)
    assert 'name="seen_safe-due_at"' not in page


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (MONDAY.replace(hour=10), MONDAY.replace(hour=10) + timedelta(days=3)),
        # Friday evening: the school days are Monday, Tuesday and Wednesday.
        (FRIDAY.replace(hour=20), MONDAY.replace(hour=17, minute=30) + timedelta(days=2)),
    ],
)
def test_a_referral_is_checked_three_school_days_on(app, db_session, now, due):
    found = alert_services.step_follow_up_due("referral", from_local(now))
    assert found == from_local(due)
    watch = alert_services.step_follow_up_due("watch", from_local(now))
    assert watch == from_local(now) + timedelta(hours=24)
    assert alert_services.step_follow_up_due("safety_plan", from_local(now)) is None


def test_a_referral_needs_a_note_and_every_problem_shows_at_once(client, world, campaign):
    alert = _red_alert(world, campaign)
    _acknowledge(world, alert)
    follow_ups, audit = _count(FollowUp), _count(AuditEvent, AuditEvent.action == "alert_step")
    login(client, "counselor")
    yesterday = _local(utcnow() - timedelta(days=1))
    response = _step(client, alert, "referral", "", assignee="999999", due_at=yesterday)
    assert response.status_code == 200
    page = _page(response)
    form = page[page.index('id="step-referral"') :].split("</form>")[0]
    text = visible_text(form)
    assert "请填写转介去向（医院或心理援助热线）。" in text
    assert "请选择测试学校A的心理教师。" in text
    assert "截止时间已过" in text
    # A date that is no date: beside its field.
    response = _step(client, alert, "watch", "x" * 501, assignee="", due_at="明天")
    form = _page(response)[_page(response).index('id="step-watch"') :].split("</form>")[0]
    text = visible_text(form)
    assert "最多 500 个字符" in text and "不是有效的日期与时间值" in text
    assert _count(AlertStep) == 0 and _count(FollowUp) == follow_ups
    assert _count(AuditEvent, AuditEvent.action == "alert_step") == audit


def test_a_step_before_the_acknowledgement_or_of_no_step_is_refused(client, world, campaign):
    alert = _red_alert(world, campaign)
    login(client, "counselor")
    page = _page(client.get(_url(alert)))
    assert 'id="step-seen_safe"' not in page and "请先确认接收该预警，然后" in visible_text(page)
    refused = _step(client, alert, "seen_safe")
    assert refused.status_code == 200 and "请先确认接收该预警。" in _text(refused)
    _acknowledge(world, alert)
    for data in ({}, {"step": "pray"}):
        refused = client.post(_url(alert, "/steps"), data=data)
        assert refused.status_code == 200 and "请选择清单中的一项。" in _text(refused)
    assert _count(AlertStep) == 0


def test_a_step_recorded_meanwhile_is_refused_not_a_500(world, campaign):
    """Two counselors record the same step at once: the second one's alert still shows
    it undone, the database refuses the second row, and the service says so."""
    alert = _red_alert(world, campaign)
    _acknowledge(world, alert)
    assert alert.steps == []  # loaded before the other counselor's row
    db.session.execute(
        insert(AlertStep).values(
            uid="x" * 10, alert_id=alert.id, step="safety_plan", done_at=utcnow(),
            done_by_id=world.users["counselor"].id,
        )
    )  # fmt: skip
    with pytest.raises(AlertError) as refused:
        alert_services.record_checklist_step(
            alert, StepRecord("safety_plan"), world.users["counselor"]
        )
    assert refused.value.problems == {"step": "该步骤已记录。"}
    assert _count(AlertStep) == 1
    # The session goes on: another step is recorded.
    alert_services.record_checklist_step(alert, StepRecord("seen_safe"), world.users["counselor"])
    assert _count(AlertStep) == 2


@pytest.mark.parametrize("asked", ["", "rescreen"])
def test_the_steps_follow_up_is_of_the_steps_kind(world, campaign, asked):
    """The step says what its follow-up is: a plan without a kind (the step's form asks
    none) or with another is neither refused for it nor obeyed."""
    alert = _red_alert(world, campaign)
    _acknowledge(world, alert)
    plan = NewFollowUp(asked, world.users["counselor"], utcnow() + timedelta(hours=2), "red")
    step = alert_services.record_checklist_step(
        alert, StepRecord("watch", "", plan), world.users["counselor"]
    )
    assert db.session.get(FollowUp, step.follow_up_id).kind == fv.OBSERVATION_CHECK


# ----------------------------------------------------------------------------- who sees what


def _explanation_points(page: str) -> tuple[list[int], int]:
    rows = [int(p) for p in re.findall(r'data-points="(-?\d+)"', page)]
    total = int(re.search(r'id="total-points">(\d+)<', page).group(1))
    return rows, total


def test_the_counselor_reads_the_explanation_whose_points_add_up(client, world, campaign):
    alert = _red_alert(world, campaign)
    assessment = db.session.get(RiskAssessment, alert.assessment_id)
    login(client, "counselor")
    response = client.get(_url(alert))
    rows, total = _explanation_points(_page(response))
    assert sum(rows) == total == assessment.points and len(rows) == 2
    text = _text(response)
    assert "PHQ-9" in text and "重度（24 分）" in text and "GAD-7" in text
    assert "一级（红色）" in text and 'id="rule"' not in _page(response)
    # The critical item's alert: the rule shown, its 0 points adding up too.
    (critical,) = _sit(campaign, world.students["A1-1"], CRITICAL_ONLY)
    page = _page(client.get(_url(critical)))
    rows, total = _explanation_points(page)
    assert sum(rows) == total == 0 and 'id="rule"' in page
    assert "关键题目阳性" in visible_text(page)


def test_the_administrator_sees_the_alert_and_checklist_not_the_explanation(
    client,
    world,
    campaign_plan,  # noqa: F811
):
    """School B has no counselor: its alerts go to the district's administrator, who
    works them but is shown neither the tier's explanation nor a link to the case."""
    campaign_b = _campaign(world, campaign_plan, "B")
    (alert,) = _sit(campaign_b, world.students["B1-0"], RED_WITHOUT_CRITICAL)
    admin = world.users["admin"]
    _acknowledge(world, alert, user="admin")
    login(client, "admin")
    response = client.get(_url(alert))
    page = _page(response)
    assert response.status_code == 200 and "学生B1-0" in page
    assert 'id="explanation"' not in page and 'id="explanation-hidden"' in page
    assert "data-points" not in page and 'id="case-link"' not in page
    assert "GAD-7" not in page  # nothing of the assessment's contributions
    assert 'id="step-referral"' in page
    done = _step(client, alert, "seen_safe", "已见面")
    assert done.status_code == 302
    assert db.session.scalar(select(AlertStep.done_by_id)) == admin.id


def test_another_schools_alert_is_not_found_through_ones_own(client, world, campaign):
    from tests.factories import add_follow_ups

    add_follow_ups(world)
    db.session.commit()
    login(client, "counselor")
    other = world.alerts["B"]
    assert client.get(f"/schools/{world.schools['A'].id}/alerts/{other.id}").status_code == 404
    posted = client.post(
        f"/schools/{world.schools['A'].id}/alerts/{other.id}/steps", data={"step": "seen_safe"}
    )
    assert posted.status_code == 404
    assert client.get(_url(other)).status_code == 403


def test_an_alert_without_an_assessment_says_so(client, world, campaign):
    """An alert raised before tiers existed (moved from the campaigns) has no
    assessment: its page says so and shows the checklist."""
    from tests.factories import add_follow_ups

    add_follow_ups(world)
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get(_url(world.alerts["A"])))
    assert 'id="explanation-missing"' in page and 'id="checklist"' in page


def test_the_alert_page_is_audited_naming_its_student(client, world, campaign):
    alert = _red_alert(world, campaign)
    login(client, "counselor")
    before = db.session.scalar(select(func.max(AuditEvent.id)))
    client.get(_url(alert))
    (row,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert (row.action, row.target_type) == ("view_student", "student")
    assert row.target_id == str(world.students["A1-0"].id)
    assert json.loads(row.detail) == {"page": "review.alert", "students": 1, "alert": alert.id}


# ----------------------------------------------------------------------------- words


def test_the_alert_pages_in_chinese(client, world, campaign):
    """Every state of the alert's page, its errors and the list, for a counselor and an
    administrator, read for English words and half-width punctuation."""
    for number, user in enumerate(world.users.values(), start=1):
        user.display_name = f"教师{number}"  # the world's are login names, English words
    fresh = _red_alert(world, campaign, "A1-0")
    worked = _red_alert(world, campaign, "A1-1")
    (critical,) = _sit(campaign, world.students["A1-2"], CRITICAL_ONLY)
    for alert in (worked, critical):
        _acknowledge(world, alert)
    counselor = world.users["counselor"]
    for step in ("seen_safe", "guardian_contacted"):
        alert_services.record_checklist_step(worked, StepRecord(step, "已完成"), counselor)
    plan = NewFollowUp("", counselor, utcnow() + timedelta(days=3), "red")
    referral = StepRecord("referral", "心理援助热线", plan)
    alert_services.record_checklist_step(worked, referral, counselor)
    db.session.commit()
    for name in ("counselor", "admin"):
        login(client, name)
        found = []
        for url in (
            f"/schools/{fresh.school_id}/alerts",
            _url(fresh),
            _url(fresh, "/acknowledge"),
            _url(worked),
            _url(critical),
        ):
            found += problems(_text(client.get(url)))
        for data in ({}, {"step": "referral", "referral-due_at": "x"}, {"step": "safety_plan"}):
            response = client.post(_url(critical, "/steps"), data=data, follow_redirects=True)
            found += problems(_text(response))
        client.post("/logout")
        assert not found, (name, found)
