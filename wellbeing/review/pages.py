"""Reads behind the review's pages: a school's crisis alerts (and what raised each, in
words)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from screening.errors import ScreeningError
from wellbeing.campaigns.battery import catalog
from wellbeing.campaigns.models import Campaign
from wellbeing.campaigns.pages import instrument_title, students_by_id
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.followups.queries import of_alerts
from wellbeing.paging import Page, paginate_query
from wellbeing.review.alerts import open_alert_counts
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import School, SchoolClass, Student


def alert_items_text(detail: str, language: str) -> str:
    """What raised a crisis alert, stored as "phq9@1.0: phq9_9", in words: the
    instrument's title and the items' numbers ("… 第 9 题")."""
    ref, sep, items = detail.partition(": ")
    try:
        instrument = catalog().get(ref)
    except ScreeningError:
        return detail
    positions = instrument.positions if sep else {}
    numbers = [str(positions[i] + 1) for i in items.split(", ") if i in positions]
    if not numbers:
        return instrument_title(instrument, language)
    return _(
        "%(instrument)s, item %(items)s",
        instrument=instrument_title(instrument, language),
        items=_(", ").join(numbers),
    )


@dataclass(frozen=True)
class AlertRow:
    alert: CrisisAlert
    student: Student
    school_class: SchoolClass
    campaign_name: str | None
    waited: timedelta
    follow_up: FollowUp | None  # the latest of the follow-ups it began


def school_alerts(school: School) -> tuple[Page[AlertRow], int]:
    """A page of the school's crisis alerts, unacknowledged first, newest first within
    each, and how many are unacknowledged in all. Whose each alert is is sealed: the
    page's alerts are opened here, then their students loaded in one query."""
    alerts = paginate_query(
        select(CrisisAlert)
        .where(CrisisAlert.school_id == school.id)
        .options(selectinload(CrisisAlert.acknowledged_by))
        .order_by(
            CrisisAlert.acknowledged_at.is_not(None),
            CrisisAlert.raised_at.desc(),
            CrisisAlert.id.desc(),
        ),
        anchor="crisis-alerts",
    )
    open_count = open_alert_counts([school.id]).get(school.id, 0)
    campaign_ids = {a.campaign_id for a in alerts if a.campaign_id is not None}
    names = dict(
        db.session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
        ).all()
        if campaign_ids
        else []
    )
    students = students_by_id({a.student_id for a in alerts})
    since = min((a.raised_at for a in alerts), default=None)
    follow_ups = of_alerts(school.id, [a.id for a in alerts], since) if since else {}
    now = utcnow()
    rows = []
    for alert in alerts:
        student = students[alert.student_id]
        # Unacknowledged: how long it has waited so far; acknowledged: how long it took.
        waited = (alert.acknowledged_at or now) - alert.raised_at
        rows.append(
            AlertRow(
                alert,
                student,
                student.school_class,
                names.get(alert.campaign_id),
                waited,
                follow_ups.get(alert.id),
            )
        )
    return replace(alerts, items=rows), open_count
