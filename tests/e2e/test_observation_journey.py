"""The observations' journey in real Chromium, in Chinese, on a phone (390 px): a 心理委员
of the demo class logs in, opens this week's report from the home page, files
本周无异常 in one tap, then presses the urgent button, files an urgent report about a
classmate and is shown what to do now with the help line; the school's counselor logs in
and finds the inbox message, which names the class (no student) and links to the
incoming observations; the counselor follows it on the phone, opens the urgent
observation, acknowledges it with an observation check and sees it acknowledged. Every
page fits the phone and is all Chinese.

Each step is a function taking its page."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import _ADD_ACCOUNTS, DEMO_PASSWORD
from tests.e2e.test_journeys import log_in
from tests.e2e.test_phone_layout import WIDE_ELEMENTS, _overflow
from tests.wordcheck import problems

pytestmark = pytest.mark.browser

REPORTER = "e2e-observer"  # a 心理委员 of the demo class, added by this journey
COUNSELOR = "e2e-observations"  # a counselor of the demo school, added by this journey
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
NOTE = "他说不想活了，把心爱的东西都送人了"

_PLACES = """
import json, sys
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.roster.models import User

app = create_app()
with app.app_context():
    user = db.session.scalar(select(User).where(User.username == sys.argv[1]))
    held = next(a for a in user.roles if a.role == "committee")
    print(json.dumps({"class_id": held.class_id, "school_id": held.school_class.school_id}))
"""


@pytest.fixture(scope="module")
def places(live_python) -> dict:
    live_python(_ADD_ACCOUNTS, DEMO_PASSWORD, f"{REPORTER}=committee", f"{COUNSELOR}=counselor")
    return json.loads(live_python(_PLACES, REPORTER))


def _checked(page) -> None:
    """The page fits the phone (no horizontal scroll) and its words are Chinese."""
    assert _overflow(page) == 0, page.evaluate(WIDE_ELEMENTS)
    found = problems(page.locator("main").inner_text(), {REPORTER, COUNSELOR})
    assert found == [], found


def reporter_files_nil(page, places: dict) -> None:
    """From the home page to this week's report, 本周无异常 in one tap."""
    home = page.locator("#weekly-report")
    assert page.locator(".ob-home-status").get_attribute("data-filed") == "no"
    _checked(page)
    with page.expect_navigation():
        home.click()
    assert page.url.endswith(f"/classes/{places['class_id']}/report")
    _checked(page)
    with page.expect_navigation():
        page.locator("#nil-form button").click()
    assert page.locator("#filed-nil").is_visible()
    _checked(page)


def reporter_files_urgent(page, places: dict) -> str:
    """The urgent button: a classmate, a sign of danger, a note; the guidance after it.
    Returns the classmate's name."""
    with page.expect_navigation():
        page.locator("#urgent-button").click()
    _checked(page)
    form = page.locator("#urgent-form")
    select = form.locator("#student")
    select.select_option(index=1)
    name = select.locator("option:checked").inner_text().strip()
    form.locator("input[name=signs]").first.check()
    form.locator("#note").fill(NOTE)
    with page.expect_navigation():
        form.get_by_role("button", name="马上发给心理老师").click()
    guidance = page.locator("#guidance")
    assert "心理老师已经收到通知" in guidance.inner_text()
    assert "12356" in guidance.inner_text()  # the help line (HELP_LINES)
    assert "马上当面告诉一位老师" in guidance.inner_text()
    _checked(page)
    # Afterwards: the reporter's own reports show it, not yet seen by the counselor.
    page.goto(f"/classes/{places['class_id']}/my-reports")
    mine = page.locator(".ob-weeks").inner_text()
    assert name in mine and NOTE in mine and "心理老师还没查看" in mine
    _checked(page)
    page.goto("/observations/training")
    assert "不要答应保密" in page.locator("main").inner_text()
    _checked(page)
    return name


def counselor_finds_the_message(page, places: dict, student: str) -> str:
    """The counselor's inbox: the urgent observation, its class named, no student.
    Returns the link to the incoming observations."""
    page.goto("/inbox")
    message = page.locator("#inbox-messages article", has_text="紧急观察").first
    text = message.inner_text()
    assert "七年级1班" in text and student not in text and NOTE not in text
    link = message.get_by_role("link").get_attribute("href")
    assert link == f"/schools/{places['school_id']}/observations"
    assert page.request.get(link).status == 200
    return link


def counselor_acknowledges(page, places: dict, student: str) -> None:
    """From the inbox message to the incoming observations, the urgent one opened (its
    note, who reported it), acknowledged with an observation check, and shown so."""
    message = page.locator("#inbox-messages article", has_text="紧急观察").first
    with page.expect_navigation():
        message.get_by_role("link").click()
    assert page.url.endswith(f"/schools/{places['school_id']}/observations")
    figures = page.locator("#observation-figures").inner_text()
    assert "待确认" in figures and "紧急" in figures
    _checked(page)
    # Newest last among the waiting urgent ones of the same deadline (the demo's own
    # urgent observation may be about the same classmate): the note says which.
    row = page.locator(
        "#incoming-observations tr[data-urgent=yes][data-status]:not([data-status=acknowledged])",
        has_text=student,
    ).last
    assert REPORTER in row.inner_text() and "心理委员" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link").first.click()
    facts = page.locator("#observation-facts").inner_text()
    assert NOTE in facts and REPORTER in facts
    assert student in page.locator("h1").inner_text()
    _checked(page)
    form = page.locator("#acknowledge-form")
    form.locator("input[name=with_follow_up]").check()
    with page.expect_navigation():
        form.locator("#acknowledge-button").click()
    assert "观察记录已确认" in page.locator("main").inner_text()
    assert page.locator("#status [data-status]").get_attribute("data-status") == "acknowledged"
    assert "观察情况核实" in page.locator("#follow-up").inner_text()
    assert page.locator("#acknowledge-form").count() == 0
    _checked(page)
    with page.expect_navigation():
        page.locator("#incoming-link").click()
    # Back on the list: the observation is among the acknowledged ones.
    assert page.url.endswith(f"/schools/{places['school_id']}/observations")
    assert page.locator("#incoming-observations tr[data-status=acknowledged]").count() >= 1
    _checked(page)


def test_a_committee_member_files_nil_and_an_urgent_report_the_counselor_is_told(
    new_page, second_factors, places
):
    reporter = new_page(**PHONE)
    log_in(reporter, REPORTER, second_factors)
    reporter_files_nil(reporter, places)
    student = reporter_files_urgent(reporter, places)

    counselor = new_page(**PHONE)
    log_in(counselor, COUNSELOR, second_factors)
    counselor_finds_the_message(counselor, places, student)
    counselor_acknowledges(counselor, places, student)
