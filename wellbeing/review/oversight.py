"""Oversight of the SLA ladder: what the school's leaders and the district see.

The school's leaders (role school_leader) see who is waiting and since when: the school's
overdue follow-ups and its crisis alerts unacknowledged past their deadline, with the
student's name and class, the kind, the assignee, the due time, how late and how far it
was escalated. Never an outcome, a note, an answer, a score, what raised an alert or a
plan: the rows are read from the clear columns, and only the sealed subject (whom it is
about) is opened, for the page's rows.

The district sees each school's rates over a period, never a student, with small cells
suppressed by the coverage ledger's rule (`ledger.hidden_cells`).

Deadlines: an alert is due SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS of school time after it was
raised (in local time, through `screening.sla.add_school_hours` and the settings' school
day), and its first contact SLA_FIRST_CONTACT_HOURS (wall-clock) after it was raised; a
follow-up is due at its due_at."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from wellbeing.campaigns import ledger
from wellbeing.campaigns.pages import students_by_id
from wellbeing.clock import local_midnight_utc
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.ladder import alert_deadline, first_contact_due
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.paging import Page, paginate_query
from wellbeing.review.alerts import open_alert_counts
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import School, Student
from wellbeing.security.audit_labels import register_labels

# The district's default period: the last 30 days, today included.
DEFAULT_PERIOD_DAYS = 30
# A longer period is refused (a year and a day: one school year with room).
MAX_PERIOD_DAYS = 366

register_labels(
    fields={
        "overdue": _l("Overdue follow-ups"),
        "late_alerts": _l("Late alerts"),
        "period": _l("Period"),
    },
    values={
        "oversight.overdue": _l("Overdue follow-ups and late alerts of a school"),
        "sla_xlsx": _l("SLA figures of the district (XLSX)"),
    },
)


# ----------------------------------------------------------------------------- deadlines


def alert_hours() -> float:
    """Hours of school time an alert may wait for its acknowledgement."""
    return float(current_app.config["SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS"])


def contact_hours() -> float:
    """Hours from an alert's acknowledgement to its student's first contact."""
    return float(current_app.config["SLA_FIRST_CONTACT_HOURS"])


# ----------------------------------------------------------------------------- one school


@dataclass(frozen=True)
class OverdueRow:
    """An overdue open follow-up: whom it is about, and how late. No outcome."""

    follow_up: FollowUp
    student: Student
    late: timedelta


@dataclass(frozen=True)
class LateAlertRow:
    """A crisis alert unacknowledged past its deadline. Not what raised it."""

    alert: CrisisAlert
    student: Student
    deadline: datetime
    late: timedelta


@dataclass(frozen=True)
class SchoolCounts:
    overdue: int  # open follow-ups past their due time
    late_alerts: int  # unacknowledged alerts past their deadline
    waiting_alerts: int  # unacknowledged alerts, late or not


def _overdue_query(school_ids: Sequence[int], now: datetime) -> Any:
    return select(FollowUp).where(
        FollowUp.school_id.in_(school_ids), FollowUp.status == v.OPEN, FollowUp.due_at < now
    )


def _late_alert_ids(school_ids: Sequence[int], now: datetime) -> dict[int, list[int]]:
    """Per school, its unacknowledged alerts past their deadline, oldest first. The
    deadline runs in school time, so it is worked out here for each waiting alert (a
    school has a handful), from the clear columns only."""
    found: dict[int, list[int]] = defaultdict(list)
    if not school_ids:
        return found
    waiting = db.session.execute(
        select(CrisisAlert.id, CrisisAlert.school_id, CrisisAlert.raised_at)
        .where(CrisisAlert.school_id.in_(school_ids), CrisisAlert.acknowledged_at.is_(None))
        .order_by(CrisisAlert.raised_at, CrisisAlert.id)
    )
    for alert_id, school_id, raised_at in waiting:
        if alert_deadline(raised_at) <= now:
            found[school_id].append(alert_id)
    return found


def school_counts(school_ids: Sequence[int], now: datetime) -> dict[int, SchoolCounts]:
    """The leader's headline per school: overdue follow-ups, late and waiting alerts."""
    if not school_ids:
        return {}
    overdue = dict(
        db.session.execute(
            select(FollowUp.school_id, func.count())
            .where(
                FollowUp.school_id.in_(school_ids),
                FollowUp.status == v.OPEN,
                FollowUp.due_at < now,
            )
            .group_by(FollowUp.school_id)
        ).all()
    )
    late = _late_alert_ids(school_ids, now)
    waiting = open_alert_counts(school_ids)
    return {
        school_id: SchoolCounts(
            overdue.get(school_id, 0), len(late.get(school_id, [])), waiting.get(school_id, 0)
        )
        for school_id in school_ids
    }


