"""Each indicator's stored figure equals a count made directly on the fixture (see
conftest.py), and a refresh run twice stores the same rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.district.models import IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.review.models import RiskAssessment
from wellbeing.roster.models import School, SchoolClass, Student

pytestmark = pytest.mark.app


def _stored(world, indicator_id: str, **cell) -> tuple[int, int]:
    where = {"school_id": None, "grade": None, "sex": None, **cell}
    row = db.session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.district_id == world.district.id,
            IndicatorValue.school_year == world.school_year,
            IndicatorValue.indicator_id == indicator_id,
            *[
                getattr(IndicatorValue, key).is_(None)
                if value is None
                else getattr(IndicatorValue, key) == value
                for key, value in where.items()
            ],
        )
    )
    assert row is not None, f"{indicator_id} {cell} not stored"
    return row.numerator, row.denominator


def _targets(world) -> list[CampaignTarget]:
    return list(
        db.session.scalars(
            select(CampaignTarget)
            .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
            .where(Campaign.district_id == world.district.id)
        )
    )


def test_screening_figures_equal_the_ledger(district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    targets = _targets(world)
    enrolled = [t for t in targets if t.state != "transferred"]
    valid = [t for t in targets if t.state == "screened_valid"]
    submitted = [t for t in targets if t.state in ("screened_valid", "retest_pending")]
    assert len(targets) == 12 and len(enrolled) == 11 and valid
    assert _stored(world, "new_student_screening_coverage") == (len(valid), len(enrolled))
    assert _stored(world, "screening_valid_rate") == (len(valid), len(submitted))
    # The school A's girls of grade 7, counted apart.
    school_a = world.schools["A"].id
    girls = [
        t for t in enrolled if t.student.sex == "F" and t.student.school_class.school_id == school_a
    ]
    girls_valid = [t for t in girls if t.state == "screened_valid"]
    assert _stored(
        world, "new_student_screening_coverage", school_id=school_a, grade=7, sex="F"
    ) == (len(girls_valid), len(girls))


def test_tier_shares_equal_the_assessments(district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    assessments = db.session.scalars(
        select(RiskAssessment)
        .join(School, School.id == RiskAssessment.school_id)
        .where(School.district_id == world.district.id)
    ).all()
    tiers = [a.reviewed_tier or a.tier for a in assessments]
    assert "red" in tiers and "orange" in tiers
    for tier in ("red", "orange", "yellow"):
        assert _stored(world, f"tier_{tier}_share") == (tiers.count(tier), len(tiers)), tier


def test_crisis_plans_staffing_and_committee_figures(district_world):
    world = district_world
    refresh(world.district.id, world.school_year)
    school_a, school_b = world.schools["A"].id, world.schools["B"].id
    # One alert per school; A's acknowledged at once, B's still inside its deadline.
    assert _stored(world, "alerts_acknowledged_in_time") == (1, 1)
    # The follow-ups were due when made and are still open: due, not on time.
    assert _stored(world, "followups_on_time") == (0, 2)
    enrolled = db.session.scalar(
        select(func.count(Student.id))
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(SchoolClass.school_id.in_([school_a, school_b]), Student.status == "enrolled")
    )
    assert _stored(world, "plans_open_per_1000") == (2, enrolled)
    assert _stored(world, "referrals_closed") == (1, 2)
    assert _stored(world, "referrals_closed", school_id=school_b) == (0, 1)
    assert _stored(world, "students_per_counselor") == (enrolled, 1)
    assert _stored(world, "counselors_per_school") == (1, 2)
    assert _stored(world, "counselors_per_school", school_id=school_a) == (1, 1)
    assert _stored(world, "schools_with_counselor") == (1, 2)
    assert _stored(world, "schools_with_counselor", school_id=school_b) == (0, 1)
    # Four grade-7 classes, none with a boy and a girl; A1's member reported 1 of 4 weeks.
    assert _stored(world, "committee_coverage") == (0, 4)
    assert _stored(world, "committee_report_rate") == (1, 4)


def test_refresh_is_idempotent_and_keeps_other_years(district_world):
    world = district_world
    first = refresh(world.district.id, world.school_year)
    refresh(world.district.id, world.school_year - 1)

    def rows(year):
        return sorted(
            (
                r.indicator_id,
                r.school_id or 0,
                r.grade or 0,
                r.sex or "",
                r.numerator,
                r.denominator,
            )
            for r in db.session.scalars(
                select(IndicatorValue).where(IndicatorValue.school_year == year)
            )
        )

    before = rows(world.school_year)
    assert refresh(world.district.id, world.school_year) == first == len(before)
    assert rows(world.school_year) == before
    assert rows(world.school_year - 1)  # last year's rows (0 of 0 at least) are still there
    # Nothing of the other district was counted.
    assert not db.session.scalar(
        select(func.count()).where(IndicatorValue.district_id == world.other_district.id)
    )


def test_the_command_and_the_nightly_job_refresh(app, district_world):
    from wellbeing.cli import cli
    from wellbeing.district.refresh import district_group
    from wellbeing.scheduler.registry import find

    assert cli.commands["district"] is district_group  # `wellbeing district refresh`
    if "district" not in app.cli.commands:
        app.cli.add_command(district_group)
    world = district_world
    result = app.test_cli_runner().invoke(
        args=["district", "refresh", "--year", str(world.school_year), "--district", "510502"]
    )
    assert result.exit_code == 0, result.output
    assert f"510502 {world.school_year}:" in result.output
    assert _stored(world, "schools_with_counselor") == (1, 2)
    result = app.test_cli_runner().invoke(args=["district", "refresh", "--district", "nowhere"])
    assert result.exit_code != 0 and "no district" in result.output
    job = find("district.refresh")
    assert job is not None and job.trigger == "cron"
    counts = job.function()
    assert counts["districts"] == 2 and counts["rows"] > 0


def test_a_past_year_keeps_the_figures_of_the_present_it_stored_while_it_ran(district_world):
    """Staffing has no history: refreshing last year must not store today's counselors as
    last year's, nor drop what last year stored; counts with history are recounted."""
    world = district_world
    past = world.school_year - 1
    db.session.add(
        IndicatorValue(
            district_id=world.district.id,
            indicator_id="schools_with_counselor",
            school_year=past,
            numerator=2,
            denominator=2,
            small_cell_k=10,
        )
    )
    db.session.flush()
    refresh(world.district.id, past)

    def district_cell(indicator_id: str) -> tuple[int, int] | None:
        row = db.session.execute(
            select(IndicatorValue.numerator, IndicatorValue.denominator).where(
                IndicatorValue.district_id == world.district.id,
                IndicatorValue.school_year == past,
                IndicatorValue.indicator_id == indicator_id,
                IndicatorValue.school_id.is_(None),
            )
        ).first()
        return tuple(row) if row else None

    assert district_cell("schools_with_counselor") == (2, 2)
    assert district_cell("students_per_counselor") is None  # never stored while it ran
    assert district_cell("referrals_closed") is not None
    refresh(world.district.id, world.school_year)
    assert _stored(world, "schools_with_counselor") == (1, 2)
