"""Vision screening by the national rules: acuity notations, spherical equivalent,
screening myopia, myopia degree, poor-vision grade, an advisory hyperopia-reserve flag
and progression between two screenings.

Rules and where they come from (the tables are in screening/tables/vision/, their
sources in screening/tables/SOURCES.md):

- SE = sphere + cylinder / 2 (WS/T 663-2020 §3.5). It is the same in minus- and
  plus-cylinder notation (sph + cyl, -cyl gives sph + cyl - cyl/2), so either is accepted.
  SE is rounded to 2 decimals (half away from zero) and every rule below applies to the
  rounded value, so the printed SE always explains the class.
- Screening myopia (国家卫健委《儿童青少年近视防控适宜技术指南》), per eye, age 6 and over:
  uncorrected VA below 5.0 and non-cycloplegic SE at or below -0.50 D. Under 6 (or with
  no age) the myopia columns are empty. A student wearing orthokeratology lenses is
  myopic whatever the eyes show (the lenses flatten the cornea for the day).
- Degree (国家卫健委《近视防治指南》2018), by the most myopic SE among myopic eyes: low
  -0.50 to -3.00, moderate -3.25 to -6.00, high below -6.00. The guideline leaves no
  class for -3.01 to -3.24; like "high" (anything below -6.00) we read "low" as ending
  at -3.00, so those values are moderate.
- Poor-vision grade (poor_vision_grading.csv), by the worse eye: at 6 and over normal
  5.0 and above, mild 4.9, moderate 4.6-4.8, severe 4.5 and below. Between the printed
  steps (4.85 from a converted decimal) the half-open intervals of the SQL source apply
  (4.9 <= v < 5.0 mild; 4.6 <= v < 4.9 moderate; v < 4.6 severe). `va_grade` is the
  contract's column (empty under 6); `va_grade_by_age` adds the 4-5 and 3-year rows,
  which come from one source only.
- Low hyperopia reserve (hyperopia_reserve_reference.csv, the rows with an
  "insufficient if below" value: Wang Fangrun 1996, ages 4-7): ADVISORY only. Those
  values are cycloplegic; screening refraction is not, and under-reads hyperopia, so the
  flag over-calls. It suggests a closer look, never a finding.
- Visual acuity is accepted from 3.0 to 5.3 (the chart) and 0, the national upload
  template's code for "below 3.0"; 0 counts as worse than 3.0 everywhere.

Empty cells are "not measured". A rule that needs a missing value is empty unless the
other half already decides it (UCVA 5.1 with no refraction is not myopia).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from screening.errors import InvalidMeasurement, TableError
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
NUMBER_COLUMNS = (
    "age",
    "ucva_right",
    "ucva_left",
    "sph_right",
    "cyl_right",
    "sph_left",
    "cyl_left",
)
INPUT_COLUMNS = (ID_COLUMN, *NUMBER_COLUMNS)
OPTIONAL_COLUMNS = ("ortho_k",)
OUTPUT_COLUMNS = (
    ID_COLUMN,
    "se_right",
    "se_left",
    "myopia_right",
    "myopia_left",
    "myopia",
    "myopia_degree",
    "va_grade",
)
EXTRA_COLUMNS = ("va_grade_by_age", "low_hyperopia_reserve_advisory")

MYOPIA_MIN_AGE = 6.0
MYOPIA_VA_BELOW = 5.0
MYOPIA_SE_AT_MOST = -0.50
LOW_DEGREE_DOWN_TO = -3.00
MODERATE_DEGREE_DOWN_TO = -6.00
BELOW_CHART = 0.0  # the national template's VA code for "below 3.0"

# Plausible ranges for input checking (ours, not from a standard): values outside are
# typing errors (6.1 for 5.1, -40 for -4.0), refused with row and column.
RANGES: dict[str, tuple[float, float, str]] = {
    "age": (3.0, 25.0, "years"),
    "ucva": (3.0, 5.3, "in 5-point notation (0 = below 3.0)"),
    "sph": (-30.0, 30.0, "dioptres"),
    "cyl": (-10.0, 10.0, "dioptres"),
}
# The unit of each range as a code (screening.errors.ERROR_CODES) for translation.
UNIT_CODES = {"age": "years", "ucva": "five_point", "sph": "dioptres", "cyl": "dioptres"}
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class GradeCuts:
    """Lower bounds of normal, mild and moderate for whole years min_age..max_age."""

    min_age: int
    max_age: int
    normal: float
    mild: float
    moderate: float


def _age_span(label: str) -> tuple[int, int]:
    """Age span of a label: ">=6y" -> (6, 200); "4-5y" -> (4, 5); "<=3y" -> (0, 3)."""
    if found := re.fullmatch(r">=\s*(\d+)\s*y", label):
        return int(found[1]), 200
    if found := re.fullmatch(r"(\d+)\s*-\s*(\d+)\s*y", label):
        return int(found[1]), int(found[2])
    if found := re.fullmatch(r"<=\s*(\d+)\s*y", label):
        return 0, int(found[1])
    raise TableError(f"vision/poor_vision_grading.csv: age group {label!r} is not understood")


@cache
def grading() -> tuple[GradeCuts, ...]:
    source = "vision/poor_vision_grading.csv"
    cuts = []
    for row in read_table(shipped("vision"), "poor_vision_grading.csv"):
        low, high = _age_span(row["age_group"])
        bounds = [table_number(row, c, source) for c in ("normal_min", "mild", "moderate_min")]
        if any(b is None for b in bounds):
            raise TableError(f"{source}: {row['age_group']}: a grade bound is empty")
        normal, mild, moderate = (float(b) for b in bounds if b is not None)
        cuts.append(GradeCuts(low, high, normal, mild, moderate))
    return tuple(cuts)


@cache
def reserve_thresholds() -> dict[int, float]:
    """Whole years -> SE below which the reserve is called insufficient (advisory)."""
    source = "vision/hyperopia_reserve_reference.csv"
    found: dict[int, float] = {}
    for row in read_table(shipped("vision"), "hyperopia_reserve_reference.csv"):
        below = table_number(row, "insufficient_if_below_D", source)
        age = table_number(row, "age_years", source)
        if below is not None and age is not None:
            found[int(age)] = below
    return found


@cache
def acuity_chart() -> dict[float, float]:
    """5-point value -> the decimal value printed on the chart."""
    source = "vision/acuity_conversion.csv"
    chart = {}
    for row in read_table(shipped("vision"), "acuity_conversion.csv"):
        five, decimal = (
            table_number(row, "five_point", source),
            table_number(row, "decimal_chart", source),
        )
        if five is not None and decimal is not None:
            chart[round(five, 1)] = decimal
    return chart


# ----------------------------------------------------------------------------- conversions


def _finite(value: float, name: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InvalidMeasurement(None, name, f"{value!r} is not a finite number")
    return number


def decimal_to_five_point(decimal: float) -> float:
    """5 + log10(decimal), rounded to 0.1 (half away from zero). That reproduces every
    value printed on the chart; 0.7 (4.845) is recorded as 4.8."""
    value = _finite(decimal, "decimal")
    if value <= 0:
        raise InvalidMeasurement(None, "decimal", f"{decimal!r} is not a decimal acuity above 0")
    return float(round_half_away(np.array([5 + math.log10(value)]), 1)[0])


def five_point_to_decimal(five_point: float, chart: bool = False) -> float:
    """10 ** (five_point - 5); with chart=True the rounded value printed on the chart
    (4.9 -> 0.8), for the chart's own steps only."""
    value = _finite(five_point, "five_point")
    if chart:
        printed = acuity_chart().get(round(value, 1))
        if printed is None or abs(round(value, 1) - value) > EPS:
            raise InvalidMeasurement(None, "five_point", f"{five_point!r} is not a chart line")
        return printed
    return 10 ** (value - 5)


