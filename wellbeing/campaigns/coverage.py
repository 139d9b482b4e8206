"""The coverage ledger's pages: a campaign's coverage by school (district), by class with
who is missing and why (school), a class's students with their state and consent and
the staff's actions (class), the consent-equity view, and XLSX exports.

Definitions, shown on every page: every target is in exactly one state; coverage rate =
screened_valid / (targets - transferred); the plan's target is 100%. Monitors see counts
from 1 to k - 1 as "<k" (k = SMALL_CELL_K, 10 by default), with the cells that would give
them away, and the rates built on them hidden (ledger.table_figures).

Student actions post to /coverage/students/<student>/campaigns/<campaign>/<action>: the
student is the policy's target, the campaign must have drawn them (else 404). A refused
action redirects back with the services' messages: the services check before writing,
so nothing was written."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from screening import exports
from wellbeing.campaigns import codes, ledger, services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.audit_words import STATE_LABELS
from wellbeing.campaigns.coverage_forms import consent_from, mark_from
from wellbeing.campaigns.lookups import (
    campaign_of_class,
    campaign_of_district,
    campaign_of_school,
    target_of_student,
)
from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.campaigns.pages import instrument_name
from wellbeing.clock import DAY, local_text, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.paging import paginate
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import District, School, SchoolClass, Student
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import can, requires
from wellbeing.words import colon

bp = Blueprint("coverage", __name__, url_prefix="/coverage")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# ----------------------------------------------------------------------------- labels
# The same words as templates/campaigns/_macros.html (state_label, legal_basis_label,
# consent_mode_label), for the spreadsheets and flashed messages; the states' names are in
# audit_words.STATE_LABELS, which the audit browser shares.

STATE_DEFINITIONS = {
    v.NOT_STARTED: _l("has an access code and has not answered yet."),
    v.IN_PROGRESS: _l("has answered at least one question and not submitted."),
    v.SCREENED_VALID: _l("submitted, and every validity rule passed."),
    v.RETEST_PENDING: _l("submitted, but a validity rule failed: needs a retest (a new code)."),
    v.ABSENT: _l("marked absent by staff, with a reason; may still answer with the code."),
    v.TRANSFERRED: _l(
        "left the population (moved away, or marked with a reason); not counted in the rate."
    ),
    v.EXEMPT: _l("excused by staff, with a reason and the approver recorded."),
    v.CONSENT_WITHHELD: _l(
        "awaiting a guardian's consent (opt-in), opted out, or consent withdrawn."
    ),
}
REASON_LABELS = {
    v.REASON_AWAITING_CONSENT: _l("Awaiting a guardian's consent"),
    v.REASON_OPTED_OUT: _l("Guardian opted out"),
    v.REASON_WITHDRAWN: _l("Consent withdrawn"),
    "left_population": _l("Left the population (moved class or school, or left)"),
}
# Validity rules that put a submission on the retest queue ("<instrument>:<rule>").
RULE_LABELS = {
    "missing": _l("too many items missing"),
    "too_fast": _l("answered too fast"),
    "long_string": _l("the same answer too many times in a row"),
    "inconsistent_pairs": _l("inconsistent answers"),
    "lie_scale": _l("lie scale over its limit"),
}
DECISION_LABELS = {
    v.CONSENT: _l("Consent"),
    v.OPT_OUT_DECISION: _l("Opt-out"),
    v.WITHDRAWAL: _l("Withdrawal"),
}
METHOD_LABELS = {"paper": _l("On paper"), "verbal": _l("Verbally"), "online": _l("Online")}
LEGAL_BASIS_LABELS = {
    v.GUARDIAN_CONSENT: _l("Guardians' consent"),
    v.STATUTORY_DUTY: _l("The school's statutory duty"),
}
CONSENT_MODE_LABELS = {
    v.OPT_OUT: _l("Notice with opt-out: guardians may refuse"),
    v.OPT_IN: _l("Opt-in: guardians must consent"),
}


def state_name(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def reason_text(reason: str | None) -> str:
    """A reason code as words: consent reasons, the failed validity rules of a retest
    ("患者健康问卷抑郁量表（PHQ-9）：作答过快"), or the free text staff gave with a mark."""
    if not reason:
        return ""
    if reason in REASON_LABELS:
        return str(REASON_LABELS[reason])
    parts = []
    for part in reason.split("; "):
        instrument, sep, rule = part.partition(":")
        if sep and rule in RULE_LABELS:
            name = instrument_name(instrument, "en" if get_locale().language == "en" else "zh")
            parts.append(f"{name}{colon()}{RULE_LABELS[rule]}")
        else:
            return reason  # staff's own words
    return _("; ").join(parts)


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {
        "state_name": state_name,
        "reason_text": reason_text,
        "decision_name": lambda d: str(DECISION_LABELS.get(d, d)),
        "method_name": lambda m: str(METHOD_LABELS.get(m, m)),
        "legal_basis_name": lambda b: str(LEGAL_BASIS_LABELS.get(b, b)),
        "consent_mode_name": lambda m: str(CONSENT_MODE_LABELS.get(m, m)),
        "STATES": v.STATES,
        "STATE_DEFINITIONS": STATE_DEFINITIONS,
        "MARKABLE": v.MARKABLE,
        "CONSENT_DECISIONS": v.CONSENT_DECISIONS,
        "CONSENT_METHODS": v.CONSENT_METHODS,
        "WITHHELD_REASONS": ledger.WITHHELD_REASONS,
        "SMALL_CELL": ledger.small_cell_k(),
        "GAP_POINTS": ledger.EQUITY_GAP_POINTS,
    }


# ----------------------------------------------------------------------------- pages


@bp.get("/districts/<int:district_id>/campaigns/<int:campaign_id>")
@requires("coverage.view_district", District)
def district(district: District, campaign_id: int) -> str:
    campaign = campaign_of_district(district, campaign_id)
    suppress = ledger.suppressed_for(current_user, "coverage.view_district", district)
    level, (*shown, whole) = ledger.district_table(campaign, suppress)
    rows = [
        (school, figures, can(current_user, "coverage.view_school", school))
        for (school, _), figures in zip(level.rows, shown, strict=True)
    ]
    return render_template(
        "coverage/district.html",
        district=district,
        campaign=campaign,
        rows=rows,
        whole=whole,
        suppress=suppress,
    )


@bp.get("/schools/<int:school_id>/campaigns/<int:campaign_id>")
@requires("coverage.view_school", School)
def school(school: School, campaign_id: int) -> str:
    campaign = campaign_of_school(school, campaign_id)
    level = ledger.school_level(campaign, school)
    missing = ledger.ledger_rows(campaign, school=school, missing_only=True)
    # The counts by class come first; the two lists of names are paged, each on its own.
    missing_page = paginate(missing, param="missing_page", anchor="missing")
    retest_page = paginate(ledger.retest_queue(missing), param="retest_page", anchor="retests")
    shown = {row.student_id for row in (*missing_page, *retest_page)}
    record_view(school, len(shown), campaign=campaign.id)
    return render_template(
        "coverage/school.html",
        school=school,
        campaign=campaign,
        rows=[(c, ledger.figures(tally, False)) for c, tally in level.rows],
        whole=ledger.figures(level.total, False),
        missing=missing_page,
        retests=retest_page,
        can_mark=can(current_user, "coverage.mark", school),
        can_district=can(current_user, "coverage.view_district", school.district),
        can_equity=can(current_user, "coverage.equity", school),
    )


@bp.get("/classes/<int:class_id>/campaigns/<int:campaign_id>")
@requires("coverage.view_class", SchoolClass)
def school_class(school_class: SchoolClass, campaign_id: int) -> str:
    campaign = campaign_of_class(school_class, campaign_id)
    rows = ledger.ledger_rows(campaign, school_class=school_class, with_consent=True)
    record_view(school_class, len(rows), campaign=campaign.id)
    # One row a student and one link to their actions: the forms are on the student's
    # own page, not 40 hidden copies here (the page stayed slow to lay out in a browser).
    return render_template(
        "coverage/class.html",
        school_class=school_class,
        campaign=campaign,
        rows=rows,
        whole=ledger.figures(ledger.class_tally(campaign, school_class), False),
        can_mark=can(current_user, "coverage.mark", school_class),
        can_act=_can_act(school_class),
        can_school=can(current_user, "coverage.view_school", school_class.school),
        class_links=_class_links(school_class, campaign),
        columns=ledger.added_columns(campaign, school_class, rows),
    )


@bp.get("/students/<int:student_id>/campaigns/<int:campaign_id>")
@requires("coverage.view_class", Student)
def student(student: Student, campaign_id: int) -> str:
    """One student's place in the ledger and the actions the user may take on it."""
    target = target_of_student(student, campaign_id)
    school_class = db.session.get(SchoolClass, target.class_id)
    campaign = target.campaign
    (row,) = ledger.ledger_rows(campaign, target=target, with_consent=True)
    record_view(student, 1, campaign=campaign.id)
    return render_template(
        "coverage/student.html",
        student=student,
        school_class=school_class,
        campaign=campaign,
        row=row,
        can_mark=can(current_user, "coverage.mark", student),
        can_consent=can(current_user, "consent.record", student),
        can_codes=can(current_user, "campaign.codes", student),
        reissuable=(*v.ANSWERABLE, v.ABSENT),
        today=local_today().isoformat(),
    )