def overdue_follow_ups(school: School, now: datetime) -> Page[OverdueRow]:
    """A page of the school's overdue open follow-ups, the longest overdue first."""
    page = paginate_query(
        _overdue_query([school.id], now)
        .options(selectinload(FollowUp.assignee))
        .order_by(FollowUp.due_at, FollowUp.id),
        param="overdue_page",
        anchor="overdue",
    )
    students = students_by_id({f.student_id for f in page})
    rows = [OverdueRow(f, students[f.student_id], now - f.due_at) for f in page]
    return replace(page, items=rows)


def late_alerts(school: School, now: datetime) -> Page[LateAlertRow]:
    """A page of the school's alerts unacknowledged past their deadline, oldest first."""
    ids = _late_alert_ids([school.id], now).get(school.id, [])
    page = paginate_query(
        select(CrisisAlert)
        .where(CrisisAlert.id.in_(ids))
        .order_by(CrisisAlert.raised_at, CrisisAlert.id),
        param="alerts_page",
        anchor="late-alerts",
    )
    students = students_by_id({a.student_id for a in page})
    rows = []
    for alert in page:
        deadline = alert_deadline(alert.raised_at)
        rows.append(LateAlertRow(alert, students[alert.student_id], deadline, now - deadline))
    return replace(page, items=rows)


# ----------------------------------------------------------------------------- the district


@dataclass(frozen=True)
class Period:
    """Local calendar days, both included."""

    first: date
    last: date

    @property
    def starts(self) -> datetime:
        return local_midnight_utc(self.first)

    @property
    def ends(self) -> datetime:
        return local_midnight_utc(self.last + timedelta(days=1))


def default_period(today: date) -> Period:
    return Period(today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)


# Counts behind each rate: each rate's numerator and its complement add up to its base.
COUNTS = (
    "alerts",
    "acknowledged_in_time",
    "acknowledged_late",
    "contacts",
    "contacted_in_time",
    "contacted_late",
    "due",
    "done_on_time",
    "not_on_time",
    "overdue",
    "escalations",
)
RATES = {
    "acknowledged": ("acknowledged_in_time", "alerts"),
    "contacted": ("contacted_in_time", "contacts"),
    "on_time": ("done_on_time", "due"),
}
PARTS = (
    (("acknowledged_in_time", "acknowledged_late"), "alerts"),
    (("contacted_in_time", "contacted_late"), "contacts"),
    (("done_on_time", "not_on_time"), "due"),
)


@dataclass
class SlaTally:
    """A school's (or the district's) SLA counts over a period. Only decided items
    count: an alert still inside its deadline, or a follow-up not yet due, is in none."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, other: SlaTally) -> None:
        for key, count in other.counts.items():
            self.counts[key] += count


class SlaFigures(ledger.ShownRow):
    """A row of the SLA table as shown (ledger.ShownRow), its rates to one decimal."""

    decimals = 1


def sla_figures(tallies: Sequence[SlaTally], suppress: bool) -> list[ledger.ShownRow]:
    """The table as shown (the last tally is the total), through the district's one
    suppression rule: with `suppress`, counts from 1 to k - 1 and the cells that would give
    them away by subtraction are hidden, and so is every rate built on a hidden count."""
    table = [dict(t.counts) for t in tallies]
    return ledger.shown_table(table, PARTS, RATES, suppress, SlaFigures)


def _alert_counts(
    school_ids: Sequence[int], period: Period, now: datetime
) -> dict[int, dict[str, int]]:
    """Alerts raised in the period: acknowledged in time or late; then their first
    contacts (the first follow-up made from each acknowledged alert) in time or late."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    alerts = db.session.execute(
        select(
            CrisisAlert.id,
            CrisisAlert.school_id,
            CrisisAlert.raised_at,
            CrisisAlert.acknowledged_at,
        ).where(
            CrisisAlert.school_id.in_(school_ids),
            CrisisAlert.raised_at >= period.starts,
            CrisisAlert.raised_at < min(period.ends, now),
        )
    ).all()
    acknowledged = {row.id: row for row in alerts if row.acknowledged_at is not None}
    for row in alerts:
        deadline = alert_deadline(row.raised_at)
        if row.acknowledged_at is not None and row.acknowledged_at <= deadline:
            counts[row.school_id]["acknowledged_in_time"] += 1
        elif row.acknowledged_at is not None or deadline <= now:
            counts[row.school_id]["acknowledged_late"] += 1
    first_done = _first_follow_ups(school_ids, set(acknowledged), period.starts)
    for alert_id, row in acknowledged.items():
        deadline = first_contact_due(row.acknowledged_at)
        closed_at = first_done.get(alert_id)
        if closed_at is not None and closed_at <= deadline:
            counts[row.school_id]["contacted_in_time"] += 1
        elif closed_at is not None or deadline <= now:
            counts[row.school_id]["contacted_late"] += 1
    return counts


