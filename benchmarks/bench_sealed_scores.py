"""Opening a school's sealed scores: the review-sized case, 5,000 students.

Scores (total, band, critical flag, subscales, validity reasons) are sealed, one document
per response, so a page that lists a school's students with their scores opens that
school's rows. This measures that page's data work: the ORM query of the school's
responses (5,000 students x PHQ-9 and GAD-7 = 10,000 rows) and reading total, band and
critical of each (one open per response). Baselines in the same run, over the same rows:
a plain SQL query of the rows' clear columns (the floor of fetching them at all), and the
same ORM query reading clear columns only (what the page would cost with scores in clear).
For reference, the bare `Keyring.open` of the 10,000 documents.

Run: .venv/bin/python benchmarks/bench_sealed_scores.py [--students N]
"""

from __future__ import annotations

import argparse
import base64
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select

T = TypeVar("T")
KEYS = "kbench:" + base64.b64encode(bytes(range(32))).decode()
INSTRUMENTS = ("phq9", "gad7")
REPEATS = 5
BASELINE = "plain_sql_clear_columns"


def _best(work: Callable[[], T]) -> tuple[float, T]:
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        value = work()
        runs.append((time.perf_counter() - start, value))
    return min(seconds for seconds, _ in runs), runs[-1][1]


def _seed(students: int) -> None:
    """One school of `students` in classes of 50, one campaign, two scored responses each,
    written with Core (the responses' score documents sealed the app's way)."""
    from wellbeing.campaigns.models import Campaign, CampaignTarget, ScreeningResponse
    from wellbeing.extensions import db
    from wellbeing.roster.models import District, School, SchoolClass, Student
    from wellbeing.security.crypto import Context, EncryptedJSON
    from wellbeing.security.fields import current_keyring, new_uid

    session = db.session
    session.execute(insert(District), [{"id": 1, "code": "510502", "name": "江阳区"}])
    session.execute(
        insert(School),
        [{"id": 1, "district_id": 1, "code": "S1", "name": "基准中学", "kind": "junior"}],
    )
    classes = range(1, students // 50 + 2)
    session.execute(
        insert(SchoolClass),
        [
            {"id": c, "school_id": 1, "grade": 7, "name": str(c), "entry_year": 2026}
            for c in classes
        ],
    )
    session.execute(
        insert(Student),
        [
            {
                "id": i,
                "student_number": f"G510502201301{i:06d}X",
                "name": f"学生{i}",
                "sex": "MF"[i % 2],
                "birth_date": date(2013, 5, 1),
                "class_id": 1 + i // 50,
                "status": "enrolled",
            }
            for i in range(1, students + 1)
        ],
    )
    now = datetime(2026, 12, 1)
    session.execute(
        insert(Campaign),
        [
            {
                "id": 1,
                "district_id": 1,
                "owner_school_id": 1,
                "name": "基准",
                "grades": [7],
                "opens_at": now - timedelta(days=1),
                "closes_at": now + timedelta(days=1),
                "consent_mode": "opt_out",
                "legal_basis": "statutory_duty",
                "notice_version": "1",
                "show_results": False,
                "languages": ["zh"],
            }
        ],
    )
    keyring = current_keyring()
    targets, responses = [], []
    for i in range(1, students + 1):
        uid = new_uid()
        code = keyring.seal(b"ABCDEFGHJK", Context("campaign_target", uid, "code"))
        targets.append(
            {
                "id": i,
                "uid": uid,
                "campaign_id": 1,
                "student_id": i,
                "class_id": 1 + i // 50,
                "state": "screened_valid",
                "code_digest": f"{i:064x}",
                "code": code,
            }
        )
        for n, instrument in enumerate(INSTRUMENTS):
            uid = new_uid()
            score = {
                "total": (i + n) % 27,
                "band": "mild",
                "critical": i % 97 == 0,
                "subscales": {},
                "invalid_reasons": [],
            }
            sealed = keyring.seal(
                EncryptedJSON.encode(score), Context("screening_response", uid, "score")
            )
            responses.append(
                {
                    "uid": uid,
                    "target_id": i,
                    "student_id": i,
                    "attempt": 1,
                    "instrument_id": instrument,
                    "version": "1.0",
                    "content_hash": "sha256:" + "0" * 64,
                    "source": "online",
                    "score": sealed,
                    "valid": True,
                    "missing": 0,
                    "submitted_at": now,
                }
            )
    session.execute(insert(CampaignTarget.__table__), targets)
    session.execute(insert(ScreeningResponse.__table__), responses)
    session.commit()


def bench(students: int) -> list[str]:
    from flask_migrate import upgrade

    from wellbeing import create_app
    from wellbeing.campaigns.models import CampaignTarget, ScreeningResponse
    from wellbeing.extensions import db
    from wellbeing.security.crypto import Context
    from wellbeing.security.fields import current_keyring

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app(
            {"DATABASE_URL": url, "ENVIRONMENT": "test", "SECRET_KEY": "bench", "KEYS": KEYS}
        )
        with app.app_context():
            upgrade()
            _seed(students)
            school_rows = (
                select(ScreeningResponse)
                .join(CampaignTarget, CampaignTarget.id == ScreeningResponse.target_id)
                .where(CampaignTarget.campaign_id == 1)
            )

            def plain_sql() -> int:
                table = ScreeningResponse.__table__
                query = (
                    select(table.c.id, table.c.student_id, table.c.valid, table.c.missing)
                    .join(CampaignTarget.__table__, CampaignTarget.id == table.c.target_id)
                    .where(CampaignTarget.campaign_id == 1)
                )
                return len(db.session.execute(query).all())

            def orm_clear() -> int:
                db.session.expunge_all()
                rows = db.session.scalars(school_rows).all()
                return sum(1 for r in rows if r.valid and r.missing == 0)

            def orm_opened() -> int:
                db.session.expunge_all()
                rows = db.session.scalars(school_rows).all()
                return sum(1 for r in rows if r.critical or (r.total or 0) >= 10 or r.band)

            sealed = db.session.execute(
                select(ScreeningResponse.uid, ScreeningResponse.score_sealed)
            ).all()
            keyring = current_keyring()

            def open_only() -> int:
                for uid, blob in sealed:
                    keyring.open(blob, Context("screening_response", uid, "score"))
                return len(sealed)

            base, count = _best(plain_sql)
            figures = {
                BASELINE: base,
                "orm_school_responses_clear_columns": _best(orm_clear)[0],
                "orm_school_responses_scores_opened": _best(orm_opened)[0],
                "keyring_open_only": _best(open_only)[0],
            }
            db.engine.dispose()
    lines = [f"rows: {count} responses of {students} students (one school, SQLite file)"]
    for name, seconds in figures.items():
        lines.append(f"{name}: {seconds * 1000:.1f} ms (ratio {seconds / base:.1f} vs {BASELINE})")
    opened = figures["orm_school_responses_scores_opened"]
    clear = figures["orm_school_responses_clear_columns"]
    lines.append(
        f"opening_cost_per_response: {(opened - clear) / count * 1e6:.1f} us "
        f"(ratio {opened / clear:.2f} vs orm_school_responses_clear_columns)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5000)
    args = parser.parse_args()
    for line in bench(args.students):
        print(line, flush=True)


if __name__ == "__main__":
    main()
