"""The review queue and a case's page: flagged students by tier and waiting time, and one
student's answers, scores, explanation, history and decisions, with the decision form.
Views check access (@requires), call a service, render; both pages are audited."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.audit_words import KIND_LABELS
from wellbeing.followups.forms import LOCAL_FORMATS, NewFollowUpForm, add_problems
from wellbeing.followups.services import assignable
from wellbeing.review import queue, section
from wellbeing.review import vocabulary as v
from wellbeing.review.blueprint import bp
from wellbeing.review.decisions import (
    OPENS_FOLLOW_UP,
    REASON_LENGTH,
    Decision,
    ReviewError,
    check,
    decide,
    priority_of,
)
from wellbeing.review.models import RiskAssessment
from wellbeing.review.words import DECISION_NAMES, STATE_NAMES, TIER_NAMES, tier_name
from wellbeing.roster.models import School, Student
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import can, requires

__all__ = ["bp"]

FOLLOW_UP_FIELDS = ("kind", "assignee", "due_at", "priority", "recurrence_days")


def _language() -> str:
    return "en" if get_locale().language == "en" else "zh"


@bp.context_processor
def review_words() -> dict[str, Any]:
    return {
        "tier_name": tier_name,
        "state_name": lambda state: str(STATE_NAMES.get(state, state or "")),
        "decision_name": lambda action: str(DECISION_NAMES.get(action, action)),
    }


# ----------------------------------------------------------------------------- the queue


@bp.get("/schools/<int:school_id>/review", endpoint="queue")
@requires("review.queue", School)
def queue_page(school: School) -> str:
    filters = queue.Filters.from_args(request.args)
    shown = queue.school_queue(school, filters, current_user, _language())
    # Counts, never names: the page's cases are the school's, the row says how many.
    record_event(
        "view_sensitive",
        target=school,
        detail={"cases": shown.rows.total, "shown": len(shown.rows), "page": shown.rows.number},
    )
    return render_template(
        "review/queue.html",
        school=school,
        queue=shown,
        tiers=v.FLAGGED,
        state_choices=queue.STATE_CHOICES,
        filter_url=lambda **changes: _filter_url(school, **changes),
        panels=[html for panel in section.QUEUE_PANELS if (html := panel(school))],
    )


def _filter_url(school: School, **changes: str) -> str:
    """The queue with the current filters but these (from the first page)."""
    args = {k: v_ for k, v_ in request.args.items() if k != "page"} | changes
    return url_for("review.queue", school_id=school.id, **args)


# ----------------------------------------------------------------------------- a case


class DecisionForm(NewFollowUpForm):
    """Every decision in one form: what was decided, the new tier (to change it), the
    reason (to change the tier or close), and who follows it up and when (for the
    decisions that open a follow-up: the interview, another follow-up, the guardian,
    the referral). The rules are the decision service's, shown beside these fields."""

    action = RadioField(
        _l("Decision"),
        choices=[SelectChoice(key, label) for key, label in DECISION_NAMES.items()],
        validate_choice=False,
    )
    tier = SelectField(
        _l("New tier (to change it)"),
        choices=[SelectChoice("", _l("Choose a tier"))]
        + [SelectChoice(key, label) for key, label in TIER_NAMES.items()],
        validate_choice=False,
    )
    reason = TextAreaField(
        _l("Reason (required to change the tier or close the case)"),
        validators=[
            Length(max=REASON_LENGTH, message=_l("At most %(n)d characters.", n=REASON_LENGTH))
        ],
    )
    kind = SelectField(
        _l("What to do (for another follow-up)"),
        choices=[SelectChoice(key, label) for key, label in KIND_LABELS.items()],
        default=fv.RESCREEN,
        validate_choice=False,
    )
    # Asked only of the decisions that open a follow-up (the service says so if missing).
    due_at = DateTimeLocalField(
        _l("Follow-up due (China time)"), format=LOCAL_FORMATS, validators=[Optional()]
    )

    def decision(self, people: list) -> Decision:
        """What was asked; the fields a decision does not use are left out, with their
        problems."""
        action = self.action.data or ""
        if action not in OPENS_FOLLOW_UP:
            for name in FOLLOW_UP_FIELDS:
                self[name].errors = []
        return Decision(
            action=action,
            tier=(self.tier.data or None) if action == v.CHANGE_TIER else None,
            reason=self.reason.data or "",
            follow_up=self.plan(people) if action in OPENS_FOLLOW_UP else None,
        )


def _assessment(school: School, assessment_id: int) -> RiskAssessment:
    """The school's assessment, with a case; 404 for another school's or one without."""
    assessment = db.session.get(RiskAssessment, assessment_id)
    if assessment is None or assessment.school_id != school.id:
        abort(404)
    return assessment


def _form(school: School, assessment: RiskAssessment) -> tuple[DecisionForm, list]:
    people = assignable(school)
    form = DecisionForm()
    form.set_people(people, current_user)
    if request.method == "GET":
        priority = priority_of(assessment.current_tier)
        form.priority.data = priority
        form.set_due(ladder.due_for_priority(priority, utcnow()))
    return form, people


def _case_page(school: School, assessment: RiskAssessment, form: DecisionForm) -> str:
    language = _language()
    student = db.session.get(Student, assessment.student_id)
    results = queue.sitting_results(assessment, language)
    # The answers were opened: one row for this page view, naming the student.
    record_view(student, 1, assessment=assessment.id)
    contributions, rule = queue.explanation_rows(assessment, language)
    history = queue.history(student.id, lambda s: can(current_user, "review.case", s))
    decisions = queue.decisions_of(assessment)
    health = (
        queue.health_summary(student) if can(current_user, "health.view_student", student) else None
    )
    return render_template(
        "review/case.html",
        school=school,
        assessment=assessment,
        status=assessment.status,
        student=student,
        campaign=assessment.campaign,
        results=results,
        contributions=contributions,
        total=sum(c.points for c in contributions),
        rule=rule,
        history=history,
        chart=queue.trend_chart(history) if len(history) > 1 else None,
        decisions=decisions,
        follow_ups=queue.follow_ups_of(decisions),
        health=health,
        can_health=can(current_user, "health.view_student", student),
        sections=[html for part in section.CASE_SECTIONS if (html := part(student))],
        form=form,
        can_decide=can(current_user, "review.decide", school),
        thresholds=queue.model_thresholds(assessment.model_version),
        now=utcnow(),
    )


@bp.get("/schools/<int:school_id>/review/<int:assessment_id>")
@requires("review.case", School)
def case(school: School, assessment_id: int) -> str:
    assessment = _assessment(school, assessment_id)
    form, _people = _form(school, assessment)
    return _case_page(school, assessment, form)


@bp.post("/schools/<int:school_id>/review/<int:assessment_id>/decide", endpoint="decide")
@requires("review.decide", School)
def decide_case(school: School, assessment_id: int) -> Any:
    """Record a decision. Every problem (the form's and the service's) shows beside its
    field at once, and nothing is written; on success, back to the case (PRG)."""
    assessment = _assessment(school, assessment_id)
    form, people = _form(school, assessment)
    form.validate()
    decision = form.decision(people)
    try:
        check(assessment, decision)  # its problems beside the form's, all at once
        if form.errors:
            raise ReviewError({})
        decide(assessment, decision, current_user)
    except ReviewError as error:
        add_problems(form, error.problems)
        return _case_page(school, assessment, form)
    flash(_("Decision recorded: %(decision)s.", decision=DECISION_NAMES[decision.action]))
    return redirect(url_for("review.case", school_id=school.id, assessment_id=assessment.id))
