"""The counselor's follow-up pages: 我的随访 (overdue, today, upcoming), the week, one
follow-up with its history and the forms to complete, reassign or cancel it, and opening
one by hand from a student's page. Views check access (@requires), call a service,
render; every page that names students writes one audit row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.clock import from_local, local_text, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import access, ladder, queries, section, services  # noqa: F401 (registered)
from wellbeing.followups import vocabulary as v
from wellbeing.followups.audit_words import (
    KIND_LABELS,
    PRIORITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)
from wellbeing.followups.forms import (
    CancelForm,
    CompleteForm,
    NewFollowUpForm,
    ReassignForm,
    add_problems,
)
from wellbeing.followups.models import FollowUp
from wellbeing.followups.timing import duration_text, late_text
from wellbeing.roster.models import Student
from wellbeing.security.audit import record_view
from wellbeing.security.policy import can, requires

bp = Blueprint("followups", __name__)


@bp.record_once
def template_words(state: Any) -> None:
    """The follow-ups' words for every template, macros included (the alert page and the
    student's page show follow-ups too)."""
    state.app.jinja_env.globals.update(
        follow_up_kinds=KIND_LABELS,
        follow_up_statuses=STATUS_LABELS,
        follow_up_priorities=PRIORITY_LABELS,
        follow_up_sources=SOURCE_LABELS,
        duration_text=duration_text,
        late_text=late_text,
    )


@bp.app_context_processor
def overdue_badge() -> dict[str, int]:
    """The count of the viewer's overdue follow-ups, for the menu's badge."""
    if getattr(current_user, "is_authenticated", False) and can(current_user, "followups.mine"):
        return {"follow_ups_overdue": queries.counts(current_user.id, utcnow())[0]}
    return {"follow_ups_overdue": 0}


# ----------------------------------------------------------------------------- lists


@bp.get("/followups")
@requires("followups.mine")
def mine() -> str:
    now = utcnow()
    sections = queries.mine(current_user.id, now)
    shown = [row for part in (sections.overdue, sections.today, sections.upcoming) for row in part]
    if shown:
        record_view(("user_account", current_user.id), len({row.student.id for row in shown}))
    return render_template("followups/mine.html", sections=sections, now=now)


@bp.get("/followups/week")
@requires("followups.mine")
def week() -> str:
    start = queries.week_start(_day(request.args.get("start")) or local_today())
    days = queries.week(current_user.id, start)
    students = {row.student.id for _day_, rows in days for row in rows}
    if students:
        record_view(("user_account", current_user.id), len(students), week=start.isoformat())
    return render_template(
        "followups/week.html",
        days=days,
        start=start,
        previous=start - timedelta(days=7),
        following=start + timedelta(days=7),
        today=local_today(),
        now=utcnow(),
    )


def _day(text: str | None) -> date | None:
    """A typed YYYY-MM-DD, or None for anything else (the current week is shown)."""
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


# ----------------------------------------------------------------------------- one follow-up


@bp.get("/followups/<int:follow_up_id>")
@requires("followups.view", FollowUp)
def view(follow_up: FollowUp) -> str:
    return _page(follow_up)


def _page(
    follow_up: FollowUp,
    complete: CompleteForm | None = None,
    reassign: ReassignForm | None = None,
    cancel: CancelForm | None = None,
    status: int = 200,
) -> Any:
    student = db.session.get(Student, follow_up.student_id)
    record_view(student, 1, follow_up=follow_up.id)
    now = utcnow()
    people = services.assignable(student.school_class.school)
    complete = complete or CompleteForm(prefix="complete", formdata=None)
    complete.set_next(follow_up.recurrence_days, now)
    reassign = reassign or ReassignForm(prefix="reassign", formdata=None)
    reassign.set_people(people, follow_up.assignee_id)
    cancel = cancel or CancelForm(prefix="cancel", formdata=None)
    earlier, later = queries.chain(follow_up)
    return (
        render_template(
            "followups/view.html",
            follow_up=follow_up,
            student=student,
            earlier=earlier,
            later=later,
            complete=complete,
            reassign=reassign,
            cancel=cancel,
            can_manage=can(current_user, "followups.manage", follow_up),
            is_open=follow_up.status == v.OPEN,
            now=now,
        ),
        status,
    )


