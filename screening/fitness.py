"""The National Student Physical Fitness Standard (国家学生体质健康标准, 2014 revision,
教体艺〔2014〕5号) for grades 1-12: item scores, BMI classes, weights, bonus points,
standard score, total and rating.

The numbers are plain data in screening/tables/fitness/ (copied from the shared
reference data; sources and cross-checks in screening/tables/SOURCES.md). A table that
is missing can be added there without code: add its rows to <item>.csv and mark the
combination complete or single_source in coverage.csv.

Rules, as the standard and the contract give them:
- An item's score is the best table row the measurement reaches (higher is better,
  except the timed runs, where lower is better); no interpolation; a measurement worse
  than the lowest row scores 0.
- BMI = weight / height², rounded to 0.1 (half up, our choice: the bands are printed
  to 0.1 and meet at 0.1 steps) and looked up in the grade's and sex's bands.
- standard = Σ item score × weight (weights.csv, per grade group), rounded to 0.1 half
  up, computed in whole hundredths so that no binary noise decides a rounding.
- bonus: points for performance beyond the 100-point row (bonus.csv): one-minute rope
  skipping in grades 1-6; pull-ups (boys) or sit-ups (girls) and the 1000 m (boys) or
  800 m (girls) in grades 7-12. total = standard + bonus; rating by total (grade_bands.csv).
- A required item left empty (not tested, exempt) leaves its score empty and makes
  standard, total and rating empty; the other items are still scored.
- Only the items the standard sets for a row's grade and sex are read; other columns
  (and their cells) are ignored.
- A required item whose table is absent, or which coverage.csv does not mark complete or
  single_source (i.e. missing or partial), is refused with MissingTable, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening.errors import InvalidMeasurement, MissingTable, TableError
from screening.measures import (
    EPS,
    FirstError,
    is_empty,
    numbers,
    read_table,
    result_frame,
    round_half_away,
    shipped,
    table_number,
)

ID_COLUMN = "student_id"
GRADES = tuple(range(1, 13))
SEXES = {"M": "M", "F": "F", "男": "M", "女": "F", "m": "M", "f": "F"}
SEX_WORDS = {"M": "boys", "F": "girls"}
USABLE = frozenset({"complete", "single_source"})  # coverage statuses that may be scored
BONUS_MAX = 20  # the contract's 0-20; the tables never add up to more
RATINGS = {"优秀": "excellent", "良好": "good", "及格": "pass", "不及格": "fail"}
BMI_CLASSES = {"低体重": "underweight", "正常": "normal", "超重": "overweight", "肥胖": "obese"}
BMI_ORDER = ("underweight", "normal", "overweight", "obese")
BMI_LABELS = np.array([*BMI_ORDER, None], dtype=object)


@dataclass(frozen=True)
class Item:
    """A test item: its table name (file stem, weights and coverage id), its input
    column, its direction, and a plausible range (ours, not the standard's) outside
    which a value is a typing error, such as 50 m in 2 s."""

    name: str
    column: str
    lower_is_better: bool
    counted: bool  # whole repetitions: a fraction is a typing error
    low: float
    high: float
    unit: str


ITEMS: dict[str, Item] = {
    item.name: item
    for item in (
        Item("vital_capacity", "vital_capacity_ml", False, False, 100, 10_000, "mL"),
        Item("run_50m", "run50m_s", True, False, 5, 60, "s"),
        Item("sit_and_reach", "sit_reach_cm", False, False, -50, 60, "cm"),
        Item("rope_skip_1min", "rope_skip_1min", False, True, 0, 350, "skips"),
        Item("sit_up_1min", "situps_1min", False, True, 0, 100, "sit-ups"),
        Item("standing_long_jump", "long_jump_cm", False, False, 0, 400, "cm"),
        Item("pull_up", "pullups", False, True, 0, 100, "pull-ups"),
        Item("shuttle_50x8", "shuttle_50x8_s", True, False, 60, 900, "s"),
        Item("run_800m", "run800m_s", True, False, 100, 1800, "s"),
        Item("run_1000m", "run1000m_s", True, False, 120, 1800, "s"),
    )
}
BODY = {"height_cm": (80.0, 230.0, "cm"), "weight_kg": (10.0, 250.0, "kg")}
MEASUREMENT_COLUMNS = (*BODY, *(item.column for item in ITEMS.values()))
INPUT_COLUMNS = (ID_COLUMN, "grade", "sex", *MEASUREMENT_COLUMNS)
SCORE_COLUMNS = ("score_bmi", *(f"score_{item.column}" for item in ITEMS.values()))
OUTPUT_COLUMNS = (
    ID_COLUMN,
    "bmi",
    "bmi_class",
    *SCORE_COLUMNS,
    "standard",
    "bonus",
    "total",
    "rating",
)


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Levels:
    """One item's table for one grade and sex. `keys` ascend from the lowest-scoring row
    to the 100-point row (thresholds negated for timed items, so that "reaches" is
    always key <= value); `scores[k]` is the score of reaching k rows (scores[0] = 0)."""

    keys: np.ndarray
    scores: np.ndarray
    top: float  # the 100-point threshold (as in the file), the base of the bonus

    def score(self, values: np.ndarray, lower_is_better: bool) -> np.ndarray:
        """Scores of measurements; -1 where empty (NaN)."""
        keyed = -values if lower_is_better else values
        reached = np.searchsorted(self.keys, keyed + EPS, side="right")
        return np.where(np.isnan(values), -1, self.scores[reached])


@dataclass(frozen=True)
class BmiBands:
    underweight_max: float
    normal_max: float
    overweight_max: float
    scores: Mapping[str, int]  # class id -> score


@dataclass(frozen=True)
class BonusSteps:
    excess: np.ndarray  # ascending excess over the 100-point threshold
    points: np.ndarray  # points[k] for reaching k steps (points[0] = 0)


@dataclass(frozen=True)
class Standard:
    """The scoring tables of one directory (the shipped one, or a test's copy)."""

    levels: Mapping[tuple[str, str, str], Levels]  # (item, grade, sex)
    bmi: Mapping[tuple[str, str], BmiBands]
    weights: Mapping[tuple[str, str], tuple[tuple[str, int], ...]]  # (grade, sex)
    bonus: Mapping[tuple[str, str, str], BonusSteps]
    coverage: Mapping[tuple[str, str, str], str]
    ratings: tuple[tuple[str, int], ...]  # (rating, minimum total in tenths), best first

    def problem(self, item: str, grade: str, sex: str) -> str | None:
        """Why (item, grade, sex) cannot be scored, or None when it can."""
        who = f"grade {grade} {SEX_WORDS[sex]}"
        if item == "bmi":
            return None if (grade, sex) in self.bmi else f"bmi.csv has no bands for {who}"
        status = self.coverage.get((item, grade, sex))
        if status is None:
            return f"coverage.csv has no row for {item}, {who}"
        if status not in USABLE:
            return f"coverage.csv marks the {item} table for {who} {status}"
        if (item, grade, sex) not in self.levels:
            return f"{item}.csv has no rows for {who}"
        return None


def _levels(directory: Traversable | Path, item: Item) -> dict[tuple[str, str, str], Levels]:
    source = f"{item.name}.csv"
    grouped: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for row in read_table(directory, source):
        score, threshold = (
            table_number(row, "score", source),
            table_number(row, "threshold", source),
        )
        if score is None or threshold is None:
            raise TableError(f"{source}: grade {row.get('grade')} {row.get('sex')}: empty cell")
        grouped.setdefault((row["grade"], row["sex"]), []).append((int(score), threshold))
    found = {}
    for (grade, sex), pairs in grouped.items():
        pairs.sort(reverse=True)  # from the 100-point row down
        scores = np.array([s for s, _ in pairs])
        keys = np.array([-t if item.lower_is_better else t for _, t in pairs])
        if np.any(np.diff(scores) >= 0) or np.any(np.diff(keys) >= 0):
            raise TableError(
                f"{source}: grade {grade} {sex}: scores and thresholds must move strictly "
                "together (a harder threshold for every higher score)"
            )
        found[(item.name, grade, sex)] = Levels(
            keys=keys[::-1].copy(),
            scores=np.concatenate([[0], scores[::-1]]),
            top=pairs[0][1],
        )
    return found


def _bmi(directory: Traversable | Path) -> dict[tuple[str, str], BmiBands]:
    grouped: dict[tuple[str, str], dict[str, tuple[float | None, float | None, int]]] = {}
    for row in read_table(directory, "bmi.csv"):
        category = BMI_CLASSES.get(row["category"])
        score = table_number(row, "score", "bmi.csv")
        if category is None or score is None:
            raise TableError(f"bmi.csv: category {row['category']!r} or its score is unknown")
        bounds = (table_number(row, "bmi_min", "bmi.csv"), table_number(row, "bmi_max", "bmi.csv"))
        grouped.setdefault((row["grade"], row["sex"]), {})[category] = (*bounds, int(score))
    return {key: _bands(key, bands) for key, bands in grouped.items()}


def _bands(key: tuple[str, str], bands: dict[str, tuple[Any, Any, int]]) -> BmiBands:
    order = BMI_ORDER
    if set(bands) != set(order):
        raise TableError(f"bmi.csv: grade {key[0]} {key[1]}: needs the four bands")
    for lower, upper in pairwise(order):
        top, bottom = bands[lower][1], bands[upper][0]
        if top is None or bottom is None or abs(bottom - top - 0.1) > 1e-6:
            raise TableError(f"bmi.csv: grade {key[0]} {key[1]}: {lower} and {upper} must meet")
    return BmiBands(
        underweight_max=bands["underweight"][1],
        normal_max=bands["normal"][1],
        overweight_max=bands["overweight"][1],
        scores={name: bands[name][2] for name in order},
    )


def _grades(text: str) -> list[str]:
    """Grades: "1;2" -> ["1", "2"]; "7-12;univ" -> ["7", …, "12", "univ_1_2", "univ_3_4"]."""
    out: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        if part == "univ":
            out += ["univ_1_2", "univ_3_4"]
        elif "-" in part:
            low, high = part.split("-")
            out += [str(g) for g in range(int(low), int(high) + 1)]
        else:
            out.append(part)
    return out


def _weights(directory: Traversable | Path) -> dict[tuple[str, str], tuple[tuple[str, int], ...]]:
    """Items: "pull_up(M)/sit_up_1min(F)" names one item per sex; a plain name both."""
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for row in read_table(directory, "weights.csv"):
        weight = table_number(row, "weight_percent", "weights.csv")
        if weight is None:
            raise TableError(f"weights.csv: {row['item']}: empty weight")
        for sex, item in _per_sex(row["item"]).items():
            if item != "bmi" and item not in ITEMS:
                raise TableError(f"weights.csv: unknown item {item!r}")
            for grade in _grades(row["grades"]):
                found.setdefault((grade, sex), []).append((item, int(weight)))
    for key, items in found.items():
        if sum(w for _, w in items) != 100:
            raise TableError(f"weights.csv: grade {key[0]} {key[1]}: weights do not add to 100")
    return {key: tuple(items) for key, items in found.items()}


def _per_sex(text: str) -> dict[str, str]:
    if "/" not in text:
        return {"M": text, "F": text}
    out = {}
    for part in text.split("/"):
        name, _, sex = part.strip().rstrip(")").partition("(")
        if sex not in ("M", "F"):
            raise TableError(f"weights.csv: {text!r}: write item(M)/item(F)")
        out[sex] = name
    return out


def _bonus(
    directory: Traversable | Path, levels: Mapping[tuple[str, str, str], Levels]
) -> dict[tuple[str, str, str], BonusSteps]:
    grouped: dict[tuple[str, str, str], list[tuple[float, int]]] = {}
    for row in read_table(directory, "bonus.csv"):
        excess = table_number(row, "excess_over_100pt_threshold", "bonus.csv")
        points = table_number(row, "bonus_points", "bonus.csv")
        if excess is None or points is None or row["item"] not in ITEMS:
            raise TableError(f"bonus.csv: row for {row['item']!r} {row['sex']!r} is incomplete")
        for grade in _grades(row["applies_to_grades"]):
            grouped.setdefault((row["item"], grade, row["sex"]), []).append((excess, int(points)))
    found = {}
    for key, steps in grouped.items():
        steps.sort()
        excess = np.array([e for e, _ in steps])
        points = np.array([p for _, p in steps])
        if np.any(np.diff(excess) <= 0) or np.any(np.diff(points) <= 0) or excess[0] <= 0:
            raise TableError(f"bonus.csv: {key}: steps must rise together above 0")
        if key in levels and levels[key].scores[-1] != 100:
            raise TableError(f"{key[0]}.csv: grade {key[1]} {key[2]}: no 100-point row")
        found[key] = BonusSteps(excess, np.concatenate([[0], points]))
    return found


def _ratings(directory: Traversable | Path) -> tuple[tuple[str, int], ...]:
    found = []
    for row in read_table(directory, "grade_bands.csv"):
        rating = RATINGS.get(row["rating"])
        if rating is None:
            raise TableError(f"grade_bands.csv: unknown rating {row['rating']!r}")
        low = table_number(row, "min_total", "grade_bands.csv")
        found.append((rating, -(10**9) if low is None else round(low * 10)))
    return tuple(sorted(found, key=lambda pair: -pair[1]))


def load_standard(directory: Traversable | Path) -> Standard:
    """Read and check every table of a directory laid out like screening/tables/fitness."""
    levels: dict[tuple[str, str, str], Levels] = {}
    for item in ITEMS.values():
        levels.update(_levels(directory, item))
    coverage = {
        (row["item"], row["grade"], row["sex"]): row["status"].strip().lower()
        for row in read_table(directory, "coverage.csv")
    }
    return Standard(
        levels=levels,
        bmi=_bmi(directory),
        weights=_weights(directory),
        bonus=_bonus(directory, levels),
        coverage=coverage,
        ratings=_ratings(directory),
    )


@cache
def default_standard() -> Standard:
    """The shipped tables (screening/tables/fitness), read once."""
    return load_standard(shipped("fitness"))


# ----------------------------------------------------------------------------- one student


def _sex_code(sex: Any) -> str | None:
    return None if is_empty(sex) else SEXES.get(str(sex).strip())


def required_items(grade: int, sex: str, standard: Standard | None = None) -> list[str]:
    """The input columns the standard sets for a grade (1-12) and sex (M/F/男/女):
    height_cm and weight_kg (for BMI), then the tested items in weights.csv order."""
    code = _sex_code(sex)
    if code is None:
        raise InvalidMeasurement(
            None, "sex", f"{sex!r} is not M, F, 男 or 女", "bad_sex", {"value": str(sex)}
        )
    if grade not in GRADES:
        message = f"{grade!r} is not a grade from 1 to 12"
        raise InvalidMeasurement(None, "grade", message, "bad_grade", {"value": str(grade)})
    weights = (standard or default_standard()).weights.get((str(grade), code), ())
    columns = []
    for item, _ in weights:
        columns += list(BODY) if item == "bmi" else [ITEMS[item].column]
    return columns


def score_one(grade: int, sex: str, measurements: Mapping[str, Any]) -> dict[str, Any]:
    """One student: the keys of an output row of score_fitness (student_id taken from
    measurements when given); None for empty. Errors name row 1."""
    row = {column: [measurements.get(column)] for column in MEASUREMENT_COLUMNS}
    frame = pd.DataFrame({ID_COLUMN: ["1"], "grade": [grade], "sex": [sex], **row})
    result = score_fitness(frame).iloc[0].to_dict()
    result[ID_COLUMN] = measurements.get(ID_COLUMN)
    return {key: _plain(value) for key, value in result.items()}


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# ----------------------------------------------------------------------------- the table

COMBOS = [(str(grade), sex) for grade in GRADES for sex in ("M", "F")]  # code = position


@dataclass(frozen=True)
class _Inputs:
    ids: np.ndarray
    code: np.ndarray  # index into COMBOS
    values: dict[str, np.ndarray]  # column -> float64, NaN where empty or not required


def score_fitness(frame: pd.DataFrame, standard: Standard | None = None) -> pd.DataFrame:
    """Score every row (see the module notes for the rules).

    Input: the contract's columns (student_id, grade, sex, then the measurements; a
    measurement column may be absent when no row's grade and sex needs it). Output, in
    input order, OUTPUT_COLUMNS: bmi/standard/total float64 (NaN = empty), scores and
    bonus nullable Int64, bmi_class/rating str or None. Raises InvalidMeasurement for the
    first impossible value and MissingTable for a combination without a usable table."""
    tables = standard or default_standard()
    inputs = _read(frame, tables)
    # Work in grade-and-sex order, so that each combination is one contiguous slice.
    order = np.argsort(inputs.code, kind="stable")
    values = {column: data[order] for column, data in inputs.values.items()}
    bmi = round_half_away(values["weight_kg"] / (values["height_cm"] / 100) ** 2, 1)
    work = _Work.empty(len(order))
    for code, rows in _groups(inputs.code[order]):
        _score_group(tables, COMBOS[code], values, bmi, rows, work)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return _output(frame.index, inputs.ids, tables, bmi[inverse], work.unsorted(inverse))


@dataclass
class _Work:
    """The results being filled in, one array per output, -1 / empty codes until scored."""

    scores: dict[str, np.ndarray]
    bmi_class: np.ndarray  # codes into BMI_LABELS
    hundredths: np.ndarray  # the standard score, in whole hundredths
    complete: np.ndarray  # every required item scored
    bonus: np.ndarray
    bonus_known: np.ndarray  # some bonus item was measured

    @classmethod
    def empty(cls, rows: int) -> _Work:
        return cls(
            scores={column: np.full(rows, -1, dtype=np.int64) for column in SCORE_COLUMNS},
            bmi_class=np.full(rows, len(BMI_ORDER), dtype=np.int8),
            hundredths=np.zeros(rows, dtype=np.int64),
            complete=np.ones(rows, dtype=bool),
            bonus=np.zeros(rows, dtype=np.int64),
            bonus_known=np.zeros(rows, dtype=bool),
        )

    def unsorted(self, inverse: np.ndarray) -> _Work:
        return _Work(
            scores={column: values[inverse] for column, values in self.scores.items()},
            bmi_class=self.bmi_class[inverse],
            hundredths=self.hundredths[inverse],
            complete=self.complete[inverse],
            bonus=self.bonus[inverse],
            bonus_known=self.bonus_known[inverse],
        )


def _groups(code: np.ndarray) -> Iterable[tuple[int, slice]]:
    """(combination, slice) for each run of equal codes in sorted codes."""
    if not len(code):
        return
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[starts[1:], len(code)]
    for start, end in zip(starts, ends, strict=True):
        yield int(code[start]), slice(int(start), int(end))


def _score_group(
    tables: Standard,
    combo: tuple[str, str],
    values: Mapping[str, np.ndarray],
    bmi: np.ndarray,
    rows: slice,
    work: _Work,
) -> None:
    """Score the rows of one grade and sex, item by item."""
    grade, sex = combo
    for item, weight in tables.weights[combo]:
        if item == "bmi":
            got, work.bmi_class[rows] = _bmi_scores(bmi[rows], tables.bmi[combo])
            column = "score_bmi"
        else:
            spec = ITEMS[item]
            measured = values[spec.column][rows]
            got = tables.levels[(item, grade, sex)].score(measured, spec.lower_is_better)
            column = f"score_{spec.column}"
            _add_bonus(tables, spec, combo, measured, rows, work)
        work.scores[column][rows] = got
        work.hundredths[rows] += np.maximum(got, 0) * weight
        work.complete[rows] &= got >= 0


def _bmi_scores(bmi: np.ndarray, bands: BmiBands) -> tuple[np.ndarray, np.ndarray]:
    """(scores, class codes into BMI_LABELS); -1 and the empty code where BMI is empty.
    The bands meet at 0.1 steps and BMI is rounded to 0.1, so "above a band's maximum"
    is "in the next band"."""
    code = (bmi > bands.underweight_max + EPS).astype(np.int8)
    code += bmi > bands.normal_max + EPS
    code += bmi > bands.overweight_max + EPS
    scores = np.array([bands.scores[name] for name in BMI_ORDER], dtype=np.int64)
    empty = np.isnan(bmi)
    code[empty] = len(BMI_ORDER)
    return np.where(empty, -1, scores[np.minimum(code, len(BMI_ORDER) - 1)]), code


def _add_bonus(
    tables: Standard,
    spec: Item,
    combo: tuple[str, str],
    measured: np.ndarray,
    rows: slice,
    work: _Work,
) -> None:
    steps = tables.bonus.get((spec.name, *combo))
    if steps is None:
        return
    top = tables.levels[(spec.name, *combo)].top
    excess = top - measured if spec.lower_is_better else measured - top
    reached = np.searchsorted(steps.excess, excess + EPS, side="right")
    present = ~np.isnan(measured)
    work.bonus[rows] += np.where(present, steps.points[reached], 0)
    work.bonus_known[rows] |= present


def _output(
    index: pd.Index, ids: np.ndarray, tables: Standard, bmi: np.ndarray, work: _Work
) -> pd.DataFrame:
    bonus = np.minimum(work.bonus, BONUS_MAX)
    tenths = (work.hundredths + 5) // 10  # half up, in integers
    total_tenths = tenths + bonus * 10
    complete = work.complete
    out: dict[str, Any] = {ID_COLUMN: ids, "bmi": bmi, "bmi_class": BMI_LABELS[work.bmi_class]}
    for column, values in work.scores.items():
        out[column] = pd.arrays.IntegerArray(np.maximum(values, 0), values < 0)
    out["standard"] = np.where(complete, tenths / 10, np.nan)
    out["bonus"] = pd.arrays.IntegerArray(bonus, ~work.bonus_known)
    out["total"] = np.where(complete, total_tenths / 10, np.nan)
    out["rating"] = np.where(complete, _rate(total_tenths, tables.ratings), None)
    return result_frame(out, index)


def _rate(total_tenths: np.ndarray, ratings: tuple[tuple[str, int], ...]) -> np.ndarray:
    """The best rating whose minimum the total reaches (totals in whole tenths)."""
    rating = np.full(len(total_tenths), None, dtype=object)
    rated = np.zeros(len(total_tenths), dtype=bool)
    for name, minimum in ratings:  # best first
        hit = ~rated & (total_tenths >= minimum)
        rating[hit] = name
        rated |= hit
    return rating


def rating_for(total: float, standard: Standard | None = None) -> str:
    """excellent / good / pass / fail for a total (grade_bands.csv; 0.1 steps)."""
    tenths = np.array([round(float(total) * 10)])
    return str(_rate(tenths, (standard or default_standard()).ratings)[0])


# ----------------------------------------------------------------------------- reading


def _read(frame: pd.DataFrame, tables: Standard) -> _Inputs:
    for column in (ID_COLUMN, "grade", "sex"):
        if column not in frame.columns:
            raise InvalidMeasurement(
                0, column, "the required column is missing", "missing_column", {"also": ""}
            )
    errors = FirstError([str(c) for c in frame.columns])
    code = _combos(frame, errors)
    needed = _needed(frame, code, tables, errors)
    values = {}
    for column in MEASUREMENT_COLUMNS:
        if column not in frame.columns:
            values[column] = np.full(len(frame), np.nan)
            continue
        data = numbers(frame, column, errors, InvalidMeasurement, needed[column])
        data[~needed[column]] = np.nan  # ignored: not set for this grade and sex
        _check(column, data, errors)
        values[column] = data
    ids = frame[ID_COLUMN].to_numpy(dtype=object)
    errors.add_where(
        pd.isna(ids) | (ids == ""), ID_COLUMN, lambda _: "empty", InvalidMeasurement, "empty"
    )
    errors.raise_first()
    return _Inputs(ids=ids, code=code, values=values)


def _sexes(cells: pd.Series) -> np.ndarray:
    """Sex codes ("M", "F" or None) per cell: a dictionary lookup for the usual
    spellings (fast), the careful per-cell path only for the rest (spaces, odd cells)."""
    try:
        mapped = cells.map(SEXES)
    except TypeError:  # an unhashable cell
        mapped = pd.Series([None] * len(cells), index=cells.index, dtype=object)
    odd = (mapped.isna() & cells.notna()).to_numpy()
    sexes = mapped.to_numpy(dtype=object, na_value=None)
    if odd.any():
        sexes[odd] = [_sex_code(cell) for cell in cells.to_numpy(dtype=object)[odd]]
    return sexes


def _combos(frame: pd.DataFrame, errors: FirstError) -> np.ndarray:
    """Index into COMBOS per row; -1 where grade or sex is bad (reported)."""
    grade = numbers(frame, "grade", errors, InvalidMeasurement, None)
    whole = ~np.isnan(grade) & (grade == np.floor(grade)) & (grade >= 1) & (grade <= 12)
    errors.add_where(
        ~whole,
        "grade",
        lambda i: "empty" if np.isnan(grade[i]) else f"{grade[i]:g} is not a grade from 1 to 12",
        InvalidMeasurement,
        "bad_grade",
        lambda i: {"value": "" if np.isnan(grade[i]) else f"{grade[i]:g}"},
    )
    sex = _sexes(frame["sex"])
    bad_sex = pd.isna(sex)
    errors.add_where(
        bad_sex,
        "sex",
        lambda i: f"{frame['sex'].iloc[i]!r} is not M, F, 男 or 女",
        InvalidMeasurement,
        "bad_sex",
        lambda i: {"value": str(frame["sex"].iloc[i])},
    )
    code = (np.where(whole, grade, 1).astype(np.int64) - 1) * 2 + (sex == "F")
    return np.where(whole & ~bad_sex, code, -1)


def _needed(
    frame: pd.DataFrame, code: np.ndarray, tables: Standard, errors: FirstError
) -> dict[str, np.ndarray]:
    """Per measurement column, the rows whose grade and sex require it. Reports a
    combination without a usable table, or a required column absent from the frame, at
    the first row that has it."""
    required = np.zeros((len(COMBOS) + 1, len(MEASUREMENT_COLUMNS)), dtype=bool)  # last: bad
    first = {int(c): int(np.argmax(code == c)) + 1 for c in np.unique(code) if c >= 0}
    for combo, row in first.items():
        grade, sex = COMBOS[combo]
        for item, _ in tables.weights.get((grade, sex), ()):
            columns = list(BODY) if item == "bmi" else [ITEMS[item].column]
            for column in columns:
                required[combo, MEASUREMENT_COLUMNS.index(column)] = True
            problem = tables.problem(item, grade, sex)
            if problem is not None:
                figures = {"item": item, "grade": grade, "sex": sex}
                refused = f"{problem}: refused, not guessed"
                errors.add(MissingTable(row, columns[0], refused, "no_table", figures))
            for column in (c for c in columns if c not in frame.columns):
                message = f"the column is missing; grade {grade} {SEX_WORDS[sex]} need it"
                figures = {"grade": grade, "sex": sex}
                errors.add(InvalidMeasurement(row, column, message, "column_needed", figures))
        if (grade, sex) not in tables.weights:
            message = f"weights.csv has no items for {grade} {sex}"
            figures = {"item": "", "grade": grade, "sex": sex}
            errors.add(MissingTable(row, "grade", message, "no_table", figures))
    picked = required[code]  # code -1 picks the last row: nothing required
    return {column: picked[:, i] for i, column in enumerate(MEASUREMENT_COLUMNS)}


def _check(column: str, data: np.ndarray, errors: FirstError) -> None:
    spec = next((item for item in ITEMS.values() if item.column == column), None)
    low, high, unit = BODY[column] if spec is None else (spec.low, spec.high, spec.unit)
    present = ~np.isnan(data)
    outside = present & ~((data >= low - EPS) & (data <= high + EPS))
    errors.add_where(
        outside,
        column,
        lambda i: f"{data[i]:g} is outside the plausible range {low:g} to {high:g} {unit}",
        InvalidMeasurement,
        "out_of_range",
        lambda i: {"value": f"{data[i]:g}", "low": f"{low:g}", "high": f"{high:g}", "unit": unit},
    )
    if spec is not None and spec.counted:
        fraction = present & ~outside & (data != np.floor(data))
        errors.add_where(
            fraction,
            column,
            lambda i: f"{data[i]:g} is not a whole number",
            InvalidMeasurement,
            "not_whole",
            lambda i: {"value": f"{data[i]:g}"},
        )


# ----------------------------------------------------------------------------- run times

# The timed runs whose results people write as minutes and seconds.
TIMED_COLUMNS = tuple(item.column for item in ITEMS.values() if item.lower_is_better)
_MINUTE_MARKS = "'′’‘`´分"  # ASCII, prime, curly quotes (input methods), 分
_SECOND_MARKS = '"″”“秒'
_DURATION = re.compile(
    r"(?:(?P<minutes>\d+)\s*(?:[" + _MINUTE_MARKS + r"]|:)\s*)?"
    r"(?P<seconds>\d+(?:\.\d+)?)?\s*[" + _SECOND_MARKS + r"]?"
)


def seconds_from_text(text: str) -> float | None:
    """A run time as written on a score sheet, in seconds: 230, 230.5, 3'50", 3′50″,
    3’50”, 3:50, 3分50秒, 3分, 50秒 (full-width forms too). None when empty; ValueError
    when it is not a time, or the seconds of a minutes-and-seconds time reach 60.
    The batch commands read plain seconds only: this is for people typing."""
    folded = unicodedata.normalize("NFKC", text).strip().replace("′′", "″").replace("''", '"')
    if not folded:
        return None
    found = _DURATION.fullmatch(folded)
    if found is None or (found["minutes"] is None and found["seconds"] is None):
        raise ValueError(f"{text!r} is not a time")
    seconds = float(found["seconds"] or 0)
    if found["minutes"] is None:
        return seconds
    if seconds >= 60:
        raise ValueError(f"{text!r}: the seconds of a time in minutes reach 60")
    return int(found["minutes"]) * 60 + seconds
