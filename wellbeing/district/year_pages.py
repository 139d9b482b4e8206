"""The district's year at a glance: the dashboard (each section's table beside its
charts: each targeted indicator's trend, the lead indicator by school) and the report of
the year, printable HTML and one XLSX workbook. Both read the same sections, built from
the page's tables (figures.shown_rows through school_table and trend_rows), so a chart
draws only what a table shows and a monitor's suppression is the pages' own."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask import send_file
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from screening import exports
from screening.indicators import NO_TARGET, Indicator, change
from wellbeing.campaigns import ledger
from wellbeing.clock import local_text
from wellbeing.district import figures
from wellbeing.district.indicator_pages import (
    TARGETS,
    VIEW,
    XLSX_MIMETYPE,
    _page,
    _schools,
    _suppress,
    _year,
    bp,
    group_label,
    school_chart,
    school_table,
    scope_district,
    trend_chart,
    trend_rows,
    year_label,
)
from wellbeing.roster.models import District
from wellbeing.security.audit import record_event
from wellbeing.security.policy import can, requires


@dataclass(frozen=True)
class Line:
    """One indicator of a section: this year's figure and last year's, as shown."""

    indicator: Indicator
    now: figures.Headline | None
    last: figures.Headline | None

    @property
    def change(self) -> float | None:
        """This year's value less last year's; none for a change itself or a hidden one."""
        if self.indicator.change_of or not (self.now and self.last):
            return None
        if self.now.shown.hidden or self.last.shown.hidden:
            return None
        return change(self.now.shown.value, self.last.shown.value)


@dataclass
class Section:
    group: str
    lines: list[Line]
    lead: Indicator | None  # drawn by school
    trends: list[tuple[Indicator, Markup, list]] = field(default_factory=list)  # rows drawn
    tables: dict[str, list[figures.Shown]] = field(default_factory=dict)  # by school
    school_chart: Markup | None = None


def targeted(indicator: Indicator, target: float | None) -> bool:
    """Drawn against a target: has one and stored counts of its own (not a change)."""
    return target is not None and indicator.direction != NO_TARGET and not indicator.change_of


def lead(items: list[Indicator], goals: dict[str, float | None]) -> Indicator | None:
    """The section's indicator drawn by school: its first with a target in force, else
    its first with a direction, else its first (a change has no figure by school)."""
    own = [i for i in items if not i.change_of]
    return next(
        (i for i in own if targeted(i, goals[i.id])),
        next((i for i in own if i.direction != NO_TARGET), own[0] if own else None),
    )


def sections(district: District, year: int, suppress: bool, every_table: bool) -> list[Section]:
    """Each section of the year: its lines, its targeted indicators' trends up to the
    year, and the by-school tables of its lead (of every targeted indicator with
    `every_table`, the report). A constant number of queries, whatever the schools."""
    whole = [figures.counts(district.id, y, whole=True) for y in (year, year - 1, year - 2)]
    goals = figures.targets(district.id)
    points = figures.trends(district.id, year)
    grouped = figures.grouped()
    drawn = {
        i.id
        for _group, items in grouped
        for i in items
        if (every_table and targeted(i, goals[i.id])) or i == lead(items, goals)
    }
    cells = figures.school_counts(district.id, year, drawn)
    schools = _schools(district)
    found = []
    for group, items in grouped:
        lines = [
            Line(
                i,
                figures.headline(i, whole[0], whole[1], goals[i.id], suppress),
                figures.headline(i, whole[1], whole[2], goals[i.id], suppress),
            )
            for i in items
        ]
        section = Section(group, lines, lead(items, goals))
        for i in items:
            if targeted(i, goals[i.id]) and points.get(i.id):
                rows = trend_rows(i, district, suppress, points[i.id])
                chart = trend_chart(i, rows, goals[i.id], least=1)
                if chart:
                    section.trends.append((i, chart, rows))
            if i.id in drawn and cells.get(i.id):
                section.tables[i.id] = school_table(i, cells[i.id], schools, suppress)
        if section.lead and section.lead.id in section.tables:
            table = section.tables[section.lead.id]
            target = goals[section.lead.id]
            section.school_chart = school_chart(section.lead, table, target, district.name)
        found.append(section)
    return found


def change_text(indicator: Indicator, moved: float | None) -> str:
    """A change between the two years: in points for a percentage, signed."""
    if moved is None:
        return "—"
    return f"{moved:+.1f}" + ("‰" if indicator.unit == "per_1000" else "")


def met_text(line: Line) -> str:
    if line.now is None or line.now.met is None:
        return "—"
    return _("Met") if line.now.met else _("Not met")


def _values(district: District, every_table: bool) -> dict[str, Any]:
    year, stored = _year(district)
    suppress = _suppress(district)
    computed = figures.computed_at(district.id, year)
    return {
        "year": year,
        "years": stored,
        "suppress": suppress,
        "computed": local_text(computed) if computed else None,
        "sections": sections(district, year, suppress, every_table) if computed else [],
        "targets": figures.targets(district.id),
        "group_label": group_label,
        "change_text": change_text,
        "find": figures.find,
    }


@bp.get("/")
@requires(VIEW)
def dashboard() -> str:
    district = scope_district()
    return _page(
        "district/indicators/dashboard.html",
        district,
        may_set_targets=can(current_user, TARGETS),
        **_values(district, every_table=False),
    )


def _audit(kind: str, district: District, year: int, suppress: bool) -> None:
    record_event(
        "export",
        target=district,
        detail={"kind": kind, "school_year": year, "suppressed": suppress},
    )


@bp.get("/report")
@requires(VIEW)
def report() -> str:
    """The report of the year to print (or save as PDF from the browser's print)."""
    district = scope_district()
    values = _values(district, every_table=True)
    _audit("indicators_report", district, values["year"], values["suppress"])
    return _page("district/indicators/report.html", district, **values)


def _sheet_title(text: str, taken: set[str]) -> str:
    """A worksheet's name: without the characters Excel refuses, 31 at most, unique."""
    title = re.sub(r"[\[\]:*?/\\]", " ", text)[:28].strip() or "-"
    while title in taken:
        title = f"{title[:26]}{len(taken)}"
    taken.add(title)
    return title


def _figure(line_part: figures.Headline | None, indicator: Indicator) -> str:
    if line_part is None:
        return "—"
    return figures.value_text(indicator, line_part.shown.value, line_part.shown.hidden)


def not_computed_yet() -> str:
    return _(
        "No figures computed yet for this school year: run %(command)s or wait for tonight's run.",
        command="wellbeing district refresh",
    )


def report_book(district: District, values: dict[str, Any]) -> exports.Book:
    """The summary sheet (every indicator's line, the change a number) and a sheet per
    section with its by-school tables, as the report page shows them."""
    book = exports.Book()
    taken: set[str] = set()
    summary = book.create_sheet(_sheet_title(_("Summary"), taken), (22, 34, 12, 12, 10, 12, 10))
    summary.append([_("District"), district.name])
    summary.append([_("School year"), year_label(values["year"])])
    if not values["computed"]:
        summary.append([_("Computed at"), not_computed_yet()])
        return book
    summary.append([_("Computed at"), values["computed"]])
    if values["suppress"]:
        summary.append(ledger.small_cells_row())
    summary.append([])
    summary.append(
        [
            _("Section"),
            _("Indicator"),
            _("Value"),
            _("Target value"),
            _("Met"),
            _("Last year"),
            _("Change"),
        ]
    )
    for section in values["sections"]:
        for line in section.lines:
            i = line.indicator
            summary.append(
                [
                    group_label(section.group),
                    figures.text(i.name),
                    _figure(line.now, i),
                    figures.target_text(i, values["targets"][i.id]),
                    met_text(line),
                    _figure(line.last, i),
                    "—" if line.change is None else round(line.change, 1),
                ]
            )
    for section in values["sections"]:
        sheet = book.create_sheet(_sheet_title(group_label(section.group), taken), (28, 14, 14, 12))
        if not section.tables:
            sheet.append([_("No indicator of this section has a target and stored figures.")])
        for indicator_id, table in section.tables.items():
            i = figures.find(indicator_id)
            assert i is not None
            sheet.append([figures.text(i.name), figures.target_text(i, values["targets"][i.id])])
            sheet.append([_("School"), _("Numerator"), _("Denominator"), _("Value")])
            for shown in table:
                figure = figures.value_text(i, shown.value, shown.hidden)
                sheet.append([shown.label, shown.numerator, shown.denominator, figure])
            sheet.append([])
    return book


@bp.get("/report.xlsx")
@requires(VIEW)
def report_xlsx() -> Response:
    district = scope_district()
    values = _values(district, every_table=True)
    book = report_book(district, values)
    _audit("indicators_report_xlsx", district, values["year"], values["suppress"])
    name = f"indicators-{district.code}-{values['year']}.xlsx"
    buffer = io.BytesIO(exports.xlsx_bytes(book.sheets))
    return send_file(buffer, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)
