"""Journeys of the screening campaign the demo opens (grades 7 and 10; PHQ-9 then GAD-7):

- a student on a phone enters the code from a slip (typed in small letters with a space),
  answers half a section, reloads and finds the answers, finishes, is refused a
  submission with one question left and led back to it, submits, sees the help lines and
  no score, and cannot use the code again;
- an answer given while the network is down is saved when it comes back, and a browser
  that crashes halfway loses nothing: another browser resumes with the code;
- the items can be answered with the keyboard alone;
- a counselor follows the links from the campaign list to the campaign, the school's and
  the class's coverage ledger; a student of that class submits, and all three show it.

The codes are those of not-started students of the demo head teacher's class, read from
the live database once per session; each journey takes its own."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import yaml
from playwright.sync_api import expect

from screening.instruments import instrument_from_document, shipped_dir
from tests.e2e.test_journeys import log_in

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PHQ9 = [f"phq9_{n}" for n in range(1, 10)]
GAD7 = [f"gad7_{n}" for n in range(1, 8)]
TOTAL = len(PHQ9) + len(GAD7)
USED = "这个答题码已经使用过"  # the start of the message for a used code

# The not-started targets of the demo head teacher's class, one line each.
_SLIPS = """
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.campaigns import codes
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.extensions import db
from wellbeing.roster.models import User

app = create_app()
with app.app_context():
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    class_id = next(held.class_id for held in teacher.roles if held.class_id is not None)
    targets = db.session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.class_id == class_id, CampaignTarget.state == "not_started")
        .order_by(CampaignTarget.id)
    )
    for target in targets:
        print(target.campaign_id, class_id, target.student_id, codes.display(target.code))
"""


@dataclass(frozen=True)
class Slip:
    """A student's code slip, and where the student shows in the ledgers."""

    campaign_id: int
    class_id: int
    student_id: int
    code: str  # as printed: "ABCDE-FGHJK"


class Slips:
    def __init__(self, lines: list[str]) -> None:
        self._left = []
        for line in lines:
            campaign_id, class_id, student_id, code = line.split()
            self._left.append(Slip(int(campaign_id), int(class_id), int(student_id), code))

    def take(self) -> Slip:
        """A slip no journey has used yet."""
        if not self._left:
            pytest.fail("the demo class has no not-started student left")
        return self._left.pop()


@pytest.fixture(scope="session")
def slips(live_python) -> Slips:
    return Slips(live_python(_SLIPS).splitlines())


def band_labels() -> set[str]:
    """Every band label (Chinese) of the shipped PHQ-9 and GAD-7: what a result would say."""
    labels = set()
    for name in ("phq9-1.0.yaml", "gad7-1.0.yaml"):
        document = yaml.safe_load((shipped_dir() / name).read_text(encoding="utf-8"))
        instrument = instrument_from_document(document)
        labels |= {band.label["zh"] for band in instrument.total.bands}
    return labels


def enter_code(page, typed: str) -> object:
    """Type a code on the entry page and press Start; the response to the POST."""
    page.goto("/s/")
    page.locator("#code").fill(typed)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#start").click()
    return posted.value


def answer(page, item: str, value: int, answered: int, tap: bool = False) -> None:
    """Choose an option by its label (as a finger or a mouse does) and wait until the
    server has saved it: the count is the server's, and nothing is waiting."""
    label = page.locator(f"label[for='r-{item.split('_')[0]}-{item}-{value}']")
    if tap:
        label.tap()
    else:
        label.click()
    expect(page.locator("#answered-count")).to_have_text(str(answered))
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")


def chosen(page, items: list[str]) -> dict[str, int]:
    """The checked option of each item that has one."""
    found = {}
    for item in items:
        checked = page.locator(f"#item-{item} input[type=radio]:checked")
        if checked.count():
            found[item] = int(checked.get_attribute("value"))
    return found


