"""The file's own pages: the school's list, opening a file, the plan page (current
version, timeline, the parts others add, who viewed it), amendments, versions and their
signing and printing, status and closing, and the head teacher's care view.

Views check access (@requires), call a service, render. Every page that shows a plan is
audited with the plan as its target ("view_sensitive"; the print as an "export"); a read
under break-glass names its grant, and the file's counselors see every such row."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.paging import paginate, paginate_query
from wellbeing.plans import queries
from wellbeing.plans import vocabulary as v
from wellbeing.plans import words as w
from wellbeing.plans.blueprint import bp
from wellbeing.plans.forms import body_from_form, form_rows, typed_date
from wellbeing.plans.models import GrowthPlan, PlanVersion, Referral
from wellbeing.plans.services import (
    PlanError,
    amend,
    care_measures,
    check_body,
    close_plan,
    counselors_of,
    empty_body,
    head_teachers_of,
    open_plan,
    set_status,
    sign_version,
    student_of,
)
from wellbeing.plans.timeline import next_review, timeline
from wellbeing.review.models import CrisisAlert, RiskAssessment
from wellbeing.roster.models import School, Student, User
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.models import AuditEvent
from wellbeing.security.policy import (
    active_break_glass_grant,
    break_glass_student,
    can,
    requires,
)
from wellbeing.security.reauth import fresh_auth_required

LIST_PAGE = 50
TIMELINE_PAGE = 30
VIEWERS_PAGE = 20
# The list's filters: the open files (the default), one status, or all.
FILTERS = ("open", *v.STATUSES, "all")
# What "who viewed" lists: the reads and exports of the file.
READS = ("view_sensitive", "export")


@bp.context_processor
def plan_words() -> dict[str, Any]:
    return {
        "plan_statuses": w.STATUS_LABELS,
        "close_reasons": w.CLOSE_REASON_LABELS,
        "plan_sources": w.SOURCE_LABELS,
        "measure_owners": w.OWNER_LABELS,
        "referral_states": w.REFERRAL_STATE_LABELS,
        "contact_methods": w.CONTACT_METHOD_LABELS,
        "transfer_kinds": w.TRANSFER_LABELS,
        "plan_vocabulary": v,
    }


def _grant_id(plan: GrowthPlan) -> int | None:
    """The break-glass grant a read of the plan rests on (None for its own counselors)."""
    if can(current_user, "plans.write", plan):
        return None
    student = break_glass_student(current_user, plan)
    grant = active_break_glass_grant(current_user, student) if student else None
    return grant.id if grant else None


def _audit_read(plan: GrowthPlan, action: str = "view_sensitive", **detail: Any) -> int | None:
    grant_id = _grant_id(plan)
    if grant_id:
        detail["break_glass_grant"] = grant_id
    record_event(action, target=plan, detail={"page": request.endpoint, **detail})
    return grant_id


def _plan_student(plan: GrowthPlan) -> Student:
    student = student_of(plan)
    if student is None:
        abort(404)
    return student


# ------------------------------------------------------------------------------ the list


@bp.get("/schools/<int:school_id>/plans")
@requires("plans.list", School)
def school_plans(school: School) -> str:
    chosen = request.args.get("status", "open")
    chosen = chosen if chosen in FILTERS else "open"
    statuses = {"open": v.OPEN_STATUSES, "all": v.STATUSES}.get(chosen, (chosen,))
    plans = paginate(queries.plans_of_school(school.id, statuses), per_page=LIST_PAGE)
    ids = [plan.id for plan in plans]
    referrals = dict(
        db.session.execute(
            select(Referral.plan_id, func.count())
            .where(Referral.plan_id.in_(ids), Referral.state != v.REFERRAL_CLOSED)
            .group_by(Referral.plan_id)
        ).all()
    )
    today = local_today()
    rows = []
    for plan in plans:
        version = queries.current_version(plan)
        rows.append(
            {
                "plan": plan,
                "student": student_of(plan),
                "next_review": next_review(version.body, today) if version else None,
                "referrals": referrals.get(plan.id, 0),
            }
        )
    record_view(school, len(rows), status=chosen)
    return render_template(
        "plans/list.html",
        school=school,
        plans=plans,
        rows=rows,
        chosen=chosen,
        filters=FILTERS,
    )


# ---------------------------------------------------------------------------- opening


def _source(student: Student) -> tuple[str, int | None]:
    """Where the file is opened from: a review case or a crisis alert about this student
    (anything else, or another student's, reads as the counselor's own)."""
    source = request.values.get("source", "")
    raw = request.values.get("source_id", "")
    ident = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    model = {v.FROM_REVIEW: RiskAssessment, v.FROM_ALERT: CrisisAlert}.get(source)
    if model is None or ident is None:
        return v.FROM_COUNSELOR, None
    found = db.session.get(model, ident)
    if found is None or found.student_id != student.id:
        return v.FROM_COUNSELOR, None
    return source, ident


def _people(student: Student) -> dict[str, list[User]]:
    return {
        "counselors": counselors_of(student.school_class.school_id),
        "head_teachers": head_teachers_of(student),
    }


def _first_body(student: Student, people: dict[str, list[User]]) -> dict[str, Any]:
    """A new file's form: the opener as counselor, the class's head teacher, the first
    guardian."""
    body = empty_body()
    counselors = [user.id for user in people["counselors"]]
    head_teachers = people["head_teachers"]
    guardian = student.guardians[0] if student.guardians else None
    body["responsible"] = {
        "counselor_id": current_user.id if current_user.id in counselors else None,
        "head_teacher_id": head_teachers[0].id if len(head_teachers) == 1 else None,
        "guardian": f"{guardian.relation} {guardian.name}".strip() if guardian else "",
    }
    return body


def _form_page(template: str, student: Student, body: dict, errors: dict, **extra: Any) -> str:
    return render_template(
        template,
        student=student,
        body=body,
        rows=form_rows(body),
        errors=errors,
        **_people(student),
        **extra,
    )


@bp.route("/students/<int:student_id>/plan/new", methods=["GET", "POST"], endpoint="new")
@requires("plans.write", Student)
def new_plan(student: Student) -> str | Response:
    existing = queries.plan_of_student(student)
    if existing is not None:
        flash(_("This student already has an open 一生一策 file."), "info")
        return redirect(url_for("plans.view", plan_id=existing.id))
    source, source_id = _source(student)
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = body_from_form(request.form)
        try:
            if errors:  # the service's problems beside the refused text, all at once
                check_body(student, body)
                raise PlanError({})
            plan = open_plan(student, current_user, body, source, source_id)
        except PlanError as error:
            errors = {**error.problems, **errors}
        else:
            flash(_("The 一生一策 file has been opened."), "info")
            return redirect(url_for("plans.view", plan_id=plan.id))
    else:
        body = _first_body(student, _people(student))
    record_view(student, 1)
    return _form_page("plans/new.html", student, body, errors, source=source, source_id=source_id)


# ------------------------------------------------------------------------- the plan page


def _viewers(plan: GrowthPlan) -> Any:
    """Who viewed the file: the reads and exports whose target it is, newest first."""
    rows = paginate_query(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == GrowthPlan.__tablename__,
            AuditEvent.target_id == str(plan.id),
            AuditEvent.action.in_(READS),
        )
        .order_by(AuditEvent.id.desc()),
        per_page=VIEWERS_PAGE,
        param="viewers_page",
        anchor="viewers",
    )
    shown = []
    for event in rows:
        detail = json.loads(event.detail) if event.detail else {}
        shown.append(
            {
                "event": event,
                "user": db.session.get(User, event.user_id) if event.user_id else None,
                "break_glass": detail.get("break_glass_grant"),
                "export": event.action == "export",
            }
        )
    return rows, shown


def _plan_page(plan: GrowthPlan, problems: dict[str, str] | None = None) -> str:
    student = _plan_student(plan)
    version = queries.current_version(plan)
    grant_id = _audit_read(plan, version=plan.version)
    can_write = can(current_user, "plans.write", plan)
    viewers, viewer_rows = _viewers(plan) if can_write else (None, [])
    parts = queries.parts_of(plan)
    entries = paginate(
        timeline(plan, student, parts, grant_id),
        per_page=TIMELINE_PAGE,
        param="timeline_page",
        anchor="timeline",
    )
    body = version.body
    return render_template(
        "plans/view.html",
        plan=plan,
        student=student,
        version=version,
        body=body,
        people=_responsible(body),
        entries=entries,
        contacts=parts.contacts,
        attachments=parts.attachments,
        referrals=parts.referrals,
        transfers=parts.transfers,
        can_write=can_write,
        can_export=can(current_user, "plans.export", plan),
        break_glass=grant_id,
        viewers=viewers,
        viewer_rows=viewer_rows,
        problems=problems or {},
        next_review=next_review(body, local_today()),
    )


def _responsible(body: dict) -> dict[str, User | None]:
    responsible = body.get("responsible") or {}
    return {
        key: db.session.get(User, responsible[key]) if responsible.get(key) else None
        for key in ("counselor_id", "head_teacher_id")
    }


@bp.get("/plans/<int:plan_id>", endpoint="view")
@requires("plans.read", GrowthPlan)
def view_plan(plan: GrowthPlan) -> str:
    return _plan_page(plan)


@bp.route("/plans/<int:plan_id>/amend", methods=["GET", "POST"], endpoint="amend")
@requires("plans.write", GrowthPlan)
def amend_plan(plan: GrowthPlan) -> str | Response:
    student = _plan_student(plan)
    if plan.status == v.CLOSED:
        flash(_("This 一生一策 file is closed."), "error")
        return redirect(url_for("plans.view", plan_id=plan.id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = body_from_form(request.form)
        try:
            if errors:
                previous = queries.current_version(plan).body
                check_body(student, body, previous=previous, amendment=True)
                raise PlanError({})
            version = amend(plan, current_user, body)
        except PlanError as error:
            errors = {**error.problems, **errors}
        else:
            flash(_("Version %(n)d has been saved.", n=version.number), "info")
            return redirect(url_for("plans.view", plan_id=plan.id))
    else:
        body = {**queries.current_version(plan).body, "change": ""}
    _audit_read(plan, version=plan.version)
    return _form_page("plans/amend.html", student, body, errors, plan=plan)


# ------------------------------------------------------------------------------ versions


def _version(plan: GrowthPlan, number: int) -> PlanVersion:
    version = db.session.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
    )
    if version is None:
        abort(404)
    return version


def _version_page(
    plan: GrowthPlan, version: PlanVersion, problems: dict[str, str] | None = None
) -> str:
    student = _plan_student(plan)
    _audit_read(plan, version=version.number)
    can_write = can(current_user, "plans.write", plan)
    return render_template(
        "plans/version.html",
        plan=plan,
        student=student,
        version=version,
        body=version.body,
        people=_responsible(version.body),
        versions=queries.versions_of(plan),
        can_write=can_write,
        can_sign=can_write
        and version.signed_at is None
        and version.number == plan.version
        and plan.status != v.CLOSED,
        can_export=can(current_user, "plans.export", plan),
        problems=problems or {},
        today=local_today().isoformat(),
    )


@bp.get("/plans/<int:plan_id>/versions/<int:number>", endpoint="version")
@requires("plans.read", GrowthPlan)
def version_page(plan: GrowthPlan, number: int) -> str:
    return _version_page(plan, _version(plan, number))


@bp.post("/plans/<int:plan_id>/versions/<int:number>/sign", endpoint="sign")
@requires("plans.write", GrowthPlan)
def sign(plan: GrowthPlan, number: int) -> str | Response:
    version = _version(plan, number)
    try:
        sign_version(
            version,
            current_user,
            typed_date(request.form.get("meeting_date", "")),
            request.form.get("attendees", ""),
        )
    except PlanError as error:
        return _version_page(plan, version, error.problems)
    flash(_("Version %(n)d is signed and locked.", n=version.number), "info")
    return redirect(url_for("plans.version", plan_id=plan.id, number=version.number))


@bp.get("/plans/<int:plan_id>/versions/<int:number>/print", endpoint="print_version")
@requires("plans.export", GrowthPlan)
@fresh_auth_required
def print_version(plan: GrowthPlan, number: int) -> str:
    version = _version(plan, number)
    student = _plan_student(plan)
    _audit_read(plan, "export", kind="plan_print", version=version.number)
    # The printed file is in Chinese whatever the reader's language.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return render_template(
            "plans/print.html",
            plan=plan,
            student=student,
            version=version,
            body=version.body,
            people=_responsible(version.body),
            signer=db.session.get(User, version.signed_by_id) if version.signed_by_id else None,
            now=utcnow(),
        )


# --------------------------------------------------------------------- status, closing


@bp.post("/plans/<int:plan_id>/status", endpoint="set_status")
@requires("plans.write", GrowthPlan)
def change_status(plan: GrowthPlan) -> Response:
    status = request.form.get("status", "")
    try:
        set_status(plan, status, current_user)
    except PlanError as error:
        for message in error.problems.values():
            flash(message, "error")
    else:
        flash(_("The file is now: %(status)s.", status=w.label(w.STATUS_LABELS, status)), "info")
    return redirect(url_for("plans.view", plan_id=plan.id))


@bp.post("/plans/<int:plan_id>/close", endpoint="close")
@requires("plans.write", GrowthPlan)
def close(plan: GrowthPlan) -> str | Response:
    text = request.form.get("text", "")
    try:
        close_plan(plan, current_user, request.form.get("reason", ""), text)
    except PlanError as error:
        return _plan_page(
            plan, {f"close_{key}": message for key, message in error.problems.items()}
        )
    flash(_("The 一生一策 file has been closed."), "info")
    return redirect(url_for("plans.view", plan_id=plan.id))


# ---------------------------------------------------------------------- the care view


@bp.get("/plans/<int:plan_id>/care", endpoint="care")
@requires("plans.care", GrowthPlan)
def care(plan: GrowthPlan) -> str:
    student = _plan_student(plan)
    measures = care_measures(plan) if plan.status != v.CLOSED else []
    record_event(
        "view_sensitive",
        target=plan,
        detail={"page": request.endpoint, "measures": len(measures)},
    )
    return render_template(
        "plans/care.html",
        plan=plan,
        student=student,
        measures=measures,
        closed=plan.status == v.CLOSED,
    )


# ------------------------------------------------------------------ links from elsewhere


@bp.app_template_global("plan_file_link")
def plan_file_link(student: Student, source: str = "", source_id: int | None = None) -> Markup:
    """For the review case and the crisis alert pages: the student's open file, or a
    link to open one from here (the school's counselors only; nothing for others)."""
    if not can(current_user, "plans.write", student):
        return Markup("")
    plan = queries.plan_of_student(student)
    if plan is not None:
        return Markup(
            render_template("plans/_file_link.html", plan=plan, student=student, new_url=None)
        )
    args = {"source": source, "source_id": source_id} if source and source_id else {}
    new_url = url_for("plans.new", student_id=student.id, **args)
    return Markup(
        render_template("plans/_file_link.html", plan=None, student=student, new_url=new_url)
    )