def _can_act(school_class: SchoolClass) -> bool:
    return any(
        can(current_user, action, school_class)
        for action in ("coverage.mark", "consent.record", "campaign.codes")
    )


def _registered(endpoint: str) -> bool:
    """Whether another area's page exists (the campaign pages print slips and notices)."""
    return endpoint in current_app.view_functions


def _class_links(school_class: SchoolClass, campaign: Campaign) -> list[tuple[str, str]]:
    if not can(current_user, "campaign.codes", school_class):
        return []
    ids = {"class_id": school_class.id, "campaign_id": campaign.id}
    links = []
    if _registered("campaigns.slips"):
        links.append((_("Print the class's code slips"), url_for("campaigns.slips", **ids)))
    if _registered("campaigns.notices"):
        links.append((_("Print the guardian notices"), url_for("campaigns.notices", **ids)))
    return links


@bp.get("/districts/<int:district_id>/campaigns/<int:campaign_id>/equity")
@requires("coverage.equity", District)
def equity(district: District, campaign_id: int) -> str:
    campaign = campaign_of_district(district, campaign_id)
    return _equity_page(campaign, district, None)


@bp.get("/schools/<int:school_id>/campaigns/<int:campaign_id>/equity")
@requires("coverage.equity", School)
def school_equity(school: School, campaign_id: int) -> str:
    campaign = campaign_of_school(school, campaign_id)
    return _equity_page(campaign, school, school)


