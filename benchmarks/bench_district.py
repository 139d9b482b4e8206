"""The district view at 100,000 students: the nightly refresh and the indicator pages,
against the plain SQL GROUP BY over the same rows.

Data, built once per run (its time is reported, not a goal):
- the demo district (`wellbeing demo`'s roster: 75 schools, accounts) and its health
  records (wellbeing.health.demo: three school years of autumn vision rounds and spring
  fitness tests, through the grid's checks and the core's classification and scoring);
- for each of three school years (this one and the two before), the district's screening
  campaign of new first-years (grades 7 and 10; a year back the cohort now in grades 8 and
  11, two years back 9 and 12, in the class they are in today: the roster keeps no
  history) with realistic target states, a risk assessment for every valid sitting
  (tiered by the shipped model from drawn PHQ-9 and GAD-7 bands; status and explanation
  sealed as the review writes them; a third of this year's flagged and every earlier one
  decided), crisis
  alerts for the red tier and critical items (acknowledged, most in time), their first
  follow-ups and the review's follow-ups, 一生一策 files for the decided red cases and
  referrals for a third of those. Only the rows the district's sources read are written
  (campaign, its schools, battery and targets; risk_assessment; crisis_alert; follow_up;
  growth_plan, hospital, referral): Core executemany, every sealed column sealed with
  the app's keyring. The sittings' answers and scores (screening_response) are not:
  no district source reads them.

Figures:
- refresh: wellbeing.district.refresh.refresh for each of the three school years (each
  committed), and the nightly job (refresh_all: the current school year), goal < 60 s;
- the dashboard /district/indicators/ as the demo monitor, through the test client (the
  whole request: session, access check, queries, template): cold is the first request
  of a fresh process (a new app, engine and session, logged in, then the first page;
  neither the OS page cache nor PostgreSQL's shared buffers are dropped, so "cold" is
  the process's caches: SQLAlchemy's compiled statements, Jinja's templates, the
  translations, the connection pool), goal < 3 s; warm is the median and p95 of RUNS
  requests after it in the same process, goal < 300 ms; dashboard_fresh_process is the
  whole process up to its first page (Python's start, imports, app, login, page). The
  same for an indicator's drill-down page (health_myopia) and a school's page of it;
- the baseline: the plain SQL GROUP BY of two representative figures straight over the
  raw rows of the current school year (new-student screening coverage by school from
  campaign_target, and the screening myopia rate by school from vision_record), warm
  (best of 5) and cold (first execution in a fresh process).

Run: .venv/bin/python benchmarks/bench_district.py [--students N] [--runs N]
     [--postgresql URL]   (the database's public schema is dropped and rebuilt)
     [--profile]          (cProfile of the slowest work, and SQL statement counts)
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# A fixed key for the benchmark's throwaway database (never used elsewhere).
KEYS = "kbench:" + base64.b64encode(bytes(range(128, 160))).decode()
RUNS = 30
SEED = 1
YEARS = 3
BASELINE = "plain_sql_group_by"
STATES = (  # a closed campaign's targets, by state
    ("screened_valid", 0.80),
    ("retest_pending", 0.03),
    ("absent", 0.04),
    ("exempt", 0.01),
    ("consent_withheld", 0.02),
    ("transferred", 0.01),
    ("in_progress", 0.02),
    ("not_started", 0.07),
)
REASONS = {  # why, for every state that is not progress
    "retest_pending": "phq9: inconsistent",
    "absent": "病假",
    "exempt": "正在精神专科就诊，由医生评估",
    "consent_withheld": "opted_out",
    "transferred": "转学",
}
PAGES = {
    "dashboard": "/district/indicators/",
    "indicator_page": "/district/indicators/health_myopia",
    "school_page": "/district/indicators/schools/{school}/health_myopia",
}


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def line(name: str, value: float, unit: str, base_name: str, base: float) -> None:
    shown = f"{value:.0f}" if unit == "ms" and value >= 10 else f"{value:.3g}"
    print(f"{name}: {shown} {unit} (ratio {value / base:.1f} vs {base_name})", flush=True)


def make_app(url: str):
    from wellbeing import create_app

    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = {
        "DATABASE_URL": url,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "bench-district",
        "KEYS": KEYS,
        "WTF_CSRF_ENABLED": False,
    }
    return create_app(config)


# ----------------------------------------------------------------------------- data


def _next_id(table: str) -> int:
    from sqlalchemy import func, select

    from wellbeing.extensions import db

    column = db.metadata.tables[table].c.id
    return (db.session.scalar(select(func.max(column))) or 0) + 1


def _sealer():
    from wellbeing.security.crypto import Context, EncryptedJSON, EncryptedText
    from wellbeing.security.fields import current_keyring

    keyring = current_keyring()

    def seal(table: str, uid: str, column: str, value: Any) -> bytes:
        encode = EncryptedText.encode if isinstance(value, str) else EncryptedJSON.encode
        return keyring.seal(encode(value), Context(table, uid, column))

    return seal


def _counselors() -> dict[int, int]:
    from sqlalchemy import select

    from wellbeing.extensions import db
    from wellbeing.roster.models import RoleAssignment

    found: dict[int, int] = {}
    for school_id, user_id in db.session.execute(
        select(RoleAssignment.school_id, RoleAssignment.user_id)
        .where(RoleAssignment.role == "counselor")
        .order_by(RoleAssignment.id)
    ):
        found.setdefault(school_id, user_id)
    return found


def _cohort(grade_now: tuple[int, ...]) -> list[tuple[int, int, int, str]]:
    """(student, class, school, sex) of the enrolled students now in those grades."""
    from sqlalchemy import select

    from wellbeing.extensions import db
    from wellbeing.roster.models import SchoolClass, Student

    return db.session.execute(
        select(Student.id, SchoolClass.id, SchoolClass.school_id, Student.sex)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(SchoolClass.grade.in_(grade_now), Student.status == "enrolled")
        .order_by(Student.id)
    ).all()


def _inputs(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    from bench_review import GAD7, PHQ9, _draw

    phq_band, phq_total = _draw(rng, PHQ9, count)
    gad_band, gad_total = _draw(rng, GAD7, count)
    critical = rng.random(count) < 0.006
    return [
        {
            "phq9_valid": True,
            "phq9_band": phq_band[i],
            "phq9_total": phq_total[i],
            "gad7_valid": True,
            "gad7_band": gad_band[i],
            "gad7_total": gad_total[i],
            "critical": bool(critical[i]),
            "boarding": False,
            "left_behind": False,
            "previous_tier": None,
        }
        for i in range(count)
    ]


def _campaign(school_year: int, ids: dict[str, int], seal, counselors: dict[int, int]) -> dict:
    """One school year's screening of new first-years, and what the review and the
    follow-ups made of it. Returns the rows written, by table."""
    import pandas as pd
    from sqlalchemy import insert

    from screening import risk
    from wellbeing.campaigns.battery import catalog
    from wellbeing.clock import local_midnight_utc
    from wellbeing.extensions import db
    from wellbeing.followups.ladder import alert_deadline
    from wellbeing.review.assessments import _documents

    back = school_year_for_today() - school_year
    cohort = _cohort((7 + back, 10 + back))
    rng = np.random.default_rng(school_year)
    opens = local_midnight_utc(date(school_year, 9, 15))
    campaign_id = ids["campaign"]
    ids["campaign"] += 1
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    tables["campaign"].append(
        {
            "id": campaign_id,
            "district_id": 1,
            "owner_school_id": None,
            "name": f"{school_year}年秋季新生心理筛查",
            "grades": [7, 10],
            "opens_at": opens,
            "closes_at": opens + timedelta(days=30),
            "consent_mode": "opt_out",
            "legal_basis": "statutory_duty",
            "notice_version": "1",
            "show_results": False,
            "languages": ["zh"],
            "created_at": opens - timedelta(days=7),
        }
    )
    tables["campaign_school"] += [
        {"campaign_id": campaign_id, "school_id": s} for s in sorted({row[2] for row in cohort})
    ]
    tables["campaign_instrument"] += [
        {
            "campaign_id": campaign_id,
            "position": n,
            "instrument_id": ref,
            "version": catalog().get(ref).version,
            "content_hash": catalog().get(ref).content_hash,
        }
        for n, ref in enumerate(("phq9", "gad7"))
    ]
    names = [s for s, _share in STATES]
    states = rng.choice(len(STATES), size=len(cohort), p=[share for _s, share in STATES])
    screened: list[tuple[int, tuple, datetime]] = []
    for (student_id, class_id, school_id, _sex), state_index in zip(cohort, states, strict=True):
        target_id, uid = ids["campaign_target"], os.urandom(16).hex()
        ids["campaign_target"] += 1
        state = names[state_index]
        submitted = opens + timedelta(days=int(rng.integers(0, 28)), hours=9)
        sat = state in ("screened_valid", "retest_pending")
        tables["campaign_target"].append(
            {
                "id": target_id,
                "uid": uid,
                "campaign_id": campaign_id,
                "student_id": student_id,
                "class_id": class_id,
                "state": state,
                "reason": REASONS.get(state),
                "approved_by_id": counselors.get(school_id, 1) if state == "exempt" else None,
                "state_changed_at": submitted,
                "attempt": 1,
                "code_digest": hashlib.sha256(f"{campaign_id}-{target_id}".encode()).hexdigest(),
                "code": seal("campaign_target", uid, "code", "ABCDEFGHJK"),
                "started_at": submitted if sat or state == "in_progress" else None,
                "submitted_at": submitted if sat else None,
                "language": "zh" if sat else None,
                "session_version": 0,
            }
        )
        if state == "screened_valid":
            screened.append((target_id, (student_id, class_id, school_id), submitted))
    inputs = _inputs(rng, len(screened))
    model = risk.default_model()
    result = risk.assess(model, pd.DataFrame.from_records(inputs))
    for row, (target_id, (student_id, _class_id, school_id), submitted) in enumerate(screened):
        tier = str(result.tier[row])
        flagged = tier in risk.FLAGGED
        decided = flagged and (back > 0 or rng.random() < 1 / 3)
        reviewed = tier if not decided or rng.random() < 0.9 else "yellow"
        decided_at = submitted + timedelta(days=2)
        counselor = counselors.get(school_id, 1)
        assessment_id, uid = ids["risk_assessment"], os.urandom(16).hex()
        ids["risk_assessment"] += 1
        rule, contributions = _documents(result, row)
        status = {
            "tier": tier,
            "points": int(result.total[row]),
            "rule": rule["id"] if rule else None,
            "state": ("following" if decided else "waiting") if flagged else None,
            "reviewed_tier": reviewed if decided else None,
            "owner_id": counselor if decided else None,
            "flagged_at": submitted.isoformat() if flagged else None,
            "decided_at": decided_at.isoformat() if decided else None,
        }
        explanation = {"contributions": contributions, "rule": rule, "inputs": inputs[row]}
        tables["risk_assessment"].append(
            {
                "id": assessment_id,
                "uid": uid,
                "school_id": school_id,
                "campaign_id": campaign_id,
                "target_id": target_id,
                "student_id": student_id,
                "attempt": 1,
                "model_version": model.version,
                "computed_at": submitted,
                "status": seal("risk_assessment", uid, "status", status),
                "explanation": seal("risk_assessment", uid, "explanation", explanation),
            }
        )
        if tier == "red" or inputs[row]["critical"]:
            _alert(
                tables,
                ids,
                seal,
                campaign_id,
                school_id,
                student_id,
                assessment_id,
                submitted,
                rng,
                counselor,
                alert_deadline,
            )
        if decided:
            _follow_up(
                tables,
                ids,
                seal,
                school_id,
                student_id,
                "review",
                assessment_id,
                decided_at,
                rng,
                counselor,
                back,
            )
        if decided and reviewed == "red":
            _plan(
                tables,
                ids,
                seal,
                school_id,
                student_id,
                assessment_id,
                decided_at,
                rng,
                counselor,
                back,
            )
    for name in TABLES:
        if tables[name]:
            db.session.execute(insert(db.metadata.tables[name]), tables[name])
    return {name: len(rows) for name, rows in tables.items()}


IDS = (  # the tables whose rows are written with their own ids
    "campaign",
    "campaign_target",
    "risk_assessment",
    "crisis_alert",
    "follow_up",
    "growth_plan",
    "referral",
)
TABLES = (
    "campaign",
    "campaign_school",
    "campaign_instrument",
    "campaign_target",
    "risk_assessment",
    "crisis_alert",
    "follow_up",
    "growth_plan",
    "referral",
)


def _alert(
    tables,
    ids,
    seal,
    campaign_id,
    school_id,
    student_id,
    assessment_id,
    raised,
    rng,
    counselor,
    deadline,
) -> None:
    """A crisis alert, acknowledged (95% in time), and its first contact."""
    alert_id, uid = ids["crisis_alert"], os.urandom(16).hex()
    ids["crisis_alert"] += 1
    late = rng.random() < 0.05
    acknowledged = deadline(raised) + timedelta(hours=5) if late else raised + timedelta(minutes=25)
    subject = {"student_id": student_id, "response_id": None, "assessment_id": assessment_id}
    tables["crisis_alert"].append(
        {
            "id": alert_id,
            "uid": uid,
            "school_id": school_id,
            "campaign_id": campaign_id,
            "subject": seal("crisis_alert", uid, "subject", subject),
            "source": "red_tier",
            "detail": seal("crisis_alert", uid, "detail", "red tier"),
            "raised_at": raised,
            "acknowledged_at": acknowledged,
            "acknowledged_by_id": counselor,
        }
    )
    _follow_up(
        tables,
        ids,
        seal,
        school_id,
        student_id,
        "crisis_alert",
        alert_id,
        acknowledged,
        rng,
        counselor,
        1,
    )


def _follow_up(
    tables, ids, seal, school_id, student_id, source, source_id, created, rng, assignee, back
) -> None:
    """A follow-up due a few days after it was made: done (most on time), or still open
    in the current school year."""
    follow_up_id, uid = ids["follow_up"], os.urandom(16).hex()
    ids["follow_up"] += 1
    due = created + timedelta(days=3 if source == "review" else 1)
    status = "done" if back > 0 or rng.random() < 0.8 else "open"
    closed = due - timedelta(hours=6) if rng.random() < 0.85 else due + timedelta(days=2)
    tables["follow_up"].append(
        {
            "id": follow_up_id,
            "uid": uid,
            "school_id": school_id,
            "subject": seal(
                "follow_up", uid, "subject", {"student_id": student_id, "source_id": source_id}
            ),
            "source": source,
            "kind": "interview",
            "priority": "red" if source == "crisis_alert" else "orange",
            "assignee_id": assignee,
            "due_at": due,
            "status": status,
            "created_at": created,
            "created_by_id": assignee,
            "closed_at": closed if status == "done" else None,
            "closed_by_id": assignee if status == "done" else None,
            "escalation_level": 0,
        }
    )


def _plan(
    tables, ids, seal, school_id, student_id, assessment_id, opened, rng, counselor, back
) -> None:
    """A 一生一策 file (closed after a year or so in the earlier years), and a referral
    for a third of them."""
    plan_id, uid = ids["growth_plan"], os.urandom(16).hex()
    ids["growth_plan"] += 1
    closed = opened + timedelta(days=300) if back > 1 else None
    subject = {"student_id": student_id, "source": "review", "source_id": assessment_id}
    tables["growth_plan"].append(
        {
            "id": plan_id,
            "uid": uid,
            "school_id": school_id,
            "subject": seal("growth_plan", uid, "subject", subject),
            "status": "closed" if closed else "active",
            "version": 1,
            "opened_at": opened,
            "opened_by_id": counselor,
            "updated_at": closed or opened,
            "closed_at": closed,
            "close_reason": "goals_met" if closed else None,
        }
    )
    if rng.random() < 1 / 3:
        referral_id, uid = ids["referral"], os.urandom(16).hex()
        ids["referral"] += 1
        state = "closed" if back > 0 or rng.random() < 0.5 else "seen"
        tables["referral"].append(
            {
                "id": referral_id,
                "uid": uid,
                "plan_id": plan_id,
                "hospital_id": 1,
                "created_by_id": counselor,
                "created_at": opened + timedelta(days=1),
                "state": state,
                "state_since": opened + timedelta(days=20),
                "sheet": seal("referral", uid, "sheet", {"reason": "基准数据"}),
                "history": seal("referral", uid, "history", []),
            }
        )


def school_year_for_today() -> int:
    from wellbeing.clock import local_today
    from wellbeing.health.rounds import school_year_for

    return school_year_for(local_today())


def _advance_sequences() -> None:
    from sqlalchemy import text

    from wellbeing.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in (
        "campaign",
        "campaign_target",
        "risk_assessment",
        "crisis_alert",
        "follow_up",
        "growth_plan",
        "referral",
        "hospital",
    ):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}")
        )


def build(app, students: int) -> dict[str, float]:
    """The whole district into the app's freshly migrated database; times by part."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from wellbeing.demo import build_demo
    from wellbeing.extensions import db
    from wellbeing.health.demo import build_demo_health

    times: dict[str, float] = {}
    year = school_year_for_today()
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        build_demo(db.session, students=students, school_year=year)
        db.session.commit()
        times["roster"] = time.perf_counter() - started
        started = time.perf_counter()
        build_demo_health(SEED, year, None)
        db.session.commit()
        times["health"] = time.perf_counter() - started
        started = time.perf_counter()
        db.session.execute(
            insert(db.metadata.tables["hospital"]),
            [
                {
                    "id": 1,
                    "district_id": 1,
                    "name": "市精神卫生中心",
                    "department": "",
                    "contact": "",
                    "active": True,
                }
            ],
        )
        ids = {name: _next_id(name) for name in IDS}
        seal, counselors = _sealer(), _counselors()
        written: dict[str, int] = {}
        for school_year in range(year - YEARS + 1, year + 1):
            for name, count in _campaign(school_year, ids, seal, counselors).items():
                written[name] = written.get(name, 0) + count
        _advance_sequences()
        db.session.commit()
        times["screening"] = time.perf_counter() - started
        log(f"screening rows written: {written}")
        log(f"health rows: {_count('vision_record')} vision, {_count('fitness_record')} fitness")
    return times


