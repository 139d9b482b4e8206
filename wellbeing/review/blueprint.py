"""The review's pages: a school's crisis alerts, acknowledging one and working its
checklist. Views check access (@requires), call a service, render; every page that shows
a student's data is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups.forms import NewFollowUpForm, add_problems
from wellbeing.followups.ladder import first_contact_due
from wellbeing.followups.services import FollowUpError, assignable, check_new
from wellbeing.followups.vocabulary import RED
from wellbeing.review import alerts as alert_services
from wellbeing.review import pages
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import School, Student
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import requires

bp = Blueprint("review", __name__)


def _language() -> str:
    return "en" if get_locale().language == "en" else "zh"


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {"alert_items_text": lambda detail: pages.alert_items_text(detail, _language())}


# ----------------------------------------------------------------------------- crisis alerts


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
        "review/alerts.html", school=school, rows=rows, open_count=open_count, now=utcnow()
    )


@bp.route("/schools/<int:school_id>/alerts/<int:alert_id>/acknowledge", methods=["GET", "POST"])
@requires("alerts.view", School)
def acknowledge_alert(school: School, alert_id: int) -> Any:
    """Acknowledging an alert asks for its first follow-up: what, who (the viewer by
    default), when (SLA_FIRST_CONTACT_HOURS from now), priority red. Both are saved
    together or neither: a form with problems shows them all and writes nothing."""
    alert = db.session.get(CrisisAlert, alert_id)
    if alert is None or alert.school_id != school.id:
        abort(404)
    if alert.acknowledged_at is not None:
        flash(_("This alert was already acknowledged."))
        return redirect(url_for("review.alerts", school_id=school.id))
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
            return redirect(url_for("review.alerts", school_id=school.id))
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
