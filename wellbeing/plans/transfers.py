"""A plan follows its student through the roster (subscribed to `students_changed`).

After an import, each plan not closed is compared with its student's current school:
  - enrolled in another school of the SAME district: the plan moves there (its scope, so
    the old school loses access at once), with an automatic handover note (sealed), its
    open follow-ups move to the new school's counselors, who are told in their inbox;
  - no longer enrolled (transferred, withdrawn, graduated) or in a school of another
    district: the student has left. This is written once (a LEFT transfer) and the
    school's counselors are told to make the leaving package (packages.py); the plan
    stays with its school until then.
The history (versions, contacts, attachments, referrals) is never touched: it is the
plan's, wherever the plan is. Every transfer is audited ("plan_transfer")."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import assignable
from wellbeing.notifications.services import (
    alert_recipients,
    counselors_of_school,
    link_to,
    tell,
)
from wellbeing.plans import queries
from wellbeing.plans import vocabulary as v
from wellbeing.plans import words as w
from wellbeing.plans.models import GrowthPlan, PlanTransfer
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import School, SchoolClass, Student, StudentStatus
from wellbeing.roster.signals import students_changed
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels

register_labels(
    actions={"plan_transfer": _l("一生一策 file transferred")},
    targets={"growth_plan": _l("一生一策 file"), "plan_package": _l("Leaving package")},
    fields={"from_school": _l("From school"), "to_school": _l("To school")},
    values=w.TRANSFER_LABELS,
)

# What a referral's state means, for the handover note (the state's own date follows).
_REFERRAL_STATE_WORDS = {
    v.SENT: _l("referral sent, not yet confirmed by the hospital"),
    v.RECEIVED: _l("referral received by the hospital, student not yet seen"),
    v.SEEN: _l("student seen by the hospital, feedback awaited"),
    v.FEEDBACK: _l("hospital's feedback received, referral not yet closed"),
}


def has_left(student: Student | None, district_id: int) -> bool:
    """Whether the student is no longer enrolled in the district: not enrolled any more
    (transferred, withdrawn, graduated), gone from the roster, or in another district's
    school."""
    if student is None or student.status != StudentStatus.enrolled.value:
        return True
    return student.school_class.school.district_id != district_id


def follow_students() -> int:
    """Move or mark every open plan whose student has changed school; how many changed."""
    plans = list(
        db.session.scalars(
            select(GrowthPlan).where(GrowthPlan.status.in_(v.OPEN_STATUSES)).order_by(GrowthPlan.id)
        )
    )
    # One read of the students concerned (a plan's student is sealed: opened here).
    wanted = {plan.student_id for plan in plans}
    students = {
        s.id: s
        for s in db.session.scalars(
            select(Student)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.id.in_(wanted))
        )
    }
    changed = 0
    for plan in plans:
        student = students.get(plan.student_id)
        if has_left(student, plan.school.district_id):
            changed += mark_left(plan, student) is not None
        elif student.school_class.school_id != plan.school_id:
            move(plan, student.school_class.school)
            changed += 1
    return changed


@students_changed.connect
def _follow_the_roster(_sender: object) -> tuple[str, int]:
    """A roster import changed students: plans follow moves and departures at once."""
    return "plans", follow_students()


# --------------------------------------------------------------------------- moving


def move(plan: GrowthPlan, to: School) -> PlanTransfer:
    """Move the plan to another school of its district, with a handover note."""
    old = plan.school_id
    transfer = PlanTransfer(
        plan_id=plan.id, kind=v.MOVED_SCHOOL, from_school_id=old, to_school_id=to.id, at=utcnow()
    )
    transfer.note = {"text": handover_note(plan), "by": "system"}
    db.session.add(transfer)
    plan.school_id, plan.updated_at = to.id, utcnow()
    db.session.flush()
    db.session.expire(plan, ["school"])
    moved = _move_follow_ups(plan, old, to)
    record_event(
        "plan_transfer",
        target=plan,
        detail={
            "kind": v.MOVED_SCHOOL,
            "from_school": old,
            "to_school": to.id,
            "follow_ups": moved,
        },
    )
    _tell_arrival(plan, to)
    return transfer


def _in_district_language() -> force_locale:
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def handover_note(plan: GrowthPlan) -> str:
    """The system's handover note, in the district's language: the current version's goals
    and measures, the open referrals and their states, the next review date, how many
    versions the file has."""
    body = queries.current_version(plan).body
    today = local_today().isoformat()
    upcoming = sorted(day for day in body.get("review_dates", []) if day >= today)
    referrals = [r for r in queries.referrals_of(plan) if r.state != v.REFERRAL_CLOSED]
    with _in_district_language():
        lines = [
            _("Handover note written by the system when the file moved with its student."),
            _(
                "The file has %(n)d version(s); this note summarises the current one.",
                n=plan.version,
            ),
            _("Goals:"),
            *(f"- {goal}" for goal in body.get("goals", [])),
            _("Measures:"),
            *(
                f"- {m.get('who', '')}: {m.get('what', '')} ({m.get('how_often', '')})"
                for m in body.get("measures", [])
            ),
            _("Open referrals:"),
            *(
                f"- {r.hospital.name} {r.hospital.department}: "
                f"{_REFERRAL_STATE_WORDS.get(r.state, r.state)}, "
                + _("since %(day)s", day=r.state_since.date().isoformat())
                for r in referrals
            ),
        ]
        if not referrals:
            lines.append("- " + _("none"))
        lines.append(
            _("Next review: %(day)s", day=upcoming[0])
            if upcoming
            else _("Next review: none scheduled; please set one.")
        )
    return "\n".join(lines)


def plan_follow_ups(plan: GrowthPlan, school_id: int) -> list[FollowUp]:
    """The plan's open follow-ups: those opened from the plan for its student (reviews)
    and those that chase its referrals."""
    chasing = {r.follow_up_id for r in queries.referrals_of(plan) if r.follow_up_id}
    candidates = db.session.scalars(
        select(FollowUp).where(FollowUp.school_id == school_id, FollowUp.status == fv.OPEN)
    )
    return [
        f
        for f in candidates
        if f.id in chasing or (f.source == fv.FROM_PLAN and f.student_id == plan.student_id)
    ]


def _move_follow_ups(plan: GrowthPlan, old_school_id: int, to: School) -> int:
    follow_ups = plan_follow_ups(plan, old_school_id)
    people = assignable(to)
    counselors = [p for p in people if p in counselors_of_school(to.id)]
    chosen = (counselors or people or [None])[0]
    for follow_up in follow_ups:
        previous = follow_up.assignee_id
        follow_up.school_id = to.id
        if chosen is not None and follow_up.assignee not in people:
            follow_up.assignee_id, follow_up.reminded_at = chosen.id, None
        record_event(
            "follow_up_reassign",
            target=follow_up,
            detail={"from": previous, "assignee": follow_up.assignee_id},
        )
    db.session.flush()
    return len(follow_ups)


def _plan_link(plan: GrowthPlan) -> str:
    return link_to("plans.view", plan_id=plan.id)


def _tell_arrival(plan: GrowthPlan, to: School) -> None:
    student = db.session.get(Student, plan.student_id)
    with _in_district_language():
        message = _(
            "The 一生一策 file of %(student)s (%(class)s) has moved to %(school)s with its "
            "student: read its handover note.",
            student=student.name,
            school=to.name,
            **{"class": class_name(student.school_class.grade, student.school_class.name)},
        )
        outside = _(
            "%(school)s has received a student's 一生一策 file. Please log in to see it.",
            school=to.name,
        )
    tell(
        alert_recipients(to),
        "plan_transfer",
        message,
        key=f"plan_transfer:{plan.id}:{to.id}:{utcnow().isoformat()}",
        link=_plan_link(plan),
        outside=outside,
        personal=True,
    )


# --------------------------------------------------------------------------- leaving


def left_transfer(plan: GrowthPlan) -> PlanTransfer | None:
    return db.session.scalar(
        select(PlanTransfer).where(PlanTransfer.plan_id == plan.id, PlanTransfer.kind == v.LEFT)
    )


def mark_left(plan: GrowthPlan, student: Student | None) -> PlanTransfer | None:
    """Record once that the plan's student has left the district, and tell the school's
    counselors to make the leaving package. None if it was recorded already."""
    if left_transfer(plan) is not None:
        return None
    elsewhere = None
    if student is not None and student.status == StudentStatus.enrolled.value:
        elsewhere = student.school_class.school_id  # another district's school
    transfer = PlanTransfer(
        plan_id=plan.id,
        kind=v.LEFT,
        from_school_id=plan.school_id,
        to_school_id=elsewhere,
        at=utcnow(),
    )
    with _in_district_language():
        transfer.note = {
            "text": _(
                "The student has left the district. Make the leaving package of this file "
                "and deliver its password separately; the file is closed when it is made."
            ),
            "by": "system",
        }
    db.session.add(transfer)
    db.session.flush()
    record_event(
        "plan_transfer",
        target=plan,
        detail={"kind": v.LEFT, "from_school": plan.school_id, "to_school": elsewhere},
    )
    _tell_leaving(plan, student)
    return transfer


def _tell_leaving(plan: GrowthPlan, student: Student | None) -> None:
    school = plan.school
    with _in_district_language():
        message = _(
            "%(student)s has left the district: make the leaving package of their 一生一策 "
            "file (an encrypted file whose password you deliver separately).",
            student=student.name if student is not None else _("A student"),
        )
        outside = _(
            "A student's 一生一策 file at %(school)s needs its leaving package. Please log in.",
            school=school.name,
        )
    tell(
        alert_recipients(school),
        "plan_transfer",
        message,
        key=f"plan_left:{plan.id}",
        link=_plan_link(plan),
        outside=outside,
        personal=True,
    )