def _count(table: str) -> int:
    from sqlalchemy import func, select

    from wellbeing.extensions import db

    return db.session.scalar(select(func.count()).select_from(db.metadata.tables[table]))


# ----------------------------------------------------------------------------- baseline

COVERAGE_BY_SCHOOL = """
SELECT sc.school_id,
       SUM(CASE WHEN t.state = 'screened_valid' THEN 1 ELSE 0 END), COUNT(*)
FROM campaign_target t
JOIN campaign c ON c.id = t.campaign_id
JOIN school_class sc ON sc.id = t.class_id
WHERE c.district_id = 1 AND c.opens_at >= :starts AND c.opens_at < :ends
  AND sc.grade IN (7, 10) AND t.state <> 'transferred'
GROUP BY sc.school_id
"""
MYOPIA_BY_SCHOOL = """
SELECT sc.school_id,
       SUM(CASE WHEN v.myopia THEN 1 ELSE 0 END), COUNT(*)
FROM vision_record v
JOIN student s ON s.id = v.student_id
JOIN school_class sc ON sc.id = s.class_id
WHERE v.year = :year AND v.season = 'autumn' AND v.status = 'measured'
  AND v.myopia IS NOT NULL
GROUP BY sc.school_id
"""


def baseline_query() -> int:
    """The two representative figures by school, straight over the raw rows."""
    from sqlalchemy import text

    from wellbeing.district.sources import year_bounds
    from wellbeing.extensions import db

    year = school_year_for_today()
    starts, ends = year_bounds(year)
    rows = db.session.execute(text(COVERAGE_BY_SCHOOL), {"starts": starts, "ends": ends}).all()
    rows += db.session.execute(text(MYOPIA_BY_SCHOOL), {"year": year}).all()
    db.session.rollback()
    return len(rows)


