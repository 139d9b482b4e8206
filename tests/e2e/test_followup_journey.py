"""A counselor's follow-up journey in real Chromium, in Chinese: from the home page to the
crisis alerts, acknowledging the first one with its first follow-up (the form's defaults:
an interview, by me, red, due in 24 hours), finding it in 我的随访, and completing it with
an outcome. Then the alert page shows the follow-up done and how long the alert waited.
The alert is the journey's own (a red sitting at the counselor's school), so the demo's
share of alerts, or another journey's, cannot leave it nothing to acknowledge."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.test_crisis_journey import _RED_SITTING
from tests.e2e.test_journeys import log_in

pytestmark = pytest.mark.browser

USER = "e2e-followup"  # tests/e2e/conftest.py FRESH_ACCOUNTS: a counselor of the demo


@pytest.fixture(scope="module")
def alert_id(live_python) -> str:
    return str(json.loads(live_python(_RED_SITTING, USER))["alert"])


def test_acknowledge_an_alert_plan_the_follow_up_find_it_and_complete_it(
    page, second_factors, alert_id
):
    log_in(page, USER, second_factors)
    page.locator('[data-figure="alerts"] a').click()
    page.wait_for_url(re.compile(r".*/alerts$"))
    first = page.locator(f'tr.alert-open[data-alert="{alert_id}"]')
    assert "已等待" in first.inner_text()
    first.locator("a.acknowledge").click()
    page.wait_for_url(re.compile(rf".*/alerts/{alert_id}/acknowledge$"))
    student = page.locator("h1").inner_text().split("：", 1)[1]
    assert page.locator("#kind").input_value() == "interview"
    assert page.locator("#priority").input_value() == "red"
    assert page.locator("#due_at").input_value()  # 24 hours on, filled in
    page.get_by_role("button", name="确认并安排随访").click()
    page.wait_for_url(re.compile(rf".*/alerts/{alert_id}$"))  # the alert's page, its checklist
    assert "预警已确认" in page.locator(".flash").inner_text()
    page.get_by_role("link", name="本校危机预警").click()
    page.wait_for_url(re.compile(r".*/alerts$"))
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    assert "用时" in row.inner_text() and "待办" in row.inner_text()

    page.locator("#nav-follow-ups").click()
    page.wait_for_url(re.compile(r".*/followups$"))
    assert "我的随访" in page.locator("h1").inner_text()
    page.get_by_role("link", name=student).first.click()
    page.wait_for_url(re.compile(r".*/followups/\d+$"))
    page.locator("#complete-outcome").fill("已约谈，学生情绪平稳，已联系班主任共同关注。")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/followups/\d+$"))
    assert "已完成" in page.locator("#status").inner_text()
    assert "情绪平稳" in page.locator("#outcome").inner_text()

    page.locator("#details").get_by_role("link", name="危机预警").click()
    page.wait_for_url(re.compile(r".*/alerts$"))
    assert "已完成" in page.locator(f'tr[data-alert="{alert_id}"]').inner_text()
