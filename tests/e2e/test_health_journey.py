"""Journey: the school doctor enters a class's vision round with the keyboard alone (Enter
moves to the next cell, a row is saved when the focus leaves it), sees the derived class
appear, a typo refused in its cell, reloads, and finds the rows with their class."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_journeys import log_in
from wellbeing.clock import utcnow
from wellbeing.health.rounds import vision_round_for

pytestmark = pytest.mark.browser

# Per row, the values typed into the cells after the status and reason, in order:
# UCVA right, UCVA left, sphere, cylinder, axis (right), sphere, cylinder, axis (left).
MYOPIC = ["4.7", "4.9", "-1.50", "-0.50", "180", "-0.75", "0", "90"]
NORMAL = ["5.1", "5.0", "+0.50", "0", "0", "+0.25", "-0.25", "90"]


def type_row(page, values: list[str]) -> None:
    """From the row's status cell: Enter (the reason cell is skipped while the status is
    "measured"), then type each value and press Enter; Enter on the last cell (Ortho-K)
    leaves the row."""
    page.keyboard.press("Enter")  # status -> UCVA right
    for value in values:
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # Ortho-K -> the next row


def test_doctor_enters_vision_rows_with_the_keyboard(page, second_factors):
    log_in(page, "doctor", second_factors)
    page.locator(".role-card .actions a[href^='/health/schools/']").click()
    # The demo has measured the current round; the round before it is left to enter.
    page.goto(f"{page.url}?vision_round={vision_round_for(utcnow().date()).previous().key}")
    page.locator("#health-classes a[href*='/vision/']").first.click()
    page.wait_for_url(re.compile(r".*/health/classes/\d+/vision/\d{4}-(spring|autumn)$"))
    rows = page.locator("tr.entry-row")
    assert rows.count() > 3

    rows.nth(0).locator("select[name=status]").focus()
    type_row(page, MYOPIC)
    type_row(page, NORMAL)
    # A typo (6.1 for 5.1) is flagged as typed and refused by the server with its cell.
    type_row(page, ["6.1", "5.0", "0", "0", "0", "0", "0", "0"])
    assert page.evaluate("document.activeElement.name") == "status"  # now on row 4

    first, second, third = rows.nth(0), rows.nth(1), rows.nth(2)
    for row in (first, second):
        row.locator("td.row-state").filter(has_text="✓").wait_for()
    third.and_(page.locator("[data-state=error]")).wait_for()
    assert third.locator("input[name=ucva_right]").get_attribute("aria-invalid") == "true"
    assert first.locator("[data-derived=se_right]").inner_text() == "-1.75"
    degree = first.locator("[data-derived=myopia_degree]").inner_text()
    normal = second.locator("[data-derived=myopia_degree]").inner_text()
    assert degree and normal and degree != normal

    # Correct the typo with the keyboard: the row is saved when the focus leaves it.
    third.locator("input[name=ucva_right]").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("5.1")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # back into the row: nothing saved yet
    rows.nth(3).locator("select[name=status]").focus()  # leaves the row: saved
    third.locator("td.row-state").filter(has_text="✓").wait_for()

    page.reload()
    first, second, third = rows.nth(0), rows.nth(1), rows.nth(2)
    assert first.locator("input[name=ucva_right]").input_value() == "4.7"
    assert first.locator("input[name=sph_right]").input_value() == "-1.5"
    assert first.locator("[data-derived=se_right]").inner_text() == "-1.75"
    assert first.locator("[data-derived=myopia_degree]").inner_text() == degree
    assert second.locator("[data-derived=myopia_degree]").inner_text() == normal
    assert third.locator("input[name=ucva_right]").input_value() == "5.1"
    assert rows.nth(3).locator("td.row-state").inner_text() == ""  # never touched
