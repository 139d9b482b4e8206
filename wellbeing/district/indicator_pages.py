"""The district's indicator pages: the dashboard against the targets, the definitions,
the drill-down (district, school, grade and sex) with each indicator's trend over the
stored school years, the XLSX and CSV exports, and the administrator's targets. Every
page reads indicator_value only (wellbeing.district.figures), never a student."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, select
from werkzeug.wrappers import Response
from wtforms import FloatField
from wtforms.validators import NumberRange, Optional

from screening import exports
from screening.indicators import NO_TARGET, PER_1000, PERCENT, POINTS, RATIO, Indicator
from wellbeing.campaigns import ledger
from wellbeing.clock import local_today
from wellbeing.district import figures
from wellbeing.district.models import IndicatorTarget
from wellbeing.extensions import db
from wellbeing.health import charts
from wellbeing.health.rounds import school_year_for
from wellbeing.roster.labels import grade_name
from wellbeing.roster.models import District, School
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import requires, scopes_for
from wellbeing.text_input import TextForm

bp = Blueprint("indicators", __name__, url_prefix="/district/indicators")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VIEW, TARGETS = "district.indicators", "district.indicator_targets"


def _indicator_words(indicator_id: Any) -> str:
    """An indicator named in the audit browser (its id only when no longer registered)."""
    indicator = figures.find(str(indicator_id))
    return figures.text(indicator.name) if indicator else str(indicator_id)


def _targets_words(targets: Any) -> str:
    """The targets set, each named: a number, or the plan's default when emptied."""
    default = _("Plan's default")
    return "; ".join(
        f"{_indicator_words(key)} {default if target is None else f'{target:g}'}"
        for key, target in dict(targets).items()
    )


register_labels(
    actions={"indicator_targets": _l("District indicator targets set")},
    fields={
        "indicator": _l("Indicator"),
        "school_year": _l("School year"),
        "targets": _l("Targets"),
    },
    values={
        "indicators_xlsx": _l("An indicator's figures by school (XLSX)"),
        "indicators_csv": _l("An indicator's figures by school (CSV)"),
        "indicators_report": _l("The district's report of the year (print)"),
        "indicators_report_xlsx": _l("The district's report of the year (XLSX)"),
    },
    formats={"indicator": _indicator_words, "targets": _targets_words},
)


def scope_district(action: str = VIEW) -> District:
    districts = [a.district for a in scopes_for(current_user, action) if a.district]
    if not districts:
        abort(403)
    return districts[0]


def _indicator(indicator_id: str) -> Indicator:
    indicator = figures.find(indicator_id)
    if indicator is None:
        abort(404)
    return indicator


def _year(district: District) -> tuple[int, list[int]]:
    """The school year asked for (?year=), else the newest stored, else the current."""
    stored = figures.years(district.id)
    asked = request.args.get("year", type=int)
    if asked in stored:
        return asked, stored
    return (stored[0] if stored else school_year_for(local_today())), stored


def _suppress(district: District) -> bool:
    return ledger.suppressed_for(current_user, VIEW, district)


def year_label(year: int) -> str:
    return f"{year}–{str(year + 1)[-2:]}"


def _page(template: str, district: District, **values: Any) -> str:
    return render_template(
        template,
        district=district,
        text=figures.text,
        value_text=figures.value_text,
        target_text=figures.target_text,
        year_label=year_label,
        small=ledger.small_cell_k(),
        shown_as=ledger.suppressed_label(),
        refresh_command=Markup("<code>wellbeing district refresh</code>"),
        **values,
    )


# ----------------------------------------------------------------------------- dashboard


def group_label(group: str) -> str:
    return {
        "screening": _("Screening"),
        "crisis": _("Crisis alerts and follow-ups"),
        "plans": _("一生一策 files and referrals"),
        "staffing": _("Staffing"),
        "committee": _("心理委员"),
        "lessons": _("Mental-health lessons"),
        "health": _("Vision and fitness"),
    }.get(group, group)


@bp.get("/definitions")
@requires(VIEW)
def definitions() -> str:
    district = scope_district()
    return _page(
        "district/indicators/definitions.html",
        district,
        groups=figures.grouped(),
        targets=figures.targets(district.id),
        group_label=group_label,
    )


# ----------------------------------------------------------------------------- drill-down


def _sex_label(sex: str | None) -> str:
    return {"F": _("Girls"), "M": _("Boys")}.get(sex or "", _("Not recorded"))


def school_table(
    indicator: Indicator, cells: dict, schools: list[School], suppress: bool
) -> list[figures.Shown]:
    """Each school of the district, then the district's total."""
    rows = [(s.name, cells.get((s.id, None, None), figures.NOTHING)) for s in schools]
    rows.append((_("District total"), cells.get((None, None, None), figures.NOTHING)))
    return figures.shown_rows(indicator, rows, suppress)


