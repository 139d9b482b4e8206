"""The review queue (审核队列) of a school of 5,000 screened students, about 15% flagged.

Data (written with Core, sealed the app's way): one school of 5,000 students in 100
classes (grades 7 to 9), one campaign (PHQ-9 + GAD-7), every student screened and tiered
by the shipped model from drawn bands (each assessment's status and explanation sealed,
as the review writes them): about 3% red, 5% orange, 7% yellow; a third of the flagged
cases already followed up by the counselor, flagged over the last 30 days.

Figures, each the best of RUNS, warm (after one request):
- the baseline: the bare SELECT of the school's 5,000 assessment rows with their sealed
  status (the floor of fetching them at all, nothing opened);
- opening the 5,000 statuses alone (Keyring.open, JSON);
- the queue page through the test client, the whole request (login session, access
  check, every status opened, filters, sort, the page's 50 students, the audit row,
  the template, the commit): the default list; filtered to one class; filtered by an
  instrument (which also opens the explanations of the remaining cases); page 10;
- the counselor's home page (its "waiting for review" figure opens the same statuses).
Goal: the queue page under 300 ms warm, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/bench_review.py [--students N] [--runs N]
     [--database-url URL]   (PostgreSQL: also WELLBEING_BENCH_DATABASE_URL; the
     database's public schema is dropped and rebuilt)
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_pages import best_of  # noqa: E402

KEYS = "kbench:" + base64.b64encode(bytes(range(64, 96))).decode()
PASSWORD = "bench-password-2026"
CLASS_SIZE = 50
RUNS = 5
BASELINE = "bare_select_school_assessments"
# Bands drawn for each student (the shipped model's points: PHQ-9 0/5/20/30/40, GAD-7
# 0/5/20/30; yellow from 20, orange from 30, red from 60).
PHQ9 = (
    ("minimal", 0.70, 2),
    ("mild", 0.215, 7),
    ("moderate", 0.045, 12),
    ("moderately_severe", 0.025, 17),
    ("severe", 0.015, 22),
)
GAD7 = (("minimal", 0.74, 2), ("mild", 0.20, 7), ("moderate", 0.04, 12), ("severe", 0.02, 17))


def _draw(rng: np.random.Generator, bands: tuple, count: int) -> tuple[list, list]:
    names = [b[0] for b in bands]
    chosen = rng.choice(len(bands), size=count, p=[b[1] for b in bands])
    return [names[i] for i in chosen], [bands[i][2] for i in chosen]


def _seed(students: int) -> dict[str, int]:
    """Write the school; returns counts by tier."""
    from sqlalchemy import insert

    from screening import risk
    from wellbeing.campaigns.battery import catalog
    from wellbeing.campaigns.models import (
        Campaign,
        CampaignInstrument,
        CampaignSchool,
        CampaignTarget,
    )
    from wellbeing.clock import utcnow
    from wellbeing.extensions import db
    from wellbeing.review.assessments import _documents
    from wellbeing.review.models import RiskAssessment
    from wellbeing.roster.models import District, RoleAssignment, School, SchoolClass, Student, User
    from wellbeing.security.crypto import Context, EncryptedJSON
    from wellbeing.security.fields import current_keyring, new_uid
    from wellbeing.security.passwords import hash_password

    session = db.session
    now = utcnow()
    session.execute(insert(District), [{"id": 1, "code": "510502", "name": "江阳区"}])
    session.execute(
        insert(School),
        [{"id": 1, "district_id": 1, "code": "S1", "name": "基准中学", "kind": "junior"}],
    )
    classes = -(-students // CLASS_SIZE)
    session.execute(
        insert(SchoolClass),
        [
            {
                "id": c,
                "school_id": 1,
                "grade": 7 + (c - 1) * 3 // classes,
                "name": str(1 + (c - 1) % -(-classes // 3)),
                "entry_year": 2026,
            }
            for c in range(1, classes + 1)
        ],
    )
    session.execute(
        insert(Student),
        [
            {
                "id": i,
                "student_number": f"G5105022013{i:07d}X",
                "name": f"学生{i}",
                "sex": "MF"[i % 2],
                "birth_date": date(2013, 5, 1),
                "class_id": 1 + (i - 1) // CLASS_SIZE,
                "status": "enrolled",
            }
            for i in range(1, students + 1)
        ],
    )
    session.execute(
        insert(User),
        [
            {
                "id": 1,
                "username": "counselor",
                "display_name": "心理老师",
                "created_at": now,
                "password_hash": hash_password(PASSWORD),
            }
        ],
    )
    session.execute(insert(RoleAssignment), [{"user_id": 1, "role": "counselor", "school_id": 1}])
    session.execute(
        insert(Campaign),
        [
            {
                "id": 1,
                "district_id": 1,
                "owner_school_id": 1,
                "name": "2026 秋季筛查",
                "grades": [7, 8, 9],
                "opens_at": now - timedelta(days=40),
                "closes_at": now + timedelta(days=10),
                "consent_mode": "opt_out",
                "legal_basis": "statutory_duty",
                "notice_version": "1",
                "show_results": False,
                "languages": ["zh"],
            }
        ],
    )
    session.execute(insert(CampaignSchool), [{"campaign_id": 1, "school_id": 1}])
    session.execute(
        insert(CampaignInstrument),
        [
            {
                "campaign_id": 1,
                "position": n,
                "instrument_id": ref,
                "version": catalog().get(ref).version,
                "content_hash": catalog().get(ref).content_hash,
            }
            for n, ref in enumerate(("phq9", "gad7"))
        ],
    )
    rng = np.random.default_rng(2026)
    phq_band, phq_total = _draw(rng, PHQ9, students)
    gad_band, gad_total = _draw(rng, GAD7, students)
    inputs = [
        {
            "phq9_valid": True,
            "phq9_band": phq_band[i],
            "phq9_total": phq_total[i],
            "gad7_valid": True,
            "gad7_band": gad_band[i],
            "gad7_total": gad_total[i],
            "critical": bool(i % 173 == 0),
            "boarding": False,
            "left_behind": False,
            "previous_tier": None,
        }
        for i in range(students)
    ]
    model = risk.default_model()
    result = risk.assess(model, pd.DataFrame.from_records(inputs))
    keyring = current_keyring()
    targets, assessments = [], []
    counts: dict[str, int] = {}
    for i in range(students):
        uid = new_uid()
        targets.append(
            {
                "id": i + 1,
                "uid": uid,
                "campaign_id": 1,
                "student_id": i + 1,
                "class_id": 1 + i // CLASS_SIZE,
                "state": "screened_valid",
                "code_digest": f"{i:064x}",
                "code": keyring.seal(b"ABCDEFGHJK", Context("campaign_target", uid, "code")),
                "submitted_at": now - timedelta(days=35),
            }
        )
        tier = str(result.tier[i])
        counts[tier] = counts.get(tier, 0) + 1
        flagged = tier in risk.FLAGGED
        following = flagged and i % 3 == 0
        rule, contributions = _documents(result, i)
        status = {
            "tier": tier,
            "points": int(result.total[i]),
            "rule": rule["id"] if rule else None,
            "state": ("following" if following else "waiting") if flagged else None,
            "reviewed_tier": tier if following else None,
            "owner_id": 1 if following else None,
            "flagged_at": (now - timedelta(minutes=i * 7 % 43200)).isoformat() if flagged else None,
            "decided_at": now.isoformat() if following else None,
        }
        uid = new_uid()
        explanation = {"contributions": contributions, "rule": rule, "inputs": inputs[i]}
        assessments.append(
            {
                "uid": uid,
                "school_id": 1,
                "campaign_id": 1,
                "target_id": i + 1,
                "student_id": i + 1,
                "attempt": 1,
                "model_version": model.version,
                "computed_at": now,
                "status": keyring.seal(
                    EncryptedJSON.encode(status), Context("risk_assessment", uid, "status")
                ),
                "explanation": keyring.seal(
                    EncryptedJSON.encode(explanation),
                    Context("risk_assessment", uid, "explanation"),
                ),
            }
        )
    session.execute(insert(CampaignTarget.__table__), targets)
    session.execute(insert(RiskAssessment.__table__), assessments)
    session.commit()
    return counts


def bench(url: str, students: int, runs: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from tests.conftest import pass_second_factor
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.review.models import RiskAssessment
    from wellbeing.review.queue import open_sealed

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "ENVIRONMENT": "test",
            "SECRET_KEY": "bench",
            "KEYS": KEYS,
            "WTF_CSRF_ENABLED": False,
        }
    )
    kind = url.split(":", 1)[0].split("+", 1)[0]
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        counts = _seed(students)
        if os.environ.get("BENCH_PROFILE"):
            _profile(app)
        flagged = sum(n for tier, n in counts.items() if tier != "none")
        print(
            f"rows: {students} assessments of one school ({kind}), {flagged} flagged "
            f"({flagged / students:.1%}: {counts}); written in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        table = RiskAssessment.__table__
        bare_query = text(
            f"SELECT id, student_id, uid, status FROM {table.name} WHERE school_id = 1"
        )

        def bare() -> int:
            found = db.session.execute(bare_query).all()
            db.session.rollback()
            return len(found)

        sealed = [
            (row.id, row.uid, row.status)
            for row in db.session.execute(text(f"SELECT id, uid, status FROM {table.name}"))
        ]

        def open_only() -> int:
            return sum(1 for _ in open_sealed(RiskAssessment, "status", sealed))

        client = app.test_client()
        response = client.post("/login", data={"username": "counselor", "password": PASSWORD})
        assert response.status_code == 302, "login failed"
        if response.headers["Location"] in ("/login/code", "/login/enrol"):
            pass_second_factor(client, "counselor")
            db.session.commit()

        def page(url: str) -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        base = best_of(runs, bare)
        assert bare() == students

        def report(name: str, seconds: float) -> None:
            ratio = seconds / base
            print(f"{name}: {seconds * 1000:.1f} ms (ratio {ratio:.1f} vs {BASELINE})", flush=True)

        report(BASELINE, base)
        report(f"open_{students}_statuses_only", best_of(runs, open_only))
        pages = {
            "queue_page_default": "/schools/1/review",
            "queue_page_one_class": "/schools/1/review?class=3",
            "queue_page_instrument_gad7": "/schools/1/review?instrument=gad7",
            "queue_page_10_all_states": "/schools/1/review?state=all&page=10",
            "counselor_home_page": "/home",
        }
        for name, address in pages.items():
            page(address)  # warm: the first request of each shape
            report(name, best_of(runs, lambda address=address: page(address)))
        db.engine.dispose()


def _profile(app) -> None:
    """Where the queue page's time goes (BENCH_PROFILE=1): the top functions by their
    own time over 5 requests."""
    import cProfile
    import pstats

    from tests.conftest import pass_second_factor

    client = app.test_client()
    client.post("/login", data={"username": "counselor", "password": PASSWORD})
    pass_second_factor(client, "counselor")
    client.get("/schools/1/review")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.get("/schools/1/review")
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("WELLBEING_BENCH_DATABASE_URL", ""),
        help="PostgreSQL URL (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    if args.database_url:
        bench(args.database_url, args.students, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="bench-review-") as folder:
        bench(f"sqlite:///{Path(folder) / 'bench.sqlite'}", args.students, args.runs)


if __name__ == "__main__":
    main()
