"""Referrals of a 一生一策 file: a new one (the minimum-necessary sheet and the district's
active partner hospitals), one referral's page (its states with their dates, the
hospital's feedback, the form to move it on), and its printable Chinese sheet (a fresh
password first; only what the hospital needs). Every page names the student and is
audited by the plan; the sheet as an export."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.plans import referrals
from wellbeing.plans.access import student_of
from wellbeing.plans.blueprint import bp
from wellbeing.plans.contacts import PartError
from wellbeing.plans.hospitals import active_hospitals
from wellbeing.plans.models import GrowthPlan, Referral
from wellbeing.plans.parts_views import plan_url
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import (
    active_break_glass_grant,
    break_glass_student,
    can,
    register_break_glass,
    requires,
)
from wellbeing.security.reauth import fresh_auth_required
from wellbeing.text_input import TextFields

SHEET_FIELDS = ("hospital", "reason", "urgency", "observations", "contact", "consent", "sent_on")
ADVANCE_FIELDS = ("state", "on", "note", "feedback")
MULTILINE = {"reason", "observations", "note", "feedback"}


def _read(names: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    fields = TextFields(request.form)
    values = {name: fields.get(name, multiline=name in MULTILINE) for name in names}
    return values, fields.errors


def _viewed(plan: GrowthPlan, action: str = "view_sensitive", **detail: Any) -> None:
    """One audit row naming the plan; a read under break-glass names its grant."""
    student = break_glass_student(current_user, plan)
    if student is not None:
        detail["break_glass_grant"] = active_break_glass_grant(current_user, student).id
    record_event(action, target=plan, detail={"page": request.endpoint, **detail})


def _student_of_referral(referral: Referral) -> Student | None:
    return student_of(db.session.get(GrowthPlan, referral.plan_id))


# A break-glass grant on the student opens the referral's page as it opens the plan's.
register_break_glass("plans.read", Referral, _student_of_referral)


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def age_on(student: Student, day: date) -> int | None:
    born = student.birth_date
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# ----------------------------------------------------------------------------- new


@bp.route("/plans/<int:plan_id>/referrals/new", methods=["GET", "POST"])
@requires("plans.write", GrowthPlan)
def new_referral(plan: GrowthPlan) -> Any:
    student = student_of(plan)
    values = {"urgency": referrals.ROUTINE, "sent_on": local_today().isoformat()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _read(SHEET_FIELDS)
        try:
            if errors:
                raise PartError({})
            referral = referrals.send_referral(
                plan,
                current_user,
                hospital_id=_number(values.pop("hospital")),
                **values,
            )
        except PartError as error:
            errors = {**error.problems, **errors}
        else:
            return redirect(url_for("plans.referral", referral_id=referral.id), code=303)
    _viewed(plan)
    return render_template(
        "plans/referral_new.html",
        plan=plan,
        student=student,
        hospitals=active_hospitals(referrals.district_of(plan)),
        urgencies=referrals.URGENCY_LABELS,
        values=values,
        errors=errors,
    )


# ----------------------------------------------------------------------------- one referral


def _page(referral: Referral, values: dict[str, str] | None = None, errors=None) -> Any:
    plan = db.session.get(GrowthPlan, referral.plan_id)
    authors = {entry.get("by") for entry in referral.history}
    people = {
        user.id: user.display_name
        for user in db.session.scalars(select(User).where(User.id.in_(authors)))
    }
    _viewed(plan, referral=referral.id)
    allowed = referrals.allowed_states(referral)
    return render_template(
        "plans/referral.html",
        referral=referral,
        plan=plan,
        student=student_of(plan),
        sheet=referral.sheet,
        history=referral.history,
        feedback=referral.feedback,
        people=people,
        states=referrals.STATE_LABELS,
        urgencies=referrals.URGENCY_LABELS,
        allowed=allowed,
        chasing=referrals.chasing(referral),
        can_write=can(current_user, "plans.write", referral),
        can_export=can(current_user, "plans.export", referral),
        values=values or {"state": allowed[0] if allowed else "", "on": local_today().isoformat()},
        errors=errors or {},
    )


@bp.get("/referrals/<int:referral_id>")
@requires("plans.read", Referral)
def referral(item: Referral) -> Any:
    return _page(item)


@bp.post("/referrals/<int:referral_id>/state")
@requires("plans.write", Referral)
def advance_referral(item: Referral) -> Any:
    values, errors = _read(ADVANCE_FIELDS)
    try:
        if errors:
            raise PartError({})
        referrals.advance(item, current_user, **values)
    except PartError as error:
        return _page(item, values, {**error.problems, **errors})
    return redirect(plan_url(item.plan_id, "referrals"), code=303)


# ----------------------------------------------------------------------------- the sheet


@bp.get("/referrals/<int:referral_id>/sheet")
@requires("plans.export", Referral)
@fresh_auth_required
def referral_sheet(item: Referral) -> Any:
    plan = db.session.get(GrowthPlan, item.plan_id)
    student = student_of(plan)
    _viewed(plan, "export", what="referral_sheet", referral=item.id)
    with force_locale("zh_Hans_CN"):  # the sheet is for a Chinese hospital, in Chinese
        return render_template(
            "plans/referral_sheet.html",
            referral=item,
            student=student,
            age=age_on(student, local_today()),
            sheet=item.sheet,
            sent_on=item.history[0]["on"],
            urgencies=referrals.URGENCY_LABELS,
        )


register_labels(
    values={
        "plans.new_referral": _l("A new referral of a 一生一策 file"),
        "plans.referral": _l("A referral of a 一生一策 file"),
        "plans.referral_sheet": _l("A referral sheet (print)"),
        "referral_sheet": _l("Referral sheet"),
    },
)
