"""First journeys: every demo role logs in and sees its own home page in Chinese; a
心理委员 is refused a counselor's page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Demo login -> the role label its home page shows, in Chinese.
DEMO_ROLES = {
    "admin": "系统管理员",
    "monitor": "区级监测员",
    "counselor": "心理教师",
    "doctor": "校医",
    "teacher": "班主任",
    "committee": "心理委员",
}


def log_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/home")


@pytest.mark.parametrize("username", list(DEMO_ROLES))
def test_demo_role_sees_its_home_page_in_chinese(page, username):
    log_in(page, username)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text().startswith("欢迎")
    card = page.locator(".role-card").first
    assert card.get_by_role("heading", level=2).inner_text() == DEMO_ROLES[username]
    # Every link on the home page leads somewhere this role may go.
    for href in page.locator(".role-card a").evaluate_all("links => links.map(a => a.href)"):
        response = page.request.get(href)
        assert response.status == 200, href


def test_committee_member_is_refused_a_counselor_page(page):
    log_in(page, "committee")
    names_link = page.locator(".role-card a").first.get_attribute("href")
    class_page = re.sub(r"/names$", "", names_link)  # the full class list with details
    response = page.goto(class_page)
    assert response.status == 403
    assert "您无权访问此页面" in page.content()
    assert page.goto("/schools").status == 403
    assert page.goto("/district/").status == 403


def test_monitor_sees_aggregates_not_students(page):
    log_in(page, "monitor")
    page.get_by_role("link", name="全区概况").click()
    assert page.locator("table.grid tbody tr").count() >= 5
    assert "学籍号" not in page.content()


def test_language_switch_to_english_and_back(page):
    log_in(page, "counselor")
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