def same_rows() -> None:
    """The baseline counts what the refresh counted: its coverage totals are the stored
    district cell's (the myopia figure's denominator also requires both eyes' results)."""
    from sqlalchemy import select, text

    from wellbeing.district.models import IndicatorValue
    from wellbeing.district.sources import year_bounds
    from wellbeing.extensions import db

    year = school_year_for_today()
    starts, ends = year_bounds(year)
    rows = db.session.execute(text(COVERAGE_BY_SCHOOL), {"starts": starts, "ends": ends}).all()
    stored = db.session.execute(
        select(IndicatorValue.numerator, IndicatorValue.denominator).where(
            IndicatorValue.indicator_id == "new_student_screening_coverage",
            IndicatorValue.school_year == year,
            IndicatorValue.school_id.is_(None),
            IndicatorValue.grade.is_(None),
            IndicatorValue.sex.is_(None),
        )
    ).one()
    plain = (sum(r[1] for r in rows), sum(r[2] for r in rows))
    assert tuple(stored) == plain, (tuple(stored), plain)
    log(f"coverage {year}: {plain[0]} of {plain[1]} (the stored district cell, and the plain SQL)")


def best_of(runs: int, work) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


# ----------------------------------------------------------------------------- pages


def signed_in(app, username: str = "monitor"):
    from tests.conftest import pass_second_factor
    from wellbeing.demo import DEMO_PASSWORD
    from wellbeing.extensions import db

    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, "the demo login failed"
    if response.headers["Location"] in ("/login/code", "/login/enrol"):
        pass_second_factor(client, username)
        db.session.commit()
    return client


