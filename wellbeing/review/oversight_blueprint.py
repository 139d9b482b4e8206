"""The oversight pages: a school leader's overdue list, and the district's SLA figures
per school (with their XLSX export)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateField
from wtforms.validators import Optional

from screening import exports
from wellbeing.campaigns import ledger
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.review import oversight
from wellbeing.roster.models import District, School
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import can, requires, scopes_for
from wellbeing.text_input import TextForm

bp = Blueprint("oversight", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/schools/<int:school_id>/overdue")
@requires("oversight.school", School)
def overdue(school: School) -> str:
    now = utcnow()
    follow_ups = oversight.overdue_follow_ups(school, now)
    alerts = oversight.late_alerts(school, now)
    counts = oversight.school_counts([school.id], now)[school.id]
    students = {row.student.id for row in follow_ups} | {row.student.id for row in alerts}
    record_view(school, len(students), overdue=counts.overdue, late_alerts=counts.late_alerts)
    return render_template(
        "followups/leader_overdue.html",
        school=school,
        follow_ups=follow_ups,
        alerts=alerts,
        counts=counts,
        alert_hours=f"{oversight.alert_hours():g}",
    )


class PeriodForm(TextForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    since = DateField(_l("From (date)"), validators=[Optional()])
    until = DateField(_l("To (date)"), validators=[Optional()])

    def period(self) -> oversight.Period:
        """The chosen period; the default (the last 30 days) for what is left empty or
        wrong, each wrong field told why beside it. A valid period fills the fields."""
        chosen = self._chosen()
        if not self.errors:
            self.since.data, self.until.data = chosen.first, chosen.last
        return chosen

    def _chosen(self) -> oversight.Period:
        today = local_today()
        default = oversight.default_period(today)
        if not self.validate():
            return default
        first, last = self.since.data or default.first, self.until.data or today
        if last < first:
            self.until.errors = [_("The end of the period must not be before its start.")]
            return default
        if (last - first).days + 1 > oversight.MAX_PERIOD_DAYS:
            self.since.errors = [
                _("Choose a period of at most %(days)d days.", days=oversight.MAX_PERIOD_DAYS)
            ]
            return default
        return oversight.Period(first, last)


def _district() -> District:
    districts = [a.district for a in scopes_for(current_user, "oversight.district") if a.district]
    if not districts:
        abort(403)
    return districts[0]


def _district_table() -> tuple[District, PeriodForm, oversight.Period, list, bool]:
    """The district, the period's form, the period, rows of (school or None for the
    total, its name, its figures), and whether small cells are suppressed."""
    district = _district()
    form = PeriodForm(formdata=request.args)
    period = form.period()
    schools = db.session.scalars(
        select(School).where(School.district_id == district.id).order_by(School.code)
    )
    rows, total = oversight.district_sla(schools, period, utcnow())
    suppress = ledger.suppressed_for(current_user, "oversight.district", district)
    shown = oversight.sla_figures([tally for _, tally in rows] + [total], suppress)
    places = [(school, school.name) for school, _ in rows] + [(None, _("District total"))]
    table = [(*place, figures) for place, figures in zip(places, shown, strict=True)]
    return district, form, period, table, suppress


@bp.get("/district/sla")
@requires("oversight.district")
def district_sla() -> str:
    district, form, period, table, suppress = _district_table()
    return render_template(
        "district/sla.html",
        district=district,
        form=form,
        period=period,
        table=table,
        suppress=suppress,
        small=ledger.small_cell_k(),
        shown_as=ledger.suppressed_label(),
        headers=sla_headers(),
        # An administrator may open each school's overdue list; a monitor sees no student.
        can_list=lambda school: can(current_user, "oversight.school", school),
        alert_hours=f"{oversight.alert_hours():g}",
        contact_hours=f"{oversight.contact_hours():g}",
    )


def _cell(figures: oversight.SlaFigures, key: str) -> object:
    rate = figures.rates[key]
    return figures.rate_text(key) if rate is None else exports.Formatted(rate, "0.0%")


@bp.get("/district/sla.xlsx")
@requires("oversight.district")
def district_sla_xlsx() -> Response:
    district, _form, period, table, suppress = _district_table()
    workbook = exports.Book()
    sheet = workbook.create_sheet(_("SLA by school"))
    sheet.append([_("Period"), f"{period.first.isoformat()} – {period.last.isoformat()}"])
    if suppress:
        sheet.append(ledger.small_cells_row())
    sheet.append([])
    sheet.append([str(header) for header in sla_headers()])
    for _school, name, figures in table:
        cells = figures.cells
        sheet.append(
            [
                name,
                cells["alerts"],
                _cell(figures, "acknowledged"),
                cells["contacts"],
                _cell(figures, "contacted"),
                cells["due"],
                _cell(figures, "on_time"),
                cells["overdue"],
                cells["escalations"],
            ]
        )
    record_event(
        "export",
        target=district,
        detail={
            "kind": "sla_xlsx",
            "schools": len(table) - 1,
            "suppressed": suppress,
            "period": f"{period.first.isoformat()}/{period.last.isoformat()}",
        },
    )
    buffer = io.BytesIO(exports.xlsx_bytes(workbook.sheets))
    name = f"sla-{district.code}-{period.first.isoformat()}-{period.last.isoformat()}.xlsx"
    return send_file(buffer, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)


def sla_headers() -> list[str]:
    """The columns of the SLA table, with their units, as the page and the export name
    them."""
    return [
        _("School"),
        _("Alerts"),
        _("Acknowledged in time (%(unit)s)", unit="%"),
        _("Acknowledged alerts"),
        _("First contact in time (%(unit)s)", unit="%"),
        _("Follow-ups due"),
        _("Done on time (%(unit)s)", unit="%"),
        _("Overdue now"),
        _("Escalations"),
    ]