def _first_follow_ups(
    school_ids: Sequence[int], alert_ids: set[int], since: datetime
) -> dict[int, datetime | None]:
    """For each alert, when its first follow-up (the earliest made from it) was done;
    None while it is not. Which alert a follow-up came from is sealed: the subjects of
    the follow-ups made from alerts since the period began are opened here (a handful
    per school and month)."""
    if not alert_ids:
        return {}
    made = db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.school_id.in_(school_ids),
            FollowUp.source == v.FROM_CRISIS_ALERT,
            FollowUp.created_at >= since,
        )
        .order_by(FollowUp.created_at, FollowUp.id)
    )
    first: dict[int, datetime | None] = {}
    for follow_up in made:
        source = follow_up.source_id
        if source in alert_ids and source not in first:
            first[source] = follow_up.closed_at if follow_up.status == v.DONE else None
    return first


def _follow_up_counts(
    school_ids: Sequence[int], period: Period, now: datetime
) -> dict[int, dict[str, int]]:
    """Follow-ups due in the period (and by now), not cancelled: done by their due time
    or not; open follow-ups overdue now; escalations recorded in the period."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    on_time = (FollowUp.status == v.DONE) & (FollowUp.closed_at <= FollowUp.due_at)
    for school_id, due, done in db.session.execute(
        select(FollowUp.school_id, func.count(), func.sum(case((on_time, 1), else_=0)))
        .where(
            FollowUp.school_id.in_(school_ids),
            FollowUp.status != v.CANCELLED,
            FollowUp.due_at >= period.starts,
            FollowUp.due_at < min(period.ends, now),
        )
        .group_by(FollowUp.school_id)
    ):
        counts[school_id]["done_on_time"] = int(done or 0)
        counts[school_id]["not_on_time"] = due - int(done or 0)
    for school_id, overdue in db.session.execute(
        select(FollowUp.school_id, func.count())
        .where(FollowUp.school_id.in_(school_ids), FollowUp.status == v.OPEN)
        .where(FollowUp.due_at < now)
        .group_by(FollowUp.school_id)
    ):
        counts[school_id]["overdue"] = overdue
    for school_id, escalations in db.session.execute(
        select(SlaEvent.school_id, func.count())
        .where(
            SlaEvent.school_id.in_(school_ids),
            SlaEvent.step.in_((v.ESCALATED_SCHOOL, v.ESCALATED_DISTRICT)),
            SlaEvent.at >= period.starts,
            SlaEvent.at < period.ends,
        )
        .group_by(SlaEvent.school_id)
    ):
        counts[school_id]["escalations"] = escalations
    return counts


def district_sla(
    schools: Iterable[School], period: Period, now: datetime
) -> tuple[list[tuple[School, SlaTally]], SlaTally]:
    """Each school's SLA tally over the period, and the district's total."""
    schools = list(schools)
    ids = [school.id for school in schools]
    parts = [_alert_counts(ids, period, now), _follow_up_counts(ids, period, now)]
    rows, total = [], SlaTally()
    for school in schools:
        tally = SlaTally()
        for found in parts:
            for key, count in found.get(school.id, {}).items():
                tally.counts[key] += count
        counts = tally.counts
        counts["alerts"] = counts["acknowledged_in_time"] + counts["acknowledged_late"]
        counts["contacts"] = counts["contacted_in_time"] + counts["contacted_late"]
        counts["due"] = counts["done_on_time"] + counts["not_on_time"]
        rows.append((school, tally))
        total.add(tally)
    return rows, total
