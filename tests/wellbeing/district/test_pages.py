"""The indicator pages by role: the dashboard against the targets, the definitions, the
drill-down with small cells suppressed for monitors, the trend, the exports (audited) and
the administrator's targets (errors beside the fields, audited)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from xml.etree import ElementTree

import pytest
from markupsafe import escape
from sqlalchemy import delete, event, select

from tests.conftest import login
from wellbeing.district import figures
from wellbeing.district.models import IndicatorTarget, IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app
SVG = "{http://www.w3.org/2000/svg}"


def _no_student(page: str, world) -> None:
    for student in world.students.values():
        assert student.name not in page and student.student_number not in page


def test_dashboard_says_what_is_missing_before_a_refresh(client, district_world):
    login(client, "monitor")
    page = client.get("/district/indicators/").get_data(as_text=True)
    assert "尚未计算数据" in page and "wellbeing district refresh" in page


def test_dashboard_lists_every_indicator_with_its_target(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    login(client, "admin")
    page = client.get("/district/indicators/").get_data(as_text=True)
    for indicator in figures.indicators():
        assert f'data-indicator="{indicator.id}"' in page
    assert "新生心理筛查覆盖率" in page and "计算时间" in page
    # Schools with a counselor: 1 of 2 against the plan's 100%.
    row = page.split('data-indicator="schools_with_counselor"')[1].split("</tr>")[0]
    assert "50.0%" in row and "≥ 100.0%" in row and "未达标" in row
    assert 'id="indicator-targets"' in page
    _no_student(page, world)
    client.post("/logout")
    login(client, "monitor")
    page = client.get("/district/indicators/").get_data(as_text=True)
    assert 'id="indicator-targets"' not in page
    _no_student(page, world)


def test_definitions_name_numerator_denominator_source_and_target(client, district_world):
    login(client, "monitor")
    page = client.get("/district/indicators/definitions").get_data(as_text=True)
    for indicator in figures.indicators():
        section = page.split(f'id="definition-{indicator.id}"')[1].split("</section>")[0]
        for words in (indicator.name, indicator.numerator, indicator.denominator, indicator.source):
            assert str(escape(words["zh"])) in section, indicator.id


def _cell(page: str, table: str, row: str, cell: str) -> str:
    part = page.split(f'data-table="{table}"')[1].split(f'data-row="{row}"')[1]
    return part.split(f'data-cell="{cell}">')[1].split("<")[0]


def test_small_cells_are_suppressed_for_monitors_only(client, district_world, small_cells_of_5):
    world = district_world
    refresh(world.district.id, world.school_year)
    url = "/district/indicators/tier_red_share"
    login(client, "admin")
    page = client.get(url).get_data(as_text=True)
    assert _cell(page, "schools", "1", "numerator") == "1"  # school A's one red
    client.post("/logout")
    login(client, "monitor")
    page = client.get(url).get_data(as_text=True)
    assert _cell(page, "schools", "1", "numerator") == "&lt;5"
    assert _cell(page, "schools", "1", "value") == "&lt;5"  # a rate on a hidden count
    assert 'id="small-cells"' in page
    _no_student(page, world)
    # Counts of schools are not students': shown whole.
    page = client.get("/district/indicators/schools_with_counselor").get_data(as_text=True)
    assert _cell(page, "schools", "total", "numerator") == "1"
    # The school's page: by grade and sex, suppressed too.
    school = world.schools["A"]
    page = client.get(f"/district/indicators/schools/{school.id}/tier_red_share")
    assert page.status_code == 200
    page = page.get_data(as_text=True)
    assert _cell(page, "sexes", "total", "numerator") == "&lt;5"
    assert "七年级 男生" in page  # the three assessed at A are boys
    assert _cell(page, "grades-sexes", "1", "numerator") == "&lt;5"
    assert client.get("/district/indicators/no_such_indicator").status_code == 404


def test_trend_over_the_stored_years_with_a_chart(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year - 1)
    refresh(world.district.id, world.school_year)
    login(client, "admin")
    page = client.get("/district/indicators/new_student_screening_coverage").get_data(as_text=True)
    trend = page.split('data-table="trend"')[1]
    assert f"{world.school_year - 1}–" in trend and f"{world.school_year}–" in trend
    assert "<svg" in page and 'class="reference"' in page  # the target drawn as a line


def test_exports_are_suppressed_for_monitors_and_audited(client, district_world, small_cells_of_5):
    world = district_world
    refresh(world.district.id, world.school_year)
    login(client, "monitor")
    response = client.get("/district/indicators/tier_red_share/export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    school_a = next(row for row in rows if row and row[0] == world.schools["A"].name)
    assert school_a[1] == "<5"
    response = client.get("/district/indicators/tier_red_share/export.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).all()
    details = [json.loads(event.detail) for event in events[-2:]]
    assert [d["kind"] for d in details] == ["indicators_csv", "indicators_xlsx"]
    assert all(d["suppressed"] and d["indicator"] == "tier_red_share" for d in details)


def _csv_tables(response) -> dict[str, list[list[str]]]:
    """A CSV export's tables by caption: blocks after a blank line, each headed by a
    one-cell caption row."""
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    blocks: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return {block[0][0]: block[1:] for block in blocks[1:] if block and len(block[0]) == 1}


def test_exports_hold_every_table_of_the_page_as_shown(client, district_world, small_cells_of_5):
    world = district_world
    refresh(world.district.id, world.school_year)
    login(client, "monitor")
    page = client.get("/district/indicators/tier_red_share").get_data(as_text=True)
    tables = _csv_tables(client.get("/district/indicators/tier_red_share/export.csv"))
    assert list(tables) == ["按学校", "按年级", "按性别", "历年趋势"]
    grades = tables["按年级"]
    assert grades[0] == ["年级", "分子", "分母", "值"]
    assert grades[1][0] == "七年级"
    assert [grades[-1][1], grades[-1][2]] == [
        _cell(page, "grades", "total", "numerator").replace("&lt;", "<"),
        _cell(page, "grades", "total", "denominator").replace("&lt;", "<"),
    ]
    # A school's page exports its own tables, by grade and sex too, suppressed alike.
    school = world.schools["A"]
    url = f"/district/indicators/schools/{school.id}/tier_red_share"
    page = client.get(url).get_data(as_text=True)
    assert 'id="export-csv"' in page
    tables = _csv_tables(client.get(f"{url}/export.csv"))
    assert list(tables) == ["按年级", "按性别", "按年级和性别"]
    assert (
        tables["按年级和性别"][1][1]
        == "<5"
        == _cell(page, "grades-sexes", "1", "numerator").replace("&lt;", "<")
    )
    response = client.get(f"{url}/export.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert school.code in response.headers["Content-Disposition"]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).all()
    details = [json.loads(event.detail) for event in events[-2:]]
    assert [d["kind"] for d in details] == ["indicators_csv", "indicators_xlsx"]
    assert all(d["school"] == school.id and d["suppressed"] for d in details)


def test_targets_form_errors_beside_fields_and_audited_saves(client, district_world):
    world = district_world
    login(client, "admin")
    page = client.get("/district/indicators/targets").get_data(as_text=True)
    assert 'name="new_student_screening_coverage"' in page
    assert 'name="tier_red_share"' not in page  # no direction, no target
    response = client.post(
        "/district/indicators/targets", data={"new_student_screening_coverage": "150"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    field = page.split('name="new_student_screening_coverage"')[1].split('class="field"')[0]
    assert 'class="error"' in field
    assert not db.session.scalars(select(IndicatorTarget)).all()
    response = client.post(
        "/district/indicators/targets",
        data={"new_student_screening_coverage": "98.5", "followups_on_time": "90"},
    )
    assert response.status_code == 302
    assert figures.targets(world.district.id)["new_student_screening_coverage"] == 98.5
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "indicator_targets"))
    assert json.loads(event.detail)["targets"] == {
        "new_student_screening_coverage": 98.5,
        "followups_on_time": 90.0,
    }
    # Emptied: back to the plan's default.
    client.post(
        "/district/indicators/targets",
        data={"new_student_screening_coverage": "", "followups_on_time": "90"},
    )
    assert figures.targets(world.district.id)["new_student_screening_coverage"] == 100.0


def test_a_change_between_years_has_its_pages_without_records(client, district_world):
    """health_myopia_change has no counts of its own (a change of health_myopia): its
    pages and export stand without vision records in either year, showing no value."""
    world = district_world
    for year in (world.school_year, world.school_year - 1):
        refresh(world.district.id, year)
    login(client, "monitor")
    school = world.schools["A"].id
    for url in (
        "/district/indicators/",
        "/district/indicators/health_myopia_change",
        f"/district/indicators/schools/{school}/health_myopia_change",
        "/district/indicators/health_myopia_change/export.csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get("/district/indicators/health_myopia_change").get_data(as_text=True)
    assert "筛查性近视率年度变化" in page


# ----------------------------------------------------------------------------- charts


def _chart(page: str, kind: str, indicator_id: str) -> ElementTree.Element:
    """The SVG of one chart of the page, parsed."""
    figure = page.split(f'data-chart="{kind}" data-indicator="{indicator_id}">')[1]
    svg = figure[figure.index("<svg") : figure.index("</svg>") + len("</svg>")]
    return ElementTree.fromstring(svg)


def _texts(svg: ElementTree.Element, css: str) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text") if t.get("class") == css]


def _rows_drawn(svg: ElementTree.Element) -> dict[str, str | None]:
    """Each school row of a bar chart: the value written on its bar, else its mark."""
    rows: dict[str, str | None] = {}
    group = next(
        g
        for g in svg.iter(f"{SVG}g")
        if any(e.tag == f"{SVG}rect" or e.get("class") == "bar-mark" for e in g)
    )
    label = None
    for element in group:
        css = element.get("class")
        if css == "tick":
            label = element.find(f"{SVG}title").text
            rows[label] = None
        elif css in ("bar-value", "bar-mark"):
            rows[label] = element.text
    return rows


def _school_values(page: str, indicator_id: str) -> dict[str, str]:
    """The dashboard's table beside a by-school chart: school -> value as shown."""
    table = page.split(f'data-table="schools-{indicator_id}"')[1].split("</table>")[0]
    cells = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td></tr>", table)
    return {label: html.unescape(value) for label, value in cells}