def test_student_on_a_phone_reloads_halfway_and_submits(new_page, slips):
    slip = slips.take()
    page = new_page(**PHONE)
    # The code as a student might type it: small letters, a space for the dash.
    response = enter_code(page, slip.code.lower().replace("-", " "))
    assert response.status == 303
    page.wait_for_url("**/s/run/0")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#progress-section").inner_text() == "第 1 部分，共 2 部分"
    assert page.locator("#section-title").inner_text() == "患者健康问卷抑郁量表（PHQ-9）"
    assert page.locator("#total-count").inner_text() == str(TOTAL)
    assert page.locator("#answered-count").inner_text() == "0"
    # Mobile first: nothing wider than the phone, large tap targets.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for box in page.locator("#item-phq9_1 label.option").all():
        assert box.bounding_box()["height"] >= 44

    first_half = dict(zip(PHQ9[:5], [1, 0, 2, 3, 1], strict=True))
    for number, (item, value) in enumerate(first_half.items(), start=1):
        answer(page, item, value, number, tap=True)
    expect(page.locator("fieldset.item.answered")).to_have_count(5)

    page.reload()
    assert chosen(page, PHQ9) == first_half
    assert page.locator("#answered-count").inner_text() == "5"
    assert page.locator("#progress-bar").get_attribute("value") == "5"
    expect(page.locator("fieldset.item.answered")).to_have_count(5)  # shown as answered

    second_half = dict(zip(PHQ9[5:], [0, 1, 0, 0], strict=True))
    for number, (item, value) in enumerate(second_half.items(), start=6):
        answer(page, item, value, number, tap=True)
    page.locator("#next").tap()
    page.wait_for_url("**/s/run/1")
    assert page.locator("#progress-section").inner_text() == "第 2 部分，共 2 部分"
    assert page.locator("#section-title").inner_text() == "广泛性焦虑障碍量表（GAD-7）"
    gad = dict(zip(GAD7, [1, 1, 0, 2, 0, 1, 0], strict=True))
    skipped = "gad7_4"
    count = len(PHQ9)
    for item, value in gad.items():
        if item != skipped:
            count += 1
            answer(page, item, value, count, tap=True)

    # One question left: the submission is refused, naming it; nothing is lost.
    with page.expect_response("**/s/submit") as submitted:
        page.locator("#submit").tap()
    assert submitted.value.status == 422
    page.wait_for_url("**/s/submit")  # the response's page, not just its headers
    missing = page.locator("#missing a[data-item]")
    assert missing.count() == 1
    assert missing.get_attribute("data-item") == skipped
    assert missing.inner_text() == "第 4 题"
    assert "第 2 部分" in page.locator("#missing").inner_text()
    page.locator("#first-missing").tap()
    page.wait_for_url(re.compile(r".*/s/run/1#item-gad7_4$"))
    expect(page.locator(f"#item-{skipped}")).to_be_in_viewport()
    # ... and its question is not hidden under the sticky progress bar.
    legend = page.locator(f"#item-{skipped} legend").bounding_box()
    assert legend["y"] >= page.locator("#progress").bounding_box()["height"]
    assert chosen(page, GAD7) == {k: v for k, v in gad.items() if k != skipped}
    answer(page, skipped, gad[skipped], TOTAL, tap=True)

    page.locator("#submit").tap()
    page.wait_for_url("**/s/done")
    assert page.locator("#done").is_visible()
    assert "12356" in page.locator("#help").inner_text()
    assert page.locator("#results").count() == 0
    content = page.content()
    assert not [label for label in band_labels() if label in content]  # no result shown

    response = enter_code(page, slip.code)
    assert response.status == 403
    assert page.locator("#code-message").inner_text().startswith(USED)


def test_a_dropped_network_and_a_crashed_browser_lose_no_answer(new_page, slips):
    slip = slips.take()
    crashing = new_page()
    assert enter_code(crashing, slip.code).status == 303
    crashing.wait_for_url("**/s/run/0")
    answer(crashing, "phq9_1", 2, 1)
    answer(crashing, "phq9_2", 1, 2)
    crashing.locator("#next").click()
    crashing.wait_for_url("**/s/run/1")
    answer(crashing, "gad7_1", 3, 3)

    # The network drops: the answer waits, said so, and is saved when it comes back.
    status = crashing.locator("#save-status")
    crashing.context.set_offline(True)
    crashing.locator("label[for='r-gad7-gad7_2-1']").click()
    expect(status).to_have_attribute("data-state", "retrying")
    assert crashing.locator("#answered-count").inner_text() == "3"
    crashing.context.set_offline(False)
    expect(crashing.locator("#answered-count")).to_have_text("4")
    expect(status).to_have_attribute("data-state", "saved")

    crashing.context.close()  # the browser crashes: no unload, no form post

    page = new_page()
    assert enter_code(page, slip.code.lower()).status == 303
    page.wait_for_url("**/s/run/0")
    assert chosen(page, PHQ9) == {"phq9_1": 2, "phq9_2": 1}
    assert page.locator("#answered-count").inner_text() == "4"
    page.locator("#next").click()
    page.wait_for_url("**/s/run/1")
    assert chosen(page, GAD7) == {"gad7_1": 3, "gad7_2": 1}