def _equity_page(campaign: Campaign, place: District | School, school: School | None) -> str:
    suppress = ledger.suppressed_for(current_user, "coverage.equity", place)
    found = ledger.equity(campaign, school)
    reference = found.overall.rate
    # One suppression over every breakdown: the overall row is shared by them all.
    whole, shown = ledger.equity_figures(found, suppress, reference)
    dimensions = {
        name: [(g, f) for (g, _), f in zip(groups, shown[name], strict=True)]
        for name, groups in found.dimensions.items()
    }
    return render_template(
        "coverage/equity.html",
        campaign=campaign,
        place=place,
        school=school,
        dimensions=dimensions,
        whole=whole,
        suppress=suppress,
    )


# ----------------------------------------------------------------------------- actions


def _back(target: CampaignTarget, refused: bool = False) -> Response:
    """Back to the ledger the action was taken from (the school's, or by default the
    class's); a refusal on the student's action page goes back there, its message beside
    the forms."""
    if refused and request.form.get("back") == "student":
        return redirect(
            url_for(
                "coverage.student", student_id=target.student_id, campaign_id=target.campaign_id
            )
        )
    if request.form.get("back") == "school":
        school_id = db.session.get(SchoolClass, target.class_id).school_id
        return redirect(
            url_for("coverage.school", school_id=school_id, campaign_id=target.campaign_id)
        )
    return redirect(
        url_for("coverage.school_class", class_id=target.class_id, campaign_id=target.campaign_id)
    )


def _refused(error: services.CampaignError) -> None:
    for problem in error.problems:
        flash(problem, "error")


