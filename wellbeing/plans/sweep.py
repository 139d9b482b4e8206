"""The referral SLA sweep (job `plans.referral_sweep`, in `wellbeing scheduler sweep`
before the follow-ups' own sweep): a referral that has stayed in a state longer than
PLAN_REFERRAL_SLA_DAYS[state] without an open follow-up chasing it gets one (a red
REFERRAL_CHECK, due now, for a counselor of the plan's school). The follow-ups' sweep,
which runs next, then reminds its assignee and escalates it up the SLA ladder; moving
the referral on completes it (referrals.advance).

It finds the late referrals from clear columns (state, state_since, the follow-up's
status) with one indexed query, and opens a sealed field only for the late ones (whom the
plan is about, its responsible counselor). Each run is one transaction: a referral that
was given a follow-up is not given another while that one is open."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import services as followups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.plans import queries
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan, Referral
from wellbeing.roster.models import RoleAssignment, Student, User
from wellbeing.scheduler.registry import Job, register_job
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels

FOLLOW_UPS_SWEEP_ORDER = 10  # followups.sweep's: this sweep must run before it


def sla_days() -> dict[str, int]:
    """Days a referral may stay in each state (the settings over the vocabulary's)."""
    configured = current_app.config.get("PLAN_REFERRAL_SLA_DAYS") or {}
    return {**v.REFERRAL_SLA_DAYS, **{k: int(d) for k, d in configured.items()}}


def late_referrals(now: datetime) -> list[Referral]:
    """Referrals not closed, past their state's SLA, with no open follow-up chasing them."""
    late_in = [
        and_(Referral.state == state, Referral.state_since <= now - timedelta(days=days))
        for state, days in sla_days().items()
        if state != v.REFERRAL_CLOSED
    ]
    if not late_in:
        return []
    return list(
        db.session.scalars(
            select(Referral)
            .outerjoin(FollowUp, FollowUp.id == Referral.follow_up_id)
            .join(GrowthPlan, GrowthPlan.id == Referral.plan_id)
            .where(
                or_(*late_in),
                or_(Referral.follow_up_id.is_(None), FollowUp.status != fv.OPEN),
                GrowthPlan.status.in_(v.OPEN_STATUSES),
            )
            .order_by(Referral.state_since, Referral.id)
        )
    )


def _counselors(school_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.school_id == school_id, RoleAssignment.role == "counselor"
            )
        )
    )


def chaser(plan: GrowthPlan, student: Student) -> User | None:
    """Who chases a late referral: the plan's responsible counselor while they may be
    given the school's follow-ups, else the school's first counselor, else whoever may
    (the district's administrators, for a school without a counselor)."""
    people = followups.assignable(student.school_class.school)
    if not people:
        return None
    version = queries.current_version(plan)
    responsible = (version.body.get("responsible") or {}).get("counselor_id") if version else None
    counselors = _counselors(plan.school_id)
    for person in people:
        if person.id == responsible and person.id in counselors:
            return person
    return next((p for p in people if p.id in counselors), people[0])


def sweep() -> dict[str, int]:
    """One pass; returns {"referrals_late", "referrals_chased"} (those not 0). The caller
    commits."""
    now = utcnow()
    late = late_referrals(now)
    chased = 0
    for referral in late:
        plan = db.session.get(GrowthPlan, referral.plan_id)
        student = db.session.get(Student, plan.student_id)
        assignee = chaser(plan, student) if student is not None else None
        if assignee is None:
            continue
        follow_up = followups.open_follow_up(
            student,
            fv.REFERRAL_CHECK,
            assignee,
            now,
            fv.RED,
            fv.FROM_PLAN,
            plan.id,
            None,
        )
        referral.follow_up_id = follow_up.id
        db.session.flush()
        record_event(
            "referral_follow_up",
            target=plan,
            detail={"referral": referral.id, "state": referral.state, "follow_up": follow_up.id},
        )
        chased += 1
    # Only what happened: `wellbeing scheduler sweep` prints the sum of every job's keys.
    counts = {"referrals_late": len(late), "referrals_chased": chased}
    return {key: value for key, value in counts.items() if value}


register_job(
    Job(
        id="plans.referral_sweep",
        function=sweep,
        trigger="interval",
        trigger_args={"seconds": 300},
        sweep_order=FOLLOW_UPS_SWEEP_ORDER - 5,
        description="Give a follow-up to each referral left in a state past its SLA; the "
        "follow-ups' sweep then reminds and escalates it.",
    )
)

register_labels(actions={"referral_follow_up": _l("Late referral given a follow-up")})