def test_dashboard_charts_have_titles_axes_legends_and_targets(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year - 1)
    refresh(world.district.id, world.school_year)
    login(client, "admin")
    page = client.get("/district/indicators/").get_data(as_text=True)
    # The staffing section: its table, then the target's indicator by school and by year.
    section = page.split('id="section-staffing"')[1].split("</section>")[0]
    assert section.index('class="grid indicators"') < section.index('data-chart="schools"')
    trend = _chart(page, "trend", "schools_with_counselor")
    assert _texts(trend, "chart-title") == ["配备心理教师的学校比例"]
    assert _texts(trend, "axis-label") == ["学年", "比例（%）"]
    assert "目标值" in _texts(trend, "legend") and "区（县）" in _texts(trend, "legend")
    assert [line.get("y1") for line in trend.iter(f"{SVG}line") if line.get("class") == "reference"]
    dots = [c.find(f"{SVG}title").text for c in trend.iter(f"{SVG}circle")]
    # As the table writes it; one year only: last year stored no staffing while it ran, and
    # today's counselors are not last year's (as_it_stands).
    assert dots == ["区（县）：50.0%"]
    bars = _chart(page, "schools", "schools_with_counselor")
    assert _texts(bars, "chart-title") == ["配备心理教师的学校比例 · 按学校"]
    assert _texts(bars, "axis-label") == ["比例（%）", "学校"]
    references = [x for x in bars.iter(f"{SVG}line") if x.get("class") == "reference"]
    assert len(references) == 2  # the target across the bars, and its legend
    drawn = _rows_drawn(bars)
    shown = _school_values(page, "schools_with_counselor")
    assert drawn == {"测试学校A": "100.0%", "测试学校B": "0.0%"}
    assert all(shown[school] == value for school, value in drawn.items())
    # The target at 100%: the dashed line at the end of school A's full bar.
    bar = next(r for r in bars.iter(f"{SVG}rect") if r.get("class") == "bar")
    assert float(bar.get("x")) + float(bar.get("width")) == float(references[0].get("x1"))


