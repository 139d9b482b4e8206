"""Journeys: every demo role logs in (admins and counselors with a second factor, enrolled
on their first login) and sees its own home page in Chinese; a 心理委员 is refused a
counselor's page; TOTP enrolment, logout and login with a fresh code; a recovery code.

Each account enrols once per live server, and a code is good once per 30-second step:
`log_in` enrols when the enrolment page appears, otherwise enters a code from the secret
remembered in `second_factors`, so the journeys run in any order."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.e2e.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Demo login -> the role label its home page shows, in Chinese.
DEMO_ROLES = {
    "admin": "系统管理员",
    "monitor": "区级监测员",
    "leader": "分管校领导",
    "counselor": "心理教师",
    "doctor": "校医",
    "teacher": "班主任",
    "committee": "心理委员",
}
AFTER_PASSWORD = re.compile(r".*/(home|login/enrol|login/code)$")
STEP = 30


def enter_password(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(AFTER_PASSWORD)


def fresh_code(factor: dict) -> str:
    """A code for a time step not used yet: this one, or the next (the server accepts one
    step either side); if both are used, wait for the next step."""
    now = int(time.time() // STEP)
    wanted = max(now, factor["last_step"] + 1)
    if wanted > now + 1:
        time.sleep((now + 1) * STEP - time.time() + 0.5)
        return fresh_code(factor)
    factor["last_step"] = wanted
    return pyotp.TOTP(factor["secret"]).at(wanted * STEP)


def enrol(page, username: str, second_factors: dict) -> None:
    """On the enrolment page: read the key shown as text, confirm with a code, keep the
    recovery codes, continue."""
    assert page.locator("svg.qr-code").is_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    factor = second_factors[username] = {"secret": secret, "last_step": -1, "recovery": []}
    page.locator("#code").fill(fresh_code(factor))
    page.locator("form button[type=submit]").click()
    codes = page.locator("ul.recovery-codes code")
    codes.first.wait_for()
    factor["recovery"] = codes.all_inner_texts()
    page.locator("a.continue").click()


def enter_code(page, code: str) -> None:
    page.locator("#code").fill(code)
    page.locator("form button[type=submit]").click()


def log_in(page, username: str, second_factors: dict) -> None:
    enter_password(page, username)
    if page.url.endswith("/login/enrol"):
        enrol(page, username, second_factors)
    elif page.url.endswith("/login/code"):
        enter_code(page, fresh_code(second_factors[username]))
    page.wait_for_url("**/home")


def log_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")


@pytest.mark.parametrize("username", list(DEMO_ROLES))
def test_demo_role_sees_its_home_page_in_chinese(page, second_factors, username):
    log_in(page, username, second_factors)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text().startswith("欢迎")
    card = page.locator(".role-card").first
    assert card.get_by_role("heading", level=2).inner_text() == DEMO_ROLES[username]
    # Every link on the home page leads somewhere this role may go.
    for href in page.locator(".role-card a").evaluate_all("links => links.map(a => a.href)"):
        response = page.request.get(href)
        assert response.status == 200, href


def test_totp_enrolment_then_logout_and_login_with_a_fresh_code(page, second_factors):
    username = "e2e-counselor"  # a counselor of the demo's, on its first login
    enter_password(page, username)
    assert page.url.endswith("/login/enrol")
    assert page.get_by_role("heading", level=1).inner_text() == "设置两步验证"
    response = page.request.get("/home")
    assert response.url.endswith("/login?next=%2Fhome")  # not logged in yet
    enrol(page, username, second_factors)
    page.wait_for_url("**/home")
    assert len(second_factors[username]["recovery"]) == 10
    assert page.get_by_role("heading", level=1).inner_text().startswith("欢迎")
    assert page.locator(".role-card h2").first.inner_text() == "心理教师"
    log_out(page)
    enter_password(page, username)
    assert page.url.endswith("/login/code")
    assert page.get_by_role("heading", level=1).inner_text() == "两步验证"
    enter_code(page, fresh_code(second_factors[username]))
    page.wait_for_url("**/home")
    assert page.get_by_role("heading", level=1).inner_text().startswith("欢迎")


def test_recovery_code_logs_in_once(page, second_factors):
    username = "e2e-admin"
    log_in(page, username, second_factors)  # enrols on the first login
    log_out(page)
    recovery = second_factors[username]["recovery"].pop()
    enter_password(page, username)
    enter_code(page, recovery)
    page.wait_for_url("**/home")
    assert page.locator(".role-card h2").first.inner_text() == "系统管理员"
    log_out(page)
    # Used once, refused the second time; the app's code still works.
    enter_password(page, username)
    enter_code(page, recovery)
    assert page.locator("p.error").inner_text() == "验证码错误或已被使用。"
    enter_code(page, fresh_code(second_factors[username]))
    page.wait_for_url("**/home")


def test_committee_member_is_refused_a_counselor_page(page, second_factors):
    log_in(page, "committee", second_factors)
    names_link = page.locator(".role-card a").first.get_attribute("href")
    class_page = re.sub(r"/names$", "", names_link)  # the full class list with details
    response = page.goto(class_page)
    assert response.status == 403
    assert "您无权访问此页面" in page.content()
    assert page.goto("/schools").status == 403
    assert page.goto("/district/").status == 403


def test_monitor_sees_aggregates_not_students(page, second_factors):
    log_in(page, "monitor", second_factors)
    page.get_by_role("link", name="全区概况").click()
    assert page.locator("table.grid tbody tr").count() >= 5
    assert "学籍号" not in page.content()


def test_language_switch_to_english_and_back(page, second_factors):
    log_in(page, "counselor", second_factors)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("欢迎")


def test_wrong_password_is_refused_in_chinese(page):
    page.goto("/login")
    page.get_by_label("用户名").fill("counselor")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码错误" in page.content()