def page_address(name: str) -> str:
    from sqlalchemy import select

    from wellbeing.extensions import db
    from wellbeing.roster.models import School

    school = db.session.scalar(select(School.id).order_by(School.code))
    return PAGES[name].format(school=school)


def fetch(client, address: str) -> float:
    started = time.perf_counter()
    response = client.get(address)
    taken = time.perf_counter() - started
    assert response.status_code == 200, (address, response.status_code)
    return taken


def fresh_main(url: str, what: str, runs: int) -> None:
    """In a fresh process, as a server worker would be: the first request of a page
    (after logging in), then `runs` more; or the first run of the baseline. Prints the
    seconds as JSON."""
    app = make_app(url)
    with app.app_context():
        if what == BASELINE:
            started = time.perf_counter()
            baseline_query()
            print(json.dumps({"first": time.perf_counter() - started}))
            return
        client = signed_in(app)
        address = page_address(what)
        started = time.perf_counter()
        response = client.get(address)
        first = time.perf_counter() - started
        assert response.status_code == 200, (address, response.status_code)
        body = response.get_data(as_text=True)
        log(f"{what} {address}: {len(body)} characters, {body.count('<tr')} table rows")
        collections = gc.get_stats()[2]["collections"]
        warm = [fetch(client, address) for _ in range(runs)]
        collections = gc.get_stats()[2]["collections"] - collections
        log(f"{what}: {collections} full garbage collections during the warm requests")
    print(json.dumps({"first": first, "warm": warm}))


