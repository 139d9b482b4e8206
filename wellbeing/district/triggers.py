"""Refresh after imports and closed campaigns: the areas below announce a committed
import (the health area's `records_imported`, the roster's `roster_imported`); the
district records a request for the district's school year in the import's own
transaction (durable, and gone if the import rolls back), never refreshing inside the
user's request. The scheduler's job `district.refresh_requests` refreshes every pending
district year and deletes its request in the same transaction.

A campaign closes by its window (its `closes_at` passes, or an edit moves it into the
past), so no request announces it: the job notices each closed campaign whose school
year's stored figures were computed before it closed (or never), and refreshes that year.

Any import counts, whatever its size: the refresh runs in the background, and a burst
asks once (one request row per district year); the job waits for a quiet minute after
the latest request, but no longer than ten minutes after the first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from wellbeing.campaigns.models import Campaign
from wellbeing.clock import local_today, to_local, utcnow
from wellbeing.district.models import IndicatorRefreshRequest, IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for
from wellbeing.health.signals import records_imported
from wellbeing.roster.models import District, School
from wellbeing.roster.signals import roster_imported
from wellbeing.scheduler.registry import Job, register_job

# A burst of imports (a doctor's files one class after another) leads to one refresh.
QUIET = timedelta(minutes=1)
LONGEST_WAIT = timedelta(minutes=10)
CAMPAIGN = "campaign"


def request_refresh(
    district_id: int, school_year: int, reason: str, at: datetime | None = None
) -> None:
    """Ask for the district's school year to be recomputed (in the caller's
    transaction). An upsert, so concurrent imports never collide on the row."""
    at = at or utcnow()
    table = IndicatorRefreshRequest.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        district_id=district_id,
        school_year=school_year,
        first_requested_at=at,
        last_requested_at=at,
        reason=reason,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["district_id", "school_year"],
            set_={
                "last_requested_at": func.max(table.c.last_requested_at, at)
                if dialect is sqlite
                else func.greatest(table.c.last_requested_at, at),
                "reason": reason,
            },
        )
    )


@records_imported.connect
def _health_imported(school: School, *, kind: str, school_year: int, **_: Any) -> None:
    request_refresh(school.district_id, school_year, kind)


@roster_imported.connect
def _roster_imported(_sender: Any, **_: Any) -> None:
    # The roster is as it stands: it changes the current year's figures.
    year = school_year_for(local_today())
    for district_id in db.session.scalars(select(District.id)):
        request_refresh(district_id, year, "roster")


def campaign_school_year(campaign: Campaign) -> int:
    """The school year a campaign belongs to: the one it opens in (local time)."""
    return school_year_for(to_local(campaign.opens_at).date())


def _closed_campaigns(now: datetime) -> None:
    """Request a refresh of each year where a campaign closed after the year's figures
    were last computed, or before they ever were. The latest refresh counts: a past
    year's figures of the present keep the time they were computed while it ran."""
    computed = {
        (district_id, year): at
        for district_id, year, at in db.session.execute(
            select(
                IndicatorValue.district_id,
                IndicatorValue.school_year,
                func.max(IndicatorValue.computed_at),
            ).group_by(IndicatorValue.district_id, IndicatorValue.school_year)
        )
    }
    closed = db.session.scalars(select(Campaign).where(Campaign.closes_at <= now))
    for campaign in closed:
        year = campaign_school_year(campaign)
        stored = computed.get((campaign.district_id, year))
        if stored is None or stored < campaign.closes_at:
            request_refresh(campaign.district_id, year, CAMPAIGN, at=campaign.closes_at)


def refresh_requested(now: datetime | None = None) -> Mapping[str, int]:
    """The scheduler's job: refresh each district year whose requests have gone quiet
    (or waited too long), and delete those requests; a request that arrives meanwhile
    stays for the next run. The scheduler commits: the refresh and the deletion are one
    transaction."""
    now = now or utcnow()
    _closed_campaigns(now)
    due = db.session.execute(
        select(
            IndicatorRefreshRequest.district_id,
            IndicatorRefreshRequest.school_year,
            IndicatorRefreshRequest.last_requested_at,
        ).where(
            (IndicatorRefreshRequest.last_requested_at <= now - QUIET)
            | (IndicatorRefreshRequest.first_requested_at <= now - LONGEST_WAIT)
        )
    ).all()
    rows = 0
    for district_id, school_year, last in due:
        rows += refresh(district_id, school_year)
        db.session.execute(
            delete(IndicatorRefreshRequest).where(
                IndicatorRefreshRequest.district_id == district_id,
                IndicatorRefreshRequest.school_year == school_year,
                IndicatorRefreshRequest.last_requested_at <= last,
            )
        )
    pending = db.session.scalar(select(func.count()).select_from(IndicatorRefreshRequest))
    return {"refreshed": len(due), "rows": rows, "pending": pending or 0}


register_job(
    Job(
        id="district.refresh_requests",
        function=refresh_requested,
        trigger="interval",
        # Often enough that the figures follow an import within minutes.
        trigger_args={"minutes": 2},
        description="Recompute the district years an import or a closed campaign changed",
    )
)
