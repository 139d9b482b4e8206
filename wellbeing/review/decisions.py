"""A counselor's decisions on a flagged student's case: confirm the tier, change it with a
reason, schedule an interview or another follow-up, contact the guardian, refer to a
hospital, close with a reason. Each is an append-only, sealed, audited row; confirm and
change set the reviewed tier, which is the outcome label the model trains on. Every
problem is found before anything is written (ReviewError, by field); functions flush."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import services as followups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.services import FollowUpError, NewFollowUp
from wellbeing.review import vocabulary as v
from wellbeing.review.models import ReviewDecision, RiskAssessment
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event

REASON_LENGTH = 500
# The follow-up each decision opens (FOLLOW_UP: the kind the counselor chose).
FOLLOW_UP_KINDS = {
    v.INTERVIEW: fv.INTERVIEW,
    v.GUARDIAN: fv.GUARDIAN_CONTACT,
    v.REFER: fv.REFERRAL_CHECK,
}
OPENS_FOLLOW_UP = (v.INTERVIEW, v.FOLLOW_UP, v.GUARDIAN, v.REFER)


class ReviewError(Exception):
    """Problems with a decision, by form field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class Decision:
    action: str
    tier: str | None = None  # CHANGE_TIER: the new tier
    reason: str = ""
    follow_up: NewFollowUp | None = None  # the decisions that open one: what, who, when


def _problems(assessment: RiskAssessment, decision: Decision, student: Student) -> dict:
    problems: dict[str, str] = {}
    reason = decision.reason.strip()
    if decision.action not in v.DECISIONS:
        problems["action"] = _("Choose a decision.")
        return problems
    if decision.action == v.CHANGE_TIER:
        if decision.tier not in v.TIERS:
            problems["tier"] = _("Choose the tier.")
        elif decision.tier == assessment.current_tier:
            problems["tier"] = _("That is the tier already: confirm it instead.")
    if decision.action in v.NEEDS_REASON and not reason:
        problems["reason"] = _("Give the reason.")
    elif len(reason) > REASON_LENGTH:
        problems["reason"] = _("At most %(n)d characters.", n=REASON_LENGTH)
    if decision.action == v.CLOSE and assessment.state == v.CLOSED:
        problems["action"] = _("This case is already closed.")
    if decision.action in OPENS_FOLLOW_UP:
        if decision.follow_up is None:
            problems["due_at"] = _("Give who follows this up and when.")
        else:
            try:
                followups.check_new(student, decision.follow_up)
            except FollowUpError as error:
                problems.update(error.problems)
    return problems


def check(assessment: RiskAssessment, decision: Decision) -> None:
    """Raise ReviewError with every problem of the decision, writing nothing (a form
    shows them beside its own)."""
    problems = _problems(assessment, decision, db.session.get(Student, assessment.student_id))
    if problems:
        raise ReviewError(problems)


def decide(assessment: RiskAssessment, decision: Decision, user: User) -> ReviewDecision:
    """Record the decision, update the case, open its follow-up if it has one."""
    student = db.session.get(Student, assessment.student_id)
    problems = _problems(assessment, decision, student)
    if problems:
        raise ReviewError(problems)
    now = utcnow()
    status = dict(assessment.status)
    before = assessment.current_tier
    after = before
    if decision.action == v.CONFIRM:
        status["reviewed_tier"] = before
    elif decision.action == v.CHANGE_TIER:
        status["reviewed_tier"] = after = decision.tier
    follow_up = None
    if decision.action in OPENS_FOLLOW_UP:
        plan = decision.follow_up
        kind = FOLLOW_UP_KINDS.get(decision.action, plan.kind)
        follow_up = followups.open_follow_up(
            student, kind, plan.assignee, plan.due_at, plan.priority,
            fv.FROM_REVIEW, assessment.id, user, plan.recurrence_days,
        )  # fmt: skip
    if decision.action == v.CLOSE or (decision.action == v.CHANGE_TIER and after == "none"):
        status["state"] = v.CLOSED
    else:
        status["state"] = v.FOLLOWING
    status["owner_id"] = status.get("owner_id") or user.id
    status["decided_at"] = now.isoformat()
    assessment.status = status
    row = ReviewDecision(school_id=assessment.school_id, decided_by_id=user.id, decided_at=now)
    row.body = {
        "assessment_id": assessment.id,
        "student_id": student.id,
        "action": decision.action,
        "tier_before": before,
        "tier_after": after,
        "reason": decision.reason.strip() or None,
        "follow_up_id": follow_up.id if follow_up else None,
        "follow_up_kind": follow_up.kind if follow_up else None,
    }
    db.session.add(row)
    db.session.flush()
    # The audit row names the student and the decision row, not what was decided.
    record_event("review_decision", target=student, user=user, detail={"decision": row.id})
    return row


def priority_of(tier: str) -> str:
    """A follow-up's priority from the student's tier (none: yellow, the lowest)."""
    return tier if tier in fv.PRIORITIES else fv.YELLOW
