"""The staff pages that open and run screening campaigns: the list, opening one, its
page, editing it (window, name, notice version, population), a class's printable code
slips and guardian notices. Views check access (@requires), call a service, render; a
page that reads codes is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.campaigns import codes, ledger, pages, services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.forms import EditCampaignForm, OpenCampaignForm
from wellbeing.campaigns.lookups import campaign_of_class, target_of_student
from wellbeing.campaigns.models import Campaign
from wellbeing.clock import from_local, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.notifications.services import alert_recipients, counselors_of_school
from wellbeing.paging import paginate
from wellbeing.roster.models import District, SchoolClass, Student
from wellbeing.security.audit import record_event
from wellbeing.security.policy import can, requires

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

CAMPAIGNS_PER_PAGE = 20


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {
        "campaign_state": pages.campaign_state,
        "has_endpoint": pages.has_endpoint,
        "display_code": codes.display,
        "states": v.STATES,
    }


def _language() -> str:
    return "en" if get_locale().language == "en" else "zh"


# ----------------------------------------------------------------------------- list, open


@bp.get("/")
@requires("campaign.list")
def index() -> str:
    campaigns = paginate(pages.campaigns_in_scope(current_user), per_page=CAMPAIGNS_PER_PAGE)
    tallies = pages.coverage_by_campaign(current_user, [c.id for c in campaigns])
    coverage = {
        c.id: ledger.campaign_figures(
            c, tallies[c.id], ledger.suppressed_for(current_user, "campaign.view", c)
        )
        for c in campaigns
    }
    return render_template(
        "campaigns/list.html",
        campaigns=campaigns,
        coverage=coverage,
        can_open=can(current_user, "campaign.open"),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("campaign.open")
def new() -> Any:
    openers = pages.openers(current_user)
    if not openers:  # the role without a school or district to open it for
        abort(403)
    chosen = next((o for o in openers if o.key == request.args.get("scope")), openers[0])
    schools = (
        [chosen.school] if chosen.school is not None else pages.district_schools(chosen.district_id)
    )
    form = OpenCampaignForm()
    form.set_choices(chosen, schools, _language())
    problems: list[str] = []
    if request.method == "GET":
        form.set_defaults(chosen, schools, utcnow())
    elif form.validate_on_submit():
        district = db.session.get(District, chosen.district_id)
        school_ids = [chosen.school.id] if chosen.school is not None else form.schools.data
        plan = services.CampaignPlan(
            name=form.name.data or "",
            instrument_refs=form.instrument_refs(),
            school_ids=school_ids,
            grades=form.grades.data,
            opens_at=from_local(form.opens_at.data),
            closes_at=from_local(form.closes_at.data),
            consent_mode=form.consent_mode.data,
            legal_basis=form.legal_basis.data,
            notice_version=form.notice_version.data or "",
            show_results=form.show_results.data,
            languages=["zh", "en"] if form.offer_english.data else ["zh"],
        )
        try:
            campaign = services.open_campaign(district, chosen.school, plan, current_user)
        except services.CampaignError as error:
            problems = error.problems
        else:
            flash(
                _(
                    "Campaign opened: %(n)d students drawn, each with an access code.",
                    n=pages.target_count(campaign),
                )
            )
            return redirect(url_for("campaigns.view", campaign_id=campaign.id))
    return render_template(
        "campaigns/new.html",
        form=form,
        opener=chosen,
        openers=openers,
        schools=schools,
        problems=problems,
        slots=range(len(form.battery.entries)),
    )


# ----------------------------------------------------------------------------- one campaign


@bp.get("/<int:campaign_id>")
@requires("campaign.view", Campaign)
def view(campaign: Campaign) -> str:
    tally = pages.coverage_by_campaign(current_user, [campaign.id], "campaign.view")[campaign.id]
    suppress = ledger.suppressed_for(current_user, "campaign.view", campaign)
    # The summary (facts, battery, coverage by state) first; the classes, paged.
    rows = paginate(pages.class_rows(current_user, campaign), param="class_page", anchor="classes")
    schools = [s for s in campaign.schools if can(current_user, "coverage.view_school", s)]
    return render_template(
        "campaigns/view.html",
        campaign=campaign,
        coverage=ledger.campaign_figures(campaign, tally, suppress),
        suppress=suppress,
        battery=pages.battery_rows(campaign, _language()),
        class_rows=rows,
        ledger_schools=schools,
        # The alert pages the viewer is told about: an administrator's are the schools
        # without a counselor, whose alerts come to the district.
        alert_schools=[
            s
            for s in campaign.schools
            if can(current_user, "alerts.view", s) and current_user in alert_recipients(s)
        ],
        can_district=can(current_user, "coverage.view_district", campaign.district),
        without_counselor=[s for s in campaign.schools if not counselors_of_school(s.id)],
        can_district_equity=can(current_user, "coverage.equity", campaign.district),
        equity_schools=[s for s in campaign.schools if can(current_user, "coverage.equity", s)],
        can_class=lambda c: can(current_user, "coverage.view_class", c),
        can_edit=can(current_user, "campaign.edit", campaign),
        can_paper=can(current_user, "paper.print", campaign),
    )


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@requires("campaign.edit", Campaign)
def edit(campaign: Campaign) -> Any:
    form = EditCampaignForm()
    problems: list[str] = []
    if request.method == "GET":
        form.name.data = campaign.name
        form.opens_at.data = to_local(campaign.opens_at)
        form.closes_at.data = to_local(campaign.closes_at)
        form.notice_version.data = campaign.notice_version
    elif form.validate_on_submit():
        change = services.CampaignEdit(
            name=form.name.data or "",
            opens_at=from_local(form.opens_at.data),
            closes_at=from_local(form.closes_at.data),
            notice_version=form.notice_version.data or "",
        )
        problems = services.edit_campaign(campaign, change, current_user)
        if not problems:
            flash(_("The campaign was saved."))
            return redirect(url_for("campaigns.view", campaign_id=campaign.id))
    return render_template("campaigns/edit.html", campaign=campaign, form=form, problems=problems)


@bp.post("/<int:campaign_id>/refresh")
@requires("campaign.edit", Campaign)
def refresh(campaign: Campaign) -> Response:
    drawn = services.refresh_population(campaign)
    record_event(
        "campaign_edit",
        target=campaign,
        detail={"campaign": campaign.id, "added": drawn.added, "transferred": drawn.transferred},
    )
    flash(
        _(
            "Population refreshed: %(added)d new students drawn, %(left)d who left marked "
            "transferred.",
            added=drawn.added,
            left=drawn.transferred,
        )
    )
    return redirect(url_for("campaigns.edit", campaign_id=campaign.id))


# ----------------------------------------------------------------------------- slips, notices


@bp.get("/classes/<int:class_id>/campaigns/<int:campaign_id>/slips")
@requires("campaign.codes", SchoolClass)
def slips(school_class: SchoolClass, campaign_id: int) -> str:
    campaign = campaign_of_class(school_class, campaign_id)
    targets = pages.class_targets(campaign, school_class, pages.ANSWERABLE_STATES)
    record_event(
        "view_sensitive",
        target=school_class,
        detail={"campaign": campaign.id, "codes": len(targets)},
    )
    return render_template(
        "campaigns/slips.html",
        campaign=campaign,
        school_class=school_class,
        slips=[(target.student, target.code) for target in targets],
        runner_url=pages.runner_url(request.host_url),
    )


@bp.get("/students/<int:student_id>/campaigns/<int:campaign_id>/slip")
@requires("campaign.codes", Student)
def student_slip(student: Student, campaign_id: int) -> str:
    """One student's slip, e.g. after a lost slip's code was reissued."""
    target = target_of_student(student, campaign_id)
    campaign = target.campaign
    answerable = target.state in pages.ANSWERABLE_STATES
    school_class = db.session.get(SchoolClass, target.class_id)
    record_event(
        "view_sensitive",
        target=student,
        detail={"campaign": campaign.id, "codes": int(answerable)},
    )
    return render_template(
        "campaigns/slips.html",
        campaign=campaign,
        school_class=school_class,
        slips=[(student, target.code)] if answerable else [],
        runner_url=pages.runner_url(request.host_url),
        one_student=student,
    )


@bp.get("/classes/<int:class_id>/campaigns/<int:campaign_id>/notices")
@requires("campaign.codes", SchoolClass)
def notices(school_class: SchoolClass, campaign_id: int) -> str:
    campaign = campaign_of_class(school_class, campaign_id)
    states = [state for state in v.STATES if state != v.TRANSFERRED]
    students = [t.student for t in pages.class_targets(campaign, school_class, states)]
    record_event(
        "export",
        target=school_class,
        detail={"campaign": campaign.id, "notices": len(students)},
    )
    battery = pages.battery_rows(campaign, "zh")
    return render_template(
        "campaigns/notices.html",
        campaign=campaign,
        school_class=school_class,
        students=students,
        battery=battery,
        minutes=pages.estimated_minutes(battery),
        printed_on=to_local(utcnow()).date(),
    )
