"""The counselors' incoming observations: a school's list (waiting ones first, by
deadline, then those acknowledged in recent weeks), one observation's page, and
acknowledging it, optionally with an observation check opened from it. Every page is
audited; who reported is shown to the school's counselors and the district's
administrators (who receive a school's observations when it has no counselor), never to
head teachers or 心理委员, who cannot reach these pages."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField

from wellbeing.clock import from_local, local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.forms import NewFollowUpForm, add_problems
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import FollowUpError, NewFollowUp, assignable
from wellbeing.observations import (
    incoming,
    incoming_words,
    section,  # noqa: F401  (the student's page's section: registered)
)
from wellbeing.observations.blueprint import bp
from wellbeing.observations.models import Observation
from wellbeing.observations.words import CERTAINTY_LABELS, REPORTER_LABELS, SIGN_LABELS
from wellbeing.roster.models import School, Student, User
from wellbeing.security.audit import record_view
from wellbeing.security.policy import can, requires

FOLLOW_UP_FIELDS = ("assignee", "due_at", "priority", "recurrence_days")


@bp.record_once
def observation_words(state: Any) -> None:
    """The observations' words for every template, macros included (the student's page
    lists observations too)."""
    state.app.jinja_env.globals.update(
        observation_signs=SIGN_LABELS,
        observation_certainties=CERTAINTY_LABELS,
        observation_reporters=REPORTER_LABELS,
        observation_statuses=incoming_words.STATUS_LABELS,
    )


# The endpoint keeps the placeholder's name, which the urgent channel's messages link to.
@bp.get("/schools/<int:school_id>/observations", endpoint="incoming")
@requires("observations.incoming", School)
def incoming_page(school: School) -> str:
    now = utcnow()
    rows = incoming.incoming(school.id, now)
    students = {row.student.id for row in rows if row.student is not None}
    record_view(school, len(students))
    return render_template(
        "observations/incoming.html",
        school=school,
        rows=rows,
        waiting=incoming.waiting_counts([school.id], now)[school.id],
        show_reporter=can(current_user, "observations.reporter", school),
        weeks=incoming.ACKNOWLEDGED_WEEKS,
    )


class AcknowledgeForm(NewFollowUpForm):
    """Acknowledging: nothing more, or with an observation check (who, when, priority,
    how often) saved together with it. What to do is always an observation check."""

    kind = None  # always OBSERVATION_CHECK
    with_follow_up = BooleanField(_l("Also open a follow-up (an observation check)"))

    def follow_up(self, people: list[User]) -> NewFollowUp | None:
        """The follow-up asked for, or None (its fields' problems are then dropped)."""
        if not self.with_follow_up.data:
            for name in FOLLOW_UP_FIELDS:
                self[name].errors = []
            return None
        chosen = next((p for p in people if p.id == self.assignee.data), None)
        due = self.due_at.data
        return NewFollowUp(
            kind=fv.OBSERVATION_CHECK,
            assignee=chosen,
            due_at=from_local(due) if due is not None and not self.due_at.errors else None,
            priority=self.priority.data or "",
            recurrence_days=None if self.recurrence_days.errors else self.recurrence_days.data,
        )


def _form(observation: Observation) -> tuple[AcknowledgeForm, list[User]]:
    """The form, its people the school's; the first view suggests red for an urgent
    observation, orange otherwise, due as the ladder says for that priority."""
    people = assignable(db.session.get(School, observation.school_id))
    form = AcknowledgeForm()
    form.set_people(people, current_user)
    if not form.is_submitted():
        priority = fv.RED if observation.urgent else fv.ORANGE
        form.priority.data = priority
        form.set_due(ladder.due_for_priority(priority, utcnow()))
    return form, people


def _observation_page(observation: Observation, form: AcknowledgeForm) -> str:
    now = utcnow()
    student = db.session.get(Student, observation.student_id)
    school = db.session.get(School, observation.school_id)
    # One row naming the student (as the student's own page would), the observation in
    # its detail; when the student's record is gone, the class's page view instead.
    if student is not None:
        record_view(student, 1, observation=observation.id)
    else:
        record_view(observation.school_class, 0, observation=observation.id)
    follow_up = (
        db.session.get(FollowUp, observation.follow_up_id) if observation.follow_up_id else None
    )
    return render_template(
        "observations/observation.html",
        school=school,
        observation=observation,
        student=student,
        status=incoming.status(observation, now),
        follow_up=follow_up,
        form=form,
        show_reporter=can(current_user, "observations.reporter", observation),
        can_acknowledge=can(current_user, "observations.acknowledge", observation),
        can_see_student=student is not None and can(current_user, "roster.view_student", student),
        now=now,
    )


@bp.get("/observations/<int:observation_id>")
@requires("observations.view", Observation)
def view(observation: Observation) -> str:
    form, _people = _form(observation)
    return _observation_page(observation, form)


@bp.post("/observations/<int:observation_id>/acknowledge")
@requires("observations.acknowledge", Observation)
def acknowledge(observation: Observation) -> Response | str:
    """Acknowledge, with or without a follow-up. Every problem shows beside its field at
    once and nothing is written; done (or done before), back to the page (PRG)."""
    back = url_for("observations.view", observation_id=observation.id)
    if observation.acknowledged_at is not None:
        flash(_("This observation was already acknowledged. Nothing was changed."))
        return redirect(back)
    form, people = _form(observation)
    form.validate()
    plan = form.follow_up(people)
    try:
        if form.errors:
            incoming.check_acknowledge(observation, plan)  # its problems beside the form's
            raise FollowUpError({})
        done, follow_up = incoming.acknowledge(observation, current_user, plan, utcnow())
    except FollowUpError as error:
        add_problems(form, error.problems)
        return _observation_page(observation, form)
    if not done:
        flash(_("This observation was already acknowledged. Nothing was changed."))
    elif follow_up is not None:
        flash(
            _(
                "Observation acknowledged. Its follow-up is due %(due)s.",
                due=local_text(follow_up.due_at),
            )
        )
    else:
        flash(_("Observation acknowledged."))
    return redirect(back)
