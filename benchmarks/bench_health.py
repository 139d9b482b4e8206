"""Vision and fitness speed: the vectorized rules on 1,000,000 rows each, and the two batch
commands end to end.

1. classify_vision on 1,000,000 synthetic screening rows, and score_fitness on
   1,000,000 synthetic fitness rows (grades 1-12, both sexes, 1% of cells empty).
   Baselines, in the same run: one numpy pass over the same columns (vision: SE of both
   eyes, the worse eye and the bare myopia rule; fitness: BMI and one searchsorted per item
   against a single table, weighted and summed: the floor of any table lookup), and a
   naive per-row loop, timed on a sample and scaled: the single-row API (classify_one,
   score_one) and the rules written plainly in Python (the tests' reference).
2. `wellbeing vision classify` and `wellbeing fitness score` on a 1,000,000-row CSV in a
   fresh process, against a fresh process that reads and writes the same CSV with pandas.
3. The national upload file of the demo district's largest school (`wellbeing demo`,
   40,000 students, SQLite), with a vision and a fitness record for every student (the
   demo's own, or synthetic ones written where it has none; about 1 in 10 with a problem
   for the pre-check): the pre-check page and the XLSX download, each as the server
   handles its request (access check, queries, rendering, audit), best of 5, against the
   bare query of the same rows (students, classes and both records as plain columns in
   one SELECT, fetched).

Run: .venv/bin/python benchmarks/bench_health.py [--rows N] [--csv-rows N] [--sample N]
     [--export-students N] (0: skip part 3)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_scoring import best_of, line, measured  # noqa: E402

from screening.fitness import ITEMS, default_standard, score_fitness, score_one  # noqa: E402
from screening.vision import NUMBER_COLUMNS, classify_one, classify_vision  # noqa: E402
from tests.screening.test_fitness import reference_fitness_row  # noqa: E402
from tests.screening.test_vision import reference_vision_row  # noqa: E402

FITNESS_VALUES = {  # column -> (low, high, step) of the synthetic measurements
    "height_cm": (110, 185, 0.1),
    "weight_kg": (18, 90, 0.1),
    "vital_capacity_ml": (600, 5500, 1),
    "run50m_s": (6.5, 14, 0.1),
    "sit_reach_cm": (-10, 25, 0.1),
    "rope_skip_1min": (20, 200, 1),
    "situps_1min": (5, 60, 1),
    "long_jump_cm": (100, 270, 1),
    "pullups": (0, 20, 1),
    "shuttle_50x8_s": (90, 150, 1),
    "run800m_s": (190, 330, 1),
    "run1000m_s": (200, 380, 1),
}


def _label(rows: int) -> str:
    return f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}m"


def _grid(rng: np.random.Generator, low: float, high: float, step: float, rows: int) -> np.ndarray:
    return np.round(rng.integers(0, round((high - low) / step) + 1, rows) * step + low, 2)


def _holes(rng: np.random.Generator, values: np.ndarray, share: float = 0.01) -> np.ndarray:
    return np.where(rng.random(len(values)) < share, np.nan, values)


def vision_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(663)
    columns: dict[str, object] = {"student_id": np.char.add("S", np.arange(rows).astype(str))}
    columns["age"] = np.round(rng.uniform(4, 18, rows), 1)
    for eye in ("right", "left"):
        columns[f"ucva_{eye}"] = _holes(rng, _grid(rng, 3.8, 5.3, 0.1, rows))
        columns[f"sph_{eye}"] = _holes(rng, np.round(rng.normal(-1, 2, rows) * 4) / 4)
        columns[f"cyl_{eye}"] = _holes(rng, -_grid(rng, 0, 2, 0.25, rows))
    columns["ortho_k"] = rng.random(rows) < 0.02
    return pd.DataFrame(columns)


def fitness_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(2014)
    columns: dict[str, object] = {
        "student_id": np.char.add("S", np.arange(rows).astype(str)),
        "grade": rng.integers(1, 13, rows).astype(float),
        "sex": rng.choice(np.array(["M", "F"], dtype=object), rows),
    }
    for column, (low, high, step) in FITNESS_VALUES.items():
        columns[column] = _holes(rng, _grid(rng, low, high, step, rows))
    return pd.DataFrame(columns)


def vision_numpy_pass(frame: pd.DataFrame) -> np.ndarray:
    data = {c: frame[c].to_numpy() for c in NUMBER_COLUMNS}
    se_right = data["sph_right"] + data["cyl_right"] / 2
    se_left = data["sph_left"] + data["cyl_left"] / 2
    worse = np.fmin(data["ucva_right"], data["ucva_left"])
    return (np.fmin(se_right, se_left) <= -0.5) & (worse < 5.0) & (data["age"] >= 6)


def fitness_numpy_pass(frame: pd.DataFrame) -> np.ndarray:
    """BMI plus one lookup per item in one table (its first), weighted and summed."""
    standard = default_standard()
    height = frame["height_cm"].to_numpy() / 100
    total = (frame["weight_kg"].to_numpy() / (height * height) > 24).astype(np.int64) * 15
    for item in ITEMS.values():
        levels = next(v for k, v in standard.levels.items() if k[0] == item.name)
        values = frame[item.column].to_numpy()
        keyed = -values if item.lower_is_better else values
        total += levels.scores[np.searchsorted(levels.keys, keyed, side="right")] * 10
    return total


def vision_loops(frame: pd.DataFrame, sample: int) -> tuple[float, float]:
    """Seconds per row of classify_one, and of the plain reference rules."""
    part = frame.iloc[:sample]
    rows = [
        [None if v != v else v for v in values]
        for values in part[list(NUMBER_COLUMNS)].itertuples(index=False, name=None)
    ]
    flags = part["ortho_k"].tolist()
    api = best_of(
        1, lambda: [classify_one(*r, ortho_k=f) for r, f in zip(rows, flags, strict=True)]
    )
    plain = best_of(
        1,
        lambda: [
            reference_vision_row(r[0], (r[1], r[2]), (r[3], r[5]), (r[4], r[6]), f)
            for r, f in zip(rows, flags, strict=True)
        ],
    )
    return api / sample, plain / sample


def fitness_loops(frame: pd.DataFrame, sample: int) -> tuple[float, float]:
    part = frame.iloc[:sample]
    measures = [
        {k: (None if v != v else v) for k, v in row.items() if k not in ("grade", "sex")}
        for row in part.drop(columns=["student_id"]).to_dict("records")
    ]
    keys = list(zip(part["grade"].astype(int), part["sex"], strict=True))
    api = best_of(1, lambda: [score_one(g, s, m) for (g, s), m in zip(keys, measures, strict=True)])
    plain = best_of(
        1,
        lambda: [reference_fitness_row(g, s, m) for (g, s), m in zip(keys, measures, strict=True)],
    )
    return api / sample, plain / sample


def core_figures(kind: str, rows: int, sample: int) -> None:
    label = _label(rows)
    if kind == "vision":
        frame, floor_pass = vision_frame(rows), vision_numpy_pass
        work, loops, verb = classify_vision, vision_loops, "classify_vision"
    else:
        frame, floor_pass = fitness_frame(rows), fitness_numpy_pass
        work, loops, verb = score_fitness, fitness_loops, "score_fitness"
    floor = best_of(3, lambda: floor_pass(frame))
    vectorized = best_of(3, lambda: work(frame))
    api_row, plain_row = loops(frame, sample)
    base = f"numpy_pass_{kind}_{label}"
    api_name = f"python_loop_{kind}_single_row_api_{label}"
    plain_name = f"python_loop_{kind}_plain_rules_{label}"
    line(base, floor, "s", base, floor)
    line(f"{verb}_{label}", vectorized, "s", base, floor)
    line(f"{api_name}_from_{sample}_rows", api_row * rows, "s", base, floor)
    line(f"{plain_name}_from_{sample}_rows", plain_row * rows, "s", base, floor)
    line(f"{verb}_{label}", vectorized, "s", api_name, api_row * rows)
    line(f"{verb}_{label}", vectorized, "s", plain_name, plain_row * rows)


ROUNDTRIP = (
    "import sys, pandas; pandas.read_csv(sys.argv[1], dtype=str).to_csv(sys.argv[2], index=False)"
)


def command_line(group: str) -> list[str]:
    from wellbeing.cli import cli

    if group in cli.commands:
        return [sys.executable, "-m", "wellbeing", group]
    print(
        f"note: `{group}` is not registered in wellbeing.cli yet: running the group",
        file=sys.stderr,
    )
    code = f"from wellbeing.health_cli import {group}_group as g; g.main()"
    return [sys.executable, "-c", code]


def end_to_end_figures(rows: int) -> None:
    label = _label(rows)
    jobs = (("vision", "classify", vision_frame), ("fitness", "score", fitness_frame))
    with tempfile.TemporaryDirectory() as directory:
        for group, verb, build in jobs:
            source, out = Path(directory) / f"{group}.csv", Path(directory) / "out.csv"
            build(rows).to_csv(source, index=False)
            base_time, base_memory = measured(
                [sys.executable, "-c", ROUNDTRIP, str(source), str(out)]
            )
            taken, memory = measured([*command_line(group), verb, str(source), "-o", str(out)])
            with out.open(encoding="utf-8") as handle:
                assert sum(1 for _ in handle) - 1 == rows
            base = f"pandas_roundtrip_{group}_{label}_csv"
            name = f"wellbeing_{group}_{verb}_{label}_csv"
            line(base, base_time, "s", base, base_time)
            line(name, taken, "s", base, base_time)
            line(f"{base}_peak_memory", base_memory, "MB", f"{base}_peak_memory", base_memory)
            line(f"{name}_peak_memory", memory, "MB", f"{base}_peak_memory", base_memory)


EXPORT_YEAR = 2026


def _fill_records(school_id: int, school_year: int) -> None:
    """A vision (autumn) and a fitness record for every enrolled student of the school
    that has none; every tenth has a problem for the pre-check (an eye not refracted, a
    required item empty)."""
    from datetime import date

    from sqlalchemy import insert, select

    from wellbeing.extensions import db
    from wellbeing.health.models import FitnessRecord, VisionRecord
    from wellbeing.roster.models import SchoolClass, Student

    students = db.session.execute(
        select(Student.id, Student.sex, SchoolClass.grade)
        .join(SchoolClass)
        .where(SchoolClass.school_id == school_id, Student.status == "enrolled")
    ).all()
    have_vision = set(
        db.session.scalars(
            select(VisionRecord.student_id).where(
                VisionRecord.year == school_year, VisionRecord.season == "autumn"
            )
        )
    )
    have_fitness = set(
        db.session.scalars(
            select(FitnessRecord.student_id).where(FitnessRecord.school_year == school_year)
        )
    )
    rng = np.random.default_rng(939)
    day = date(school_year, 10, 15)
    vision, fitness = [], []
    for number, (student_id, sex, grade) in enumerate(students):
        gap = number % 10 == 0
        if student_id not in have_vision:
            vision.append(
                {
                    "student_id": student_id,
                    "year": school_year,
                    "season": "autumn",
                    "status": "measured",
                    "measured_on": day,
                    "age": 6.0 + grade,
                    "ucva_right": round(float(rng.uniform(4.0, 5.3)), 1),
                    "ucva_left": round(float(rng.uniform(4.0, 5.3)), 1),
                    "sph_right": None if gap else -1.0,
                    "cyl_right": None if gap else -0.5,
                    "axis_right": None if gap else 180,
                    "sph_left": -0.75,
                    "cyl_left": 0.0,
                    "axis_left": 90,
                    "ortho_k": False,
                }
            )
        if student_id not in have_fitness:
            fitness.append(
                {
                    "student_id": student_id,
                    "school_year": school_year,
                    "grade": grade,
                    "sex": sex,
                    "status": "measured",
                    "measured_on": day,
                    "height_cm": 150.0,
                    "weight_kg": 45.0,
                    "vital_capacity_ml": None if gap else 2500.0,
                    "run50m_s": 8.5,
                    "sit_reach_cm": 10.0,
                    "rope_skip_1min": 120.0,
                    "situps_1min": 35.0,
                    "long_jump_cm": 180.0,
                    "pullups": 5.0,
                    "shuttle_50x8_s": 110.0,
                    "run800m_s": 230.0,
                    "run1000m_s": 250.0,
                }
            )
    if vision:
        db.session.execute(insert(VisionRecord), vision)
    if fitness:
        db.session.execute(insert(FitnessRecord), fitness)
    db.session.commit()


def _bare_query(school_id: int, school_year: int) -> int:
    """The rows the file is made of, and nothing else: the export's own query (students,
    classes and both records as plain columns, one SELECT), fetched."""
    from wellbeing.extensions import db
    from wellbeing.health.export import _rows
    from wellbeing.health.rounds import VisionRound
    from wellbeing.roster.models import School

    school = db.session.get(School, school_id)
    rows = _rows(school, school_year, VisionRound(school_year, 1))
    db.session.remove()
    return len(rows)


def _serve(app, user_id: int, endpoint: str, **arguments: object) -> int:
    """One request to a view as the server handles it (access check, queries,
    rendering, the audit row), in a fresh session, rolled back after."""
    from flask import url_for
    from flask_login import login_user

    from wellbeing.extensions import db
    from wellbeing.roster.models import User

    with app.test_request_context("/"):
        path = url_for(endpoint, **arguments)
    with app.test_request_context(path):
        login_user(db.session.get(User, user_id))
        response = app.make_response(app.view_functions[endpoint](**arguments))
        response.direct_passthrough = False  # a sent file: read it all the same
        size = len(response.get_data())
        db.session.rollback()
    db.session.remove()
    return size


def export_figures(students: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from wellbeing import create_app
    from wellbeing.demo import build_demo
    from wellbeing.extensions import db
    from wellbeing.roster.models import SchoolClass, Student, User

    with tempfile.TemporaryDirectory(prefix="bench-health-") as directory:
        url = f"sqlite:///{directory}/demo.sqlite"
        app = create_app({"DATABASE_URL": url, "ENVIRONMENT": "test"})
        with app.app_context():
            upgrade()
            build_demo(db.session, students=students, school_year=EXPORT_YEAR)
            db.session.commit()
            school_id, size = db.session.execute(
                select(SchoolClass.school_id, func.count())
                .join(Student)
                .group_by(SchoolClass.school_id)
                .order_by(func.count().desc())
            ).first()
            _fill_records(school_id, EXPORT_YEAR)
            admin = db.session.scalar(select(User.id).where(User.username == "admin"))
            db.session.remove()
            label = f"{size}_students"
            bare = best_of(5, lambda: _bare_query(school_id, EXPORT_YEAR))
            base = f"bare_query_school_{label}"
            line(base, bare * 1000, "ms", base, bare * 1000)
            where = {"school_id": school_id, "school_year": EXPORT_YEAR}
            for name, endpoint in (
                ("export_precheck_page", "health.export_check"),
                ("export_xlsx", "health.export_file"),
                ("export_problems_xlsx", "health.export_problems_xlsx"),
            ):
                if endpoint not in app.view_functions:
                    continue
                taken = best_of(5, lambda e=endpoint: _serve(app, admin, e, **where))
                line(f"{name}_{label}", taken * 1000, "ms", base, bare * 1000)
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--export-students", type=int, default=40_000, help="0: skip")
    parser.add_argument("--only-export", action="store_true", help="part 3 alone")
    args = parser.parse_args()
    if not args.only_export:
        core_figures("vision", args.rows, args.sample)
        core_figures("fitness", args.rows, args.sample)
        if args.csv_rows:
            end_to_end_figures(args.csv_rows)
    if args.export_students:
        export_figures(args.export_students)


if __name__ == "__main__":
    main()