def part_table(
    indicator: Indicator, cells: dict, school_id: int | None, by: str, suppress: bool
) -> list[figures.Shown]:
    """One place's cells by grade, by sex, or by both (a school's only: the district
    stores no grade-and-sex cell), then the place's total."""
    if by == "grade_sex":
        keys = sorted(k[1:] for k in cells if k[0] == school_id and None not in k[1:])
        rows = [
            (f"{grade_name(g)} {_sex_label(sex)}", cells[(school_id, g, sex)]) for g, sex in keys
        ]
    elif by == "grade":
        keys = sorted(
            k[1] for k in cells if k[0] == school_id and k[1] is not None and k[2] is None
        )
        rows = [(grade_name(g), cells[(school_id, g, None)]) for g in keys]
    else:
        keys = sorted(
            k[2] for k in cells if k[0] == school_id and k[1] is None and k[2] is not None
        )
        rows = [(_sex_label(sex), cells[(school_id, None, sex)]) for sex in keys]
    if not rows:
        return []
    total = _("School total") if school_id else _("District total")
    rows.append((total, cells.get((school_id, None, None), figures.NOTHING)))
    return figures.shown_rows(indicator, rows, suppress)


def trend_rows(
    indicator: Indicator,
    district: District,
    suppress: bool,
    points: list[tuple[int, int, int]] | None = None,
) -> list[tuple[int, figures.Shown]]:
    """The district's figure of each stored school year; `points` when already read
    (figures.trends)."""
    points = figures.trend(district.id, indicator.id) if points is None else points
    return [
        (year, figures.shown_rows(indicator, [(year_label(year), count)], suppress)[0])
        for year, count in points
    ]


UNIT_MARKS = {PERCENT: "%", PER_1000: "‰"}


def axis_label(indicator: Indicator) -> str:
    """The value axis named with its unit."""
    return {
        PERCENT: _("Share (%)"),
        PER_1000: _("Per 1,000 students (‰)"),
        RATIO: _("Ratio"),
        POINTS: _("Change (points)"),
    }.get(indicator.unit, _("Value"))


def axis_top(indicator: Indicator, known: list[float], target: float | None) -> float:
    """The top of the value axis, from the values shown and the target only (never a
    hidden one): 100 for a percentage, else a fifth above the largest."""
    top = max([*known, target or 0]) or 1
    return 100.0 if indicator.unit == PERCENT and top <= 100 else top * 1.2


def trend_chart(
    indicator: Indicator, rows: list, target: float | None, least: int = 2
) -> Markup | None:
    """The trend as an SVG line with the target as the dashed reference line; none with
    fewer than `least` years (two to join on the indicator's page)."""
    values = [shown.value for _year, shown in rows]
    known = [v for v in values if v is not None]
    if len(rows) < least or not known:
        return None
    top = axis_top(indicator, known, target)
    return charts.line_chart(
        figures.text(indicator.name),
        [year_label(year) for year, _shown in rows],
        [charts.Series(_("District"), "series-a", values)],
        y_min=0.0,
        y_max=top,
        ticks=[round(top * n / 4, 1) for n in range(5)],
        reference=target,
        unit=UNIT_MARKS.get(indicator.unit, ""),
        x_label=_("School year"),
        y_label=axis_label(indicator),
        reference_label=_("Target value") if target is not None else "",
        value_format=lambda v: figures.value_text(indicator, v),
    )


def school_chart(
    indicator: Indicator, table: list[figures.Shown], target: float | None, district: str = ""
) -> Markup | None:
    """The school table (school_table, as shown) as horizontal bars in the schools'
    order, the target dashed, each value written as the table writes it: a hidden
    figure gets its mark and no bar, and the axis is scaled on the shown ones only. The
    district's name is left off the front of its schools' names (the table keeps them)."""
    rows = table[:-1]
    values = [row.value for row in rows]
    known = [v for v in values if v is not None]
    if not rows:
        return None
    top = axis_top(indicator, known, target)
    marks = {
        n: ledger.suppressed_label() if row.hidden else "—"
        for n, row in enumerate(rows)
        if row.value is None
    }
    return charts.hbar_chart(
        f"{figures.text(indicator.name)} · {_('By school')}",
        [row.label for row in rows],
        charts.Series(_("School"), "series-a", values),
        x_max=top,
        ticks=[round(top * n / 4, 1) for n in range(5)],
        unit=UNIT_MARKS.get(indicator.unit, ""),
        reference=target,
        reference_label=_("Target value") if target is not None else "",
        marks=marks,
        x_label=axis_label(indicator),
        y_label=_("School"),
        value_format=lambda v: figures.value_text(indicator, v),
        drop_prefix=district,
    )


