"""Where an autosave's time goes: the runner's POST /s/answer in-process (Flask's test
client, no HTTP server), on a fresh SQLite file or PostgreSQL database, under cProfile,
with the SQL statements it issues counted.

    .venv/bin/python benchmarks/loadsite/profile_autosave.py [--db postgresql] [--answers 300]

Prints the mean wall time per autosave, the statements per autosave (and one request's
statements), and cProfile's top functions by cumulative and by own time."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent))

from load_screening import (  # noqa: E402
    POSTGRES_DEFAULT,
    build_app,
    form_csrf,
    meta_csrf,
    migrate,
    reset_postgres,
    server_env,
)
from loadsite.seed import battery_of, seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--database-url", default=POSTGRES_DEFAULT)
    parser.add_argument("--answers", type=int, default=300, help="autosaves profiled")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-autosave-") as tmp:
        if args.db == "postgresql":
            url = args.database_url
            reset_postgres(url)
        else:
            url = f"sqlite:///{Path(tmp) / 'profile.sqlite'}"
        env = server_env(url)
        migrate(env)
        app = build_app(env)
        students = args.answers // 100 + 2
        seeded = seed(app, students, ["mht_shaped"])
        instrument = battery_of(app, seeded.campaign_id)[0]
        run(app, seeded.targets, instrument, args)


def run(app, targets, instrument, args) -> None:
    from sqlalchemy import event

    from wellbeing.campaigns.codes import display
    from wellbeing.extensions import db

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split("\n")[0][:110])

    # (client, token, item ids) for each student; the last one warms up.
    sessions = []
    for _target_id, code in targets:
        client = app.test_client()
        token = form_csrf(client.get("/s/").text)
        entered = client.post("/s/", data={"code": display(code), "csrf_token": token})
        assert entered.status_code == 303, entered.status_code
        meta = meta_csrf(client.get("/s/run/0").text)
        sessions.append((client, meta))
    items = [item.id for item in instrument.items]

    def autosave(client, meta, item_id):
        response = client.post(
            "/s/answer",
            json={"instrument": instrument.id, "item": item_id, "value": 0, "seconds": 3.1},
            headers={"X-CSRFToken": meta},
        )
        assert response.status_code == 200, response.text

    warm_client, warm_meta = sessions.pop()
    for item_id in items[:20]:
        autosave(warm_client, warm_meta, item_id)
    statements.clear()
    autosave(warm_client, warm_meta, items[20])
    one_request = list(statements)

    plan = [(c, m, items[i % 100]) for i in range(args.answers) for c, m in [sessions[i // 100]]]
    statements.clear()
    profiler = cProfile.Profile()
    begun = time.perf_counter()
    profiler.enable()
    for client, meta, item_id in plan:
        autosave(client, meta, item_id)
    profiler.disable()
    seconds = time.perf_counter() - begun
    print(f"autosaves: {len(plan)}, {seconds / len(plan) * 1000:.2f} ms each (under cProfile)")
    print(f"SQL statements per autosave: {len(statements) / len(plan):.1f}")
    print("one autosave's statements:")
    for statement in one_request:
        print(f"  {statement}")
    begun = time.perf_counter()
    extra = [(c, m, items[(i + 50) % 100]) for i, (c, m, _) in enumerate(plan)]
    for client, meta, item_id in extra:
        autosave(client, meta, item_id)
    print(
        f"without the profiler (the same items answered again: updates): "
        f"{(time.perf_counter() - begun) / len(extra) * 1000:.2f} ms each"
    )
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
