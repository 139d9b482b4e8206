"""The committee's health: a school's classes with their 心理委员 and report rates (the
school's counselors, leaders and the district's administrators), and each school's
coverage and rates for the district (monitors and administrators; small cells
suppressed for a monitor). No observation, no student beyond the members' own names.

The school page shows the members' names (students, but as holders of a class role, not
as anyone's mental-health data): it is audited like any page naming students."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, render_template
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wellbeing.campaigns import ledger
from wellbeing.clock import local_today
from wellbeing.observations import committee
from wellbeing.observations import vocabulary as v
from wellbeing.observations.blueprint import bp
from wellbeing.observations.deadlines import week_start
from wellbeing.paging import paginate
from wellbeing.roster.models import District, School
from wellbeing.security.audit import record_view
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import can, requires

# Registered at import: the late reports' job and the compliance pack's sheet.
from wellbeing.observations import compliance, reminders  # noqa: F401  isort: skip

PER_PAGE = 30

register_labels(
    values={"observations.committee_school": _l("A school's 心理委员 and weekly report rates")}
)


def due_text(monday: date) -> str:
    """When the week's report is due, as "星期五 16:00" (the settings' weekday and time)."""
    config = current_app.config
    day = monday + timedelta(days=int(config["COMMITTEE_REPORT_DUE_WEEKDAY"]) - 1)
    return f"{format_date(day, 'EEEE')} {config['COMMITTEE_REPORT_DUE_TIME']}"


@bp.get("/schools/<int:school_id>/committee")
@requires("committee.school", School)
def committee_school(school: School) -> str:
    today = local_today()
    rows = committee.school_classes(school.id, today)
    page = paginate(rows, per_page=PER_PAGE)
    committee.add_names(list(page.items))
    record_view(school, sum(len(row.members) for row in page.items))
    return render_template(
        "observations/committee_school.html",
        school=school,
        page=page,
        missing=sum(1 for row in rows if not row.coverage.complete),
        reported_now=sum(1 for row in rows if row.this_week),
        this_week=week_start(today),
        weeks=committee.REPORT_RATE_WEEKS,
        per_class=v.COMMITTEE_PER_CLASS,
        from_grade=v.COMMITTEE_FROM_GRADE,
        can_import=can(current_user, "roster.import"),
        due=due_text(week_start(today)),
    )


@bp.get("/districts/<int:district_id>/committee")
@requires("committee.district", District)
def committee_district(district: District) -> str:
    rows = committee.school_counts(district.id, local_today())
    table = [counts for _, counts in rows]
    table.append(committee.total(table))
    suppress = ledger.suppressed_for(current_user, "committee.district", district)
    shown = committee.shown_rows(table, suppress)
    places = [school for school, _ in rows] + [None]
    return render_template(
        "observations/committee_district.html",
        district=district,
        table=list(zip(places, shown, strict=True)),
        suppress=suppress,
        small=ledger.small_cell_k(),
        shown_as=ledger.suppressed_label(),
        weeks=committee.REPORT_RATE_WEEKS,
        per_class=v.COMMITTEE_PER_CLASS,
        from_grade=v.COMMITTEE_FROM_GRADE,
        can_open=lambda school: can(current_user, "committee.school", school),
    )