@dataclass(frozen=True)
class FigureTable:
    """One table of an indicator's page (and of its exports): what it is by, its first
    column's heading and its rows as shown, the last the total."""

    key: str
    caption: str
    heading: str
    rows: list[figures.Shown]


def figure_tables(
    indicator: Indicator, district: District, year: int, school: School | None
) -> list[FigureTable]:
    """The drill-down's tables of a school year: the district's by school, grade and sex,
    or a school's by grade, sex and both; empty ones left out."""
    cells = figures.counts(district.id, year, indicator.id).get(indicator.id, {})
    suppress = _suppress(district)
    place = school.id if school else None
    found = [
        FigureTable(
            "schools",
            _("By school"),
            _("School"),
            school_table(indicator, cells, _schools(district), suppress) if cells else [],
        )
        if school is None
        else None,
        FigureTable(
            "grades",
            _("By grade"),
            _("Grade"),
            part_table(indicator, cells, place, "grade", suppress),
        ),
        FigureTable(
            "sexes", _("By sex"), _("Sex"), part_table(indicator, cells, place, "sex", suppress)
        ),
        FigureTable(
            "grades-sexes",
            _("By grade and sex"),
            _("Grade"),
            part_table(indicator, cells, place, "grade_sex", suppress),
        )
        if school is not None
        else None,
    ]
    return [table for table in found if table is not None and table.rows]


@bp.get("/<indicator_id>")
@requires(VIEW)
def indicator_page(indicator_id: str) -> str:
    indicator = _indicator(indicator_id)
    district = scope_district()
    year, stored = _year(district)
    suppress = _suppress(district)
    target = figures.targets(district.id)[indicator.id]
    trend = trend_rows(indicator, district, suppress)
    return _page(
        "district/indicators/indicator.html",
        district,
        indicator=indicator,
        year=year,
        years=stored,
        school=None,
        tables=figure_tables(indicator, district, year, None),
        links=[
            url_for("indicators.school_page", school_id=s.id, indicator_id=indicator.id, year=year)
            for s in _schools(district)
        ],
        trend=trend,
        chart=trend_chart(indicator, trend, target),
        target=target,
        suppress=suppress,
    )


@bp.get("/schools/<int:school_id>/<indicator_id>")
@requires(VIEW, School)
def school_page(school: School, indicator_id: str) -> str:
    indicator = _indicator(indicator_id)
    district = scope_district()
    year, stored = _year(district)
    return _page(
        "district/indicators/indicator.html",
        district,
        indicator=indicator,
        year=year,
        years=stored,
        school=school,
        tables=figure_tables(indicator, district, year, school),
        links=[],
        trend=[],
        chart=None,
        target=figures.targets(district.id)[indicator.id],
        suppress=_suppress(district),
    )


def _schools(district: District) -> list[School]:
    return list(
        db.session.scalars(
            select(School).where(School.district_id == district.id).order_by(School.code)
        )
    )


# ----------------------------------------------------------------------------- exports


def _export_tables(
    indicator: Indicator, district: District, year: int, school: School | None
) -> tuple[list[list[Any]], list[FigureTable], bool]:
    """What an export holds: the lines saying what it is (with the small-cells note for
    a monitor), and the page's tables as the page shows them (the district's also its
    trend over the stored years)."""
    suppress = _suppress(district)
    about: list[list[Any]] = [
        [_("Indicator"), figures.text(indicator.name), indicator.id],
        [_("Place"), school.name if school else district.name],
        [_("School year"), year_label(year)],
    ]
    if suppress and indicator.suppress:
        about.append(ledger.small_cells_row())
    tables = figure_tables(indicator, district, year, school)
    if school is None:
        trend = [shown for _year, shown in trend_rows(indicator, district, suppress)]
        tables.append(FigureTable("trend", _("Over the school years"), _("School year"), trend))
    return about, tables, suppress


def _table_rows(indicator: Indicator, table: FigureTable) -> list[list[Any]]:
    rows: list[list[Any]] = [[table.heading, _("Numerator"), _("Denominator"), _("Value")]]
    for shown in table.rows:
        figure = figures.value_text(indicator, shown.value, shown.hidden)
        rows.append([shown.label, shown.numerator, shown.denominator, figure])
    return rows


def _audit_export(
    kind: str,
    indicator: Indicator,
    district: District,
    year: int,
    suppress: bool,
    school: School | None,
) -> None:
    detail = {"kind": kind, "indicator": indicator.id, "school_year": year, "suppressed": suppress}
    if school is not None:
        detail["school"] = school.id
    record_event("export", target=school or district, detail=detail)


def _export_name(
    indicator: Indicator, district: District, year: int, school: School | None, ext: str
) -> str:
    place = school.code if school else district.code
    return f"{indicator.id}-{place}-{year}.{ext}"