def test_items_can_be_answered_with_the_keyboard_alone(new_page, slips):
    slip = slips.take()
    page = new_page()
    enter_code(page, slip.code)
    page.wait_for_url("**/s/run/0")
    page.locator("#section-title").click()  # the keyboard starts from the title
    page.keyboard.press("Tab")  # into the first question's options
    assert page.evaluate("document.activeElement.id") == "r-phq9-phq9_1-0"
    page.keyboard.press("Space")  # chooses the focused option
    expect(page.locator("#answered-count")).to_have_text("1")
    page.keyboard.press("Tab")  # to the next question
    assert page.evaluate("document.activeElement.id") == "r-phq9-phq9_2-0"
    page.keyboard.press("ArrowDown")  # arrows move and choose
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "r-phq9-phq9_2-2"
    expect(page.locator("#answered-count")).to_have_text("2")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")
    page.reload()
    assert chosen(page, PHQ9) == {"phq9_1": 0, "phq9_2": 2}


def ledger_counts(page, row: str) -> dict[str, int]:
    """The count cells of a ledger row (targets, each state, enrolled)."""
    cells = page.locator(f"{row} td[data-count]")
    return {
        cell.get_attribute("data-count"): int(cell.inner_text())
        for cell in cells.all()
        if cell.inner_text().isdigit()
    }


def test_counselor_sees_the_ledger_change_when_a_student_submits(
    page, new_page, second_factors, slips
):
    slip = slips.take()
    log_in(page, "e2e-ledger", second_factors)  # the demo counselor's role and school
    page.get_by_role("link", name="心理筛查").click()
    page.wait_for_url("**/campaigns/")
    page.locator(f"#campaign-list tr[data-campaign='{slip.campaign_id}'] a").click()
    page.wait_for_url(f"**/campaigns/{slip.campaign_id}")
    on_campaign_page = page.locator(f"#campaign-classes tr[data-class='{slip.class_id}'] td.num")
    campaign_before = on_campaign_page.first.inner_text()  # "screened / expected"

    # The school's ledger: the class's counts, and the student among those missing.
    page.locator(".campaign-actions").get_by_role("link", name=re.compile("^覆盖台账：")).click()
    page.wait_for_url(re.compile(rf".*/coverage/schools/\d+/campaigns/{slip.campaign_id}$"))
    class_row = f"#coverage-classes tr[data-class='{slip.class_id}']"
    school_before = ledger_counts(page, class_row)
    missing = page.locator(f"#missing-list tr[data-student='{slip.student_id}']")
    assert missing.get_attribute("data-state") == "not_started"

    # The class's ledger: the student's state and the class's counts.
    page.locator(f"{class_row} th a").click()
    page.wait_for_url(f"**/coverage/classes/{slip.class_id}/campaigns/{slip.campaign_id}")
    assert "七年级1班" in page.get_by_role("heading", level=1).inner_text()
    student = page.locator(f"#class-ledger tr[data-student='{slip.student_id}']")
    assert student.get_attribute("data-state") == "not_started"
    assert student.locator("td.state").inner_text() == "未开始"
    before = ledger_counts(page, "#coverage-total")
    assert before["targets"] > before["screened_valid"] and before == school_before
    assert campaign_before == f"{before['screened_valid']} / {before['enrolled']}"

    # Meanwhile, in the computer room, the student answers everything and submits.
    room = new_page()
    enter_code(room, slip.code)
    room.wait_for_url("**/s/run/0")
    for number, item in enumerate(PHQ9 + GAD7, start=1):
        if item == GAD7[0]:
            room.locator("#next").click()
            room.wait_for_url("**/s/run/1")
        answer(room, item, 0, number)
    room.locator("#submit").click()
    room.wait_for_url("**/s/done")

    page.reload()
    assert student.get_attribute("data-state") == "screened_valid"
    assert student.locator("td.state").inner_text() == "已筛查"
    after = ledger_counts(page, "#coverage-total")
    assert after["screened_valid"] == before["screened_valid"] + 1
    assert after["not_started"] == before["not_started"] - 1
    assert after["targets"] == before["targets"]

    page.go_back()
    page.reload()
    assert ledger_counts(page, class_row) == after
    assert missing.count() == 0  # no longer missing
    page.go_back()
    page.reload()
    campaign_after = on_campaign_page.first.inner_text()
    assert campaign_after == f"{after['screened_valid']} / {after['enrolled']}"
