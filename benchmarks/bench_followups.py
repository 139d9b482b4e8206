"""The follow-ups' sweep at district scale: 100,000 open follow-ups, one sweep.

Data (written with Core): one district of 75 schools (the demo district's count at
100,000 students), 300 counselors (4 a school), an administrator and a monitor; 100,000
open follow-ups, of which 1,000 are due now, spread over the 300 counselors: 700 fell due
in the last minutes, 200 are 5 school hours late (the school's rung), 100 are days late
(the district's); the other 99,000 are due over the next 14 days. The due ones are sealed
the app's way; the others share one random blob (the sweep never opens either). 50 crisis
alerts wait for an acknowledgement, raised over the last three days. The clock stands at
a Wednesday, 14:00 local time.

Figures, in the same run: the bare `SELECT id FROM follow_up WHERE status = 'open' AND
due_at <= now` (the floor: finding the due rows at all), best of 5; the first sweep (it
reminds 300 people, records 1,000 reminders and some 350 climbs, tells each school's and
the district's rung, reminds the counselors of late alerts), best of 3 each rolled back,
then once committed; of that, the inbox writes alone (tell() of as many messages, to the
same people); the steady sweep half a minute later (nothing new to tell), best of 5.
Goal: one sweep within 1 s.

Run: .venv/bin/python benchmarks/bench_followups.py [--follow-ups N] [--due N]
     [--database-url URL]   (PostgreSQL: also WELLBEING_BENCH_DATABASE_URL; the
     database's public schema is dropped and rebuilt)
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_scoring import best_of, line  # noqa: E402

KEYS = "kbench:" + base64.b64encode(bytes(range(32))).decode()
SCHOOLS = 75
COUNSELORS_PER_SCHOOL = 4
ALERTS = 50
WEDNESDAY_2PM = datetime(2026, 12, 9, 14, 0)  # local time
BASELINE = "bare_select_due_ids"


def _seed(total: int, due: int) -> datetime:
    """Write the district; returns the stored (UTC) time the clock is set to."""
    from sqlalchemy import insert

    from screening.sla import subtract_school_hours
    from wellbeing import clock
    from wellbeing.campaigns.models import CrisisAlert
    from wellbeing.extensions import db
    from wellbeing.followups import ladder
    from wellbeing.followups.models import FollowUp
    from wellbeing.roster.models import District, RoleAssignment, School, User
    from wellbeing.security.crypto import Context, EncryptedJSON, EncryptedText
    from wellbeing.security.fields import current_keyring, new_uid

    now = clock.from_local(WEDNESDAY_2PM)
    clock.move(now - clock.utcnow())
    session = db.session
    session.execute(insert(District), [{"id": 1, "code": "510502", "name": "江阳区"}])
    session.execute(
        insert(School),
        [
            {"id": s, "district_id": 1, "code": f"S{s}", "name": f"基准中学{s}", "kind": "junior"}
            for s in range(1, SCHOOLS + 1)
        ],
    )
    counselors = SCHOOLS * COUNSELORS_PER_SCHOOL
    users = [
        {"id": u, "username": f"c{u}", "display_name": f"老师{u}", "created_at": now}
        for u in range(1, counselors + 1)
    ]
    users += [
        {"id": counselors + 1, "username": "admin", "display_name": "管理员", "created_at": now},
        {"id": counselors + 2, "username": "monitor", "display_name": "督导", "created_at": now},
    ]
    session.execute(insert(User), users)
    roles = [
        {"user_id": u, "role": "counselor", "school_id": 1 + (u - 1) // COUNSELORS_PER_SCHOOL}
        for u in range(1, counselors + 1)
    ]
    roles += [
        {"user_id": counselors + 1, "role": "admin", "district_id": 1},
        {"user_id": counselors + 2, "role": "monitor", "district_id": 1},
    ]
    session.execute(insert(RoleAssignment), roles)

    keyring = current_keyring()
    blob = secrets.token_bytes(60)  # never opened: a stand-in for 99,000 sealed subjects
    day = ladder.school_day()
    local_now = clock.to_local(now)
    school_late = clock.from_local(subtract_school_hours(local_now, 5, day))
    rows = []
    for n in range(total):
        assignee = 1 + n % counselors
        school = 1 + (assignee - 1) // COUNSELORS_PER_SCHOOL
        uid = new_uid()
        if n < due:
            share = n / due
            if share < 0.7:
                due_at = now - timedelta(minutes=1 + n % 10)
            elif share < 0.9:
                due_at = school_late - timedelta(minutes=n % 30)
            else:
                due_at = now - timedelta(days=3 + n % 4)
            subject = keyring.seal(
                EncryptedJSON.encode({"student_id": n + 1, "source_id": None}),
                Context("follow_up", uid, "subject"),
            )
        else:
            due_at = now + timedelta(minutes=1 + (n * 7919) % (14 * 24 * 60))
            subject = blob
        rows.append(
            {
                "uid": uid,
                "school_id": school,
                "subject": subject,
                "source": "counselor",
                "kind": "interview",
                "priority": ("red", "orange", "yellow")[n % 3],
                "assignee_id": assignee,
                "due_at": due_at,
                "status": "open",
                "created_at": now - timedelta(days=1),
                "escalation_level": 0,
            }
        )
    session.execute(insert(FollowUp.__table__), rows)
    alerts = []
    for n in range(ALERTS):
        uid = new_uid()
        alerts.append(
            {
                "uid": uid,
                "school_id": 1 + n % SCHOOLS,
                "subject": blob,
                "source": "critical_item",
                "detail": keyring.seal(
                    EncryptedText.encode("phq9: phq9_9"), Context("crisis_alert", uid, "detail")
                ),
                "raised_at": now - timedelta(hours=1 + n * 1.5),
            }
        )
    session.execute(insert(CrisisAlert.__table__), alerts)
    session.commit()
    return now


def bench(url: str, total: int, due: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    from wellbeing import clock, create_app
    from wellbeing.extensions import db
    from wellbeing.followups.sweep import sweep
    from wellbeing.notifications.models import Notification
    from wellbeing.notifications.services import tell
    from wellbeing.roster.models import User

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"DATABASE_URL": url, "ENVIRONMENT": "test", "SECRET_KEY": "b", "KEYS": KEYS})
    kind = url.split(":", 1)[0].split("+", 1)[0]
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        now = _seed(total, due)
        print(
            f"rows: {total} open follow-ups, {due} due, {ALERTS} alerts ({kind}); "
            f"written in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        def bare() -> int:
            found = db.session.execute(
                text("SELECT id FROM follow_up WHERE status = 'open' AND due_at <= :now"),
                {"now": now},
            ).all()
            db.session.rollback()
            return len(found)

        def first_sweep() -> dict:
            counts = sweep()
            db.session.rollback()
            return counts

        base = best_of(5, bare)
        assert bare() == due
        line(BASELINE, base * 1000, "ms", BASELINE, base * 1000)
        line("sweep_first_100k", best_of(3, first_sweep) * 1000, "ms", BASELINE, base * 1000)
        started = time.perf_counter()
        counts = sweep()
        db.session.commit()
        committed = time.perf_counter() - started
        line("sweep_first_100k_committed", committed * 1000, "ms", BASELINE, base * 1000)
        print(f"counts: {counts}", flush=True)
        told = db.session.execute(
            select(Notification.user_id, func.count()).group_by(Notification.user_id)
        ).all()
        people = {p.id: p for p in db.session.scalars(select(User))}

        def inbox_only() -> None:
            for user_id, count in told:
                for n in range(count):
                    tell([people[user_id]], "bench", "您有 3 条随访已到期", key=f"b:{user_id}:{n}")
            db.session.rollback()

        messages = sum(count for _, count in told)
        line(
            f"inbox_writes_only_{messages}",
            best_of(3, inbox_only) * 1000,
            "ms",
            BASELINE,
            base * 1000,
        )
        clock.move(timedelta(seconds=30))  # the next sweep, before any new due time

        def steady() -> None:
            counts = sweep()
            db.session.commit()
            assert counts["reminded"] == 0 and counts["escalated"] == 0, counts

        line("sweep_steady_100k", best_of(5, steady) * 1000, "ms", BASELINE, base * 1000)
        clock.reset()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--follow-ups", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("WELLBEING_BENCH_DATABASE_URL", ""),
        help="PostgreSQL URL (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    if args.database_url:
        bench(args.database_url, args.follow_ups, args.due)
        return
    with tempfile.TemporaryDirectory(prefix="bench-followups-") as folder:
        bench(f"sqlite:///{Path(folder) / 'bench.sqlite'}", args.follow_ups, args.due)


if __name__ == "__main__":
    main()
