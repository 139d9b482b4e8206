"""The report of the year: one printable page and one workbook with every indicator,
the same figures as the dashboard (suppressed for monitors as the pages are), the
by-school tables of the targeted indicators, each download audited as an export, and
before any refresh a page that says what to do."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import login
from tests.wordcheck import problems, visible_text
from wellbeing.district import figures
from wellbeing.district.models import IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _values(page: str) -> dict[str, str]:
    """indicator id -> the value cell of its line (the dashboard's or the report's)."""
    found = {}
    for indicator_id, row in re.findall(r'data-indicator="(\w+)">(.*?)</tr>', page, re.S):
        cell = re.search(r'data-cell="value">(.*?)</td>', row, re.S)
        if cell:
            found[indicator_id] = html.unescape(cell.group(1))
    return found


def _school_table(page: str, indicator_id: str) -> list[list[str]]:
    table = page.split(f'data-table="schools-{indicator_id}"')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]


def _book(response) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(response.data))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}


def _stored_last_year(world, indicator_id: str, numerator: int, denominator: int) -> None:
    """A figure of the present as last year stored it while it ran (a refresh of a past
    year keeps it: staffing has no history to count it from again)."""
    db.session.add(
        IndicatorValue(
            district_id=world.district.id,
            indicator_id=indicator_id,
            school_year=world.school_year - 1,
            numerator=numerator,
            denominator=denominator,
            small_cell_k=5,
        )
    )
    db.session.flush()


@pytest.mark.parametrize("role", ["monitor", "admin"])
def test_report_and_workbook_hold_every_indicator_as_the_dashboard(
    client, district_world, small_cells_of_5, role
):
    world = district_world
    _stored_last_year(world, "schools_with_counselor", 1, 2)
    refresh(world.district.id, world.school_year - 1)
    refresh(world.district.id, world.school_year)
    login(client, role)
    dashboard = _values(client.get("/district/indicators/").get_data(as_text=True))
    response = client.get("/district/indicators/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    report = _values(page)
    ids = [i.id for i in figures.indicators()]
    assert sorted(report) == sorted(ids) == sorted(dashboard)
    assert report == dashboard
    assert ("&lt;5" in page) == (role == "monitor") and ('id="small-cells"' in page) == (
        role == "monitor"
    )
    assert 'id="report-cover"' in page and "江阳区" in page and 'id="computed-at"' in page
    # Last year's figure and the change: schools with a counselor, 50% both years.
    row = page.split('data-indicator="schools_with_counselor"')[1].split("</tr>")[0]
    assert 'data-cell="last">50.0%' in row and 'data-cell="change">+0.0' in row
    # Each targeted indicator by school, with its chart.
    assert 'data-chart="schools" data-indicator="schools_with_counselor"' in page
    assert _school_table(page, "schools_with_counselor")[0] == ["测试学校A", "1", "1", "100.0%"]

    response = client.get("/district/indicators/report.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    sheets = _book(response)
    summary = next(iter(sheets.values()))
    lines = {row[1]: row for row in summary if row[0] and row[1] and row[2] is not None}
    for indicator in figures.indicators():
        assert lines[indicator.name["zh"]][2] == dashboard[indicator.id], indicator.id
    # The section's sheet holds the same by-school table as the page.
    staffing = sheets["师资配备"]
    at = next(n for n, row in enumerate(staffing) if row[0] == "配备心理教师的学校比例")
    assert staffing[at + 2] == ["测试学校A", 1, 1, "100.0%"]
    coverage = sheets["心理筛查"]
    at = next(n for n, row in enumerate(coverage) if row[0] == "新生心理筛查覆盖率")
    on_page = _school_table(page, "new_student_screening_coverage")
    assert [str(c) for c in coverage[at + 2]] == on_page[0]
    assert (coverage[at + 2][1] == "<5") == (role == "monitor")


def test_report_downloads_are_audited_as_exports(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    login(client, "monitor")
    client.get("/district/indicators/report")
    client.get(f"/district/indicators/report.xlsx?year={world.school_year}")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).all()
    details = [json.loads(event.detail) for event in events[-2:]]
    assert [d["kind"] for d in details] == ["indicators_report", "indicators_report_xlsx"]
    assert all(d["suppressed"] and d["school_year"] == world.school_year for d in details)
    assert {event.target_id for event in events[-2:]} == {str(world.district.id)}


def test_the_dashboard_links_the_report(client, district_world):
    login(client, "monitor")
    page = client.get("/district/indicators/").get_data(as_text=True)
    assert 'id="indicator-report"' in page and 'id="indicator-report-xlsx"' in page


def test_report_before_any_refresh_says_what_to_do(client, district_world):
    login(client, "monitor")
    page = client.get("/district/indicators/report").get_data(as_text=True)
    assert 'id="no-figures"' in page and "wellbeing district refresh" in page
    assert 'data-chart="' not in page and 'id="report-xlsx"' not in page
    response = client.get("/district/indicators/report.xlsx")
    assert response.status_code == 200
    summary = next(iter(_book(response).values()))
    assert any(row[1] and "wellbeing district refresh" in row[1] for row in summary)


def test_dashboard_and_report_with_figures_are_in_chinese(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year - 1)
    refresh(world.district.id, world.school_year)
    login(client, "monitor")
    for url in ("/district/indicators/", "/district/indicators/report"):
        page = client.get(url).get_data(as_text=True)
        assert "<svg" in page
        assert problems(visible_text(page), {"monitor"}) == [], url  # the login shown
