"""The reads behind the follow-up pages: a person's follow-ups by section (overdue, today,
upcoming) and by week, a student's, a recurrence's chain, and the follow-ups of crisis
alerts. Whom a follow-up is about is sealed: each page opens only its own rows, then loads
their students (with their classes) in one query."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from wellbeing.clock import local_midnight_utc, to_local
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp
from wellbeing.paging import Page, paginate_query
from wellbeing.roster.models import Student
from wellbeing.security.crypto import Context
from wellbeing.security.fields import current_keyring

PER_SECTION = 20
# How far back a recurrence's chain is shown on a follow-up's page.
CHAIN_LIMIT = 20


@dataclass
class Row:
    follow_up: FollowUp
    student: Student


@dataclass
class Mine:
    overdue: Page[Row]
    today: Page[Row]
    upcoming: Page[Row]


def students_by_id(ids: Iterable[int]) -> dict[int, Student]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = db.session.scalars(
        select(Student).where(Student.id.in_(wanted)).options(selectinload(Student.school_class))
    )
    return {student.id: student for student in found}


def with_students(follow_ups: Sequence[FollowUp]) -> list[Row]:
    students = students_by_id(f.student_id for f in follow_ups)
    return [Row(f, students[f.student_id]) for f in follow_ups]


def _rows(page: Page[FollowUp]) -> Page[Row]:
    return replace(page, items=with_students(page.items))


def _open_of(user_id: int) -> Select[tuple[FollowUp]]:
    return (
        select(FollowUp)
        .where(FollowUp.assignee_id == user_id, FollowUp.status == v.OPEN)
        .order_by(FollowUp.due_at, FollowUp.id)
    )


def tomorrow_starts(now: datetime) -> datetime:
    """When the local day after now's begins (stored time)."""
    return local_midnight_utc(to_local(now).date() + timedelta(days=1))


def mine(user_id: int, now: datetime) -> Mine:
    """The user's open follow-ups: overdue (due before now), due later today, upcoming;
    each section paged on its own."""
    query = _open_of(user_id)
    tomorrow = tomorrow_starts(now)
    return Mine(
        overdue=_rows(
            paginate_query(
                query.where(FollowUp.due_at < now),
                per_page=PER_SECTION,
                param="overdue_page",
                anchor="overdue",
            )
        ),
        today=_rows(
            paginate_query(
                query.where(FollowUp.due_at >= now, FollowUp.due_at < tomorrow),
                per_page=PER_SECTION,
                param="today_page",
                anchor="today",
            )
        ),
        upcoming=_rows(
            paginate_query(
                query.where(FollowUp.due_at >= tomorrow),
                per_page=PER_SECTION,
                param="upcoming_page",
                anchor="upcoming",
            )
        ),
    )


def counts(user_id: int, now: datetime, school_id: int | None = None) -> tuple[int, int]:
    """(overdue, due later today) of the user's open follow-ups (at one school, if given):
    one query."""
    tomorrow = tomorrow_starts(now)
    overdue = func.count(FollowUp.id).filter(FollowUp.due_at < now)
    today = func.count(FollowUp.id).filter(FollowUp.due_at >= now)
    query = select(overdue, today).where(
        FollowUp.assignee_id == user_id,
        FollowUp.status == v.OPEN,
        FollowUp.due_at < tomorrow,
    )
    if school_id is not None:
        query = query.where(FollowUp.school_id == school_id)
    row = db.session.execute(query).one()
    return int(row[0] or 0), int(row[1] or 0)


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def week(user_id: int, start: date) -> list[tuple[date, list[Row]]]:
    """The user's follow-ups due on each of the seven local days from start (open and
    closed: a week looked back on shows what was done)."""
    begins = local_midnight_utc(start)
    ends = local_midnight_utc(start + timedelta(days=7))
    found = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.assignee_id == user_id, FollowUp.due_at >= begins, FollowUp.due_at < ends)
        .where(FollowUp.status != v.CANCELLED)
        .order_by(FollowUp.due_at, FollowUp.id)
    ).all()
    days: dict[date, list[Row]] = {start + timedelta(days=n): [] for n in range(7)}
    for row in with_students(found):
        days[to_local(row.follow_up.due_at).date()].append(row)
    return list(days.items())


def of_student(student: Student) -> Page[FollowUp]:
    """A student's follow-ups, open first, then by due time (newest first). The student's
    school's rows are opened to find them (a school has hundreds, not millions)."""
    school_id = student.school_class.school_id
    ids = [
        follow_up_id
        for follow_up_id, subject in subjects(select().where(FollowUp.school_id == school_id))
        if subject["student_id"] == student.id
    ]
    return paginate_query(
        select(FollowUp)
        .where(FollowUp.id.in_(ids))
        .options(selectinload(FollowUp.assignee))
        .order_by(FollowUp.status != v.OPEN, FollowUp.due_at.desc(), FollowUp.id.desc()),
        per_page=PER_SECTION,
        param="followup_page",
        anchor="follow-ups",
    )


def subjects(query: Select[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(id, opened subject) of the follow-ups the query selects: only the sealed column is
    read and opened, no object built (a student's page looks through the whole school's)."""
    keyring = current_keyring()
    column = FollowUp.__table__.c.subject
    rows = db.session.execute(query.add_columns(FollowUp.id, FollowUp.uid, FollowUp.subject_sealed))
    for follow_up_id, uid, sealed in rows:
        plaintext = keyring.open(sealed, Context(FollowUp.__tablename__, uid, column.name))
        yield follow_up_id, column.type.decode(plaintext)


def chain(follow_up: FollowUp) -> tuple[list[FollowUp], list[FollowUp]]:
    """The recurrence around a follow-up: the earlier ones (oldest first) and the ones
    that followed it."""
    earlier: list[FollowUp] = []
    current = follow_up
    while current.previous_id is not None and len(earlier) < CHAIN_LIMIT:
        current = db.session.get(FollowUp, current.previous_id)
        earlier.insert(0, current)
    later: list[FollowUp] = []
    current = follow_up
    while len(later) < CHAIN_LIMIT:
        following = db.session.scalar(
            select(FollowUp).where(FollowUp.previous_id == current.id).order_by(FollowUp.id)
        )
        if following is None:
            break
        later.append(following)
        current = following
    return earlier, later


def of_alerts(school_id: int, alert_ids: Sequence[int], since: datetime) -> dict[int, FollowUp]:
    """For each crisis alert, the latest follow-up of the recurrence its first follow-up
    began (what is happening now about it). Only the school's follow-ups from alerts,
    opened since the earliest alert shown, are opened."""
    if not alert_ids:
        return {}
    wanted = set(alert_ids)
    first: dict[int, FollowUp] = {}
    # An alert's checklist opens more follow-ups later: its first is the acknowledgement's.
    for f in db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.school_id == school_id,
            FollowUp.source == v.FROM_CRISIS_ALERT,
            FollowUp.created_at >= since,
        )
        .order_by(FollowUp.id)
    ):
        if f.source_id in wanted:
            first.setdefault(f.source_id, f)
    latest = {}
    for alert_id, follow_up in first.items():
        current = follow_up
        for _ in range(CHAIN_LIMIT):
            following = db.session.scalar(
                select(FollowUp).where(FollowUp.previous_id == current.id).order_by(FollowUp.id)
            )
            if following is None:
                break
            current = following
        latest[alert_id] = current
    return latest
