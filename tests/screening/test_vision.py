"""Vision rules: conversions, SE, screening myopia, degree, poor-vision grade, the
advisory hyperopia-reserve flag and progression. Edges are generated from the shipped
table files; a plain row-by-row reference (Decimal arithmetic, straight from the rule
text) checks the vectorized classification on random rows."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import screening
from screening.errors import InputError, InvalidMeasurement, ScreeningError
from screening.vision import (
    EXTRA_COLUMNS,
    OUTPUT_COLUMNS,
    classify_eye,
    classify_one,
    classify_vision,
    decimal_to_five_point,
    five_point_to_decimal,
    five_point_to_logmar,
    logmar_to_five_point,
    progression,
    se_change_per_year,
)

TABLES = Path(screening.__file__).parent / "tables" / "vision"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBER_COLUMNS = [
    "age",
    "ucva_right",
    "ucva_left",
    "sph_right",
    "cyl_right",
    "sph_left",
    "cyl_left",
]


@cache
def _table(name: str) -> tuple[dict[str, str], ...]:
    with (TABLES / name).open(encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["student_id", *NUMBER_COLUMNS, "ortho_k"]
    return pd.DataFrame(
        {
            c: [row.get(c, f"s{i}" if c == "student_id" else None) for i, row in enumerate(rows)]
            for c in columns
        }
    )


def _one(
    age: float | None = 8, va: float | None = 5.0, sph: float | None = 0, cyl: float | None = 0
):
    """Both eyes alike."""
    return classify_one(age, va, va, sph, cyl, sph, cyl)


# ----------------------------------------------------------------------------- conversions


@pytest.mark.parametrize("row", _table("acuity_conversion.csv"), ids=lambda r: r["five_point"])
def test_every_chart_line_converts_both_ways(row: dict[str, str]) -> None:
    five, chart = float(row["five_point"]), float(row["decimal_chart"])
    assert decimal_to_five_point(chart) == five
    assert decimal_to_five_point(float(row["decimal_exact"])) == five
    assert five_point_to_decimal(five, chart=True) == chart
    assert five_point_to_decimal(five) == pytest.approx(float(row["decimal_exact"]), abs=5e-5)
    assert five_point_to_logmar(five) == float(row["logMAR"])
    assert logmar_to_five_point(float(row["logMAR"])) == five


def test_decimal_between_chart_lines_rounds_to_the_nearest_tenth() -> None:
    assert decimal_to_five_point(0.7) == 4.8  # 4.845: the README asks to decide; we round
    assert decimal_to_five_point(0.9) == 5.0  # 4.954
    with pytest.raises(InvalidMeasurement):
        decimal_to_five_point(0)
    with pytest.raises(InvalidMeasurement):
        five_point_to_decimal(4.85, chart=True)
    with pytest.raises(InvalidMeasurement):
        logmar_to_five_point(math.nan)


# ----------------------------------------------------------------------------- SE and myopia


@given(sph=st.integers(-2000, 2000), cyl=st.integers(-600, 600))
@SETTINGS
def test_se_is_the_same_in_both_cylinder_conventions(sph: int, cyl: int) -> None:
    minus = _one(sph=sph / 100, cyl=cyl / 100)
    plus = _one(sph=(sph + cyl) / 100, cyl=-cyl / 100)  # transposed prescription
    assert minus["se_right"] == plus["se_right"]
    assert minus == plus


@pytest.mark.parametrize(
    ("sph", "cyl", "se"),
    [
        (-1.0, -0.5, -1.25),
        (-2.75, -0.75, -3.13),
        (0.25, -0.49, 0.01),
        (-0.25, -0.49, -0.5),
        (1.005, 0, 1.01),
        (-0.12, 0.24, 0.0),
    ],
)
def test_se_rounds_half_away_from_zero(sph: float, cyl: float, se: float) -> None:
    result = _one(sph=sph, cyl=cyl)["se_right"]
    assert result == se and str(result) != "-0.0"


@pytest.mark.parametrize(
    ("age", "va", "se", "myopia"),
    [
        (6, 4.9, -0.5, True),  # every threshold exactly at its edge
        (6, 5.0, -0.5, False),  # UCVA 5.0 is not below 5.0
        (6, 4.9, -0.25, False),  # SE above -0.50
        (6, 4.9, -0.49, False),
        (6, 4.9, -0.51, True),
        (5.99, 4.0, -5.0, None),  # the rule starts at 6
        (25, 0, -1.0, True),  # 0 = below 3.0
    ],
)
def test_screening_myopia_edges(age: float, va: float, se: float, myopia: bool | None) -> None:
    row = _one(age=age, va=va, sph=se, cyl=0)
    assert row["myopia_right"] is myopia and row["myopia"] is myopia


def test_an_undecided_half_leaves_myopia_empty_only_when_it_matters() -> None:
    assert _one(va=5.1, sph=None)["myopia"] is False  # UCVA alone rules it out
    assert _one(va=4.5, sph=None)["myopia"] is None
    assert _one(va=None, sph=1.0)["myopia"] is False
    row = classify_one(8, 4.5, 4.5, -1, 0, None, None)
    assert (row["myopia_right"], row["myopia_left"], row["myopia"]) == (True, None, True)


@pytest.mark.parametrize(
    ("se", "degree"),
    [
        (-0.5, "low"),
        (-3.0, "low"),
        (-3.01, "moderate"),
        (-3.125, "moderate"),
        (-3.25, "moderate"),
        (-6.0, "moderate"),
        (-6.01, "high"),
        (-12.0, "high"),
        (-0.25, "none"),
    ],
)
def test_myopia_degree_edges(se: float, degree: str) -> None:
    assert _one(va=4.0, sph=se, cyl=0)["myopia_degree"] == degree


def test_degree_follows_the_more_myopic_myopic_eye() -> None:
    # The left eye is more myopic by SE but sees 5.0, so it is not a myopic eye.
    row = classify_one(9, 4.8, 5.0, -1.0, 0, -7.0, 0)
    assert (row["myopia_left"], row["myopia_degree"]) == (False, "low")
    assert classify_one(9, 4.8, 4.0, -1.0, 0, -7.0, 0)["myopia_degree"] == "high"


def test_orthokeratology_makes_the_student_myopic() -> None:
    row = classify_one(10, 5.0, 5.0, 0, 0, 0, 0, ortho_k=True)
    assert (row["myopia_right"], row["myopia"], row["myopia_degree"]) == (False, True, None)
    assert classify_one(10, 4.5, 5.0, -2, 0, 0, 0, ortho_k=True)["myopia_degree"] == "low"
    assert classify_one(5, 5.0, 5.0, 0, 0, 0, 0, ortho_k=True)["myopia"] is None  # under 6


# ----------------------------------------------------------------------------- grades


def _grade_cases() -> list[tuple[float, float, str]]:
    """(age, va, grade) at and around every bound of poor_vision_grading.csv."""
    ages = {">=6y": [6, 17.5], "4-5y": [4, 5.9], "<=3y": [3, 3.9]}
    cases = []
    for row in _table("poor_vision_grading.csv"):
        normal, mild = float(row["normal_min"]), float(row["mild"])
        low, high, worst = (float(row[k]) for k in ("moderate_min", "moderate_max", "severe_max"))
        for age in ages[row["age_group"]]:
            cases += [
                (age, 5.3, "normal"),
                (age, normal, "normal"),
                (age, normal - 0.05, "mild"),
                (age, mild, "mild"),
                (age, high, "moderate"),
                (age, high + 0.05, "moderate"),
                (age, low, "moderate"),
                (age, worst, "severe"),
                (age, worst + 0.05, "severe"),
                (age, 3.0, "severe"),
                (age, 0, "severe"),
            ]
    return cases


@pytest.mark.parametrize(("age", "va", "grade"), _grade_cases())
def test_poor_vision_grade_by_age_group(age: float, va: float, grade: str) -> None:
    row = _one(age=age, va=va)
    assert row["va_grade_by_age"] == grade
    assert row["va_grade"] == (grade if age >= 6 else None)  # the contract: empty under 6


def test_grade_is_by_the_worse_eye() -> None:
    assert classify_one(8, 5.1, 4.7, 0, 0, 0, 0)["va_grade"] == "moderate"
    assert classify_one(8, 5.1, None, 0, 0, 0, 0)["va_grade"] is None  # the other may be worse
    assert classify_one(8, 4.2, None, 0, 0, 0, 0)["va_grade"] == "severe"  # nothing is worse


def test_reserve_flag_edges_from_the_table_and_labelled_advisory() -> None:
    assert "low_hyperopia_reserve_advisory" in EXTRA_COLUMNS
    rows = [r for r in _table("hyperopia_reserve_reference.csv") if r["insufficient_if_below_D"]]
    assert rows, "the shipped table has the rows the flag uses"
    for row in rows:
        age, below = int(row["age_years"]), float(row["insufficient_if_below_D"])
        flag = "low_hyperopia_reserve_advisory"
        assert _one(age=age + 0.5, sph=below)[flag] is False
        assert _one(age=age, sph=below - 0.25)[flag] is True
        assert _one(age=age, sph=below + 0.25)[flag] is False
    assert _one(age=12, sph=-1)["low_hyperopia_reserve_advisory"] is None  # no reference


# ----------------------------------------------------------------------------- progression


def test_progression_per_year_and_a_configurable_threshold() -> None:
    change = se_change_per_year(-1.0, date(2025, 3, 1), -1.75, date(2026, 3, 1))
    assert change == pytest.approx(-0.75 * 365.25 / 365)
    assert progression(-1.0, date(2025, 3, 1), -1.5, date(2025, 9, 1), threshold=0.75).alert
    assert not progression(-1.0, date(2025, 3, 1), -1.5, date(2025, 9, 1), threshold=1.5).alert
    assert not progression(-1.0, date(2025, 3, 1), -0.5, date(2026, 3, 1), threshold=0.5).alert
    moment = datetime(2025, 3, 1, 9)
    assert se_change_per_year(0, moment, -1, date(2026, 3, 1)) == pytest.approx(-1, abs=0.01)
    with pytest.raises(InvalidMeasurement, match="after"):
        se_change_per_year(-1, date(2025, 3, 1), -2, date(2025, 3, 1))
    with pytest.raises(ValueError):
        progression(-1, date(2025, 3, 1), -2, date(2026, 3, 1), threshold=0)


# ----------------------------------------------------------------------------- the table


def test_output_columns_and_types() -> None:
    frame = _frame(
        [
            dict(
                age=8,
                ucva_right=4.8,
                ucva_left=5.0,
                sph_right=-1,
                cyl_right=0,
                sph_left=0,
                cyl_left=0,
            ),
            {"age": 5},
        ]
    )
    out = classify_vision(frame)
    assert list(out.columns) == [*OUTPUT_COLUMNS, *EXTRA_COLUMNS]
    assert out["se_right"].dtype == np.float64
    assert all(out[c].dtype == "boolean" for c in ("myopia_right", "myopia_left", "myopia"))
    assert out["myopia_degree"].tolist() == ["low", None]
    assert out["student_id"].tolist() == ["s0", "s1"]


@pytest.mark.parametrize(
    ("change", "column", "text"),
    [
        ({"ucva_right": 6.1}, "ucva_right", "6.1 is outside 3.0 to 5.3"),
        ({"ucva_left": 2.9}, "ucva_left", "2.9 is outside"),
        ({"sph_left": -40}, "sph_left", "-40 is outside -30.0 to 30.0"),
        ({"cyl_right": 12}, "cyl_right", "outside -10.0 to 10.0"),
        ({"age": 2}, "age", "outside 3.0 to 25.0"),
        ({"age": "eight"}, "age", "'eight' is not a number"),
        ({"ortho_k": "maybe"}, "ortho_k", "not true or false"),
        ({"student_id": ""}, "student_id", "empty"),
    ],
)
def test_impossible_values_are_refused_with_row_and_column(
    change: dict[str, Any], column: str, text: str
) -> None:
    good = dict(
        age=8, ucva_right=5.0, ucva_left=5.0, sph_right=0, cyl_right=0, sph_left=0, cyl_left=0
    )
    frame = _frame([good, good, {**good, **change}])
    with pytest.raises(InvalidMeasurement, match=text) as caught:
        classify_vision(frame)
    assert (caught.value.row, caught.value.column) == (3, column)
    assert isinstance(caught.value, InputError)


def test_the_first_error_is_the_smallest_row_then_the_leftmost_column() -> None:
    rows = [dict(age=8, ucva_right=9, sph_left=-40), dict(age=1, ucva_right=9)]
    with pytest.raises(InvalidMeasurement) as caught:
        classify_vision(_frame(rows))
    assert (caught.value.row, caught.value.column) == (1, "ucva_right")
    with pytest.raises(InvalidMeasurement) as caught:
        classify_vision(_frame(rows).drop(columns=["sph_right"]))
    assert (caught.value.row, caught.value.column) == (0, "sph_right")


def test_eye_helper() -> None:
    assert classify_eye(8, 4.5, -1.0, -0.5) == {"se": -1.25, "myopia": True, "va_grade": "severe"}


# ----------------------------------------------------------------------------- reference


def _d(value: float) -> Decimal:
    return Decimal(repr(value))


def _grade_of(va: float, row: dict[str, str]) -> str:
    if va >= float(row["normal_min"]):
        return "normal"
    if va >= float(row["mild"]):
        return "mild"
    return "moderate" if va >= float(row["moderate_min"]) else "severe"


def _group(age: float | None) -> dict[str, str] | None:
    if age is None:
        return None
    label = ">=6y" if age >= 6 else "4-5y" if age >= 4 else "<=3y"
    return next(r for r in _table("poor_vision_grading.csv") if r["age_group"] == label)


def _worse_grade(right: float | None, left: float | None, row: dict[str, str] | None):
    known = [va for va in (right, left) if va is not None]
    if row is None or not known:
        return None
    grade = _grade_of(min(known), row)
    return grade if len(known) == 2 or grade == "severe" else None


def reference_vision_row(
    age: float | None,
    ucva: tuple[float | None, float | None],
    sph: tuple[float | None, float | None],
    cyl: tuple[float | None, float | None],
    ortho_k: bool,
) -> dict[str, Any]:
    """The rules as written, one student at a time, in decimal arithmetic."""
    se = [
        None
        if s is None or c is None
        else float((_d(s) + _d(c) / 2).quantize(Decimal("0.01"), ROUND_HALF_UP))
        for s, c in zip(sph, cyl, strict=True)
    ]
    adult = age is not None and age >= 6
    eyes: list[bool | None] = []
    for va, value in zip(ucva, se, strict=True):
        low_va = None if va is None else va < 5.0
        myopic_se = None if value is None else value <= -0.5
        verdict = None if None in (low_va, myopic_se) else bool(low_va and myopic_se)
        eyes.append(None if not adult else False if False in (low_va, myopic_se) else verdict)
    if not adult:
        myopia = None
    elif True in eyes or ortho_k:
        myopia = True
    else:
        myopia = False if eyes == [False, False] else None
    myopic_se = [value for eye, value in zip(eyes, se, strict=True) if eye]
    degree = (
        {None: None, False: "none"}.get(myopia)
        if myopia is not True
        else (
            None
            if not myopic_se
            else "low"
            if min(myopic_se) >= -3
            else "moderate"
            if min(myopic_se) >= -6
            else "high"
        )
    )
    limits = {
        int(r["age_years"]): float(r["insufficient_if_below_D"])
        for r in _table("hyperopia_reserve_reference.csv")
        if r["insufficient_if_below_D"]
    }
    limit = None if age is None else limits.get(math.floor(age))
    low = [None if value is None else value < limit for value in se] if limit is not None else []
    reserve = None if limit is None else True if True in low else False if None not in low else None
    return {
        "se_right": se[0],
        "se_left": se[1],
        "myopia_right": eyes[0],
        "myopia_left": eyes[1],
        "myopia": myopia,
        "myopia_degree": degree,
        "va_grade": _worse_grade(*ucva, _group(age)) if adult else None,
        "va_grade_by_age": _worse_grade(*ucva, _group(age)),
        "low_hyperopia_reserve_advisory": reserve,
    }


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy, strategy, strategy)  # mostly measured


VISION_ROW = st.fixed_dictionaries(
    {
        "age": _maybe(st.integers(30, 250).map(lambda v: v / 10)),
        "ucva": st.tuples(
            *[_maybe(st.sampled_from([0, *range(30, 54)]).map(lambda v: v / 10))] * 2
        ),
        "sph": st.tuples(*[_maybe(st.integers(-1200, 800).map(lambda v: v / 100))] * 2),
        "cyl": st.tuples(*[_maybe(st.integers(-24, 24).map(lambda v: v / 4))] * 2),
        "ortho_k": st.booleans(),
    }
)


def _as_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return _frame(
        [
            {
                "age": r["age"],
                "ucva_right": r["ucva"][0],
                "ucva_left": r["ucva"][1],
                "sph_right": r["sph"][0],
                "sph_left": r["sph"][1],
                "cyl_right": r["cyl"][0],
                "cyl_left": r["cyl"][1],
                "ortho_k": r["ortho_k"],
            }
            for r in rows
        ]
    )


def _plain(value: Any) -> Any:
    return None if value is None or value is pd.NA or value != value else value


@given(st.lists(VISION_ROW, min_size=1, max_size=25))
@SETTINGS
def test_vectorized_equals_the_row_by_row_reference(rows: list[dict[str, Any]]) -> None:
    out = classify_vision(_as_frame(rows))
    for position, row in enumerate(rows):
        got = {k: _plain(v) for k, v in out.iloc[position].to_dict().items()}
        del got["student_id"]
        assert got == reference_vision_row(**row)


@given(VISION_ROW, st.integers(1, 20))
@SETTINGS
def test_worse_acuity_never_gives_a_better_grade(row: dict[str, Any], drop: int) -> None:
    order = [None, "normal", "mild", "moderate", "severe"]
    right, left = (va if va is not None else 5.0 for va in row["ucva"])
    worse_right = max(round(right - drop / 10, 1), 3.0) if right else 0
    before = classify_one(row["age"] or 8, right, left, None, None, None, None)
    after = classify_one(row["age"] or 8, worse_right, left, None, None, None, None)
    assert order.index(after["va_grade_by_age"]) >= order.index(before["va_grade_by_age"])


CELL = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.text(max_size=6),
    st.booleans(),
    st.sampled_from(["4.9", " -1.25 ", "５.0", "true", "是", "nan", "1e400"]),
)


@given(st.lists(st.lists(CELL, min_size=9, max_size=9), min_size=1, max_size=8))
@SETTINGS
def test_parsing_never_crashes(cells: list[list[Any]]) -> None:
    frame = pd.DataFrame(cells, columns=["student_id", *NUMBER_COLUMNS, "ortho_k"], dtype=object)
    try:
        out = classify_vision(frame)
    except ScreeningError as error:
        assert isinstance(error, InvalidMeasurement) and error.column in frame.columns
    else:
        assert len(out) == len(frame)


def test_the_rules_import_neither_flask_sqlalchemy_nor_wellbeing() -> None:
    code = (
        "import sys, screening.vision, screening.fitness, screening.measures\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "assert not roots & {'flask', 'sqlalchemy', 'wellbeing'}, roots"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_empty_table_gives_an_empty_result() -> None:
    out = classify_vision(_frame([]))
    assert list(out.columns) == [*OUTPUT_COLUMNS, *EXTRA_COLUMNS] and len(out) == 0


def test_errors_carry_codes_params_and_every_error_of_the_row():
    with pytest.raises(InvalidMeasurement) as caught:
        classify_one(10, 9.9, 4.8, -40, 0, "abc", 0)
    error = caught.value
    assert (error.column, error.code) == ("ucva_right", "out_of_range")
    assert error.params == {"value": "9.9", "low": "3.0", "high": "5.3", "unit": "five_point"}
    found = [(e.column, e.code) for e in error.found]
    assert found == [
        ("ucva_right", "out_of_range"),
        ("sph_right", "out_of_range"),
        ("sph_left", "not_a_number"),
    ]
    assert (
        str(error)
        == "row 1, column ucva_right: 9.9 is outside 3.0 to 5.3 in 5-point notation (0 = below 3.0)"
    )


def test_a_missing_column_has_a_code():
    with pytest.raises(InvalidMeasurement) as caught:
        classify_vision(pd.DataFrame({"student_id": ["1"]}))
    assert caught.value.code == "missing_column" and caught.value.row == 0
