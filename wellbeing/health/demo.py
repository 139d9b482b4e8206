"""The demo district's health records, for every school: three school years of autumn
vision rounds (this school year's under way, the two before closed) and three school
years of spring fitness tests (the last three, closed, so that last year's national file
is whole), each cohort in the grade it was then.

Screening myopia falls slowly at each school, year on year, while one school in fifteen
goes the other way (its rate rises), so the district's indicators have a trend
to show and a school off target to find (README, "Health indicators").

Values are drawn from simple models (myopia and acuity worsening with the grade, height,
weight and performance growing with it), typed as a doctor would type them into the grid,
and go through the grid's own checks (entry.check_vision_row, entry.check_fitness_row)
and the core's classification and scoring (the vectorized path the import uses), so the
stored records are what the grid would store; only the write is one bulk INSERT per table
instead of 110,000 single-row saves. Most classes are done; a few of this autumn's are
still in progress (some of their students have no record yet); a few students were absent
or exempt; and a few measured records are incomplete (a refraction not taken, a required
fitness item left empty), which the national export's pre-check lists."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health import core, entry, importer
from wellbeing.health.models import (
    FitnessRecord,
    VisionRecord,
)
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.models import RoleAssignment, SchoolClass, Student

IN_PROGRESS_CLASSES = 0.08  # classes whose round is still under way
IN_PROGRESS_DONE = (0.3, 0.8)  # share of such a class measured so far
ABSENT = 0.012
EXEMPT = 0.004
INCOMPLETE = 0.012  # measured, with something the national file requires left empty
ABSENCE_REASONS = ("病假", "事假", "外出比赛")
EXEMPTION_REASONS = ("术后恢复期，医生建议免测", "肢体残疾，申请免测")
# When the rounds were held: autumn vision in September and October, fitness in April
# and May (the months the rounds' dates must fall in; later days are cut to today).
VISION_DAYS = ((9, 8), (10, 30))
FITNESS_DAYS = ((4, 7), (5, 29))
YEARS = 3  # school years of history, this one included
# The myopia trend. The roster holds today's students only (no graduates, no earlier
# schools), so a school's earlier round holds fewer, younger students than today's: a
# junior school's "last year" is today's grades 7 and 8 and the primary pupils who are
# today's grade 7, a far less myopic mix. Drawn from the grade model alone, every
# secondary school's rate would rise by several points a year from the mix alone. So the
# earlier rounds shift each school's chance of myopia to make its expected rate, as the
# indicators count it, today's plus its trend. The district's earlier rounds still lean
# towards the (more myopic) secondary schools (a primary school's earlier round has a
# cohort fewer: its then top grade is counted at the junior schools they attend now), so
# the district's rate falls faster than the schools': about 2 points a year for their
# half point (too fast for a real district; a real roster has its graduates). Per-grade
# figures of earlier years carry these shifts and are not realistic (README, "The demo
# district").
MYOPIA_FALL_PER_YEAR = 0.006  # a school's chance, higher by this per school year back
SCHOOLS_PER_RISING = 15  # one school in 15 (at least one) is off target: its rate rises
MYOPIA_RISE_PER_YEAR = 0.03  # their rate, lower by this per school year back


@dataclass
class RoundTally:
    """What the demo wrote for one round."""

    records: int = 0
    complete_classes: int = 0
    in_progress_classes: int = 0
    incomplete: int = 0
    not_measured: int = 0
    refused: int = 0  # rows the grid's checks refused (none expected)


@dataclass
class DemoHealth:
    vision_round: VisionRound  # this school year's autumn round, under way
    fitness_year: int  # last school year: its spring tests
    vision: RoundTally = field(default_factory=RoundTally)
    fitness: RoundTally = field(default_factory=RoundTally)
    last_vision: RoundTally = field(default_factory=RoundTally)  # last autumn's, closed
    # The rounds of the school years before last (closed), by round and by school year.
    earlier_vision: dict[VisionRound, RoundTally] = field(default_factory=dict)
    earlier_fitness: dict[int, RoundTally] = field(default_factory=dict)
    rising_schools: list[int] = field(default_factory=list)  # school ids off target


@dataclass
class _Row:
    student: Student
    fields: dict[str, Any]


@dataclass
class _Round:
    """One round to play: which records (`check`: the grid's check of one row), for
    which grade of today's classes (a year back, a cohort was in the grade below), in
    which calendar year and months, and whether some classes are still unfinished."""

    check: Callable[..., _Row | None]
    round_value: VisionRound | int  # a vision round, or a fitness school year
    years_back: int
    calendar_year: int
    window: tuple
    under_way: bool
    tally: RoundTally


def build_demo_health(seed: int, school_year: int, demo_class_id: int | None) -> DemoHealth:
    """Measure the district: the autumn vision round of `school_year` (under way: a few
    classes in progress, the demo class among them, so its head teacher sees who is
    still missing), and last school year's autumn vision round and spring fitness
    tests (closed), so that last year's national file is whole but for the incomplete
    records its pre-check lists. The caller commits."""
    rng = random.Random(seed)
    result = DemoHealth(VisionRound(school_year, 1), school_year - 1)
    last_autumn = VisionRound(school_year - 1, 1)
    # This year's and last year's rounds first, in their old order, so that the rounds
    # the other demo steps and tests rely on draw first; the earlier years follow.
    rounds = (
        _Round(
            _check_vision, last_autumn, 1, school_year - 1, VISION_DAYS, False, result.last_vision
        ),
        _Round(
            _check_fitness, school_year - 1, 1, school_year, FITNESS_DAYS, False, result.fitness
        ),
        _Round(
            _check_vision, result.vision_round, 0, school_year, VISION_DAYS, True, result.vision
        ),
        *_earlier_rounds(school_year, result),
    )
    classes = db.session.scalars(select(SchoolClass).order_by(*SchoolClass.ordering())).all()
    students: dict[int, list[Student]] = {}
    for student in db.session.scalars(
        select(Student).where(Student.status == "enrolled").order_by(Student.student_number)
    ):
        students.setdefault(student.class_id, []).append(student)
    doctors = _doctors()
    result.rising_schools = _rising_schools(seed, classes)
    rising = set(result.rising_schools)
    shifts = _myopia_shifts(classes, students, rising)
    # Round by round, so that only one round's rows are held at a time.
    for played in rounds:
        rows: list[_Row] = []
        for item in classes:
            under_way = played.under_way and (
                item.id == demo_class_id or rng.random() < IN_PROGRESS_CLASSES
            )
            shift = shifts.get((item.school_id, played.years_back), 0.0)
            pupils = students.get(item.id, [])
            for row in _play_class(rng, played, item, pupils, under_way, shift):
                row.fields["measured_by_id"] = doctors.get(item.school_id)
                rows.append(row)
        _write_round(played, rows)
    return result


def _earlier_rounds(school_year: int, result: DemoHealth) -> list[_Round]:
    """The closed rounds of the school years before last: autumn vision two years back,
    spring fitness two and three years back."""
    rounds = []
    for back in range(2, YEARS):
        autumn = VisionRound(school_year - back, 1)
        tally = result.earlier_vision.setdefault(autumn, RoundTally())
        rounds.append(
            _Round(_check_vision, autumn, back, school_year - back, VISION_DAYS, False, tally)
        )
    for back in range(2, YEARS + 1):
        year = school_year - back
        tally = result.earlier_fitness.setdefault(year, RoundTally())
        rounds.append(_Round(_check_fitness, year, back, year + 1, FITNESS_DAYS, False, tally))
    return rounds


def _rising_schools(seed: int, classes: Sequence[SchoolClass]) -> list[int]:
    """The schools whose myopia rate rises, drawn from their own random stream (so the
    choice does not move the rounds' draws), among schools with more than one grade."""
    grades: dict[int, set[int]] = {}
    for item in classes:
        grades.setdefault(item.school_id, set()).add(item.grade)
    candidates = sorted(school for school, found in grades.items() if len(found) > 1)
    count = min(max(round(len(grades) / SCHOOLS_PER_RISING), 1), len(candidates))
    return sorted(random.Random(f"{seed}-rising").sample(candidates, count))


def _play_class(
    rng: random.Random,
    played: _Round,
    item: SchoolClass,
    pupils: Sequence[Student],
    under_way: bool,
    myopia_shift: float = 0.0,
) -> list[_Row]:
    """One class's round: every student, or in a class still in progress a share of
    them (the first ones by student number, as a doctor works down the list)."""
    grade = item.grade - played.years_back
    if grade < 1 or not pupils:  # a year ago this cohort was not at school yet
        return []
    tally = played.tally
    if under_way:
        done = round(len(pupils) * rng.uniform(*IN_PROGRESS_DONE))
        tally.in_progress_classes += 1
    else:
        done = len(pupils)
        tally.complete_classes += 1
    today = utcnow().date()
    rows = []
    vision = isinstance(played.round_value, VisionRound)
    myopic = _myopic_children(rng, done, grade, myopia_shift) if vision else set()
    for index, student in enumerate(pupils[:done]):
        day = _day(rng, played.calendar_year, played.window, today)
        row = played.check(student, rng, grade, played.round_value, day, index in myopic)
        if row is None:
            tally.refused += 1
            continue
        if row.fields["status"] != "measured":
            tally.not_measured += 1
        elif row.fields.pop("incomplete", False):
            tally.incomplete += 1
        rows.append(row)
    return rows


def _write_round(played: _Round, rows: list[_Row]) -> None:
    """Classify or score every measured row at once, then write the round."""
    measured = [row for row in rows if row.fields["status"] == "measured"]
    if isinstance(played.round_value, VisionRound):
        _classify(measured)
        round_fields = {"year": played.round_value.year, "season": played.round_value.season}
        _write(VisionRecord, rows, round_fields)
    else:
        _score(measured)
        _write(FitnessRecord, rows, {"school_year": played.round_value})
    played.tally.records = len(rows)


def _doctors() -> dict[int, int]:
    """The first school doctor of each school, who is recorded as having measured."""
    rows = db.session.execute(
        select(RoleAssignment.school_id, RoleAssignment.user_id)
        .where(RoleAssignment.role == "doctor")
        .order_by(RoleAssignment.id)
    )
    doctors: dict[int, int] = {}
    for school_id, user_id in rows:
        doctors.setdefault(school_id, user_id)
    return doctors


def _day(rng: random.Random, year: int, window: tuple, today: date) -> date:
    (m1, d1), (m2, d2) = window
    first, last = date(year, m1, d1), date(year, m2, d2)
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    # A round under way today has no measurement from the future.
    return min(day, today)


def _status(rng: random.Random) -> dict[str, str]:
    draw = rng.random()
    if draw < ABSENT:
        return {"status": "absent", "reason": rng.choice(ABSENCE_REASONS)}
    if draw < ABSENT + EXEMPT:
        return {"status": "exempt", "reason": rng.choice(EXEMPTION_REASONS)}
    return {"status": "measured"}


def _typed(value: float, places: int) -> str:
    return f"{value:.{places}f}"


# ----------------------------------------------------------------------------- vision


def _eye(rng: random.Random, grade: int, myopic: bool) -> dict[str, str]:
    """One eye of a child who is myopic or not: deeper myopia in higher grades; acuity
    follows the refraction (about 0.35 lines per dioptre of myopia, with noise), and an
    eye without myopia sees 5.0 or better."""
    if myopic:
        sphere = -rng.uniform(0.25, 1.0 + 0.45 * grade)
    else:
        sphere = rng.gauss(max(1.25 - 0.15 * grade, 0.25), 0.4)
    sphere = round(sphere * 4) / 4
    cylinder = -round(abs(rng.gauss(0, 0.45)) * 4) / 4
    if not myopic:
        # Not myopic: SE stays above −0.50 D, so the screening rate follows the model's
        # chance (a tail of emmetropic eyes read as myopic would add most in the oldest
        # grades and bend the demo's trends).
        sphere = max(sphere, round((-0.25 - cylinder / 2) * 4) / 4)
    equivalent = sphere + cylinder / 2
    acuity = 5.05 + min(equivalent + 0.25, 0) * 0.35 + rng.gauss(0, 0.05)
    acuity = min(max(round(acuity, 1), 3.8), 5.3)
    return {
        "ucva": _typed(acuity, 1),
        "sph": _typed(sphere, 2),
        "cyl": _typed(cylinder, 2),
        "axis": str(rng.randint(1, 180)) if cylinder else "0",
    }


def _myopia_chance(grade: int) -> float:
    """A child's chance of myopia by grade: about 1 in 10 in grade 1, 2 in 5 by grade 6,
    7 in 10 by grade 9, 4 in 5 in senior high: near the national screening figures."""
    return min(0.04 + 0.068 * grade, 0.8)


def _myopia_shifts(
    classes: Sequence[SchoolClass], students: dict[int, list[Student]], rising: set[int]
) -> dict[tuple[int, int], float]:
    """(school, years back) -> the shift of the chance of myopia in that round: what
    makes the school's expected rate today's with its students in the grades they were
    then, plus its trend (higher then at the schools on target, lower at the others)."""
    grades: dict[int, list[int]] = {}
    for item in classes:
        grades.setdefault(item.school_id, []).extend([item.grade] * len(students.get(item.id, [])))
    shifts = {}
    for school, today in grades.items():
        now = _mean(map(_myopia_chance, today))
        trend = -MYOPIA_RISE_PER_YEAR if school in rising else MYOPIA_FALL_PER_YEAR
        for back in range(1, YEARS):
            then = [_myopia_chance(g - back) for g in today if g - back >= 1]
            expected = _mean(then) if then else now
            shifts[(school, back)] = now - expected + back * trend
    return shifts


def _mean(values: Iterable[float]) -> float:
    found = list(values)
    return sum(found) / len(found) if found else 0.0


def _myopic_children(rng: random.Random, count: int, grade: int, shift: float) -> set[int]:
    """Which of a class's children are myopic: the class's expected number (rounded up or
    down at random), placed at random. Drawn per class rather than per child, so that a
    school's and the district's rates follow the model closely even in a small demo, and
    a trend of a point a year is not lost in the noise."""
    chance = min(max(_myopia_chance(grade) + shift, 0.01), 0.95)
    expected = chance * count
    number = int(expected) + (rng.random() < expected - int(expected))
    return set(rng.sample(range(count), number))


def _vision_payload(
    rng: random.Random, grade: int, day: date, child_myopic: bool
) -> tuple[dict[str, Any], bool]:
    payload: dict[str, Any] = {"measured_on": day.isoformat(), **_status(rng)}
    if payload["status"] != "measured":
        return payload, False
    # A child's two eyes go together.
    for side in ("right", "left"):
        myopic = rng.random() < (0.9 if child_myopic else 0.02)
        payload |= {f"{k}_{side}": v for k, v in _eye(rng, grade, myopic).items()}
    payload["ortho_k"] = "否"
    incomplete = rng.random() < INCOMPLETE
    if incomplete:
        # The autorefractor could not read one eye: acuity only, as the grid allows.
        side = rng.choice(("right", "left"))
        for part in ("sph", "cyl", "axis"):
            payload[f"{part}_{side}"] = ""
    return payload, incomplete


def _check_vision(
    student: Student,
    rng: random.Random,
    grade: int,
    vision_round: VisionRound,
    day: date,
    myopic: bool = False,
) -> _Row | None:
    payload, incomplete = _vision_payload(rng, grade, day, myopic)
    fields, errors = entry.check_vision_row(student, vision_round, payload, classify=False)
    if errors:
        return None
    return _Row(student, fields | {"incomplete": incomplete})


def _classify(rows: list[_Row]) -> None:
    if not rows:
        return
    frame = importer.vision_frame(rows)
    for row, derived in zip(rows, core.classify_vision_frame(frame), strict=True):
        row.fields.update(derived)


# ----------------------------------------------------------------------------- fitness

# (mean at grade 1, gain per grade, spread) for boys; girls scaled by GIRLS.
FITNESS_MODEL = {
    "height_cm": (120.0, 5.6, 5.5),
    "vital_capacity_ml": (1000.0, 240.0, 180.0),
    "run50m_s": (11.6, -0.32, 0.9),
    "sit_reach_cm": (7.0, 0.2, 5.0),
    "rope_skip_1min": (75.0, 9.0, 25.0),
    "situps_1min": (22.0, 2.0, 7.0),
    "long_jump_cm": (120.0, 10.0, 16.0),
    "pullups": (1.0, 0.8, 3.0),
    "shuttle_50x8_s": (125.0, -3.0, 10.0),
    "run800m_s": (290.0, -5.0, 25.0),
    "run1000m_s": (330.0, -8.0, 30.0),
}
GIRLS = {"height_cm": 0.97, "vital_capacity_ml": 0.78, "long_jump_cm": 0.85, "sit_reach_cm": 1.4}
WHOLE = {"rope_skip_1min", "situps_1min", "pullups"}


def _fitness_value(rng: random.Random, item: str, grade: int, sex: str) -> str:
    mean, gain, spread = FITNESS_MODEL[item]
    scale = GIRLS.get(item, 1.0) if sex == "F" else 1.0
    # A normal draw cut at 2.5 spreads: no 50 m in 4 s, no negative lung capacity.
    value = (mean + gain * (grade - 1) + spread * min(max(rng.gauss(0, 1), -2.5), 2.5)) * scale
    if item in WHOLE:
        return str(max(round(value), 0))
    if item in ("run800m_s", "run1000m_s"):
        return str(round(value))
    return _typed(value, 1)


def _fitness_payload(
    rng: random.Random, grade: int, sex: str, day: date
) -> tuple[dict[str, Any], bool]:
    payload: dict[str, Any] = {"measured_on": day.isoformat(), **_status(rng)}
    if payload["status"] != "measured":
        return payload, False
    required = core.required_fitness_items(grade, sex)
    for item in required:
        if item != "weight_kg":
            payload[item] = _fitness_value(rng, item, grade, sex)
    height = float(payload["height_cm"]) / 100
    bmi = 15.5 + 0.55 * grade + 2.2 * min(max(rng.gauss(0, 1), -2.0), 3.0)  # skewed up
    payload["weight_kg"] = _typed(bmi * height * height, 1)
    incomplete = rng.random() < INCOMPLETE
    if incomplete:
        # One test not taken (the long run, most often), the rest recorded.
        payload[required[-1]] = ""
    return payload, incomplete


def _check_fitness(
    student: Student,
    rng: random.Random,
    grade: int,
    school_year: int,
    day: date,
    myopic: bool = False,  # unused: the rounds' checks share one signature
) -> _Row | None:
    payload, incomplete = _fitness_payload(rng, grade, student.sex, day)
    fields, errors = entry.check_fitness_row(student, grade, school_year, payload, score=False)
    if errors:
        return None
    fields.pop("required", None)
    return _Row(student, fields | {"incomplete": incomplete})


def _score(rows: list[_Row]) -> None:
    if not rows:
        return
    frame = importer.fitness_frame(rows)
    for row, derived in zip(rows, core.score_fitness_frame(frame), strict=True):
        row.fields.update(derived)


# ----------------------------------------------------------------------------- writing


def _write(model: type, rows: Iterable[_Row], round_fields: dict[str, Any]) -> None:
    """One INSERT executemany: every row with the same columns (absent and exempt rows
    carry the empty measurements the grid stores for them)."""
    columns = [c.key for c in model.__table__.columns if c.key not in ("id",)]
    now = utcnow()
    base = dict.fromkeys(columns) | {"created_at": now, "updated_at": now}
    values = [base | row.fields | round_fields | {"student_id": row.student.id} for row in rows]
    if values:
        db.session.execute(insert(model.__table__), values)