def logmar_to_five_point(logmar: float) -> float:
    """5 - logMAR, rounded to 0.1 like every 5-point record."""
    return float(round_half_away(np.array([5 - _finite(logmar, "logmar")]), 1)[0])


def five_point_to_logmar(five_point: float) -> float:
    """5 - five_point (5.0 -> 0.0, 4.0 -> 1.0), to 2 decimals to drop binary noise."""
    return float(round_half_away(np.array([5 - _finite(five_point, "five_point")]), 2)[0])


# ----------------------------------------------------------------------------- progression


@dataclass(frozen=True)
class Progression:
    change_per_year: float  # dioptres per year; negative = towards myopia
    alert: bool


def se_change_per_year(
    se_before: float, date_before: date, se_after: float, date_after: date
) -> float:
    """Change in SE per year between two screenings (after - before, per 365.25 days)."""
    days = _days_between(date_before, date_after)
    before, after = _finite(se_before, "se_before"), _finite(se_after, "se_after")
    return (after - before) / (days / 365.25)


def progression(
    se_before: float, date_before: date, se_after: float, date_after: date, threshold: float
) -> Progression:
    """The change per year, and whether it shifts towards myopia by `threshold` dioptres
    per year or more (a positive number chosen by the caller: the reference data gives
    no figure, so there is no default)."""
    if not threshold > 0:
        raise ValueError("threshold is a myopic shift in dioptres per year, above 0")
    change = se_change_per_year(se_before, date_before, se_after, date_after)
    return Progression(change, change <= -threshold + EPS)


