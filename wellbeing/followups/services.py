"""The writes of follow-ups: open one, complete it (and open the next of a recurring one),
reassign it, cancel it. Each checks everything it is given first and raises
FollowUpError with every problem by field, before writing anything; it flushes, the
request commits once. Every act is audited by the follow-up's id, never the student's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as v
from wellbeing.followups.audit_words import KIND_LABELS
from wellbeing.followups.models import FollowUp
from wellbeing.notifications.services import active_holders, link_to, tell
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import RoleAssignment, School, Student, User
from wellbeing.security.audit import record_event

# Who may be given a student's follow-up: the school's counselors and leaders.
ASSIGNEE_ROLES = ("counselor", "school_leader")
# A due time typed a little in the past (the form took a minute to fill in) is accepted.
PAST_GRACE = timedelta(minutes=1)
OUTCOME_LENGTH = 4000
REASON_LENGTH = 200
RECURRENCE_MAX_DAYS = 365


class FollowUpError(Exception):
    """What is wrong with a request, by field name (shown beside each field), all at once."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass
class NewFollowUp:
    """What a form asks for a new follow-up (the student and its source come apart)."""

    kind: str
    assignee: User | None
    due_at: datetime | None
    priority: str
    recurrence_days: int | None = None


def assignable(school: School) -> list[User]:
    """Who may be given a follow-up of the school's students: its active counselors and
    leaders; when it has none, the district's administrators (who also receive its crisis
    alerts: a student in crisis must never be left to nobody)."""
    people = list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.school_id == school.id,
                RoleAssignment.role.in_(ASSIGNEE_ROLES),
                User.active.is_(True),
            )
            .distinct()
            .order_by(User.display_name, User.id)
        )
    )
    return people or active_holders("admin", district_id=school.district_id)


def check_new(student: Student, plan: NewFollowUp, *, now: datetime | None = None) -> None:
    """Raise FollowUpError with every problem of the plan for this student."""
    now = now or utcnow()
    problems: dict[str, str] = {}
    if plan.kind not in v.KINDS:
        problems["kind"] = _("Choose what to do from the list.")
    if plan.priority not in v.PRIORITIES:
        problems["priority"] = _("Choose a priority from the list.")
    school = student.school_class.school
    if plan.assignee is None or plan.assignee not in assignable(school):
        problems["assignee"] = _("Choose a counselor of %(school)s.", school=school.name)
    if plan.due_at is None:
        problems["due_at"] = _("Give a date and time.")
    elif plan.due_at < now - PAST_GRACE:
        problems["due_at"] = _("The due time has passed: give a time from now on.")
    days = plan.recurrence_days
    if days is not None and not 1 <= days <= RECURRENCE_MAX_DAYS:
        problems["recurrence_days"] = _(
            "Repeat every 1 to %(n)d days, or leave it empty.", n=RECURRENCE_MAX_DAYS
        )
    if problems:
        raise FollowUpError(problems)


def open_follow_up(
    student: Student,
    kind: str,
    assignee: User | None,
    due_at: datetime | None,
    priority: str,
    source: str,
    source_id: int | None,
    created_by: User | None,
    recurrence_days: int | None = None,
    *,
    previous: FollowUp | None = None,
) -> FollowUp:
    """Open a follow-up about the student for the assignee, due at due_at (UTC)."""
    if source not in v.SOURCES:
        raise ValueError(f"unknown follow-up source {source!r}")
    plan = NewFollowUp(kind, assignee, due_at, priority, recurrence_days)
    check_new(student, plan)
    follow_up = FollowUp(
        school_id=student.school_class.school_id,
        source=source,
        kind=kind,
        priority=priority,
        assignee_id=assignee.id,
        due_at=due_at,
        status=v.OPEN,
        recurrence_days=recurrence_days,
        previous_id=previous.id if previous else None,
        created_at=utcnow(),
        created_by_id=created_by.id if created_by else None,
    )
    follow_up.subject = {"student_id": student.id, "source_id": source_id}
    db.session.add(follow_up)
    db.session.flush()
    detail = {"kind": kind, "source": source, "assignee": assignee.id}
    if previous is not None:
        detail["previous"] = previous.id
    record_event("follow_up_open", target=follow_up, user=created_by, detail=detail)
    if created_by is None or assignee.id != created_by.id:
        _tell_assignee(follow_up, student, assignee, "assigned")
    return follow_up


def _require_open(follow_up: FollowUp) -> None:
    if follow_up.status != v.OPEN:
        raise FollowUpError({"status": _("This follow-up is already closed.")})


