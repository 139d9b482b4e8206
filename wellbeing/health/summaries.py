"""School and class summaries: screening-myopia and poor-vision rates, fitness pass, good
and excellent rates, overweight and obesity rates, by grade and sex, against the
previous round with records (a skipped spring round compares with the autumn before).

The previous round is compared for the same students (the cohort now enrolled, grouped
by their current grade): a change is then a change in these children, not in who
happened to be in the grade."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wellbeing.health import queries
from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.models import Student

Test = Callable[[Any], bool]
# name -> (who counts in the denominator, who counts in the numerator). Vision rates count
# students with both eyes measured, so a half-measured student biases neither way.
VISION_RATES: dict[str, tuple[Test, Test]] = {
    "myopia": (
        lambda r: r.myopia is not None and (r.ortho_k or r.both_eyes_refracted),
        lambda r: bool(r.myopia),
    ),
    "poor_vision": (
        lambda r: r.va_grade is not None and r.both_eyes_measured,
        lambda r: r.va_grade != "normal",
    ),
}
PASSED = ("pass", "good", "excellent")
FITNESS_RATES: dict[str, tuple[Test, Test]] = {
    "pass": (lambda r: r.rating is not None, lambda r: r.rating in PASSED),
    "good": (lambda r: r.rating is not None, lambda r: r.rating in ("good", "excellent")),
    "excellent": (lambda r: r.rating is not None, lambda r: r.rating == "excellent"),
    "overweight": (lambda r: r.bmi_class is not None, lambda r: r.bmi_class == "overweight"),
    "obese": (lambda r: r.bmi_class is not None, lambda r: r.bmi_class == "obese"),
}
SEXES = ("M", "F", None)  # None: both


@dataclass
class Rate:
    count: int = 0
    of: int = 0

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.count / self.of, 1) if self.of else None


@dataclass
class Cell:
    """One group (a grade and sex, or a total): this round's and the previous round's
    rates, and how many students have a record in each."""

    now: dict[str, Rate] = field(default_factory=dict)
    before: dict[str, Rate] = field(default_factory=dict)
    recorded: int = 0
    recorded_before: int = 0

    def change(self, name: str) -> float | None:
        now, before = self.now[name].percent, self.before[name].percent
        if now is None or before is None:
            return None
        return round(now - before, 1)


@dataclass
class Summary:
    rates: tuple[str, ...]
    grades: list[int]
    cells: dict[tuple[int | None, str | None], Cell]
    # The vision round compared with (None for fitness: always the year before).
    before_round: VisionRound | None = None

    def cell(self, grade: int | None, sex: str | None) -> Cell:
        return self.cells[(grade, sex)]


def _groups(grade: int, sex: str) -> list[tuple[int | None, str | None]]:
    return [(grade, sex), (grade, None), (None, sex), (None, None)]


def summarise(
    students: Sequence[Student],
    now: dict[int, Any],
    before: dict[int, Any],
    rates: dict[str, tuple[Test, Test]],
) -> Summary:
    """Tally the rates per (grade, sex), per grade, per sex and in total."""
    grades = sorted({student.school_class.grade for student in students})
    cells: dict[tuple[int | None, str | None], Cell] = defaultdict(Cell)
    for grade in [*grades, None]:
        for sex in SEXES:
            cells[(grade, sex)] = Cell(
                now={name: Rate() for name in rates}, before={name: Rate() for name in rates}
            )
    for student in students:
        keys = _groups(student.school_class.grade, student.sex)
        _add(cells, keys, now.get(student.id), rates, current=True)
        _add(cells, keys, before.get(student.id), rates, current=False)
    # Grades with no record in either round would only add rows of dashes.
    shown = [g for g in grades if cells[(g, None)].recorded or cells[(g, None)].recorded_before]
    return Summary(tuple(rates), shown, dict(cells))


def _add(
    cells: dict,
    keys: Iterable[tuple[int | None, str | None]],
    record: Any,
    rates: dict[str, tuple[Test, Test]],
    *,
    current: bool,
) -> None:
    if record is None or record.status != "measured":
        return
    for key in keys:
        cell = cells[key]
        tally = cell.now if current else cell.before
        if current:
            cell.recorded += 1
        else:
            cell.recorded_before += 1
        for name, (counts, hits) in rates.items():
            if counts(record):
                tally[name].of += 1
                tally[name].count += int(hits(record))


def vision_summary(students: Sequence[Student], vision_round: VisionRound) -> Summary:
    ids = [student.id for student in students]
    now: dict[int, VisionRecord] = queries.vision_by_student(ids, vision_round)
    compared = queries.round_compared_with(ids, vision_round) if ids else vision_round.previous()
    before = queries.vision_by_student(ids, compared)
    summary = summarise(students, now, before, VISION_RATES)
    summary.before_round = compared
    return summary


def fitness_summary(students: Sequence[Student], school_year: int) -> Summary:
    ids = [student.id for student in students]
    now: dict[int, FitnessRecord] = queries.fitness_by_student(ids, school_year)
    before = queries.fitness_by_student(ids, school_year - 1)
    return summarise(students, now, before, FITNESS_RATES)