def _act(target: CampaignTarget, act: Callable[[], object], said: Callable[[str], str]) -> Response:
    """Take a student action: flash the services' refusal (nothing was written), or what
    was done with the state it left, and go back to the ledger."""
    try:
        act()
    except services.CampaignError as error:
        _refused(error)
        return _back(target, refused=True)
    flash(said(state_name(target.state)), "info")
    return _back(target)


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/mark")
@requires("coverage.mark", Student)
def mark(student: Student, campaign_id: int) -> Response:
    target = target_of_student(student, campaign_id)

    def act() -> None:
        posted = mark_from(request.form)
        services.mark(target, posted.state, posted.reason, current_user)

    return _act(
        target, act, lambda state: _("%(name)s: %(state)s.", name=student.name, state=state)
    )


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/unmark")
@requires("coverage.mark", Student)
def unmark(student: Student, campaign_id: int) -> Response:
    target = target_of_student(student, campaign_id)
    return _act(
        target,
        lambda: services.unmark(target, current_user),
        lambda state: _("%(name)s: mark undone, now %(state)s.", name=student.name, state=state),
    )


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/consent")
@requires("consent.record", Student)
def consent(student: Student, campaign_id: int) -> Response:
    target = target_of_student(student, campaign_id)
    return _act(
        target,
        lambda: services.record_consent(
            target, consent_from(request.form, local_today()), current_user
        ),
        lambda state: _(
            "%(name)s: the guardian's decision is recorded; now %(state)s.",
            name=student.name,
            state=state,
        ),
    )


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/retest")
@requires("coverage.mark", Student)
def retest(student: Student, campaign_id: int) -> Response | str:
    target = target_of_student(student, campaign_id)
    try:
        code = services.issue_retest(target, current_user)
    except services.CampaignError as error:
        _refused(error)
        return _back(target, refused=True)
    return _new_code_page(target, code, retest=True)


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/submit-saved")
@requires("coverage.mark", Student)
def submit_saved(student: Student, campaign_id: int) -> Response:
    """A student who answered everything but never pressed Submit: submit for them."""
    target = target_of_student(student, campaign_id)
    return _act(
        target,
        lambda: services.submit_saved(target, current_user),
        lambda state: _(
            "%(name)s: the saved answers are submitted; now %(state)s.",
            name=student.name,
            state=state,
        ),
    )


@bp.post("/students/<int:student_id>/campaigns/<int:campaign_id>/reissue")
@requires("campaign.codes", Student)
def reissue(student: Student, campaign_id: int) -> Response | str:
    target = target_of_student(student, campaign_id)
    try:
        code = services.reissue_code(target, current_user)
    except services.CampaignError as error:
        _refused(error)
        return _back(target, refused=True)
    return _new_code_page(target, code, retest=False)


def _new_code_page(target: CampaignTarget, code: str, retest: bool) -> str:
    """The new code, shown this once (the page is not cached; the code is sealed in the
    ledger so the class's slips can be printed again)."""
    return render_template(
        "coverage/new_code.html",
        target=target,
        campaign=target.campaign,
        school_class=db.session.get(SchoolClass, target.class_id),
        code=codes.display(code),
        retest=retest,
        slip_url=url_for(
            "campaigns.student_slip", student_id=target.student_id, campaign_id=target.campaign_id
        )
        if _registered("campaigns.student_slip")
        else None,
    )


# ----------------------------------------------------------------------------- exports


def _count_headers() -> list[str]:
    return [
        _("Targets"),
        *(state_name(state) for state in v.STATES),
        _("Enrolled (targets − transferred)"),
        _("Coverage rate"),
    ]


def _count_cells(figures: ledger.Figures) -> list[Any]:
    return [
        figures.cells["targets"],
        *(figures.cells[state] for state in v.STATES),
        figures.cells["enrolled"],
        figures.rate,
    ]


def _basis_rows(campaign: Campaign) -> list[list[Any]]:
    return [
        [_("Campaign"), campaign.name],
        [_("Legal basis"), str(LEGAL_BASIS_LABELS[campaign.legal_basis])],
        [_("Consent mode"), str(CONSENT_MODE_LABELS[campaign.consent_mode])],
        [_("Notice version"), campaign.notice_version],
        [
            _("Coverage rate"),
            _(
                "screened (valid) ÷ (targets − transferred); the plan's target is %(target)s",
                target="100%",
            ),
        ],
        [_("Exported at (China time)"), local_text(utcnow())],
    ]


