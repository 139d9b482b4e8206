"""The review's pages: a school's crisis alerts, acknowledging one and working its
checklist. Views check access (@requires), call a service, render; every page that shows
a student's data is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from wellbeing.campaigns.pages import has_endpoint
from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups.forms import NewFollowUpForm, add_problems
from wellbeing.followups.ladder import first_contact_due
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import FollowUpError, assignable, check_new
from wellbeing.followups.vocabulary import RED
from wellbeing.review import alerts as alert_services
from wellbeing.review import pages
from wellbeing.review.alert_forms import step_form
from wellbeing.review.models import CrisisAlert
from wellbeing.review.vocabulary import CHECKLIST
from wellbeing.review.words import checklist_label, tier_name
from wellbeing.roster.models import School, Student
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import can, requires

bp = Blueprint("review", __name__)


def _language() -> str:
    return "en" if get_locale().language == "en" else "zh"


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    language = _language()
    return {
        "alert_items_text": lambda detail: pages.alert_items_text(detail, language),
        "alert_reason": lambda alert: pages.alert_reason(alert, language),
        "checklist_label": checklist_label,
        "tier_name": tier_name,
        "has_endpoint": has_endpoint,
    }


# ----------------------------------------------------------------------------- crisis alerts


def _alert_of(school: School, alert_id: int) -> CrisisAlert:
    """The school's alert, or 404 (an alert of another school is not found through this one)."""
    alert = db.session.get(CrisisAlert, alert_id)
    if alert is None or alert.school_id != school.id:
        abort(404)
    return alert


@bp.get("/schools/<int:school_id>/alerts")
@requires("alerts.view", School)
def alerts(school: School) -> str:
    rows, open_count = pages.school_alerts(school)
    record_event(
        "view_sensitive",
        target=school,
        detail={"alerts": len(rows), "open": open_count, "page": rows.number},
    )
    return render_template(
        "review/alerts.html",
        school=school,
        rows=rows,
        open_count=open_count,
        now=utcnow(),
        checklist_size=len(CHECKLIST),
    )


@bp.get("/schools/<int:school_id>/alerts/<int:alert_id>")
@requires("alerts.view", School)
def alert(school: School, alert_id: int) -> str:
    return _alert_page(school, _alert_of(school, alert_id))


def _alert_page(
    school: School,
    alert: CrisisAlert,
    failed: tuple[str, Any] | None = None,
    problem: str = "",
) -> str:
    """The alert's page: who, what raised it, its deadline, the explanation (to the
    school's counselors only), its checklist with a form for each step not yet recorded
    (`failed`: the step whose posted form has problems), its follow-ups."""
    now = utcnow()
    shown = pages.alert_page(alert, now)
    record_view(shown.student, 1, alert=alert.id)
    counselor = can(current_user, "review.case", school)
    forms = {}
    if alert.acknowledged_at is not None:
        people = assignable(school)
        for entry in shown.checklist:
            if entry.done is None:
                forms[entry.step] = step_form(
                    entry.step,
                    people=people,
                    viewer=current_user,
                    due=alert_services.step_follow_up_due(entry.step, now),
                )
        if failed is not None:
            forms[failed[0]] = failed[1]
    explained = None
    if counselor and shown.assessment is not None:
        explained = pages.explanation(shown.assessment, _language())
    case_link = None
    if counselor and shown.assessment is not None and has_endpoint("review.case"):
        case_link = url_for("review.case", school_id=school.id, assessment_id=shown.assessment.id)
    return render_template(
        "review/alert.html",
        school=school,
        page=shown,
        alert=alert,
        student=shown.student,
        forms=forms,
        problem=problem,
        explained=explained,
        counselor=counselor,
        case_link=case_link,
        opens=alert_services.OPENS,
        note_required=alert_services.NOTE_REQUIRED,
        note_length=alert_services.NOTE_LENGTH,
        checklist_size=len(CHECKLIST),
        now=now,
    )


@bp.post("/schools/<int:school_id>/alerts/<int:alert_id>/steps")
@requires("alerts.view", School)
def record_step(school: School, alert_id: int) -> Any:
    """Record one checklist step from its form: every problem beside its field at once
    and nothing written; done, back to the alert's page with what was done."""
    alert = _alert_of(school, alert_id)
    step = request.form.get("step", "")
    if step not in CHECKLIST:
        return _alert_page(school, alert, problem=_("Choose a step of the checklist."))
    people = assignable(school)
    form = step_form(step, posted=True, people=people, viewer=current_user, due=None)
    form.validate()
    plan = form.plan(people, alert_services.OPENS[step]) if step in alert_services.OPENS else None
    record = alert_services.StepRecord(step, form.note.data or "", plan)
    try:
        if form.errors:
            alert_services.check_step(alert, record)  # its problems beside the form's
            raise alert_services.AlertError({})
        done = alert_services.record_checklist_step(alert, record, current_user)
    except alert_services.AlertError as error:
        add_problems(form, error.problems)
        if "step" in error.problems:
            # Recorded meanwhile, or not acknowledged: said at the top, the form is gone.
            return _alert_page(school, alert, problem=error.problems["step"])
        return _alert_page(school, alert, failed=(step, form))
    said = _("Recorded: %(step)s.", step=checklist_label(step))
    if done.follow_up_id is not None:
        opened = db.session.get(FollowUp, done.follow_up_id)
        said = _(
            "Recorded: %(step)s. Its follow-up is due %(due)s.",
            step=checklist_label(step),
            due=local_text(opened.due_at),
        )
    flash(said)
    return redirect(url_for("review.alert", school_id=school.id, alert_id=alert.id))


@bp.route("/schools/<int:school_id>/alerts/<int:alert_id>/acknowledge", methods=["GET", "POST"])
@requires("alerts.view", School)
def acknowledge_alert(school: School, alert_id: int) -> Any:
    """Acknowledging an alert asks for its first follow-up: what, who (the viewer by
    default), when (SLA_FIRST_CONTACT_HOURS from now), priority red. Both are saved
    together or neither: a form with problems shows them all and writes nothing. Then
    the alert's page, where the checklist goes on."""
    alert = _alert_of(school, alert_id)
    back = url_for("review.alert", school_id=school.id, alert_id=alert.id)
    if alert.acknowledged_at is not None:
        flash(_("This alert was already acknowledged."))
        return redirect(back)
    student = db.session.get(Student, alert.student_id)
    people = assignable(school)
    form = NewFollowUpForm()
    form.set_people(people, current_user)
    if request.method == "POST":
        form.validate()
        plan = form.plan(people)
        try:
            if form.errors:
                check_new(student, plan)  # its problems beside the form's, all at once
                raise FollowUpError({})
            follow_up = alert_services.acknowledge_alert(alert, current_user, plan)
        except FollowUpError as error:
            add_problems(form, error.problems)
        else:
            flash(
                _(
                    "Alert acknowledged. The first follow-up is due %(due)s.",
                    due=local_text(follow_up.due_at),
                )
            )
            return redirect(back)
    else:
        form.priority.data = RED
        form.set_due(first_contact_due(utcnow()))
    record_view(student, 1, alert=alert.id)
    return render_template(
        "review/acknowledge.html",
        school=school,
        alert=alert,
        student=student,
        form=form,
        waited=utcnow() - alert.raised_at,
    )


# The review's other pages add their routes to this blueprint.
from wellbeing.review import model_views, queue_views  # noqa: E402, F401
