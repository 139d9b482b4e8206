"""Refresh after imports and closed campaigns: a committed import leaves a request (not a
refresh) in its own transaction; the scheduler's job refreshes the district year once
the requests have gone quiet and clears them; a closed campaign is noticed; with nothing
pending the job does nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from wellbeing import clock
from wellbeing.clock import utcnow
from wellbeing.district import triggers
from wellbeing.district.models import IndicatorRefreshRequest, IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.roster.services import import_roster
from wellbeing.scheduler.registry import find

pytestmark = pytest.mark.app

VISION_HEADER = "student_id,age,ucva_right,ucva_left,sph_right,cyl_right,sph_left,cyl_left,ortho_k"


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


def _requests() -> list[tuple]:
    return db.session.execute(
        select(
            IndicatorRefreshRequest.district_id,
            IndicatorRefreshRequest.school_year,
            IndicatorRefreshRequest.reason,
        )
    ).all()


def _computed_at(world) -> set:
    return set(
        db.session.scalars(
            select(IndicatorValue.computed_at).where(
                IndicatorValue.district_id == world.district.id,
                IndicatorValue.school_year == world.school_year,
            )
        )
    )


def _import_vision(client, world, key: str) -> None:
    today = utcnow().date()
    student = world.students[key]
    data = f"{VISION_HEADER}\n{student.student_number},13,4.7,4.8,-1.25,-0.5,-1.0,0,\n"
    form = {
        "kind": "vision",
        "vision_round": vision_round_for(today).key,
        "school_year": str(school_year_for(today)),
        "measured_on": today.isoformat(),
        "file": (io.BytesIO(data.encode()), "round.csv"),
    }
    url = f"/health/schools/{world.schools['A'].id}/import"
    page = client.post(url, data=form, content_type="multipart/form-data")
    assert 'id="import-summary"' in page.get_data(as_text=True)


def _shown_time(client) -> str:
    page = client.get("/district/indicators/").get_data(as_text=True)
    return re.search(r'id="computed-at">(.*?)</p>', page, re.S).group(1)


def test_a_health_import_asks_and_the_job_refreshes_after_a_quiet_minute(client, district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    db.session.commit()
    before = _computed_at(world)
    login(client, "doctor")
    _import_vision(client, world, "A1-0")
    # The import itself refreshes nothing: it leaves a request, committed with it.
    assert _computed_at(world) == before
    assert _requests() == [(world.district.id, world.school_year, "vision")]
    # Within the quiet minute the job waits.
    assert triggers.refresh_requested()["refreshed"] == 0
    client.post("/logout")
    login(client, "monitor")
    shown = _shown_time(client)
    clock.move(timedelta(minutes=3))
    counts = triggers.refresh_requested()
    db.session.commit()
    assert counts["refreshed"] == 1 and counts["pending"] == 0 and counts["rows"] > 0
    after = _computed_at(world)
    assert min(after) > max(before)
    assert _requests() == []
    assert _shown_time(client) != shown
    # The new figures count the record: one screened in the vision indicators.
    assert db.session.scalar(
        select(func.sum(IndicatorValue.denominator)).where(
            IndicatorValue.indicator_id.like("health_%"),
            IndicatorValue.school_id.is_(None),
            IndicatorValue.grade.is_(None),
            IndicatorValue.sex.is_(None),
        )
    )


def test_a_burst_of_imports_makes_one_refresh(client, district_world, monkeypatch):
    world = district_world
    login(client, "doctor")
    for key in ("A1-0", "A1-1", "A2-0"):
        _import_vision(client, world, key)
        clock.move(timedelta(seconds=20))
    assert len(_requests()) == 1
    calls = []
    monkeypatch.setattr(triggers, "refresh", lambda *args: calls.append(args) or 0)
    clock.move(timedelta(minutes=2))
    triggers.refresh_requested()
    triggers.refresh_requested()
    assert calls == [(world.district.id, world.school_year)]


def test_a_burst_that_never_goes_quiet_is_refreshed_after_ten_minutes(district_world):
    world = district_world
    for _minute in range(12):
        triggers.request_refresh(world.district.id, world.school_year, "fitness")
        # The first request was 649 s ago at the twelfth call.
        assert triggers.refresh_requested()["refreshed"] == (1 if _minute == 11 else 0)
        clock.move(timedelta(seconds=59))


def test_a_roster_import_asks_for_the_current_year(district_world):
    world = district_world
    data = f"school_code,grade,class_name,entry_year\n{world.schools['A'].code},9,9,2024\n"
    result = import_roster(data.encode(), "classes.csv")
    assert result.ok, result.errors
    # Each district's current year (the file may touch any of them).
    assert _requests() == [
        (world.district.id, world.school_year, "roster"),
        (world.other_district.id, world.school_year, "roster"),
    ]


def test_a_refused_import_asks_nothing(client, world):
    login(client, "doctor")
    today = utcnow().date()
    bad = f"{VISION_HEADER}\nG0000000000000000X,13,5.0,5.0,0,0,0,0,\n"
    form = {
        "kind": "vision",
        "vision_round": vision_round_for(today).key,
        "school_year": str(school_year_for(today)),
        "measured_on": today.isoformat(),
        "file": (io.BytesIO(bad.encode()), "round.csv"),
    }
    url = f"/health/schools/{world.schools['A'].id}/import"
    client.post(url, data=form, content_type="multipart/form-data")
    assert _requests() == []


def test_a_closed_campaign_refreshes_its_year_once(district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    db.session.commit()
    before = _computed_at(world)
    campaign = world.campaigns["A"]
    assert triggers.refresh_requested()["refreshed"] == 0  # still open
    clock.move(campaign.closes_at - utcnow() + timedelta(minutes=5))
    counts = triggers.refresh_requested()
    db.session.commit()
    # Both districts' campaigns closed (the other district's year was never computed).
    assert counts["refreshed"] == 2 and _requests() == []
    assert min(_computed_at(world)) > campaign.closes_at > max(before)
    # Computed after the close: the next runs leave it.
    assert triggers.refresh_requested()["refreshed"] == 0


def test_a_past_years_kept_figures_do_not_make_it_refresh_again_and_again(district_world):
    """Last year's staffing keeps the time it was computed while the year ran; a campaign
    of last year that closed after that is refreshed once, not at every run."""
    world = district_world
    past = world.school_year - 1
    campaign = world.campaigns["A"]  # moved to last year: it closed then
    campaign.opens_at = campaign.opens_at.replace(year=campaign.opens_at.year - 1)
    campaign.closes_at = campaign.closes_at.replace(year=campaign.closes_at.year - 1)
    kept_at = campaign.closes_at - timedelta(days=30)
    db.session.add(
        IndicatorValue(
            district_id=world.district.id,
            indicator_id="schools_with_counselor",
            school_year=past,
            numerator=1,
            denominator=2,
            small_cell_k=10,
            computed_at=kept_at,
        )
    )
    db.session.add(
        IndicatorValue(
            district_id=world.district.id,
            indicator_id="referrals_closed",
            school_year=past,
            numerator=0,
            denominator=0,
            small_cell_k=10,
            computed_at=campaign.closes_at - timedelta(days=1),
        )
    )
    db.session.commit()
    assert triggers.refresh_requested()["refreshed"] >= 1
    db.session.commit()
    again = triggers.refresh_requested()
    db.session.commit()
    assert again["refreshed"] == 0 and _requests() == []
    kept = db.session.scalar(
        select(IndicatorValue.computed_at).where(
            IndicatorValue.school_year == past,
            IndicatorValue.indicator_id == "schools_with_counselor",
        )
    )
    assert kept == kept_at


def test_the_job_with_nothing_pending_does_nothing(district_world, monkeypatch):
    calls = []
    monkeypatch.setattr(triggers, "refresh", lambda *args: calls.append(args) or 0)
    assert triggers.refresh_requested() == {"refreshed": 0, "rows": 0, "pending": 0}
    assert calls == [] and _requests() == []


def test_the_job_is_registered_every_two_minutes():
    job = find("district.refresh_requests")
    assert job is not None and job.trigger == "interval" and job.trigger_args == {"minutes": 2}
