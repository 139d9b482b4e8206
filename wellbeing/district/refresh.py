"""The precomputation: every registered indicator's counts for one district and school
year, rolled up (screening.indicators.roll_up) to the cells the pages read, and stored
in indicator_value in one transaction (the year's rows deleted, the new ones inserted),
so a page never sees half a refresh and never counts over students itself.

Run nightly by the scheduler (job "district.refresh", the current school year of every
district) and by hand: `wellbeing district refresh [--year 2026] [--district CODE]`."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

import click
from flask.cli import with_appcontext
from sqlalchemy import delete, select

from screening.indicators import Indicator, Tally, hidden_cells, roll_up
from wellbeing.campaigns.ledger import small_cell_k
from wellbeing.clock import local_today, utcnow
from wellbeing.district.indicators import INDICATORS, sharing
from wellbeing.district.models import IndicatorValue
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for
from wellbeing.roster.models import District
from wellbeing.scheduler.registry import Job, register_job

Key = Callable[[Tally], Hashable]


def cells(indicator: Indicator) -> list[Key]:
    """The cells an indicator is stored at, as (school, grade, sex) keys: the district
    and each school always; by grade and by sex, and both, where it comes by them."""
    keys: list[Key] = [lambda t: (None, None, None), lambda t: (t.school_id, None, None)]
    if indicator.by_grade:
        keys += [lambda t: (None, t.grade, None), lambda t: (t.school_id, t.grade, None)]
    if indicator.by_sex:
        keys += [lambda t: (None, None, t.sex), lambda t: (t.school_id, None, t.sex)]
    if indicator.by_grade and indicator.by_sex:
        keys.append(lambda t: (t.school_id, t.grade, t.sex))
    return keys


def rows_for(
    district_id: int, school_year: int, indicator: Indicator, tallies: Iterable[Tally]
) -> list[IndicatorValue]:
    tallies = list(tallies)
    now = utcnow()
    found: dict[Hashable, tuple[int, int]] = {}
    for key in cells(indicator):
        found.update(roll_up(tallies, key))
    # The district's row is stored even with nothing counted (0 of 0: "no data").
    found.setdefault((None, None, None), (0, 0))
    # Suppressed once here over every cell of the year, so that each page's tables (by
    # school, grade, sex; the trend) hide alike and none gives away another's hidden cell.
    k = small_cell_k()
    hidden = hidden_cells(found, k) if indicator.suppress else set()
    return [
        IndicatorValue(
            district_id=district_id,
            indicator_id=indicator.id,
            school_year=school_year,
            school_id=school_id,
            grade=grade,
            sex=sex,
            numerator=numerator,
            denominator=denominator,
            numerator_hidden=((school_id, grade, sex), "numerator") in hidden,
            denominator_hidden=((school_id, grade, sex), "denominator") in hidden,
            small_cell_k=k,
            computed_at=now,
        )
        for (school_id, grade, sex), (numerator, denominator) in found.items()
    ]


def refresh(district_id: int, school_year: int) -> int:
    """Recompute one district's school year; returns the rows stored. Flushes only: the
    caller (the scheduler, the command) commits, so the delete and the inserts are one
    transaction. A past year's figures of the present (`as_it_stands`) are left as the
    year stored them while it ran: today's staff and members are not that year's."""
    past = school_year < school_year_for(local_today())
    kept = [i.id for i in (r.indicator for r in INDICATORS.values()) if past and i.as_it_stands]
    rows = []
    with sharing():
        for registered in INDICATORS.values():
            if registered.source is None or registered.indicator.id in kept:
                continue  # a change is read from the indicator it changes, not stored
            tallies = registered.source(district_id, school_year)
            rows += rows_for(district_id, school_year, registered.indicator, tallies)
    db.session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.district_id == district_id,
            IndicatorValue.school_year == school_year,
            IndicatorValue.indicator_id.not_in(kept),
        )
    )
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)


def refresh_all() -> dict[str, int]:
    """The scheduler's job: every district's current school year."""
    year = school_year_for(local_today())
    districts = db.session.scalars(select(District.id)).all()
    stored = sum(refresh(district_id, year) for district_id in districts)
    return {"districts": len(districts), "rows": stored}


register_job(
    Job(
        id="district.refresh",
        function=refresh_all,
        trigger="cron",
        # After midnight, when the day's screenings and follow-ups are in.
        trigger_args={"hour": 2, "minute": 15},
        description="Recompute the district indicators of the current school year",
    )
)


@click.group("district", help="The district's indicators.")
def district_group() -> None:
    pass


@district_group.command("refresh")
@click.option("--year", "school_year", type=int, help="School year (2026 = 2026–27).")
@click.option("--district", "district_code", help="A district's code (default: every one).")
@with_appcontext
def refresh_command(school_year: int | None, district_code: str | None) -> None:
    """Recompute the indicators of a school year (default: the current one)."""
    year = school_year or school_year_for(local_today())
    query = select(District)
    if district_code:
        query = query.where(District.code == district_code)
    districts = db.session.scalars(query).all()
    if not districts:
        raise click.ClickException(f"no district {district_code}")
    for district in districts:
        stored = refresh(district.id, year)
        click.echo(f"{district.code} {year}: {stored} rows")
    db.session.commit()