def fresh(url: str, what: str, runs: int = 0) -> dict[str, Any]:
    """fresh_main's figures, and the whole process's seconds (Python's start, the
    imports, the app, the login, the pages)."""
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--fresh", what, "--url", url, "--runs", str(runs)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ).stdout
    found = json.loads(output.strip().splitlines()[-1])
    found["process"] = time.perf_counter() - started
    return found


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


# ----------------------------------------------------------------------------- refresh


def refresh_times(app) -> dict[str, float]:
    from wellbeing.district.refresh import refresh, refresh_all
    from wellbeing.extensions import db

    year = school_year_for_today()
    times = {}
    with app.app_context():
        for school_year in range(year - YEARS + 1, year + 1):
            started = time.perf_counter()
            stored = refresh(1, school_year)
            db.session.commit()
            times[f"refresh_{school_year}"] = time.perf_counter() - started
            log(f"refresh {school_year}: {stored} rows")
        started = time.perf_counter()
        refresh_all()
        db.session.commit()
        times["nightly_refresh"] = time.perf_counter() - started
        same_rows()
        db.session.remove()
    return times


def _source_times() -> None:
    """Each registered source's seconds within one refresh of the current year (shared
    counts are charged to the first source that asks for them)."""
    from wellbeing.district.indicators import INDICATORS, sharing

    year = school_year_for_today()
    times = []
    with sharing():
        for registered in INDICATORS.values():
            if registered.source is None:
                continue
            started = time.perf_counter()
            list(registered.source(1, year))
            times.append((time.perf_counter() - started, registered.indicator.id))
    for seconds, name in sorted(times, reverse=True)[:12]:
        log(f"source {name}: {seconds * 1000:.0f} ms")
    log(f"sources in all: {sum(t for t, _ in times):.2f} s")