def _write_table(
    sheet: exports.Sheet, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """A header and rows whose last cell is the coverage rate (shown as a percentage)."""
    sheet.append(list(headers))
    for *cells, rate in rows:
        sheet.append([*cells, exports.Formatted(rate, "0.0%")])


def _xlsx(workbook: exports.Book, name: str) -> Response:
    """The workbook, every cell written through screening.exports."""
    buffer = io.BytesIO(exports.xlsx_bytes(workbook.sheets))
    return send_file(buffer, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)


@bp.get("/schools/<int:school_id>/campaigns/<int:campaign_id>/export.xlsx")
@requires("coverage.view_school", School)
def export_school(school: School, campaign_id: int) -> Response:
    campaign = campaign_of_school(school, campaign_id)
    rows = ledger.ledger_rows(campaign, school=school, with_consent=True)
    level = ledger.school_level(campaign, school)
    workbook = exports.Book()
    sheet = workbook.create_sheet(_("Ledger"))
    sheet.append(
        [
            _("Class"),
            _("Student number"),
            _("Name"),
            _("Sex"),
            _("State"),
            _("State code"),
            _("Reason"),
            _("Approver"),
            _("Consent decision"),
            _("Consent method"),
            _("Guardian"),
            _("Consent date"),
            _("Submitted at (China time)"),
            _("Last change (China time)"),
        ]
    )
    for row in rows:
        record = row.consent
        cells = [
            class_name(row.grade, row.class_name),
            row.student_number,
            row.name,
            _("Male") if row.sex == "M" else _("Female"),
            state_name(row.state),
            row.state,
            reason_text(row.reason),
            row.approver or "",
            str(DECISION_LABELS[record.decision]) if record else "",
            str(METHOD_LABELS[record.method]) if record else "",
            record.guardian if record else "",
            local_text(record.decided_on, DAY) if record else "",
            local_text(row.submitted_at),
            local_text(row.state_changed_at),
        ]
        sheet.append(cells)
    summary = workbook.create_sheet(_("Summary"))
    for basis_row in _basis_rows(campaign):
        summary.append(basis_row)
    summary.append([])
    _write_table(
        summary,
        [_("Class"), *_count_headers()],
        [
            [
                class_name(c.grade, c.name),
                *_count_cells(ledger.figures(tally, False)),
            ]
            for c, tally in level.rows
        ]
        + [[_("School total"), *_count_cells(ledger.figures(level.total, False))]],
    )
    record_event(
        "export",
        target=school,
        detail={"kind": "coverage_xlsx", "campaign": campaign.id, "rows": len(rows)},
    )
    return _xlsx(workbook, f"coverage-{school.code}-{campaign.id}.xlsx")


@bp.get("/districts/<int:district_id>/campaigns/<int:campaign_id>/export.xlsx")
@requires("coverage.view_district", District)
def export_district(district: District, campaign_id: int) -> Response:
    campaign = campaign_of_district(district, campaign_id)
    suppress = ledger.suppressed_for(current_user, "coverage.view_district", district)
    level, shown = ledger.district_table(campaign, suppress)
    workbook = exports.Book()
    sheet = workbook.create_sheet(_("Schools"))
    for basis_row in _basis_rows(campaign):
        sheet.append(basis_row)
    if suppress:
        sheet.append(ledger.small_cells_row())
    sheet.append([])
    _write_table(
        sheet,
        [_("School"), *_count_headers()],
        [
            [name, *_count_cells(figures)]
            for name, figures in zip(
                [school.name for school, _ in level.rows] + [_("District total")],
                shown,
                strict=True,
            )
        ],
    )
    record_event(
        "export",
        target=district,
        detail={
            "kind": "coverage_district_xlsx",
            "campaign": campaign.id,
            "schools": len(level.rows),
            "suppressed": suppress,
        },
    )
    return _xlsx(workbook, f"coverage-{district.code}-{campaign.id}.xlsx")
