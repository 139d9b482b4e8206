"""Crisis alerts: raised by a critical item or a red tier, acknowledged within the SLA
(else the sweep escalates), then worked through the crisis checklist, each step recorded
once with its time and opening or closing the follow-ups it concerns. Functions flush;
the request commits once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from screening.instruments import Instrument
from screening.sla import add_school_hours
from wellbeing.campaigns.models import CampaignTarget, ScreeningResponse
from wellbeing.clock import from_local, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import services as followups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import FollowUpError, NewFollowUp
from wellbeing.notifications.services import alert_recipients, link_to, tell
from wellbeing.review import vocabulary as v
from wellbeing.review.models import AlertStep, CrisisAlert, RiskAssessment
from wellbeing.review.words import checklist_label
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event

NOTE_LENGTH = 500
# Steps whose note is required: where the student was referred to.
NOTE_REQUIRED = (v.REFERRAL,)
# Steps that complete the alert's open follow-ups of these kinds when recorded.
CLOSES = {
    v.SEEN_SAFE: (fv.INTERVIEW,),
    v.GUARDIAN_CONTACTED: (fv.GUARDIAN_CONTACT,),
}
# Steps that open a follow-up (its kind); the form gives who and when.
OPENS = {v.REFERRAL: fv.REFERRAL_CHECK, v.WATCH: fv.OBSERVATION_CHECK}
# The default due times of those follow-ups (the form may change them): did the student
# get to the hospital, three school days on; the watch's check, a day on.
REFERRAL_CHECK_SCHOOL_DAYS = 3
WATCH_CHECK_HOURS = 24


class AlertError(Exception):
    """Problems with a checklist step, by form field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def endorsed_items(instrument: Instrument, answers: dict[str, int]) -> list[str]:
    """The instrument's critical items this sitting endorsed."""
    return [
        instrument.items[c.item].id
        for c in instrument.critical
        if (value := answers.get(instrument.items[c.item].id)) is not None and value >= c.min
    ]


def raise_alert(
    target: CampaignTarget,
    source: str,
    detail: str,
    *,
    response: ScreeningResponse | None = None,
    assessment: RiskAssessment | None = None,
) -> CrisisAlert:
    """Record the alert and tell the school's counselors at once (in the inbox, and by
    mail and webhook without the student's name)."""
    student = target.student
    school = student.school_class.school
    alert = CrisisAlert(school_id=school.id, campaign_id=target.campaign_id, source=source)
    alert.subject = {
        "student_id": student.id,
        "response_id": response.id if response else None,
        "assessment_id": assessment.id if assessment else None,
    }
    alert.detail = detail
    db.session.add(alert)
    db.session.flush()
    words = {
        "school": school.name,
        "student": student.name,
        "class": class_name(student.school_class.grade, student.school_class.name),
        "campaign": target.campaign.name,
    }
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if source == v.CRITICAL_ITEM:
            message = _(
                "Crisis alert at %(school)s: %(student)s (%(class)s) endorsed a critical item "
                "in %(campaign)s. Please see the student today.",
                **words,
            )
        else:
            message = _(
                "Crisis alert at %(school)s: %(student)s (%(class)s) is at the red tier after "
                "%(campaign)s. Please see the student today.",
                **words,
            )
        # What leaves the database by mail and webhook names neither student nor item.
        outside = _(
            "%(school)s has a new crisis alert. Please log in to see it.", school=school.name
        )
    tell(
        alert_recipients(school),
        "crisis_alert",
        message,
        key=f"crisis_alert:{alert.uid}",
        link=link_to("review.alert", school_id=school.id, alert_id=alert.id),
        outside=outside,
    )
    # The audit row names the alert, not the student: whose alert it is stays sealed.
    record_event("crisis_alert", target=alert, detail={"school": school.id})
    return alert


def acknowledge_due(alert: CrisisAlert) -> datetime:
    """When the alert had to be acknowledged: SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS of school
    time after it was raised (an alert raised on Friday night is due on Monday morning)."""
    return ladder.alert_deadline(alert.raised_at)


def acknowledged_in_time(alert: CrisisAlert) -> bool | None:
    """Whether the alert was acknowledged by its deadline; None while it waits."""
    if alert.acknowledged_at is None:
        return None
    return alert.acknowledged_at <= acknowledge_due(alert)


def acknowledge_alert(alert: CrisisAlert, user: User, first: NewFollowUp) -> FollowUp | None:
    """Acknowledge the alert and open its first follow-up, together or not at all: every
    problem of the follow-up is found before anything is written (FollowUpError, by
    field), and the request commits both at once. The ladder's acknowledged step is
    recorded with its time. None when the alert was already acknowledged."""
    if alert.acknowledged_at is not None:
        return None
    student = db.session.get(Student, alert.student_id)
    followups.check_new(student, first)
    now = utcnow()
    alert.acknowledged_at, alert.acknowledged_by_id = now, user.id
    record_event("alert_acknowledge", target=alert, user=user)
    ladder.record_step(
        fv.SUBJECT_ALERT,
        alert.id,
        alert.school_id,
        fv.ACKNOWLEDGED,
        acknowledge_due(alert),
        user_id=user.id,
        at=now,
    )
    return followups.open_follow_up(
        student,
        first.kind,
        first.assignee,
        first.due_at,
        first.priority,
        fv.FROM_CRISIS_ALERT,
        alert.id,
        user,
        first.recurrence_days,
    )


