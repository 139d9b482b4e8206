"""`wellbeing demo`: fill an empty database with a synthetic district (see
wellbeing/roster/synthetic.py) and print the six demo logins."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, exists, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wellbeing.campaigns.demo import DemoCampaign, build_demo_campaign
from wellbeing.clock import utcnow
from wellbeing.config import is_production
from wellbeing.extensions import db
from wellbeing.roster.synthetic import (
    DEFAULT_SEED,
    DEFAULT_STUDENTS,
    DEMO_PASSWORD,
    FIXED_LOGINS,
    MAX_STUDENTS,
    MIN_STUDENTS,
    SyntheticDistrict,
    current_school_year,
    generate_district,
)
from wellbeing.security.passwords import hash_password

# The roster tables in foreign-key order: insert in this order, delete in reverse.
ROSTER_TABLES = (
    "district",
    "school",
    "school_class",
    "student",
    "guardian",
    "user_account",
    "role_assignment",
)


class DemoRefused(click.ClickException):
    """The demo will not run here; exit status 2, like a usage error."""

    exit_code = 2


def roster_is_empty(session: Session) -> bool:
    """Whether no roster table has a row (users count: an `admin` may already exist)."""
    tables = db.metadata.tables
    return not any(
        session.scalar(select(exists().select_from(tables[name]))) for name in ROSTER_TABLES
    )


# The demo's screening records, deleted (children first) before the roster on --replace.
CAMPAIGN_TABLES = (
    "crisis_alert",
    "paper_entry",
    "draft_answer",
    "screening_response",
    "consent_record",
    "campaign_target",
    "campaign_school",
    "campaign_instrument",
    "campaign",
)


def delete_roster(session: Session) -> None:
    """Delete every roster row and the demo's campaigns (for --replace). Fails with
    IntegrityError when other records (notes, health records...) still refer to
    students or users."""
    for name in (*CAMPAIGN_TABLES, "notification", *reversed(ROSTER_TABLES)):
        session.execute(delete(db.metadata.tables[name]))


def write_district(session: Session, district: SyntheticDistrict) -> None:
    """Bulk INSERT of all rows with their own ids (Core executemany: no ORM objects, no
    RETURNING round trips). The roster must be empty. The caller commits."""
    if not roster_is_empty(session):
        raise ValueError("the roster is not empty")
    created = utcnow()
    for name in ROSTER_TABLES:
        rows = district.tables[name]
        if name == "user_account":
            rows = [{**row, "created_at": created} for row in rows]
        session.execute(insert(db.metadata.tables[name]), rows)
    if session.get_bind().dialect.name == "postgresql":
        _advance_sequences(session)


def _advance_sequences(session: Session) -> None:
    # Explicit ids leave PostgreSQL's sequences behind: move each to its table's max(id),
    # or the next ordinary INSERT would collide with a demo row.
    for name in ROSTER_TABLES:
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}")
        )


def build_demo(
    session: Session,
    *,
    seed: int = DEFAULT_SEED,
    students: int = DEFAULT_STUDENTS,
    school_year: int | None = None,
) -> SyntheticDistrict:
    """Generate the district and write it into an empty roster; the caller commits."""
    if school_year is None:
        school_year = current_school_year(utcnow().date())
    # One argon2 hash for the six fixed logins: they share a published password anyway,
    # and hashing is the slow part of making an account.
    district = generate_district(
        school_year, seed=seed, students=students, password_hash=hash_password(DEMO_PASSWORD)
    )
    write_district(session, district)
    return district


def logins_table(places: Mapping[str, str] | None = None) -> str:
    """The six fixed logins as a small text table; `places` adds where each one works."""
    places = places or {}
    lines = [f"{'role':<13}{'username':<11}{'password':<16}what they see"]
    for login in FIXED_LOGINS:
        where = places.get(login.username)
        sees = f"{login.sees} ({where})" if where else login.sees
        lines.append(f"{login.role.value:<13}{login.username:<11}{DEMO_PASSWORD:<16}{sees}")
    return "\n".join(lines)


def _summary(district: SyntheticDistrict, seconds: float) -> str:
    tables = district.tables
    students = tables["student"]
    kinds = Counter(school["kind"] for school in tables["school"])
    share = {
        key: sum(row[key] for row in students) / len(students)
        for key in ("boarding", "left_behind")
    }
    lines = [
        f"Built the demo district in {seconds:.1f} s (school year {district.school_year}):",
        f"  {len(tables['school'])} schools ("
        + ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        + ")",
        f"  {len(tables['school_class'])} classes, {len(students)} students "
        f"({share['boarding']:.0%} boarding, {share['left_behind']:.0%} left-behind), "
        f"{len(tables['guardian'])} guardians",
        f"  {len(tables['user_account'])} accounts; only the six below have a password",
        "  schools without a counselor: " + "、".join(district.schools_without_counselor),
    ]
    return "\n".join(lines)


@click.command("demo")
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed builds the same district.",
)
@click.option(
    "--students",
    type=click.IntRange(MIN_STUDENTS, MAX_STUDENTS),
    default=DEFAULT_STUDENTS,
    show_default=True,
    help="Students in the district; schools and classes scale with it.",
)
@click.option(
    "--school-year",
    type=int,
    default=None,
    help="First calendar year of the school year (default: the current one).",
)
@click.option(
    "--if-empty", is_flag=True, help="If the database already has a roster, only print the logins."
)
@click.option(
    "--replace", is_flag=True, help="Delete the whole roster (schools, students, users) first."
)
@with_appcontext
def demo_command(
    seed: int, students: int, school_year: int | None, if_empty: bool, replace: bool
) -> None:
    """Build a synthetic demo district (invented schools, students, staff) and print
    the six demo logins. Refuses to run in production."""
    if is_production(current_app.config):
        raise DemoRefused(
            "Refusing to build the demo district: ENVIRONMENT is production. "
            "The demo would mix invented students into real records."
        )
    if not roster_is_empty(db.session):
        if if_empty:
            click.echo("The database already has a roster; the demo district was not built.")
            click.echo("If it is the demo district, these are its logins:\n")
            click.echo(logins_table())
            return
        if not replace:
            raise DemoRefused(
                "The database already has a roster (schools, students or users). "
                "Use --replace to delete it and build the demo, or --if-empty to skip."
            )
        _delete_for_replace()
    click.echo("Demo logins (all with the same password):\n" + logins_table() + "\n")
    started = time.perf_counter()
    try:
        district = build_demo(db.session, seed=seed, students=students, school_year=school_year)
        db.session.commit()
        screening = build_demo_campaign(seed)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    click.echo(_summary(district, time.perf_counter() - started))
    click.echo(_campaign_summary(screening) + "\n")
    click.echo(logins_table(district.login_places))
    if screening.trial_code:
        click.echo(
            "\nTry the students' questionnaire at http://127.0.0.1:5000/s/ "
            f"with the code {screening.trial_code} (one use)."
        )


def _campaign_summary(screening: DemoCampaign) -> str:
    campaign = screening.campaign
    played = ", ".join(f"{count} {outcome}" for outcome, count in screening.counts.items())
    return (
        f"  campaign 「{campaign.name}」: grades 7 and 10 of {len(campaign.schools)} schools, "
        f"{sum(screening.counts.values()) + bool(screening.trial_code)} students ({played})"
    )


def _delete_for_replace() -> None:
    try:
        delete_roster(db.session)
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise DemoRefused(
            "Cannot replace the roster: other records (e.g. campaigns or responses) refer "
            "to its students or users. Use a fresh database for the demo."
        ) from error
