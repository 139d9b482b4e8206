"""A counselor's crisis journey in real Chromium, in Chinese, on a phone (390 px): a
student's answers score red without a critical item (submitted by service, as the
questionnaire does, in a class no other journey uses); the counselor finds the alert
from the home page, acknowledges it with an interview as its first follow-up, finds the
interview in 我的随访, reads on the alert's page why the student is red (the points add
up to the total), records the crisis checklist step by step (a referral without the
hospital is refused beside its field), and finds the referral's check among their
follow-ups, the interview completed by "seen and safe"."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import _ADD_ACCOUNTS, DEMO_PASSWORD
from tests.e2e.test_journeys import log_in
from tests.e2e.test_phone_layout import WIDE_ELEMENTS, _overflow
from tests.wordcheck import problems

pytestmark = pytest.mark.browser

USER = "e2e-crisis"  # a counselor of the demo's school, added by this journey
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}

# A not-started student of the counselor's school (outside the demo head teacher's
# class, whose codes the screening journey uses) answers every item at its highest but
# PHQ-9 item 9 (no critical item): severe on both instruments, red by points alone.
_RED_SITTING = """
import json, sys
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.campaigns import services
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert, RiskAssessment
from wellbeing.roster.models import SchoolClass, User

app = create_app()
with app.app_context():
    counselor = db.session.scalar(select(User).where(User.username == sys.argv[1]))
    school_id = next(held.school_id for held in counselor.roles if held.school_id)
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    demo_class = next((held.class_id for held in teacher.roles if held.class_id), None)
    target = db.session.scalars(
        select(CampaignTarget)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .where(
            SchoolClass.school_id == school_id,
            CampaignTarget.class_id != demo_class,
            CampaignTarget.state == "not_started",
        )
        .order_by(CampaignTarget.id)
    ).first()
    instruments = battery(target.campaign)
    split = {}
    for instrument in instruments:
        critical = {instrument.items[c.item].id for c in instrument.critical}
        answers = {i.id: (i.low if i.id in critical else i.high) for i in instrument.items}
        split[instrument.id] = (answers, {i.id: 4.0 for i in instrument.items})
    services.record_responses(target, instruments, split, source="online", user=None)
    db.session.flush()
    raised = [
        a for a in db.session.scalars(select(CrisisAlert).where(CrisisAlert.school_id == school_id))
        if a.student_id == target.student_id
    ]
    assessment = db.session.get(RiskAssessment, raised[-1].assessment_id)
    db.session.commit()
    print(json.dumps({
        "alert": raised[-1].id, "source": raised[-1].source, "school": school_id,
        "student": target.student.name, "tier": assessment.tier, "points": assessment.points,
    }))
