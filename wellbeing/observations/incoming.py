"""The counselors' side of observations: a school's incoming ones (waiting first, by
deadline, then those acknowledged in recent weeks), the figures for the home page and the
review queue, one student's observations of recent weeks, and acknowledging one (with a
follow-up made from it, or without).

Lists are chosen and ordered on the clear columns (school, class, deadline,
acknowledgement) and only the shown page's bodies are opened: whom each is about is
sealed. The acknowledgement writes flush; the request commits once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import selectinload

from wellbeing.extensions import db
from wellbeing.followups import services as followups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.followups.services import NewFollowUp
from wellbeing.observations import sla
from wellbeing.observations.models import Observation
from wellbeing.paging import Page, paginate_query
from wellbeing.roster.models import SchoolClass, Student, User
from wellbeing.security.audit import record_event

PER_PAGE = 25
# How long an acknowledged observation stays on the incoming page.
ACKNOWLEDGED_WEEKS = 4
# How far back a student's page lists the student's observations.
STUDENT_WEEKS = 12

# Where an observation stands against its acknowledgement deadline.
WAITING = "waiting"
OVERDUE = "overdue"
ACKNOWLEDGED = "acknowledged"


def status(observation: Observation, now: datetime) -> str:
    """WAITING, OVERDUE (its deadline passed unacknowledged) or ACKNOWLEDGED."""
    if observation.acknowledged_at is not None:
        return ACKNOWLEDGED
    return OVERDUE if observation.due_at < now else WAITING


@dataclass(frozen=True)
class Row:
    observation: Observation
    student: Student | None  # None: the student's record is gone (retention)
    status: str


@dataclass(frozen=True)
class Waiting:
    """A school's unacknowledged observations: how many, how many past their deadline,
    how many urgent."""

    waiting: int = 0
    overdue: int = 0
    urgent: int = 0


def incoming_query(school_id: int, now: datetime) -> Select[tuple[Observation]]:
    """The school's observations to show: every unacknowledged one, soonest deadline
    first, then those acknowledged in the last ACKNOWLEDGED_WEEKS, latest first."""
    unacknowledged = Observation.acknowledged_at.is_(None)
    since = now - timedelta(weeks=ACKNOWLEDGED_WEEKS)
    # Within each group the second and third keys are all set or all NULL, so the
    # databases' different NULL orders never matter.
    return (
        select(Observation)
        .where(
            Observation.school_id == school_id,
            unacknowledged | (Observation.acknowledged_at >= since),
        )
        .options(selectinload(Observation.school_class), selectinload(Observation.reporter))
        .order_by(
            case((unacknowledged, 0), else_=1),
            case((unacknowledged, Observation.due_at), else_=None),
            Observation.acknowledged_at.desc(),
            Observation.id,
        )
    )


def students_by_id(ids: Iterable[int | None]) -> dict[int, Student]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    found = db.session.scalars(
        select(Student).where(Student.id.in_(wanted)).options(selectinload(Student.school_class))
    )
    return {student.id: student for student in found}


def rows(observations: Sequence[Observation], now: datetime) -> list[Row]:
    """The observations with their students (their bodies opened: a page's worth)."""
    students = students_by_id(o.student_id for o in observations)
    return [Row(o, students.get(o.student_id), status(o, now)) for o in observations]


def incoming(school_id: int, now: datetime) -> Page[Row]:
    """One page of the school's incoming observations."""
    page = paginate_query(incoming_query(school_id, now), per_page=PER_PAGE)
    return Page(
        rows(page.items, now), page.number, page.per_page, page.total, page.param, page.anchor
    )


def waiting_counts(school_ids: Sequence[int], now: datetime) -> dict[int, Waiting]:
    """Each school's unacknowledged observations, in one grouped query over clear columns
    (the index on school, acknowledgement and deadline serves it)."""
    if not school_ids:
        return {}
    query = (
        select(
            Observation.school_id,
            func.count(),
            func.sum(case((Observation.due_at < now, 1), else_=0)),
            func.sum(case((Observation.urgent.is_(True), 1), else_=0)),
        )
        .where(Observation.school_id.in_(school_ids), Observation.acknowledged_at.is_(None))
        .group_by(Observation.school_id)
    )
    counts = {school_id: Waiting() for school_id in school_ids}
    for school_id, waiting, overdue, urgent in db.session.execute(query):
        counts[school_id] = Waiting(int(waiting), int(overdue or 0), int(urgent or 0))
    return counts


def of_student(student: Student, now: datetime) -> list[Row]:
    """The student's observations of the last STUDENT_WEEKS, newest first. Whom an
    observation is about is sealed, so they are found by the student's class and school
    over that window and each body is opened: a class reports a few a week, so the window
    holds few. (Those filed while the student was in another class are not found.)"""
    since = now - timedelta(weeks=STUDENT_WEEKS)
    school_class: SchoolClass = student.school_class
    candidates = db.session.scalars(
        select(Observation)
        .where(
            Observation.school_id == school_class.school_id,
            Observation.class_id == school_class.id,
            Observation.submitted_at >= since,
        )
        .options(selectinload(Observation.reporter))
        .order_by(Observation.submitted_at.desc(), Observation.id.desc())
    )
    return [Row(o, student, status(o, now)) for o in candidates if o.student_id == student.id]


def check_acknowledge(observation: Observation, plan: NewFollowUp | None) -> None:
    """Raise FollowUpError with every problem of the follow-up asked for, if any."""
    if plan is None:
        return
    student = db.session.get(Student, observation.student_id)
    if student is None:
        raise followups.FollowUpError(
            {"follow_up": _("The student's record is gone: no follow-up can be opened.")}
        )
    followups.check_new(student, plan)


def acknowledge(
    observation: Observation, user: User, plan: NewFollowUp | None, now: datetime
) -> tuple[bool, FollowUp | None]:
    """Acknowledge the observation and, when asked, open an observation check from it,
    together or not at all: the follow-up's problems are found before anything is
    written (FollowUpError, by field). Returns (acknowledged now, the follow-up); a
    second acknowledgement, even one racing the first, changes nothing: the row is set
    only while it is still unacknowledged."""
    check_acknowledge(observation, plan)
    claimed = db.session.execute(
        update(Observation)
        .where(Observation.id == observation.id, Observation.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(observation)
    if claimed.rowcount != 1:
        return False, None
    sla.record_acknowledged(observation, user)  # the ladder's step, as for crisis alerts
    follow_up = None
    if plan is not None:
        follow_up = followups.open_follow_up(
            db.session.get(Student, observation.student_id),
            fv.OBSERVATION_CHECK,
            plan.assignee,
            plan.due_at,
            plan.priority,
            fv.FROM_OBSERVATION,
            observation.id,
            user,
            plan.recurrence_days,
        )
        observation.follow_up_id = follow_up.id
        db.session.flush()
    detail = {"urgent": observation.urgent, "late": now > observation.due_at}
    if follow_up is not None:
        detail["follow_up"] = follow_up.id
    # The row names the observation, not the student: whom it is about stays sealed.
    record_event("observation_acknowledge", target=observation, user=user, detail=detail)
    return True, follow_up