def _days_between(before: date, after: date) -> float:
    if isinstance(before, datetime) != isinstance(after, datetime):
        before, after = _as_date(before), _as_date(after)
    delta = after - before
    days = delta.total_seconds() / 86_400
    if days <= 0:
        raise InvalidMeasurement(None, "date_after", "the later screening must be after the first")
    return days


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


# ----------------------------------------------------------------------------- one row


def classify_one(
    age: float | None,
    ucva_right: float | None,
    ucva_left: float | None,
    sph_right: float | None,
    cyl_right: float | None,
    sph_left: float | None,
    cyl_left: float | None,
    ortho_k: bool = False,
) -> dict[str, Any]:
    """One student: the same keys and rules as a row of classify_vision (without
    student_id); None for empty. Raises InvalidMeasurement with row 1."""
    values = dict(
        zip(
            NUMBER_COLUMNS,
            (age, ucva_right, ucva_left, sph_right, cyl_right, sph_left, cyl_left),
            strict=True,
        )
    )
    frame = pd.DataFrame({ID_COLUMN: ["1"], **{k: [v] for k, v in values.items()}})
    frame["ortho_k"] = [bool(ortho_k)]
    row = classify_vision(frame).iloc[0].to_dict()
    del row[ID_COLUMN]
    return {key: _plain(value) for key, value in row.items()}


def classify_eye(
    age: float | None, ucva: float | None, sph: float | None, cyl: float | None
) -> dict[str, Any]:
    """One eye: se, myopia (None when the rule does not decide) and its own grade."""
    row = classify_one(age, ucva, ucva, sph, cyl, sph, cyl)
    return {"se": row["se_right"], "myopia": row["myopia_right"], "va_grade": row["va_grade"]}


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class _Inputs:
    ids: np.ndarray
    age: np.ndarray
    ucva: tuple[np.ndarray, np.ndarray]  # right, left
    sph: tuple[np.ndarray, np.ndarray]
    cyl: tuple[np.ndarray, np.ndarray]
    ortho_k: np.ndarray


