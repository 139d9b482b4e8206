"""The file's audit rows in the audit browser's words: a referral's states and urgency,
a file's source and a contact's method are codes in the trail, words on the page (the
keys are shared with other areas, whose values keep their own words)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.wordcheck import problems, visible_text
from wellbeing.security.audit import record_event

pytestmark = pytest.mark.app


def test_the_files_codes_are_worded_in_the_audit_browser(client, world):
    student = world.students["A1-0"]
    plan = ("growth_plan", 1)
    record_event("plan_open", target=plan, detail={"source": "alert", "version": 1})
    record_event("referral_send", target=plan, detail={"referral": 2, "urgency": "routine"})
    record_event(
        "referral_advance",
        target=plan,
        detail={"referral": 2, "from_state": "seen", "state": "feedback"},
    )
    record_event("plan_contact", target=plan, detail={"contact": 3, "method": "home_visit"})
    # The same keys with another area's values keep that area's words.
    record_event("coverage_mark", target=student, detail={"state": "absent"})
    login(client, "admin")
    text = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    for words in (
        "来源：危机预警",
        "紧急程度：常规",
        "原状态：已就诊",
        "状态：已收到反馈",
        "家访",
        "状态：缺测",
    ):
        assert words in text, words
    assert not problems(text, {"admin"}), problems(text, {"admin"})