@bp.post("/followups/<int:follow_up_id>/complete")
@requires("followups.manage", FollowUp)
def complete(follow_up: FollowUp) -> Any:
    if follow_up.status != v.OPEN:
        return _closed(follow_up)
    form = CompleteForm(prefix="complete")
    form.validate()
    next_due = form.next_due.data if not form.next_due.errors else None
    try:
        if form.errors:
            raise services.FollowUpError({})
        following = services.complete(
            follow_up,
            current_user,
            form.status.data,
            form.outcome.data or "",
            next_due=_utc(next_due),
            stop_repeating=form.stop_repeating.data,
        )
    except services.FollowUpError as error:
        add_problems(form, error.problems)
        return _page(follow_up, complete=form)
    if following is not None:
        flash(_("Completed. The next one is due %(due)s.", due=local_text(following.due_at)))
        return redirect(url_for("followups.view", follow_up_id=following.id))
    flash(_("Completed."))
    return redirect(url_for("followups.view", follow_up_id=follow_up.id))


@bp.post("/followups/<int:follow_up_id>/reassign")
@requires("followups.manage", FollowUp)
def reassign(follow_up: FollowUp) -> Any:
    if follow_up.status != v.OPEN:
        return _closed(follow_up)
    form = ReassignForm(prefix="reassign")
    form.validate()
    student = db.session.get(Student, follow_up.student_id)
    people = services.assignable(student.school_class.school)
    chosen = next((p for p in people if p.id == form.assignee.data), None)
    try:
        services.reassign(follow_up, chosen, current_user)
    except services.FollowUpError as error:
        add_problems(form, error.problems)
        return _page(follow_up, reassign=form)
    flash(_("Given to %(name)s, who has been told.", name=chosen.display_name))
    return redirect(url_for("followups.view", follow_up_id=follow_up.id))


@bp.post("/followups/<int:follow_up_id>/cancel")
@requires("followups.manage", FollowUp)
def cancel(follow_up: FollowUp) -> Any:
    if follow_up.status != v.OPEN:
        return _closed(follow_up)
    form = CancelForm(prefix="cancel")
    form.validate()
    try:
        if form.errors:
            raise services.FollowUpError({})
        services.cancel(follow_up, current_user, form.reason.data or "")
    except services.FollowUpError as error:
        add_problems(form, error.problems)
        return _page(follow_up, cancel=form)
    flash(_("Cancelled."))
    return redirect(url_for("followups.view", follow_up_id=follow_up.id))


def _closed(follow_up: FollowUp) -> Response:
    """A form sent for a follow-up closed meanwhile (another tab, a colleague)."""
    flash(_("This follow-up is already closed."), "error")
    return redirect(url_for("followups.view", follow_up_id=follow_up.id))


# ----------------------------------------------------------------------------- by hand


@bp.route("/students/<int:student_id>/followups/new", methods=["GET", "POST"])
@requires("followups.manage", Student)
def new(student: Student) -> Any:
    """Open a follow-up about a student by hand (not from an alert or a decision)."""
    people = services.assignable(student.school_class.school)
    form = NewFollowUpForm()
    form.set_people(people, current_user)
    if request.method == "POST":
        form.validate()
        plan = form.plan(people)
        try:
            services.check_new(student, plan)
            if form.errors:
                raise services.FollowUpError({})
            follow_up = services.open_follow_up(
                student,
                plan.kind,
                plan.assignee,
                plan.due_at,
                plan.priority,
                v.FROM_COUNSELOR,
                None,
                current_user,
                plan.recurrence_days,
            )
        except services.FollowUpError as error:
            add_problems(form, error.problems)
        else:
            flash(_("Follow-up opened."))
            return redirect(url_for("followups.view", follow_up_id=follow_up.id))
    else:
        form.priority.data = v.ORANGE
        form.set_due(ladder.due_for_priority(v.ORANGE, utcnow()))
    record_view(student, 1)
    return render_template("followups/new.html", form=form, student=student)


def _utc(local: datetime | None) -> datetime | None:
    return from_local(local) if local is not None else None