def classify_vision(frame: pd.DataFrame) -> pd.DataFrame:
    """Classify every row (see the module notes for the rules).

    Input: the contract's columns (student_id, age, ucva_right, ucva_left, sph_right,
    cyl_right, sph_left, cyl_left; optional ortho_k); others are ignored. Output, in
    input order: OUTPUT_COLUMNS then EXTRA_COLUMNS; SE as float64 (NaN = empty), the
    myopia and advisory columns as nullable "boolean", the grades as str or None.
    Raises InvalidMeasurement for the first impossible value (row 1 = first row)."""
    inputs = _read(frame)
    se_right = _se(inputs.sph[0], inputs.cyl[0])
    se_left = _se(inputs.sph[1], inputs.cyl[1])
    adult = inputs.age >= MYOPIA_MIN_AGE - EPS  # NaN age: False
    eyes = [
        _eye_myopia(va, se, adult) for va, se in zip(inputs.ucva, (se_right, se_left), strict=True)
    ]
    myopic, known = _student_myopia(eyes, inputs.ortho_k, adult)
    out = {
        ID_COLUMN: inputs.ids,
        "se_right": se_right,
        "se_left": se_left,
        "myopia_right": _boolean(*eyes[0]),
        "myopia_left": _boolean(*eyes[1]),
        "myopia": _boolean(myopic, known),
        "myopia_degree": _degree(myopic, known, eyes, (se_right, se_left)),
        "va_grade": _worse_eye_grade(inputs.ucva, inputs.age, adult=True),
        "va_grade_by_age": _worse_eye_grade(inputs.ucva, inputs.age, adult=False),
        "low_hyperopia_reserve_advisory": _reserve_flag(inputs.age, (se_right, se_left)),
    }
    return result_frame(out, frame.index)


def _se(sph: np.ndarray, cyl: np.ndarray) -> np.ndarray:
    return round_half_away(sph + cyl / 2, 2)  # NaN in either: NaN (not measured)


