"""Roster import speed: 100,000 students from a CSV file into a fresh SQLite database.

Builds synthetic schools, classes and students in a temporary directory, imports them
with the real service (read, validate every row, upsert, commit), then re-imports the
same file (every row unchanged), then a file where one student in ten changed class.
The baseline is the physical floor of the write: one Core INSERT executemany of the
same, already parsed rows into an empty copy of the student table.

Run: .venv/bin/python benchmarks/bench_roster_import.py [--students N]
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, insert, select

if TYPE_CHECKING:
    from wellbeing.roster.services import ImportResult

T = TypeVar("T")
SCHOOLS = 40
GRADES = (7, 8, 9)
STUDENTS_PER_CLASS = 50


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def build_files(students: int, move_every: int = 0) -> dict[str, bytes]:
    """Synthetic roster: codes S001.., classes '1'..'n' per grade, names 学生000001..."""
    per_school_grade = -(-students // (SCHOOLS * len(GRADES) * STUDENTS_PER_CLASS))
    schools = [[f"S{s:03d}", f"基准学校{s:03d}", "junior"] for s in range(1, SCHOOLS + 1)]
    classes = [
        [code, grade, str(number), 2026 - (grade - 7)]
        for code, _name, _kind in schools
        for grade in GRADES
        for number in range(1, per_school_grade + 1)
    ]
    first_birth = date(2011, 1, 1)
    rows = []
    for i in range(students):
        code, grade, name, _year = classes[i % len(classes)]
        if move_every and i % move_every == 0:
            code, grade, name, _year = classes[(i + 1) % len(classes)]
        rows.append(
            [
                f"G5105022013{i:07d}X",
                f"学生{i:06d}",
                "MF"[i % 2],
                (first_birth + timedelta(days=i % 1000)).isoformat(),
                code,
                grade,
                name,
                "否",
                "是" if i % 7 == 0 else "否",
            ]
        )
    return {
        "schools": _csv(["school_code", "school_name", "kind"], schools),
        "classes": _csv(["school_code", "grade", "class_name", "entry_year"], classes),
        "students": _csv(
            ["学籍号", "姓名", "性别", "出生日期", "学校代码", "年级", "班级", "住校", "留守儿童"],
            rows,
        ),
    }


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def _import(data: bytes, name: str) -> ImportResult:
    from wellbeing.extensions import db
    from wellbeing.roster.services import import_roster

    result = import_roster(data, name)
    if not result.ok:
        raise SystemExit(f"import failed: {[e.render() for e in result.errors[:5]]}")
    db.session.commit()
    return result


def _baseline_table(student_table: Table) -> Table:
    """An empty copy of the student table: same columns, unique key and index."""
    columns = [Column(c.name, c.type, primary_key=c.primary_key) for c in student_table.c]
    return Table(
        "student_baseline",
        MetaData(),
        *columns,
        UniqueConstraint("student_number"),
        Index("ix_student_baseline_class_id", "class_id"),
    )


def run(students: int) -> None:
    from flask_migrate import upgrade

    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.roster.models import Student

    files = build_files(students)
    moved_file = build_files(students, move_every=10)["students"]
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}", "ENVIRONMENT": "test"}
        )
        with app.app_context():
            upgrade()
            _import(files["schools"], "schools.csv")
            _import(files["classes"], "classes.csv")
            first, result = _timed(lambda: _import(files["students"], "students.csv"))
            assert result.counts["students"].created == students
            again, result = _timed(lambda: _import(files["students"], "students.csv"))
            assert result.counts["students"].unchanged == students
            moved, result = _timed(lambda: _import(moved_file, "students.csv"))
            assert len(result.moved) == -(-students // 10)

            student = Student.__table__
            rows = [
                dict(r._mapping)
                for r in db.session.execute(select(*[c for c in student.c if c.name != "id"]))
            ]
            db.session.close()  # end the read transaction: SQLite locks the file for DDL
            copy = _baseline_table(student)
            copy.create(db.engine)

            def plain_insert() -> None:
                with db.engine.begin() as connection:
                    connection.execute(insert(copy), rows)

            baseline, _ = _timed(plain_insert)
            db.engine.dispose()

    label = f"{students // 1000}k"
    print(f"plain_bulk_insert_{label}: {baseline:.2f} s (ratio 1.0 vs plain_bulk_insert)")
    for name, seconds in (
        (f"roster_import_{label}", first),
        (f"roster_reimport_{label}_unchanged", again),
        (f"roster_reimport_{label}_10pct_moved", moved),
    ):
        print(f"{name}: {seconds:.2f} s (ratio {seconds / baseline:.1f} vs plain_bulk_insert)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    run(parser.parse_args().students)


if __name__ == "__main__":
    main()