def test_a_monitors_chart_never_draws_a_hidden_value(client, district_world, small_cells_of_5):
    world = district_world
    refresh(world.district.id, world.school_year)
    login(client, "admin")
    whole = client.get("/district/indicators/").get_data(as_text=True)
    client.post("/logout")
    login(client, "monitor")
    page = client.get("/district/indicators/").get_data(as_text=True)
    charts = re.findall(r'data-chart="schools" data-indicator="(\w+)"', page)
    assert "new_student_screening_coverage" in charts
    hidden = 0
    for indicator_id in charts:
        svg = _chart(page, "schools", indicator_id)
        drawn, shown = _rows_drawn(svg), _school_values(page, indicator_id)
        bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
        schools = {school: v for school, v in shown.items() if school != "全区合计"}
        assert len(bars) == sum(1 for v in schools.values() if v not in ("<5", "—"))
        assert set(drawn) == set(schools)
        for school, value in drawn.items():
            assert value == shown[school], (indicator_id, school)
            hidden += value == "<5"
        # Nothing of the admin's figure for a hidden school is in the monitor's chart.
        for school, value in _rows_drawn(_chart(whole, "schools", indicator_id)).items():
            if drawn[school] == "<5":
                assert value not in ("<5", "—")  # the admin sees it: it exists
                assert value not in ElementTree.tostring(svg, encoding="unicode")
    assert hidden >= 2
    # The district's figure hidden: no trend dot drawn for it.
    assert 'data-chart="trend" data-indicator="new_student_screening_coverage"' not in page