def _xlsx(indicator: Indicator, school: School | None = None) -> Response:
    district = scope_district()
    year, _stored = _year(district)
    about, tables, suppress = _export_tables(indicator, district, year, school)
    book = exports.Book()
    for table in tables:
        sheet = book.create_sheet(table.caption, widths=(28, 14, 14, 12))
        for row in [*about, [], *_table_rows(indicator, table)]:
            sheet.append(row)
    if not tables:
        sheet = book.create_sheet(_("By school"), widths=(28, 14, 14, 12))
        for row in [*about, [], [_("No figures computed yet for this school year.")]]:
            sheet.append(row)
    _audit_export("indicators_xlsx", indicator, district, year, suppress, school)
    buffer = io.BytesIO(exports.xlsx_bytes(book.sheets))
    name = _export_name(indicator, district, year, school, "xlsx")
    return send_file(buffer, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)


def _csv(indicator: Indicator, school: School | None = None) -> Response:
    district = scope_district()
    year, _stored = _year(district)
    about, tables, suppress = _export_tables(indicator, district, year, school)
    rows = list(about)
    for table in tables:
        rows += [[], [table.caption], *_table_rows(indicator, table)]
    _audit_export("indicators_csv", indicator, district, year, suppress, school)
    buffer = io.BytesIO(exports.csv_bytes(rows))
    name = _export_name(indicator, district, year, school, "csv")
    return send_file(buffer, mimetype="text/csv", as_attachment=True, download_name=name)


@bp.get("/<indicator_id>/export.xlsx")
@requires(VIEW)
def export_xlsx(indicator_id: str) -> Response:
    return _xlsx(_indicator(indicator_id))


@bp.get("/<indicator_id>/export.csv")
@requires(VIEW)
def export_csv(indicator_id: str) -> Response:
    return _csv(_indicator(indicator_id))


@bp.get("/schools/<int:school_id>/<indicator_id>/export.xlsx")
@requires(VIEW, School)
def school_export_xlsx(school: School, indicator_id: str) -> Response:
    return _xlsx(_indicator(indicator_id), school)


@bp.get("/schools/<int:school_id>/<indicator_id>/export.csv")
@requires(VIEW, School)
def school_export_csv(school: School, indicator_id: str) -> Response:
    return _csv(_indicator(indicator_id), school)


# ----------------------------------------------------------------------------- targets


def targets_form(current: dict[str, float | None], formdata: Any = None) -> TextForm:
    """A field per indicator with a direction; empty means the plan's default."""

    class TargetsForm(TextForm):
        pass

    for indicator in figures.indicators():
        if indicator.direction == NO_TARGET:
            continue
        top = 100 if indicator.unit == PERCENT else None
        field = FloatField(
            figures.text(indicator.name),
            validators=[Optional(), NumberRange(min=0, max=top)],
        )
        setattr(TargetsForm, indicator.id, field)
    # A posted form stands on its own: a field left out or empty is the plan's default.
    return TargetsForm(formdata=formdata, data=None if formdata else current)


@bp.route("/targets", methods=["GET", "POST"])
@requires(TARGETS)
def targets() -> str | Response:
    district = scope_district(TARGETS)
    own = {
        row.indicator_id: row.target
        for row in db.session.scalars(
            select(IndicatorTarget).where(IndicatorTarget.district_id == district.id)
        )
    }
    form = targets_form(own, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        changed = save_targets(district, form, own)
        if changed:
            record_event("indicator_targets", target=district, detail={"targets": changed})
        flash(_("The targets are saved."), "success")
        return redirect(url_for("indicators.targets"))
    indicators = [i for i in figures.indicators() if i.direction != NO_TARGET]
    return _page("district/indicators/targets.html", district, form=form, indicators=indicators)


def save_targets(district: District, form: TextForm, own: dict[str, float]) -> dict[str, Any]:
    """Store what changed; returns it (indicator id -> new target, None for the default)."""
    changed: dict[str, Any] = {}
    for indicator in figures.indicators():
        if indicator.direction == NO_TARGET:
            continue
        chosen = form[indicator.id].data
        if chosen == own.get(indicator.id):
            continue
        changed[indicator.id] = chosen
        db.session.execute(
            delete(IndicatorTarget).where(
                IndicatorTarget.district_id == district.id,
                IndicatorTarget.indicator_id == indicator.id,
            )
        )
        if chosen is not None:
            db.session.add(
                IndicatorTarget(
                    district_id=district.id,
                    indicator_id=indicator.id,
                    target=chosen,
                    set_by_id=current_user.id,
                )
            )
    db.session.flush()
    return changed


from wellbeing.district import dhis2_pages, year_pages  # noqa: E402,F401  (add their routes)