@dataclass(frozen=True)
class StepRecord:
    step: str
    note: str = ""
    # For the steps that open a follow-up (OPENS): who and when (its kind is the step's).
    follow_up: NewFollowUp | None = None


def step_follow_up_due(step: str, now: datetime) -> datetime | None:
    """The default due time of the follow-up a step opens: a referral is checked
    REFERRAL_CHECK_SCHOOL_DAYS school days on (in school time: a referral made on Friday
    evening is checked on Wednesday), a watch WATCH_CHECK_HOURS on (wall-clock: a watch
    does not stop at night). None for a step that opens nothing."""
    if step == v.REFERRAL:
        day = ladder.school_day()
        hours = (
            datetime.combine(now.date(), day.end) - datetime.combine(now.date(), day.start)
        ).total_seconds() / 3600
        local = add_school_hours(to_local(now), REFERRAL_CHECK_SCHOOL_DAYS * hours, day)
        return from_local(local)
    if step == v.WATCH:
        return now + timedelta(hours=WATCH_CHECK_HOURS)
    return None


def alert_follow_ups(alert: CrisisAlert) -> list[FollowUp]:
    """The follow-ups opened from the alert (its school's, opened since it was raised)."""
    found = db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.school_id == alert.school_id,
            FollowUp.source == fv.FROM_CRISIS_ALERT,
            FollowUp.created_at >= alert.raised_at,
        )
        .order_by(FollowUp.id)
    )
    return [f for f in found if f.source_id == alert.id]


def _plan_of(record: StepRecord) -> NewFollowUp | None:
    """The follow-up the step opens, of the step's kind whatever the form said."""
    kind = OPENS.get(record.step)
    if kind is None or record.follow_up is None:
        return None
    return replace(record.follow_up, kind=kind)


def check_step(alert: CrisisAlert, record: StepRecord) -> None:
    """Raise AlertError with every problem of the step, by field, writing nothing."""
    problems: dict[str, str] = {}
    note = (record.note or "").strip()
    if alert.acknowledged_at is None:
        problems["step"] = _("Acknowledge the alert first.")
    if record.step not in v.CHECKLIST:
        problems["step"] = _("Choose a step of the checklist.")
    elif any(s.step == record.step for s in alert.steps):
        problems["step"] = _("This step is already recorded.")
    if record.step in NOTE_REQUIRED and not note:
        problems["note"] = _("Write where the student was referred (a hospital or the hotline).")
    elif len(note) > NOTE_LENGTH:
        problems["note"] = _("At most %(n)d characters.", n=NOTE_LENGTH)
    if record.step in OPENS:
        plan = _plan_of(record)
        if plan is None:
            problems["due_at"] = _("Give who follows this up and when.")
        else:
            try:
                followups.check_new(db.session.get(Student, alert.student_id), plan)
            except FollowUpError as error:
                problems.update(error.problems)
    if problems:
        raise AlertError(problems)


def record_checklist_step(alert: CrisisAlert, record: StepRecord, user: User) -> AlertStep:
    """Record one checklist step with its time, once. Seen-and-safe and guardian-contacted
    complete the alert's open interview and guardian follow-ups; a referral and a watch
    open a follow-up (a referral check, the watch's check). Every problem is found before
    anything is written (AlertError, by field); the same step recorded at the same moment
    by two people is refused to the second by the database, as "already recorded"."""
    check_step(alert, record)
    note = (record.note or "").strip()
    step = AlertStep(step=record.step, done_at=utcnow(), done_by_id=user.id)
    step.note = note or None
    try:
        with db.session.begin_nested():
            alert.steps.append(step)
            db.session.flush()
    except IntegrityError:
        db.session.expire(alert, ["steps"])
        raise AlertError({"step": _("This step is already recorded.")}) from None
    student = db.session.get(Student, alert.student_id)
    plan = _plan_of(record)
    if plan is not None:
        opened = followups.open_follow_up(
            student, plan.kind, plan.assignee, plan.due_at, plan.priority,
            fv.FROM_CRISIS_ALERT, alert.id, user, plan.recurrence_days,
        )  # fmt: skip
        step.follow_up_id = opened.id
    for follow_up in alert_follow_ups(alert):
        if follow_up.status == fv.OPEN and follow_up.kind in CLOSES.get(record.step, ()):
            followups.complete(follow_up, user, fv.DONE, _checklist_outcome(record.step, note))
    db.session.flush()
    record_event("alert_step", target=alert, user=user, detail={"step": record.step})
    return step


def _checklist_outcome(step: str, note: str) -> str:
    done = _("Recorded on the crisis checklist: %(step)s", step=checklist_label(step))
    return f"{done}{_(': ')}{note}" if note else done


def open_alert_counts(school_ids: Sequence[int]) -> dict[int, int]:
    """Unacknowledged crisis alerts per school (the counselor's home page badge)."""
    if not school_ids:
        return {}
    return dict(
        db.session.execute(
            select(CrisisAlert.school_id, func.count())
            .where(CrisisAlert.school_id.in_(school_ids), CrisisAlert.acknowledged_at.is_(None))
            .group_by(CrisisAlert.school_id)
        ).all()
    )
