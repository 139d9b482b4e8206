"""What the review registers with the follow-ups' sweep: the crisis alerts still waiting
for an acknowledgement. Clear columns only (id, school, time raised): whose alert it is
stays sealed, and the sweep never needs it."""

from __future__ import annotations

from sqlalchemy import select

from wellbeing.extensions import db
from wellbeing.followups.sweep import WaitingAlert, register_alert_source
from wellbeing.notifications.services import link_to
from wellbeing.review.models import CrisisAlert


def waiting_alerts() -> list[WaitingAlert]:
    rows = db.session.execute(
        select(CrisisAlert.id, CrisisAlert.school_id, CrisisAlert.raised_at).where(
            CrisisAlert.acknowledged_at.is_(None)
        )
    )
    return [WaitingAlert(*row) for row in rows]


def alerts_link(school_id: int) -> str:
    return link_to("review.alerts", school_id=school_id)


register_alert_source("crisis_alert", waiting_alerts, alerts_link)
