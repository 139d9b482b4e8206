"""`wellbeing demo`: fill an empty database with a synthetic district (see
wellbeing/roster/synthetic.py) and print the demo logins."""

from __future__ import annotations

import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import click
from flask import current_app, get_template_attribute
from flask.cli import with_appcontext
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wellbeing.campaigns.coverage import state_name
from wellbeing.campaigns.demo import DemoCampaign, build_demo_campaign
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.campaigns.vocabulary import STATES
from wellbeing.clock import utcnow
from wellbeing.config import is_production
from wellbeing.demo_mailbox import LOG_FILE as MAILBOX_LOG
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.health.demo import DemoHealth, build_demo_health
from wellbeing.health.labels import round_label, school_year_label
from wellbeing.lessons.demo import DemoLessons, build_demo_lessons
from wellbeing.lessons.vocabulary import LESSONS_PER_SEMESTER
from wellbeing.observations.demo import DemoObservations, build_demo_observations
from wellbeing.plans.demo_file import DemoFiles, build_demo_files
from wellbeing.review.demo import (
    DEMO_MODEL,
    DemoDecisions,
    DemoFollowUps,
    build_demo_decisions,
    build_demo_followups,
    build_demo_model,
)
from wellbeing.review.demo_history import DemoHistoryYear, build_demo_history
from wellbeing.review.models import RiskModel
from wellbeing.roster.labels import grade_name
from wellbeing.roster.models import District, User
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

# Where `wellbeing run` serves by default (the Makefile's HOST and PORT).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000

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


