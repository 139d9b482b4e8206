"""A counselor's 一生一策 journey in real Chromium, in Chinese, on a phone (390 px): a
student's answers score red (as the crisis journey's do, in a class no other journey
uses); from the crisis alert the counselor opens the student's 一生一策 file (an empty
summary refused beside its field first), refers the student to a partner hospital,
moves the referral through received, seen and feedback received (the hospital's
feedback filed into the file's timeline) to closed, and prints the file's version after
confirming the password and the second factor again."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import _ADD_ACCOUNTS, DEMO_PASSWORD
from tests.e2e.test_crisis_journey import _RED_SITTING
from tests.e2e.test_journeys import fresh_code, log_in
from tests.e2e.test_phone_layout import WIDE_ELEMENTS, _overflow
from tests.wordcheck import problems

pytestmark = pytest.mark.browser

USER = "e2e-plan"  # a counselor of the demo's school, added by this journey
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
FEEDBACK = "门诊评估：中度抑郁发作，建议每两周复诊，学校继续心理支持。"

# The demo district of the browser tests may be too small to have made demo files (and so
# hospitals): the district's partner hospital, made if missing.
_HOSPITAL = """
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.plans.demo_referrals import demo_hospitals
from wellbeing.roster.models import District

app = create_app()
with app.app_context():
    district = db.session.scalar(select(District))
    print(demo_hospitals(district.id)[0].name)
    db.session.commit()
"""


@pytest.fixture(scope="module")
def crisis(live_python) -> dict:
    live_python(_ADD_ACCOUNTS, DEMO_PASSWORD, f"{USER}=counselor")
    raised = json.loads(live_python(_RED_SITTING, USER))
    raised["hospital"] = live_python(_HOSPITAL).strip()
    return raised


def _checked(page) -> None:
    """The page fits the phone and its words are Chinese."""
    assert _overflow(page) == 0, page.evaluate(WIDE_ELEMENTS)
    found = problems(page.locator("main").inner_text(), {USER})
    assert found == [], found


def _advance(page, referral_url: str, state: str, feedback: str = "") -> None:
    """On the referral's page: the next state, today, recorded (back on the file)."""
    page.goto(referral_url)
    form = page.locator("#advance-form")
    form.locator("#advance-state").select_option(state)
    form.locator("#advance-on").fill(page.evaluate("new Date().toLocaleDateString('sv')"))
    if feedback:
        form.locator("#advance-feedback").fill(feedback)
    with page.expect_navigation():
        form.get_by_role("button", name="记录").click()


def test_a_counselor_runs_a_file_from_the_alert_to_a_closed_referral(
    new_page, second_factors, crisis
):
    page = new_page(**PHONE)
    student = crisis["student"]
    log_in(page, USER, second_factors)

    # The crisis alert offers the file.
    page.goto(f"/schools/{crisis['school']}/alerts/{crisis['alert']}")
    link = page.locator("#plan-file-link")
    assert link.inner_text() == "建立一生一策档案"
    link.click()
    page.wait_for_url(re.compile(r".*/plan/new\?.*source=alert.*"))
    assert student in page.locator("h1").inner_text()
    _checked(page)

    # Without a summary: refused beside the field, nothing opened.
    page.locator("#goals").fill("每晚十一点前入睡\n每周主动与一位同学交流")
    page.locator("select[name=measure-owner-0]").select_option("head_teacher")
    page.locator("input[name=measure-who-0]").fill("班主任")
    page.locator("input[name=measure-what-0]").fill("每天课间问候，留意情绪变化")
    page.locator("input[name=measure-how-often-0]").fill("每天")
    page.locator("#guardian").fill("母亲")
    page.get_by_role("button", name="建立档案").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").is_visible()
    page.locator("#summary").fill("近两周情绪低落、失眠，筛查为一级（红色），已约谈。")
    page.get_by_role("button", name="建立档案").click()
    page.wait_for_url(re.compile(r".*/plans/\d+$"))
    plan_url = page.url
    assert "近两周情绪低落" in page.locator("#plan-summary").inner_text()
    assert "每天课间问候" in page.locator("#plan-measures").inner_text()
    _checked(page)

    # A referral to the district's partner hospital.
    page.get_by_role("link", name="新建转介").click()
    page.wait_for_url(re.compile(r".*/referrals/new$"))
    hospital = page.locator("#referral-hospital option", has_text=crisis["hospital"]).first
    page.locator("#referral-hospital").select_option(hospital.get_attribute("value"))
    page.locator("#referral-reason").fill("持续情绪低落伴失眠两周，需专科评估。")
    page.locator("#referral-observations").fill("上课注意力不集中，午休独处。")
    page.locator("#referral-contact").fill("心理老师 e2e-plan")
    page.locator("input[name=consent][value=yes]").check()
    page.locator("#referral-sent-on").fill(page.evaluate("new Date().toLocaleDateString('sv')"))
    _checked(page)
    page.get_by_role("button", name="记录为已发出").click()
    page.wait_for_url(re.compile(r".*/referrals/\d+$"))  # on to the referral's page
    referral_url = page.url
    page.goto(plan_url)
    row = page.locator("#referral-rows tbody tr").first
    assert row.get_attribute("data-state") == "sent"
    assert crisis["hospital"] in row.inner_text()

    # Received, seen, the hospital's feedback, closed: each recorded with its date.
    _advance(page, referral_url, "received")
    _advance(page, referral_url, "seen")
    page.goto(referral_url)
    _checked(page)
    _advance(page, referral_url, "feedback", FEEDBACK)
    _advance(page, referral_url, "closed")
    page.goto(referral_url)
    assert FEEDBACK in page.locator("main").inner_text()
    assert page.locator("#advance-form").count() == 0  # closed: nothing more to record

    # The feedback is filed into the file's timeline; the referral shows closed.
    page.goto(plan_url)
    assert page.locator("#referral-rows tbody tr").first.get_attribute("data-state") == "closed"
    assert FEEDBACK in page.locator("#timeline").inner_text()
    _checked(page)

    # Printing asks for the password and the code again, then prints the version.
    page.get_by_role("link", name=re.compile("打印")).first.click()
    page.wait_for_url(re.compile(r".*/confirm\?next=.*"))
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#code").fill(fresh_code(second_factors[USER]))
    page.get_by_role("button", name="确认").click()
    page.wait_for_url(re.compile(r".*/versions/1/print$"))
    assert student in page.locator("body").inner_text()
    assert "近两周情绪低落" in page.locator("body").inner_text()

    # The file's counselor sees who viewed it: themselves, at least.
    page.goto(plan_url)
    assert USER in page.locator("#viewers").inner_text()