def test_a_section_without_a_chart_says_why(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    db.session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.indicator_id.in_(
                ("students_per_counselor", "counselors_per_school", "schools_with_counselor")
            )
        )
    )
    login(client, "admin")
    page = client.get("/district/indicators/").get_data(as_text=True)
    section = page.split('id="section-staffing"')[1].split("</section>")[0]
    assert 'data-empty="charts"' in section and "暂无图表" in section
    assert 'href="/district/indicators/targets"' in section


def test_the_dashboard_reads_in_a_constant_number_of_queries(app, client, district_world):
    world = district_world
    login(client, "monitor")

    def queries() -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/district/indicators/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    refresh(world.district.id, world.school_year)
    one_year = queries()
    for year in (world.school_year - 1, world.school_year - 2):
        refresh(world.district.id, year)
    assert queries() == one_year


def test_the_bar_chart_grows_a_row_per_school_and_draws_no_hidden_bar(app):
    from wellbeing.health.charts import Series, hbar_chart

    def chart(count: int) -> ElementTree.Element:
        values = [None if n == 1 else float(n) for n in range(count)]
        with app.test_request_context():
            svg = hbar_chart(
                "t",
                [f"江阳区第{n}中学附属实验学校" for n in range(count)],
                Series("s", "series-a", values),
                x_max=100.0,
                ticks=(0, 50, 100),
                marks={1: "<10"},
                reference=80.0,
                drop_prefix="江阳区",
            )
        return ElementTree.fromstring(str(svg))

    small, large = chart(6), chart(75)
    height = [float(svg.get("viewBox").split()[3]) for svg in (small, large)]
    assert height[1] - height[0] == 69 * 26  # a row of the same height per school
    assert small.get("viewBox").split()[2] == large.get("viewBox").split()[2]
    bars = [r for r in large.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 74 and "<10" in _texts(large, "bar-mark")
    # The district's name left off, the rest cut to fit; the whole name its tooltip.
    first = large.find(f".//{SVG}text[@class='tick']/{SVG}title")
    assert (first.text, first.tail) == ("江阳区第0中学附属实验学校", "第0中学附属实验…")