# The demo's screening and health records, deleted (children first) before the roster
# on --replace.
CAMPAIGN_TABLES = (
    "indicator_refresh_request",
    "indicator_value",
    "indicator_target",
    "lesson",
    "observation",
    "weekly_report",
    "plan_package",
    "plan_transfer",
    "referral",
    "plan_attachment",
    "guardian_contact",
    "plan_version",
    "growth_plan",
    "hospital",
    "alert_step",
    "review_decision",
    "sla_event",
    "follow_up",
    "health_letter_log",
    "vision_record",
    "fitness_record",
    "crisis_alert",
    "risk_assessment",
    "paper_entry",
    "draft_answer",
    "screening_response",
    "consent_record",
    "campaign_target",
    "campaign_school",
    "campaign_instrument",
    "campaign",
    "risk_model",
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
    # One argon2 hash for the fixed logins: they share a published password anyway,
    # and hashing is the slow part of making an account.
    district = generate_district(
        school_year, seed=seed, students=students, password_hash=hash_password(DEMO_PASSWORD)
    )
    write_district(session, district)
    return district


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def logins_table() -> str:
    """The fixed logins as a small text table, in the interface's words: the role
    as the pages name it, and where each one works (read from the database, so the
    table is the same whether the district was just built or already there)."""
    role_label = get_template_attribute("_macros.html", "role_label")
    scope_label = get_template_attribute("_macros.html", "scope_label")
    users = {
        user.username: user
        for user in db.session.scalars(
            select(User).where(User.username.in_([login.username for login in FIXED_LOGINS]))
        )
    }
    rows = [[_("Role"), _("Username"), _("Password"), _("What they see")]]
    for login in FIXED_LOGINS:
        user = users.get(login.username)
        where = ", ".join(str(scope_label(a)) for a in user.roles) if user else ""
        sees = _("%(sees)s (%(where)s)", sees=login.sees, where=where) if where else str(login.sees)
        rows.append([str(role_label(login.role.value)), login.username, DEMO_PASSWORD, sees])
    return _table(rows)


def _summary(district: SyntheticDistrict, seconds: float) -> str:
    tables = district.tables
    students = tables["student"]
    kind_label = get_template_attribute("_macros.html", "kind_label")
    kinds = Counter(school["kind"] for school in tables["school"])
    share = {
        key: sum(row[key] for row in students) / len(students)
        for key in ("boarding", "left_behind")
    }
    lines = [
        _(
            "Built the demo district in %(seconds).1f s (%(year)s):",
            seconds=seconds,
            year=school_year_label(district.school_year),
        ),
        "  "
        + _(
            "%(count)d schools (%(kinds)s)",
            count=len(tables["school"]),
            kinds=_joined(f"{kind_label(kind)} {count}" for kind, count in kinds.items()),
        ),
        "  "
        + _(
            "%(classes)d classes, %(students)d students (%(boarding)s boarding, "
            "%(left_behind)s left-behind), %(guardians)d guardians",
            classes=len(tables["school_class"]),
            students=len(students),
            boarding=f"{share['boarding']:.0%}",
            left_behind=f"{share['left_behind']:.0%}",
            guardians=len(tables["guardian"]),
        ),
        "  "
        + _(
            "%(accounts)d accounts; only the %(fixed)d below have a password",
            accounts=len(tables["user_account"]),
            fixed=len(FIXED_LOGINS),
        ),
        "  "
        + _(
            "Schools without a counselor: %(schools)s",
            schools=_joined(district.schools_without_counselor),
        ),
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
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Host `wellbeing run` will serve on: the printed addresses use it.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port `wellbeing run` will serve on: the printed addresses use it.",
)
@with_appcontext
def demo_command(
    seed: int,
    students: int,
    school_year: int | None,
    if_empty: bool,
    replace: bool,
    host: str,
    port: int,
) -> None:
    """Build a synthetic demo district (invented schools, students, staff, a screening
    campaign, a vision round and fitness tests) and print the demo logins. Refuses
    to run in production."""
    if is_production(current_app.config):
        raise DemoRefused(
            "Refusing to build the demo district: ENVIRONMENT is production. "
            "The demo would mix invented students into real records."
        )
    base = base_url(host, port)
    if not roster_is_empty(db.session):
        if if_empty:
            click.echo(_("The database already has a roster; the demo district was not built."))
            click.echo(_("If it is the demo district, these are its logins:") + "\n")
            click.echo(logins_table())
            click.echo("\n" + _("Sign in at %(url)s", url=f"{base}/login"))
            click.echo(_mailbox_note())
            return
        if not replace:
            raise DemoRefused(
                "The database already has a roster (schools, students or users). "
                "Use --replace to delete it and build the demo, or --if-empty to skip."
            )
        _delete_for_replace()
    started = time.perf_counter()
    try:
        district = build_demo(db.session, seed=seed, students=students, school_year=school_year)
        db.session.commit()
        screening = build_demo_campaign(seed)
        db.session.commit()
        health = build_demo_health(seed, district.school_year, screening.demo_class_id)
        db.session.commit()
        followups = build_demo_followups(seed)
        db.session.commit()
        decisions = build_demo_decisions(seed)
        db.session.commit()
        model = build_demo_model(seed)
        db.session.commit()
        files = build_demo_files(seed)
        db.session.commit()
        observations = build_demo_observations(seed)
        db.session.commit()
        history = build_demo_history(seed, district.school_year)
        db.session.commit()
        lessons = build_demo_lessons(seed)
        db.session.commit()
        # The district's indicators of every stored year, so the dashboard has figures
        # and trends before the first night.
        refresh_years(district.school_year)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    click.echo(_summary(district, time.perf_counter() - started))
    click.echo(_campaign_summary(screening))
    click.echo(_history_summary(history))
    click.echo(_health_summary(health))
    click.echo(_followups_summary(followups))
    click.echo(_review_summary(decisions, model))
    click.echo(_files_summary(files))
    click.echo(_observations_summary(observations))
    click.echo(_lessons_summary(lessons) + "\n")
    click.echo(_("Demo logins (all with the same password):"))
    click.echo(logins_table())
    click.echo("\n" + _("Sign in at %(url)s", url=f"{base}/login"))
    if screening.trial_code:
        click.echo(
            _(
                "Try the students' questionnaire at %(url)s with the code %(code)s (one use).",
                url=f"{base}/s/",
                code=screening.trial_code,
            )
        )
    click.echo(_mailbox_note())


def _mailbox_note() -> str:
    """Where the demo's mail and webhooks go (`make demo` starts the mailbox)."""
    log = Path(current_app.instance_path) / MAILBOX_LOG
    return _(
        "Mail and webhooks (reminders, escalations, crisis alerts) go to the demo mailbox: "
        "each one shows in this console as it arrives, and is kept in %(log)s.",
        log=log,
    )


def base_url(host: str, port: int) -> str:
    """The address a browser on this machine opens: a server listening on every
    interface (0.0.0.0, ::) is reached at the loopback address."""
    if host in ("0.0.0.0", "::", ""):
        host = DEFAULT_HOST
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _joined(items: Iterable[str]) -> str:
    locale = get_locale()
    return ("、" if locale is None or locale.language == "zh" else ", ").join(items)


def _campaign_summary(screening: DemoCampaign) -> str:
    """The campaign in the ledger's words: its states as the pages name them."""
    campaign = screening.campaign
    states = db.session.execute(
        select(CampaignTarget.state, func.count())
        .where(CampaignTarget.campaign_id == campaign.id)
        .group_by(CampaignTarget.state)
    ).all()
    counts = dict(states)
    played = _joined(f"{state_name(state)} {counts[state]}" for state in STATES if state in counts)
    return "  " + _(
        "Campaign “%(name)s”: %(grades)s of %(schools)d schools, %(students)d students "
        "(%(states)s)",
        name=campaign.name,
        grades=_joined(grade_name(grade) for grade in campaign.grades),
        schools=len(campaign.schools),
        students=sum(counts.values()),
        states=played,
    )


def refresh_years(school_year: int) -> None:
    """Refresh the demo's school years in every district: the roster's and the two
    before it (the earlier screenings and health rounds), up to the current one (the
    current campaign's, when --school-year named an earlier one). The caller commits."""
    last = max(school_year, current_school_year(utcnow().date()))
    for district_id in db.session.scalars(select(District.id)):
        for year in range(school_year - 2, last + 1):
            refresh(district_id, year)


def _history_summary(history: list[DemoHistoryYear]) -> str:
    return "  " + _(
        "Earlier screenings of first-years: %(years)s",
        years=_joined(
            _(
                "%(year)s %(students)d students, %(share)s screened",
                year=school_year_label(year.school_year),
                students=year.targets,
                share=f"{year.screened / year.targets:.0%}" if year.targets else "—",
            )
            for year in history
        ),
    )


def _health_summary(health: DemoHealth) -> str:
    lines = [
        (_("Vision, %(round)s", round=round_label(health.vision_round)), health.vision),
        (_("Fitness, %(year)s", year=school_year_label(health.fitness_year)), health.fitness),
        (
            _("Vision, %(round)s", round=round_label(health.vision_round.previous().previous())),
            health.last_vision,
        ),
    ]
    return "\n".join(
        "  "
        + _(
            "%(round)s: %(records)d records; %(done)d classes done, %(open)d in progress; "
            "%(incomplete)d incomplete for the export's pre-check",
            round=name,
            records=tally.records,
            done=tally.complete_classes,
            open=tally.in_progress_classes,
            incomplete=tally.incomplete,
        )
        for name, tally in lines
    )


def _followups_summary(followups: DemoFollowUps) -> str:
    return "  " + _(
        "Follow-ups: %(open)d open (%(soon)d due within minutes, %(overdue)d overdue), "
        "%(done)d done; crisis alerts: %(acknowledged)d acknowledged, %(waiting)d waiting "
        "(a running scheduler reminds and escalates them)",
        open=followups.open,
        soon=followups.due_soon,
        overdue=followups.overdue,
        done=followups.done,
        acknowledged=followups.acknowledged,
        waiting=followups.unacknowledged,
    )


def _review_summary(decisions: DemoDecisions, model: RiskModel | None) -> str:
    lines = [
        "  "
        + _(
            "Review: %(decisions)d counselor decisions, %(outcomes)d outcomes for training "
            "(%(needs)d in need of intervention; %(referred)d not flagged, referred or seen for "
            "quality control); the demo "
            "counselor's queue has %(waiting)d students waiting",
            decisions=decisions.decisions,
            outcomes=decisions.outcomes,
            needs=decisions.needs,
            referred=decisions.referred,
            waiting=decisions.demo_waiting,
        )
    ]
    if model is not None:
        lines.append(
            "  "
            + _(
                "Risk model %(version)s trained on them as a draft (not active): its card is "
                "on the risk models page",
                version=DEMO_MODEL,
            )
        )
    return "\n".join(lines)


def _files_summary(files: DemoFiles) -> str:
    return "  " + _(
        "一生一策 files: %(plans)d at the demo counselor's school, with %(contacts)d guardian "
        "contacts and %(referrals)d referrals to partner hospitals in every state",
        plans=files.plans,
        contacts=files.contacts,
        referrals=files.referrals,
    )


def _observations_summary(reports: DemoObservations) -> str:
    return "  " + _(
        "心理委员 weekly reports: %(reports)d (%(nil)d “nothing unusual”), %(observations)d "
        "observations (%(acknowledged)d acknowledged, %(waiting)d waiting, %(late)d late), "
        "%(urgent)d urgent waiting at the demo counselor's school; %(unreported)d classes "
        "did not report last week",
        reports=reports.reports,
        nil=reports.nil,
        observations=reports.observations,
        acknowledged=reports.acknowledged,
        waiting=reports.waiting,
        late=reports.late,
        urgent=reports.urgent,
        unreported=reports.unreported_last_week,
    )


def _lessons_summary(lessons: DemoLessons) -> str:
    return "  " + _(
        "Mental-health lessons: %(lessons)d logged for %(classes)d classes over %(semesters)d "
        "semesters; the classes of %(short)d schools fall short of %(target)d a semester",
        lessons=lessons.lessons,
        classes=lessons.classes,
        semesters=lessons.semesters,
        short=lessons.short_schools,
        target=LESSONS_PER_SEMESTER,
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