"""


@pytest.fixture(scope="module")
def crisis(live_python) -> dict:
    """The journey's counselor, and the red alert the student's answers raised."""
    live_python(_ADD_ACCOUNTS, DEMO_PASSWORD, f"{USER}=counselor")
    raised = json.loads(live_python(_RED_SITTING, USER))
    assert (raised["source"], raised["tier"]) == ("red_tier", "red")
    return raised


def _no_english(page) -> None:
    found = problems(page.locator("main").inner_text(), {USER})
    assert found == [], found


def _fits(page) -> None:
    assert _overflow(page) == 0, page.evaluate(WIDE_ELEMENTS)


def _record(page, step: str, note: str = "") -> object:
    """Fill the step's form (its note) and press its button; the step's form."""
    form = page.locator(f"#step-{step}")
    if note:
        form.locator("textarea").fill(note)
    with page.expect_navigation():
        form.get_by_role("button", name="记录此步骤").click()
    return form


def _my_follow_ups(page, student: str) -> str:
    """我的随访 from the menu (folded on a phone): the rows about the student."""
    page.locator("label.menu-button").click()
    page.locator("#nav-follow-ups").click()
    page.wait_for_url(re.compile(r".*/followups$"))
    rows = page.locator("tr[data-follow-up]").filter(has_text=student)
    return "\n".join(rows.all_inner_texts())


def test_a_counselor_works_a_red_alert_through_its_checklist(new_page, second_factors, crisis):
    page = new_page(**PHONE)
    alert_id, student = crisis["alert"], crisis["student"]
    alert_url = f"/schools/{crisis['school']}/alerts/{alert_id}"
    log_in(page, USER, second_factors)

    # Home page: the alerts waiting, one click to the school's list.
    waiting = page.locator('[data-figure="alerts"] .count')
    assert int(waiting.inner_text()) >= 1
    page.locator('[data-figure="alerts"] a').click()
    page.wait_for_url(re.compile(r".*/alerts$"))
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    assert "alert-open" in row.get_attribute("class")
    text = row.inner_text()
    assert f"一级（红色）等级，{crisis['points']} 分" in text and student in text
    assert "0/5" in text and row.locator('[data-sla="waiting"]').count() == 1
    _fits(page)

    # Acknowledge, choosing an interview as the first follow-up: on to the alert's page.
    row.locator("a.acknowledge").click()
    page.wait_for_url(re.compile(rf".*/alerts/{alert_id}/acknowledge$"))
    page.locator("#kind").select_option("interview")
    assert page.locator("#due_at").input_value()  # 24 hours on, filled in
    page.get_by_role("button", name="确认并安排随访").click()
    page.wait_for_url(re.compile(rf".*/alerts/{alert_id}$"))
    assert "预警已确认" in page.locator(".flash").inner_text()
    assert page.locator('#acknowledged [data-sla="in_time"]').count() == 1
    assert "在期限内确认" in page.locator("#acknowledged").inner_text()

    # Why red: each contribution's points, adding up to the total.
    explanation = page.locator("#explanation")
    assert "红色" in explanation.locator("#tier").inner_text()
    points = [
        int(cell.get_attribute("data-points"))
        for cell in explanation.locator("tbody td.points").all()
    ]
    total = int(explanation.locator("#total-points").inner_text())
    assert total == crisis["points"] and sum(points) == total and len(points) == 2
    assert int(explanation.locator("#sum-points").inner_text()) == total
    assert "PHQ-9" in explanation.inner_text() and "重度" in explanation.inner_text()
    assert page.locator("#checklist #progress").inner_text() == "已完成 0/5 项"
    _fits(page)
    _no_english(page)

    # The interview is among my follow-ups.
    mine = _my_follow_ups(page, student)
    assert "约谈" in mine

    # The checklist, step by step: each recorded with its time and my name.
    page.goto(alert_url)
    _record(page, "seen_safe", "已在心理辅导室面谈，学生目前安全，情绪稍稳定。")
    assert "已记录：已见到学生，学生安全。" in page.locator(".flash").inner_text()
    done = page.locator('li[data-step="seen_safe"]')
    assert "step-done" in done.get_attribute("class")
    assert USER in done.locator(".step-when").inner_text()
    interview = page.locator('#alert-follow-ups tr[data-kind="interview"]')
    assert interview.get_attribute("data-status") == "done"  # completed by the step
    _record(page, "guardian_contacted", "已电话联系母亲，今晚到校接回。")
    _record(page, "safety_plan", "与学生共同制定安全计划，留存求助电话。")

    # A referral without the hospital: refused beside its field, nothing recorded.
    form = _record(page, "referral")
    assert "请填写转介去向（医院或心理援助热线）。" in form.locator(".error").first.inner_text()
    assert page.locator("#checklist #progress").inner_text() == "已完成 3/5 项"
    _fits(page)
    _record(page, "referral", "市第三人民医院心理科门诊")
    assert "相应随访的截止时间为" in page.locator(".flash").inner_text()
    _record(page, "watch", "班主任与宿管老师轮流看护 24 小时。")
    assert page.locator("#checklist #progress").inner_text() == "已完成 5/5 项"
    assert page.locator("form.step-form").count() == 0
    assert "市第三人民医院心理科门诊" in page.locator('li[data-step="referral"]').inner_text()
    opened = page.locator('#alert-follow-ups tr[data-status="open"]')
    kinds = {row.get_attribute("data-kind") for row in opened.all()}
    assert kinds == {"referral_check", "observation_check"}
    _fits(page)
    _no_english(page)

    # My follow-ups: the referral's check and the watch's; the interview was done.
    mine = _my_follow_ups(page, student)
    assert "转介就医核实" in mine and "观察情况核实" in mine and "约谈" not in mine

    # The list: acknowledged in time, the checklist done.
    page.goto(f"/schools/{crisis['school']}/alerts")
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    assert "5/5" in row.inner_text() and row.locator('[data-sla="in_time"]').count() == 1