def complete(
    follow_up: FollowUp,
    user: User,
    status: str,
    outcome: str,
    *,
    next_due: datetime | None = None,
    stop_repeating: bool = False,
) -> FollowUp | None:
    """Close an open follow-up as done (with its outcome, sealed) or missed; record the
    ladder's completed step. A recurring one opens its next, recurrence_days later (or at
    next_due) unless stop_repeating: that next one is returned."""
    _require_open(follow_up)
    now = utcnow()
    outcome = (outcome or "").strip()
    problems: dict[str, str] = {}
    if status not in (v.DONE, v.MISSED):
        problems["status"] = _("Choose done or missed.")
    if status == v.DONE and not outcome:
        problems["outcome"] = _("Write what came of it.")
    elif len(outcome) > OUTCOME_LENGTH:
        problems["outcome"] = _("At most %(n)d characters.", n=OUTCOME_LENGTH)
    repeat = follow_up.recurrence_days is not None and not stop_repeating
    student = db.session.get(Student, follow_up.student_id)
    if repeat:
        next_due = next_due or now + timedelta(days=follow_up.recurrence_days)
        if next_due < now - PAST_GRACE:
            problems["next_due"] = _("The next time has passed: give a time from now on.")
    if problems:
        raise FollowUpError(problems)
    follow_up.status, follow_up.outcome = status, outcome or None
    follow_up.closed_at, follow_up.closed_by_id = now, user.id
    ladder.record_step(
        v.SUBJECT_FOLLOW_UP,
        follow_up.id,
        follow_up.school_id,
        v.COMPLETED,
        follow_up.due_at,
        user_id=user.id,
        at=now,
    )
    db.session.flush()
    following = None
    if repeat:
        # The same person keeps a repeating follow-up while they may; else whoever closed it.
        people = assignable(student.school_class.school)
        assignee = follow_up.assignee if follow_up.assignee in people else user
        following = open_follow_up(
            student,
            follow_up.kind,
            assignee,
            next_due,
            follow_up.priority,
            v.FROM_FOLLOW_UP,
            follow_up.id,
            user,
            follow_up.recurrence_days,
            previous=follow_up,
        )
    detail = {"status": status, "next": following.id if following else None}
    record_event("follow_up_complete", target=follow_up, user=user, detail=detail)
    return following


def reassign(follow_up: FollowUp, new_assignee: User | None, user: User) -> None:
    """Give an open follow-up to another counselor of the school, who is told (and
    reminded afresh by the sweep)."""
    _require_open(follow_up)
    student = db.session.get(Student, follow_up.student_id)
    if new_assignee is None or new_assignee not in assignable(student.school_class.school):
        school = student.school_class.school.name
        raise FollowUpError({"assignee": _("Choose a counselor of %(school)s.", school=school)})
    if new_assignee.id == follow_up.assignee_id:
        raise FollowUpError({"assignee": _("This follow-up is already theirs.")})
    previous = follow_up.assignee_id
    follow_up.assignee_id, follow_up.reminded_at = new_assignee.id, None
    db.session.flush()
    record_event(
        "follow_up_reassign",
        target=follow_up,
        user=user,
        detail={"from": previous, "assignee": new_assignee.id},
    )
    _tell_assignee(follow_up, student, new_assignee, "reassigned")


def cancel(follow_up: FollowUp, user: User, reason: str) -> None:
    """Cancel an open follow-up, with its reason (sealed with the outcome)."""
    _require_open(follow_up)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_LENGTH:
        raise FollowUpError({"reason": _("Give a reason of at most 200 characters.")})
    follow_up.status, follow_up.outcome = v.CANCELLED, reason
    follow_up.closed_at, follow_up.closed_by_id = utcnow(), user.id
    db.session.flush()
    record_event("follow_up_cancel", target=follow_up, user=user, detail={"status": v.CANCELLED})


def _tell_assignee(follow_up: FollowUp, student: Student, assignee: User, why: str) -> None:
    """The inbox names the student; what leaves the database (mail, webhooks) does not."""
    school = student.school_class.school
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _(
            "A follow-up is now yours: %(student)s (%(class)s), %(kind)s, due %(due)s.",
            student=student.name,
            kind=kind_label(follow_up.kind),
            due=local_text(follow_up.due_at),
            **{"class": class_name(student.school_class.grade, student.school_class.name)},
        )
        outside = _(
            "%(school)s has given you a follow-up. Please log in to see it.", school=school.name
        )
    tell(
        [assignee],
        "follow_up",
        message,
        key=f"follow_up:{follow_up.id}:{why}:{assignee.id}:{utcnow().isoformat()}",
        link=link_to("followups.view", follow_up_id=follow_up.id),
        outside=outside,
        personal=True,
    )


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))
