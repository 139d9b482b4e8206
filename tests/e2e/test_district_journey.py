"""The district monitor's journey in real Chromium, in Chinese, on a phone (390 px) and on
a laptop (1280 px): from the home page to 区级监测指标, one indicator (the new
first-years' screening coverage, three school years of it in the demo), drilled down
from the district to a school and that school's grade-by-sex table, the trend's chart
and table, another school year chosen, then the XLSX and CSV exports: their figures are
the page's, small cells carry the suppressed mark, and the audit trail holds both
exports. Every page fits the width and is all Chinese."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.e2e.test_journeys import log_in
from tests.e2e.test_phone_layout import WIDE_ELEMENTS, _overflow
from tests.wordcheck import problems

pytestmark = pytest.mark.browser

INDICATOR = "new_student_screening_coverage"
NAME = "新生心理筛查覆盖率"
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}

_EXPORTS = """
import json, sys
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.security.models import AuditEvent

app = create_app()
with app.app_context():
    rows = db.session.execute(
        select(AuditEvent.username, AuditEvent.detail).where(AuditEvent.action == "export")
    ).all()
    print(json.dumps([[u, json.loads(d or "{}")] for u, d in rows]))
"""


def _checked(page) -> None:
    """The page fits the width (no sideways scroll) and its words are Chinese."""
    assert _overflow(page) == 0, page.evaluate(WIDE_ELEMENTS)
    found = problems(page.locator("main").inner_text())
    assert found == [], found


def _table(page, key: str) -> list[list[str]]:
    """A figure table's rows as shown (label, numerator, denominator, value), the
    district's total last."""
    rows = page.locator(f"table[data-table={key}] tr[data-row]")
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in rows.all()
    ]


def _opens_the_indicator(page) -> None:
    page.get_by_role("link", name="全区概况").click()
    page.locator("#overview-indicators").click()
    page.wait_for_url("**/district/indicators/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("区级监测指标")
    assert page.locator("#computed-at").is_visible()
    _checked(page)
    page.locator(f"tr[data-indicator={INDICATOR}] a").click()
    page.wait_for_url(f"**/district/indicators/{INDICATOR}*")
    assert page.get_by_role("heading", level=1).inner_text().startswith(NAME)
    _checked(page)


def _sees_the_trend(page) -> list[str]:
    """Three school years in the table, and a chart beside it; returns the years."""
    assert page.locator("figure.chart-box svg").count() == 1
    years = page.locator("table[data-table=trend] tbody tr td:first-child").all_inner_texts()
    assert len(years) == 3 and all(re.fullmatch(r"\d{4}–\d{2}", y) for y in years), years
    return years


def _drills_down(page) -> None:
    """From the district's by-school table to a school, and its grade-by-sex table."""
    schools = page.locator("table[data-table=schools] tbody tr")
    assert schools.count() > 1
    # A school with first-years (a primary school has none to count).
    counted = [
        row for row in schools.all() if row.locator("[data-cell=denominator]").inner_text() != "0"
    ]
    first = counted[0].locator("a")
    name = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r".*/district/indicators/schools/\d+/" + INDICATOR + ".*"))
    assert name in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("table[data-table=grades-sexes] tr[data-row]").count() >= 2
    assert "学籍号" not in page.content()
    _checked(page)
    page.go_back()


def _switches_the_year(page, years: list[str]) -> str:
    """Choose the earliest stored year: the page says it and shows its own figures."""
    current = _table(page, "schools")[-1]
    select = page.locator("select#year")
    label = years[0]  # the trend runs from the earliest
    value = select.locator("option", has_text=label).get_attribute("value")
    select.select_option(value)
    page.get_by_role("button", name="显示").click()
    page.wait_for_url(f"**year={value}*")
    assert label in page.locator("main").inner_text() and select.input_value() == value
    assert _table(page, "schools")[-1] != current  # the district's total of that year
    _checked(page)
    return value


def _download(page, link: str):
    with page.expect_download() as info:
        page.locator(link).click()
    return info.value


def _exports_match_the_page(page, year: str) -> list[list[str]]:
    """Both exports hold the page's by-school rows, small cells marked as on the page;
    returns the rows with a suppressed cell."""
    shown = _table(page, "schools")
    small = page.locator("#small-cells").inner_text()
    mark = re.search(r"显示为\s*(\S+?)[；，。;,]", small).group(1)
    xlsx = _download(page, "#export-xlsx")
    assert xlsx.suggested_filename.endswith(f"-{year}.xlsx")
    with open(xlsx.path(), "rb") as file:  # the saved download has no extension
        sheet = load_workbook(io.BytesIO(file.read())).active
    cells = [
        [("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    header = next(i for i, row in enumerate(cells) if row[:2] == ["学校", "分子"])
    exported = [row[:4] for row in cells[header + 1 :] if any(row)]
    assert exported == shown
    assert any(mark in "".join(row) for row in cells[:header]), "the small-cells note"
    hidden = [row for row in shown if mark in "".join(row[1:])]
    text = _download(page, "#export-csv")
    with open(text.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    start = next(i for i, row in enumerate(rows) if row[:2] == ["学校", "分子"])
    end = rows.index([], start)  # the next table (by grade) follows a blank line
    assert [row[:4] for row in rows[start + 1 : end]] == shown
    return hidden


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_monitor_drills_down_sees_the_trend_and_exports(
    new_page, second_factors, live_python, size
):
    page = new_page(**(PHONE if size == "phone" else LAPTOP), accept_downloads=True)
    log_in(page, "monitor", second_factors)
    _opens_the_indicator(page)
    years = _sees_the_trend(page)
    _drills_down(page)
    year = _switches_the_year(page, years)
    _exports_match_the_page(page, year)
    # The red tier's share: a handful of students per school, so small cells are hidden.
    page.goto(f"/district/indicators/tier_red_share?year={year}")
    _checked(page)
    hidden = _exports_match_the_page(page, year)
    assert hidden and all(row[-1] == "—" or "<" in row[-1] for row in hidden), hidden
    exports = json.loads(live_python(_EXPORTS))
    kinds = {
        (detail.get("indicator"), detail["kind"])
        for user, detail in exports
        if user == "monitor" and str(detail.get("school_year")) == year
    }
    for indicator in (INDICATOR, "tier_red_share"):
        assert {(indicator, "indicators_xlsx"), (indicator, "indicators_csv")} <= kinds
