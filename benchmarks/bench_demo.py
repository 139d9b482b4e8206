"""How long `wellbeing demo` takes at 100,000 students on SQLite, against the floor of
writing the same number of student rows.

The demo figure is generation and writing of the whole district (schools, classes,
students, guardians, accounts, roles) into a freshly migrated database, committed. The
health figure is the demo's vision round and fitness tests over the same district (about
97,000 and 88,000 records through the grid's checks, the core's vectorized classification
and scoring, one bulk INSERT each), committed, after the district is written. The
baseline is one bulk INSERT of the same 100,000 student rows, built beforehand, into an
empty student table of the same schema (its schools and classes inserted untimed first).
Each figure is the best of three runs. Run: .venv/bin/python benchmarks/bench_demo.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert

from wellbeing import create_app
from wellbeing.demo import build_demo
from wellbeing.extensions import db
from wellbeing.health.demo import build_demo_health
from wellbeing.roster.synthetic import generate_district

STUDENTS = 100_000
RUNS = 3
SCHOOL_YEAR = 2026
BASELINE = "plain_bulk_insert_students"


def _fresh_app(path: Path) -> Flask:
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "ENVIRONMENT": "test"})
    with app.app_context():
        upgrade()
    return app


def time_demo(path: Path) -> float:
    app = _fresh_app(path)
    with app.app_context():
        started = time.perf_counter()
        build_demo(db.session, students=STUDENTS, school_year=SCHOOL_YEAR)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return seconds


def time_health(path: Path) -> float:
    app = _fresh_app(path)
    with app.app_context():
        build_demo(db.session, students=STUDENTS, school_year=SCHOOL_YEAR)
        db.session.commit()
        started = time.perf_counter()
        build_demo_health(1, SCHOOL_YEAR, None)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return seconds


def time_generation(_path: Path) -> float:
    started = time.perf_counter()
    generate_district(SCHOOL_YEAR, students=STUDENTS)
    return time.perf_counter() - started


def time_plain_insert(path: Path) -> float:
    tables = generate_district(SCHOOL_YEAR, students=STUDENTS).tables
    app = _fresh_app(path)
    with app.app_context():
        for name in ("district", "school", "school_class"):
            db.session.execute(insert(db.metadata.tables[name]), tables[name])
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(insert(db.metadata.tables["student"]), tables["student"])
        db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return seconds


def best_of(measure: Callable[[Path], float], directory: Path, name: str) -> float:
    return min(measure(directory / f"{name}-{run}.sqlite") for run in range(RUNS))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        directory = Path(tmp)
        baseline = best_of(time_plain_insert, directory, "plain")
        figures = {
            "demo_100k_students": best_of(time_demo, directory, "demo"),
            "demo_100k_generate_only": best_of(time_generation, directory, "generate"),
            "demo_100k_health_rounds": best_of(time_health, directory, "health"),
            BASELINE: baseline,
        }
    for name, seconds in figures.items():
        print(f"{name}: {seconds:.2f} s (ratio {seconds / baseline:.1f} vs {BASELINE})")


if __name__ == "__main__":
    main()
