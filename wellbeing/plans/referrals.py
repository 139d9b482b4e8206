"""Referrals of a 一生一策 file to a partner hospital of the district, on a
minimum-necessary sheet (reason, urgency, what was observed, whom to contact at school,
whether the guardian consented: no scores, no notes), through the states sent →
received → seen → feedback → closed, each with its date. The hospital's feedback is
filed into the plan (Referral.feedback, shown on the plan's timeline).

A referral that stays in a state past its SLA becomes a follow-up (sweep.py); moving it
on completes that follow-up. Every act is audited by the plan."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wellbeing.clock import local_midnight_utc, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import services as followups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.plans import vocabulary as v
from wellbeing.plans import words as w
from wellbeing.plans.audit_words import worded
from wellbeing.plans.contacts import PartError, require_open, required_text, typed_day
from wellbeing.plans.hospitals import active_hospitals
from wellbeing.plans.models import GrowthPlan, Hospital, Referral, plan_day
from wellbeing.roster.models import School, User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels

ROUTINE, SOON, URGENT = "routine", "soon", "urgent"
URGENCY_LABELS = {
    ROUTINE: _l("Routine"),
    SOON: _l("Within a week"),
    URGENT: _l("Urgent (within 24 hours)"),
}
YES, NO = "yes", "no"
# The states in words, one list for every page (the plan page, the sheet, the timeline).
STATE_LABELS = w.REFERRAL_STATE_LABELS
REASON_LENGTH = 1000
OBSERVATIONS_LENGTH = 2000
CONTACT_LENGTH = 200
NOTE_LENGTH = 1000
FEEDBACK_LENGTH = 4000


def district_of(plan: GrowthPlan) -> int:
    return db.session.get(School, plan.school_id).district_id


def next_state(state: str) -> str | None:
    index = v.REFERRAL_STATES.index(state)
    return v.REFERRAL_STATES[index + 1] if index + 1 < len(v.REFERRAL_STATES) else None


def allowed_states(referral: Referral) -> list[str]:
    """Where a referral may go from here: its next state; closing, from any open state
    (the family declined, the student moved away: a note says why)."""
    following = next_state(referral.state)
    if following is None:
        return []
    return [following] if following == v.REFERRAL_CLOSED else [following, v.REFERRAL_CLOSED]


def _since(day: date, now: datetime) -> datetime:
    """When a state began, for the SLA: now for today, else the day's start (China time)."""
    return now if day == local_today() else local_midnight_utc(day)


def send_referral(
    plan: GrowthPlan,
    user: User,
    *,
    hospital_id: int | None,
    reason: str,
    urgency: str,
    observations: str,
    contact: str,
    consent: str,
    sent_on: str,
) -> Referral:
    """Refer the plan's student to an active partner hospital of the school's district;
    the referral starts as sent, on sent_on."""
    require_open(plan)
    problems: dict[str, str] = {}
    hospital = db.session.get(Hospital, hospital_id) if hospital_id else None
    if hospital not in active_hospitals(district_of(plan)):
        problems["hospital"] = _("Choose a partner hospital from the district's list.")
    reason = required_text(reason, REASON_LENGTH, problems, "reason")
    if urgency not in URGENCY_LABELS:
        problems["urgency"] = _("Choose how urgent it is.")
    observations = required_text(observations, OBSERVATIONS_LENGTH, problems, "observations")
    contact = required_text(contact, CONTACT_LENGTH, problems, "contact")
    if consent not in (YES, NO):
        problems["consent"] = _("Say whether the guardian consented.")
    day = typed_day(sent_on, problems, "sent_on")
    if problems:
        raise PartError(problems)
    now = utcnow()
    referral = Referral(
        plan_id=plan.id,
        hospital_id=hospital.id,
        created_by_id=user.id,
        created_at=now,
        state=v.SENT,
        state_since=_since(day, now),
    )
    referral.sheet = {
        "reason": reason,
        "urgency": urgency,
        "observations": observations,
        "contact": contact,
        "consent": consent,
    }
    referral.history = [{"state": v.SENT, "on": day.isoformat(), "by": user.id, "note": ""}]
    db.session.add(referral)
    plan.updated_at = now
    db.session.flush()
    record_event(
        "referral_send",
        target=plan,
        user=user,
        detail={"referral": referral.id, "hospital": hospital.id, "urgency": urgency},
    )
    return referral


def state_day(referral: Referral) -> date:
    """The day the referral's current state began (its newest history entry)."""
    return plan_day(referral.history[-1]["on"])


def advance(
    referral: Referral,
    user: User,
    *,
    state: str,
    on: str,
    note: str,
    feedback: str = "",
) -> None:
    """Move the referral to its next state (or close it) on a day not before the current
    state's nor in the future. "feedback" files the hospital's feedback into the plan.
    The follow-up chasing the referral, if open, is completed."""
    problems: dict[str, str] = {}
    plan = db.session.get(GrowthPlan, referral.plan_id)
    if state not in allowed_states(referral):
        problems["state"] = _("Choose the next step from the list.")
    day = typed_day(on, problems, "on", not_before=state_day(referral))
    skipping = state == v.REFERRAL_CLOSED and referral.state != v.FEEDBACK
    note = required_text(note, NOTE_LENGTH, problems, "note", required=skipping)
    if skipping and "note" in problems and note == "":
        problems["note"] = _("Say why the referral is closed before the hospital's feedback.")
    feedback = required_text(
        feedback, FEEDBACK_LENGTH, problems, "feedback", required=state == v.FEEDBACK
    )
    if state == v.FEEDBACK and not feedback:
        problems["feedback"] = _("Write the hospital's feedback: it is filed into the plan.")
    if problems:
        raise PartError(problems)
    now = utcnow()
    previous = referral.state
    referral.history = [
        *referral.history,
        {"state": state, "on": day.isoformat(), "by": user.id, "note": note},
    ]
    if state == v.FEEDBACK:
        referral.feedback = {"text": feedback, "on": day.isoformat()}
    referral.state, referral.state_since = state, _since(day, now)
    plan.updated_at = now
    db.session.flush()
    _complete_chasing(referral, user, state)
    record_event(
        "referral_advance",
        target=plan,
        user=user,
        detail={"referral": referral.id, "from_state": previous, "state": state},
    )


def chasing(referral: Referral) -> FollowUp | None:
    """The open follow-up that chases the referral, if any."""
    if referral.follow_up_id is None:
        return None
    follow_up = db.session.get(FollowUp, referral.follow_up_id)
    return follow_up if follow_up is not None and follow_up.status == fv.OPEN else None


def _complete_chasing(referral: Referral, user: User, state: str) -> None:
    follow_up = chasing(referral)
    if follow_up is None:
        return
    outcome = _("The referral moved on: %(state)s.", state=STATE_LABELS[state])
    followups.complete(follow_up, user, fv.DONE, outcome, stop_repeating=True)


register_labels(
    actions={
        "referral_send": _l("Referral sent"),
        "referral_advance": _l("Referral moved on"),
    },
    targets={"referral": _l("Referral")},
    fields={
        "referral": _l("Referral"),
        "hospital": _l("Partner hospital"),
        "urgency": _l("Urgency"),
        "from_state": _l("Previous state"),
        "state": _l("State"),
    },
    formats={"urgency": worded(URGENCY_LABELS)},
)