def _eye_myopia(va: np.ndarray, se: np.ndarray, adult: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) of "UCVA < 5.0 and SE <= -0.50" in three-valued logic."""
    va_known, se_known = ~np.isnan(va), ~np.isnan(se)
    low_va = va_known & (va < MYOPIA_VA_BELOW - EPS)
    myopic_se = se_known & (se <= MYOPIA_SE_AT_MOST + EPS)
    value = low_va & myopic_se
    known = (va_known & se_known) | (va_known & ~low_va) | (se_known & ~myopic_se)
    return value & adult, known & adult


def _student_myopia(
    eyes: list[tuple[np.ndarray, np.ndarray]], ortho_k: np.ndarray, adult: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    (right, right_known), (left, left_known) = eyes
    value = (right | left | ortho_k) & adult
    known = (value | (right_known & left_known)) & adult
    return value, known


DEGREES = np.array(["none", "low", "moderate", "high", None], dtype=object)
GRADES = np.array(["normal", "mild", "moderate", "severe", None], dtype=object)
SEVERE, UNDECIDED = 3, 4  # codes into GRADES


def _degree(
    myopic: np.ndarray,
    known: np.ndarray,
    eyes: list[tuple[np.ndarray, np.ndarray]],
    se: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """none / low / moderate / high by the most myopic myopic eye. Empty when myopia is
    empty, or when only ortho_k makes the student myopic (the lenses hide the degree)."""
    worst = np.fmin(np.where(eyes[0][0], se[0], np.nan), np.where(eyes[1][0], se[1], np.nan))
    # Codes: 1 low, 2 moderate (below -3.00), 3 high (below -6.00); NaN compares False.
    code = 1 + (worst < LOW_DEGREE_DOWN_TO - EPS) + (worst < MODERATE_DEGREE_DOWN_TO - EPS)
    code = np.where(known & ~myopic, 0, np.where(known & ~np.isnan(worst), code, 4))
    return DEGREES[code]


def _grade_codes(va: np.ndarray, cuts: GradeCuts) -> np.ndarray:
    """0 normal ... 3 severe (the bounds descend, so the count of those missed is the
    grade); UNDECIDED where not measured."""
    code = (va < cuts.normal - EPS).astype(np.int8)
    code += va < cuts.mild - EPS
    code += va < cuts.moderate - EPS
    code[np.isnan(va)] = UNDECIDED
    return code


def _worse_eye_grade(
    ucva: tuple[np.ndarray, np.ndarray], age: np.ndarray, adult: bool
) -> np.ndarray:
    """Grade of the worse eye. With one eye unmeasured only "severe" is certain."""
    right, left = ucva
    worse = np.fmin(right, left)
    both = ~np.isnan(right) & ~np.isnan(left)
    years = np.floor(np.where(np.isnan(age), -1, age))
    out = np.full(len(worse), UNDECIDED, dtype=np.int8)
    for cuts in grading():
        if adult and cuts.min_age < MYOPIA_MIN_AGE:
            continue
        rows = (years >= cuts.min_age) & (years <= cuts.max_age)
        code = _grade_codes(worse, cuts)
        decided = rows & (both | (code == SEVERE))
        out[decided] = code[decided]
    return GRADES[out]


def _reserve_flag(age: np.ndarray, se: tuple[np.ndarray, np.ndarray]) -> pd.arrays.BooleanArray:
    """ADVISORY: an eye's SE below the age's insufficient-reserve value (ages 4-7)."""
    years = np.floor(np.where(np.isnan(age), -1, age))
    limit = np.full(len(age), np.nan)
    for year, below in reserve_thresholds().items():
        limit[years == year] = below
    applies = ~np.isnan(limit)
    low = [~np.isnan(eye) & (eye < limit - EPS) for eye in se]
    value = (low[0] | low[1]) & applies
    known = (value | (~np.isnan(se[0]) & ~np.isnan(se[1]))) & applies
    return _boolean(value, known)


def _boolean(value: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(value & known, ~known)


# ----------------------------------------------------------------------------- reading


def _read(frame: pd.DataFrame) -> _Inputs:
    for column in INPUT_COLUMNS:
        if column not in frame.columns:
            raise InvalidMeasurement(
                0, column, "the required column is missing", "missing_column", {"also": ""}
            )
    errors = FirstError([str(c) for c in frame.columns])
    values = {c: numbers(frame, c, errors, InvalidMeasurement, None) for c in NUMBER_COLUMNS}
    for column, data in values.items():
        _check_range(column, data, errors)
    ortho_k = _ortho_k(frame, errors)
    ids = frame[ID_COLUMN].to_numpy(dtype=object)
    measured = np.zeros(len(frame), dtype=bool)
    for data in values.values():
        measured |= ~np.isnan(data)
    no_id = pd.isna(ids) | (ids == "")
    errors.add_where(
        no_id & measured,
        ID_COLUMN,
        lambda _: "empty, but the row has measurements",
        InvalidMeasurement,
        "no_id",
    )
    errors.raise_first()
    return _Inputs(
        ids=ids,
        age=values["age"],
        ucva=(values["ucva_right"], values["ucva_left"]),
        sph=(values["sph_right"], values["sph_left"]),
        cyl=(values["cyl_right"], values["cyl_left"]),
        ortho_k=ortho_k,
    )


def _check_range(column: str, data: np.ndarray, errors: FirstError) -> None:
    low, high, unit = RANGES[column.split("_")[0]]
    code = UNIT_CODES[column.split("_")[0]]
    bad = ~np.isnan(data) & ~((data >= low - EPS) & (data <= high + EPS))
    if column.startswith("ucva"):
        bad &= data != BELOW_CHART
    errors.add_where(
        bad,
        column,
        lambda i: f"{data[i]:g} is outside {low!r} to {high!r} {unit}",
        InvalidMeasurement,
        "out_of_range",
        lambda i: {"value": f"{data[i]:g}", "low": str(low), "high": str(high), "unit": code},
    )


def _ortho_k(frame: pd.DataFrame, errors: FirstError) -> np.ndarray:
    """The optional ortho_k column as bools; empty means no."""
    if "ortho_k" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    series = frame["ortho_k"]
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    parsed = [_flag(value) for value in series.tolist()]
    bad = np.array([value is None for value in parsed], dtype=bool)
    errors.add_where(
        bad,
        "ortho_k",
        lambda i: f"{series.iloc[i]!r} is not true or false",
        InvalidMeasurement,
        "not_flag",
        lambda i: {"value": str(series.iloc[i])},
    )
    return np.array([bool(value) for value in parsed], dtype=bool)


def _flag(value: Any) -> bool | None:
    """True/False for a yes/no cell, None when it is neither."""
    if is_empty(value):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None