def profile(app) -> None:
    """cProfile of the nightly refresh and of warm dashboard requests, and the number of
    SQL statements each runs (on stderr)."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from wellbeing.district.refresh import refresh_all
    from wellbeing.extensions import db

    with app.app_context():
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        _source_times()
        client = signed_in(app)
        for title, work in (
            ("nightly refresh", lambda: (refresh_all(), db.session.commit())),
            ("dashboard x5", lambda: [fetch(client, PAGES["dashboard"]) for _ in range(5)]),
        ):
            statements[0] = 0
            profiler = cProfile.Profile()
            profiler.enable()
            work()
            profiler.disable()
            log(f"{title}: {statements[0]} SQL statements")
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(15)
        event.remove(db.engine, "before_cursor_execute", count)


# ----------------------------------------------------------------------------- main


def run(url: str, students: int, runs: int, with_profile: bool) -> None:
    from sqlalchemy import create_engine, text

    from wellbeing.extensions import db

    kind = url.split(":", 1)[0].split("+", 1)[0]
    if kind == "postgresql":
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    label = f"{students // 1000}k" if students >= 1000 else str(students)
    app = make_app(url)
    started = time.perf_counter()
    times = build(app, students)
    for part, seconds in times.items():
        print(f"build_{label}_{part} ({kind}): {seconds:.1f} s (not a goal)", flush=True)
    log(f"built in {time.perf_counter() - started:.1f} s")
    with app.app_context():
        baseline_query()  # warm
        base = best_of(5, baseline_query)
        db.session.remove()
    base_cold = fresh(url, BASELINE)["first"]
    line(f"{BASELINE}_{label}", base * 1000, "ms", BASELINE, base * 1000)
    line(f"{BASELINE}_cold_{label}", base_cold * 1000, "ms", BASELINE, base * 1000)
    for name, seconds in refresh_times(app).items():
        line(f"{name}_{label}", seconds, "s", BASELINE, base)
    for name in PAGES:
        found = fresh(url, name, runs)
        cold = found["first"] * 1000
        line(f"{name}_cold_{label}", cold, "ms", f"{BASELINE}_cold", base_cold * 1000)
        median, high = statistics.median(found["warm"]), p95(found["warm"])
        line(f"{name}_warm_median_{label}", median * 1000, "ms", BASELINE, base * 1000)
        line(f"{name}_warm_p95_{label}", high * 1000, "ms", BASELINE, base * 1000)
        if name == "dashboard":
            whole = found["process"] - sum(found["warm"])
            line(f"{name}_fresh_process_{label}", whole, "s", f"{BASELINE}_cold", base_cold)
    if with_profile:
        profile(app)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=RUNS, help="warm requests per page")
    parser.add_argument("--postgresql", default="", help="a PostgreSQL URL (else SQLite)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fresh", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh:
        fresh_main(args.url, args.fresh, args.runs)
        return
    print(f"# load: {os.getloadavg()}", flush=True)
    if args.postgresql:
        run(args.postgresql, args.students, args.runs, args.profile)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-district-") as folder:
            url = f"sqlite:///{Path(folder) / 'district.sqlite'}"
            run(url, args.students, args.runs, args.profile)
    print(f"# load: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
