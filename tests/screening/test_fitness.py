"""The fitness standard: every row of every shipped table at, just better than and just
worse than its threshold; BMI bands, weights, bonus steps and ratings at their edges;
the worked figures the shared README states; refusals; and properties against a plain
row-by-row reference written from the README's lookup rule."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
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
from screening.errors import InvalidMeasurement, MissingTable, ScreeningError, TableError
from screening.fitness import (
    ITEMS,
    MEASUREMENT_COLUMNS,
    OUTPUT_COLUMNS,
    default_standard,
    load_standard,
    rating_for,
    required_items,
    score_fitness,
    score_one,
)

TABLES = Path(screening.__file__).parent / "tables" / "fitness"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TENTHS = {"run_50m", "sit_and_reach"}  # measured to 0.1; the others to whole units
COLUMN = {name: item.column for name, item in ITEMS.items()}
LOWER = {name for name, item in ITEMS.items() if item.lower_is_better}
COUNTED = {name for name, item in ITEMS.items() if item.counted}


@cache
def _csv(name: str) -> tuple[dict[str, str], ...]:
    with (TABLES / name).open(encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _levels() -> dict[tuple[str, str, str], list[tuple[int, float]]]:
    """(item, grade, sex) -> [(score, threshold)] from the 100-point row down."""
    found: dict[tuple[str, str, str], list[tuple[int, float]]] = defaultdict(list)
    for item in ITEMS:
        for row in _csv(f"{item}.csv"):
            found[(item, row["grade"], row["sex"])].append(
                (int(row["score"]), float(row["threshold"]))
            )
    return {key: sorted(rows, reverse=True) for key, rows in found.items()}


LEVELS = _levels()


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["student_id", "grade", "sex", *MEASUREMENT_COLUMNS]
    return pd.DataFrame(
        {
            c: [r.get(c, f"s{i}" if c == "student_id" else None) for i, r in enumerate(rows)]
            for c in columns
        }
    )


# ----------------------------------------------------------------------------- item edges


def _edge_cases() -> list[tuple[str, str, str, float, int, str]]:
    """(item, grade, sex, value, expected score, what) for every row of every table."""
    cases = []
    for (item, grade, sex), rows in LEVELS.items():
        sign = -1 if item in LOWER else 1  # +: better
        step = 1.0 if item in COUNTED else 0.05 if item in TENTHS else 0.5
        for k, (score, threshold) in enumerate(rows):
            lower = rows[k + 1][0] if k + 1 < len(rows) else 0
            better = threshold + sign * step
            if item in COUNTED and k > 0 and rows[k - 1][1] == better:
                above = rows[k - 1][0]  # a whole rep more reaches the next row
            else:
                above = score
            cases += [
                (item, grade, sex, threshold, score, "at"),
                (item, grade, sex, round(better, 2), above, "just better"),
                (item, grade, sex, round(threshold - sign * step, 2), lower, "just worse"),
            ]
    return cases


EDGES = _edge_cases()


def test_every_table_row_at_and_around_its_threshold_through_score_fitness() -> None:
    school = [c for c in EDGES if c[1].isdigit()]
    frame = _frame([{"grade": int(g), "sex": s, COLUMN[i]: v} for i, g, s, v, _, _ in school])
    out = score_fitness(frame)
    got = [out[f"score_{COLUMN[case[0]]}"].iloc[n] for n, case in enumerate(school)]
    failures = [(case, score) for case, score in zip(school, got, strict=True) if score != case[4]]
    assert not failures, failures[:5]
    assert len(school) > 6000  # three cases for each of the ~2,500 school rows


def test_university_rows_too_through_the_loaded_levels() -> None:
    standard = default_standard()
    university = [c for c in EDGES if not c[1].isdigit()]
    for item, grade, sex, value, expected, what in university:
        levels = standard.levels[(item, grade, sex)]
        got = int(levels.score(np.array([value]), item in LOWER)[0])
        assert got == expected, (item, grade, sex, value, what)


def test_worked_figures_from_the_data_readme() -> None:
    # "1 pull-up scores 30 in grade 7 and 20 in grade 8; 0 pull-ups score 0."
    assert score_one(7, "M", {"pullups": 1})["score_pullups"] == 30
    assert score_one(8, "M", {"pullups": 1})["score_pullups"] == 20
    assert score_one(7, "M", {"pullups": 0})["score_pullups"] == 0
    # The official 100-point thresholds for grades 7-12.
    vital_m = [3640, 3940, 4240, 4540, 4740, 4940]
    vital_f = [2750, 2900, 3050, 3150, 3250, 3350]
    run_1000 = [3 * 60 + 55, 3 * 60 + 50, 3 * 60 + 40, 3 * 60 + 30, 3 * 60 + 25, 3 * 60 + 20]
    run_800 = [3 * 60 + 35, 3 * 60 + 30, 3 * 60 + 25, 3 * 60 + 24, 3 * 60 + 22, 3 * 60 + 20]
    for grade, vm, vf, r1000, r800 in zip(
        range(7, 13), vital_m, vital_f, run_1000, run_800, strict=True
    ):
        boy = score_one(grade, "男", {"vital_capacity_ml": vm, "run1000m_s": r1000})
        girl = score_one(grade, "女", {"vital_capacity_ml": vf, "run800m_s": r800})
        assert boy["score_vital_capacity_ml"] == boy["score_run1000m_s"] == 100
        assert girl["score_vital_capacity_ml"] == girl["score_run800m_s"] == 100
        assert score_one(grade, "M", {"vital_capacity_ml": vm - 1})["score_vital_capacity_ml"] < 100
        assert score_one(grade, "M", {"run1000m_s": r1000 + 1})["score_run1000m_s"] < 100


# ----------------------------------------------------------------------------- BMI


def _bmi_cases() -> list[tuple[int, str, float, str, int]]:
    bands: dict[tuple[str, str], dict[str, dict[str, str]]] = defaultdict(dict)
    for row in _csv("bmi.csv"):
        if row["grade"].isdigit():
            bands[(row["grade"], row["sex"])][row["category"]] = row
    cases = []
    for (grade, sex), by in bands.items():
        g = int(grade)
        under, normal, over, obese = by["低体重"], by["正常"], by["超重"], by["肥胖"]
        top = float(normal["bmi_max"])
        cases += [
            (g, sex, float(under["bmi_max"]), "underweight", int(under["score"])),
            (g, sex, float(normal["bmi_min"]), "normal", int(normal["score"])),
            (g, sex, top, "normal", int(normal["score"])),
            (g, sex, round(top + 0.04, 2), "normal", 100),  # rounds to the normal maximum
            (g, sex, round(top + 0.05, 2), "overweight", int(over["score"])),  # rounds up
            (g, sex, float(over["bmi_min"]), "overweight", int(over["score"])),
            (g, sex, float(over["bmi_max"]), "overweight", int(over["score"])),
            (g, sex, float(obese["bmi_min"]), "obese", int(obese["score"])),
        ]
    return cases


def test_bmi_bands_at_their_edges_for_every_grade_and_sex() -> None:
    cases = _bmi_cases()
    assert len(cases) == 12 * 2 * 8
    # At 100 cm, BMI = weight: the band edges can be entered exactly.
    frame = _frame(
        [{"grade": g, "sex": s, "height_cm": 100, "weight_kg": w} for g, s, w, _, _ in cases]
    )
    out = score_fitness(frame)
    assert out["bmi_class"].tolist() == [c[3] for c in cases]
    assert out["score_bmi"].tolist() == [c[4] for c in cases]
    assert score_one(1, "M", {"height_cm": 120, "weight_kg": 22})["bmi"] == 15.3  # 15.28


# ----------------------------------------------------------------------------- weights, totals


def _hundred(grade: int, sex: str) -> dict[str, float]:
    """Measurements that reach exactly every 100-point row, with a normal BMI."""
    code = "M" if sex in ("M", "男") else "F"
    normal = next(
        r
        for r in _csv("bmi.csv")
        if (r["grade"], r["sex"], r["category"]) == (str(grade), code, "正常")
    )
    row = {"height_cm": 100.0, "weight_kg": float(normal["bmi_min"])}
    for item, item_spec in ITEMS.items():
        if (item, str(grade), code) in LEVELS:
            row[item_spec.column] = LEVELS[(item, str(grade), code)][0][1]
    return row


@pytest.mark.parametrize("grade", range(1, 13))
@pytest.mark.parametrize("sex", ["M", "F"])
def test_full_marks_give_100_and_weights_add_up(grade: int, sex: str) -> None:
    result = score_one(grade, sex, _hundred(grade, sex))
    assert (result["standard"], result["bonus"], result["total"]) == (100.0, 0, 100.0)
    assert result["rating"] == "excellent"
    required = required_items(grade, sex)
    scored = [k for k, v in result.items() if k.startswith("score_") and v is not None]
    assert len(scored) == len(required) - 1  # height and weight make one BMI score
    weights = [r for r in _csv("weights.csv") if str(grade) in r["grades"].split(";")]
    assert sum(int(r["weight_percent"]) for r in weights) == 100


def test_required_items_by_grade() -> None:
    assert required_items(1, "M") == [
        "height_cm",
        "weight_kg",
        "vital_capacity_ml",
        "run50m_s",
        "sit_reach_cm",
        "rope_skip_1min",
    ]
    assert "shuttle_50x8_s" in required_items(5, "女")
    assert required_items(9, "M")[-2:] == ["pullups", "run1000m_s"]
    assert required_items(12, "F")[-2:] == ["situps_1min", "run800m_s"]
    with pytest.raises(InvalidMeasurement):
        required_items(13, "M")
    with pytest.raises(InvalidMeasurement):
        required_items(3, "X")


def test_worked_total_grade_1_boy() -> None:
    # BMI 15.3 normal 100 x15; 1000 mL 70 x15; 10.5 s 85 x20; 10 cm 78 x30; 130 skips
    # 100 x20 => 1500 + 1050 + 1700 + 2340 + 2000 = 8590 hundredths = 85.9; 130 skips are
    # 21 over the 100-point 109: 10 bonus points (2 reps a point); total 95.9.
    result = score_one(
        1,
        "M",
        dict(
            height_cm=120,
            weight_kg=22,
            vital_capacity_ml=1000,
            run50m_s=10.5,
            sit_reach_cm=10,
            rope_skip_1min=130,
        ),
    )
    assert (result["standard"], result["bonus"], result["total"], result["rating"]) == (
        85.9,
        10,
        95.9,
        "excellent",
    )


def test_standard_rounds_half_up_in_exact_hundredths() -> None:
    # Grade 3 girl: 95 x15 for vital capacity gives 14.25; all else 100 => 99.25 -> 99.3.
    row = _hundred(3, "F")
    rows = LEVELS[("vital_capacity", "3", "F")]
    row["vital_capacity_ml"] = rows[1][1]  # the 95-point threshold
    assert score_one(3, "F", row)["standard"] == 99.3


def test_an_empty_required_item_empties_standard_total_and_rating_only() -> None:
    row = _hundred(9, "F")
    del row["run800m_s"]
    result = score_one(9, "F", row)
    assert result["score_run800m_s"] is None and result["score_situps_1min"] == 100
    assert (result["standard"], result["total"], result["rating"]) == (None, None, None)
    assert result["bmi_class"] == "normal"


def test_items_the_grade_does_not_use_are_ignored() -> None:
    row = {**_hundred(2, "M"), "pullups": 500, "run1000m_s": 1, "situps_1min": "x"}
    assert score_one(2, "M", row)["score_pullups"] is None


@pytest.mark.parametrize(
    ("total", "rating"),
    [
        (120, "excellent"),
        (90.0, "excellent"),
        (89.9, "good"),
        (80.0, "good"),
        (79.9, "pass"),
        (60.0, "pass"),
        (59.9, "fail"),
        (0, "fail"),
    ],
)
def test_rating_edges(total: float, rating: str) -> None:
    assert rating_for(total) == rating


# ----------------------------------------------------------------------------- bonus


def _bonus_cases() -> list[tuple[str, int, str, float, int]]:
    steps: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for row in _csv("bonus.csv"):
        item_steps = steps[(row["item"], row["sex"])]
        item_steps.append(
            (
                int(row["excess_over_100pt_threshold"]),
                int(row["bonus_points"]),
                row["applies_to_grades"],
            )
        )
    cases = []
    for (item, sex), rows in steps.items():
        rows.sort()
        grades = range(1, 7) if rows[0][2] == "1-6" else range(7, 13)
        sign = -1 if item in LOWER else 1
        for grade in grades:
            top = LEVELS[(item, str(grade), sex)][0][1]
            for k, (excess, points, _) in enumerate(rows):
                before = rows[k - 1][1] if k else 0
                cases.append((item, grade, sex, top + sign * excess, points))
                cases.append((item, grade, sex, top + sign * (excess - 1), before))
    return cases


def test_bonus_steps_at_and_one_unit_short_of_each_excess() -> None:
    cases = _bonus_cases()
    frame = _frame([{"grade": g, "sex": s, COLUMN[i]: v} for i, g, s, v, _ in cases])
    assert score_fitness(frame)["bonus"].tolist() == [c[4] for c in cases]


def test_bonus_adds_two_items_in_secondary_and_stays_within_20() -> None:
    row = _hundred(10, "M")
    row["pullups"] += 10
    row["run1000m_s"] -= 35
    result = score_one(10, "M", row)
    assert (result["bonus"], result["total"]) == (20, 120.0)
    primary = _hundred(4, "F")
    primary["rope_skip_1min"] += 60  # beyond the last step: still 20
    assert score_one(4, "F", primary)["bonus"] == 20


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "column", "text"),
    [
        ({"run50m_s": 2}, "run50m_s", "2 is outside the plausible range 5 to 60 s"),
        ({"height_cm": 20}, "height_cm", "outside"),
        ({"pullups": 2.5}, "pullups", "not a whole number"),
        ({"run1000m_s": "3'45"}, "run1000m_s", "not a number"),
        ({"grade": 13}, "grade", "not a grade from 1 to 12"),
        ({"grade": 2.5}, "grade", "not a grade"),
        ({"sex": "X"}, "sex", "not M, F"),
        ({"student_id": None}, "student_id", "empty"),
    ],
)
def test_impossible_values_are_refused_with_row_and_column(
    change: dict[str, Any], column: str, text: str
) -> None:
    good = {"grade": 8, "sex": "M", **_hundred(8, "M")}
    with pytest.raises(InvalidMeasurement, match=text) as caught:
        score_fitness(_frame([good, {**good, **change}]))
    assert (caught.value.row, caught.value.column) == (2, column)


def test_a_column_the_grade_needs_must_be_present() -> None:
    frame = _frame([{"grade": 2, "sex": "F"}, {"grade": 7, "sex": "F"}]).drop(columns=["run800m_s"])
    with pytest.raises(InvalidMeasurement, match="grade 7 girls need it") as caught:
        score_fitness(frame)
    assert (caught.value.row, caught.value.column) == (2, "run800m_s")
    assert len(score_fitness(frame.iloc[:1])) == 1  # grade 2 does not need it


def _copy_tables(tmp_path: Path) -> Path:
    target = tmp_path / "fitness"
    shutil.copytree(TABLES, target)
    return target


def _edit(path: Path, keep: Any, change: Any = None) -> None:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows((change(r) if change else r) for r in rows if keep(r))


def test_a_combination_coverage_marks_missing_is_refused_then_added_without_code(
    tmp_path: Path,
) -> None:
    tables = _copy_tables(tmp_path)
    junior_girls_800 = ("run_800m", "9", "F")
    original = LEVELS[junior_girls_800]

    def is_it(row: dict[str, str]) -> bool:
        return (row.get("item", "run_800m"), row["grade"], row["sex"]) == junior_girls_800

    _edit(tables / "run_800m.csv", keep=lambda r: not is_it(r))
    _edit(
        tables / "coverage.csv",
        keep=lambda r: True,
        change=lambda r: {**r, "status": "MISSING", "rows_present": "0"} if is_it(r) else r,
    )
    standard = load_standard(tables)
    frame = _frame([{"grade": 8, "sex": "F"}, {"grade": 9, "sex": "M"}, {"grade": 9, "sex": "F"}])
    with pytest.raises(MissingTable, match="run_800m table for grade 9 girls missing") as caught:
        score_fitness(frame, standard)
    assert (caught.value.row, caught.value.column) == (3, "run800m_s")
    assert len(score_fitness(frame.iloc[:2], standard)) == 2  # other combinations still score

    # Adding the table is a data change only: rows back, coverage marked.
    with (tables / "run_800m.csv").open("a", encoding="utf-8") as handle:
        handle.writelines(f"9,F,{score},{threshold:g}\n" for score, threshold in original)
    with pytest.raises(MissingTable):
        score_fitness(frame, load_standard(tables))  # still marked missing
    _edit(
        tables / "coverage.csv",
        keep=lambda r: True,
        change=lambda r: {**r, "status": "single_source"} if is_it(r) else r,
    )
    row = {"run800m_s": original[0][1]}
    assert score_fitness(_frame([{"grade": 9, "sex": "F", **row}]), load_standard(tables))[
        "score_run800m_s"
    ].tolist() == [100]


@pytest.mark.parametrize("status", ["partial", "MISSING", None])
def test_partial_or_unlisted_tables_are_refused(tmp_path: Path, status: str | None) -> None:
    tables = _copy_tables(tmp_path)

    def is_it(row: dict[str, str]) -> bool:
        return (row["item"], row["grade"], row["sex"]) == ("shuttle_50x8", "5", "M")

    if status is None:
        _edit(tables / "coverage.csv", keep=lambda r: not is_it(r))
    else:
        _edit(
            tables / "coverage.csv",
            keep=lambda r: True,
            change=lambda r: {**r, "status": status} if is_it(r) else r,
        )
    with pytest.raises(MissingTable) as caught:
        score_fitness(_frame([{"grade": 5, "sex": "M"}]), load_standard(tables))
    assert (caught.value.row, caught.value.column) == (1, "shuttle_50x8_s")


def test_a_table_that_is_not_monotone_cannot_be_loaded(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    _edit(
        tables / "run_50m.csv",
        keep=lambda r: True,
        change=lambda r: (
            {**r, "threshold": "99"}
            if (r["grade"], r["sex"], r["score"]) == ("3", "M", "80")
            else r
        ),
    )
    with pytest.raises(TableError, match=r"run_50m\.csv: grade 3 M"):
        load_standard(tables)


# ----------------------------------------------------------------------------- reference


def _reference_bmi(grade: str, sex: str, height: Any, weight: Any) -> tuple[Any, Any, Any]:
    if height is None or weight is None:
        return None, None, None
    exact = Decimal(repr(weight)) / (Decimal(repr(height)) / 100) ** 2
    bmi = exact.quantize(Decimal("0.1"), ROUND_HALF_UP)
    names = {"低体重": "underweight", "正常": "normal", "超重": "overweight", "肥胖": "obese"}
    for row in _csv("bmi.csv"):
        if (row["grade"], row["sex"]) != (grade, sex):
            continue
        low = Decimal(row["bmi_min"]) if row["bmi_min"] else None
        high = Decimal(row["bmi_max"]) if row["bmi_max"] else None
        if (low is None or bmi >= low) and (high is None or bmi <= high):
            return float(bmi), names[row["category"]], int(row["score"])
    raise AssertionError("no band")


def _reference_items(grade: str, sex: str) -> list[tuple[str, int]]:
    items = []
    for row in _csv("weights.csv"):
        if grade not in row["grades"].split(";"):
            continue
        name = row["item"]
        if "/" in name:
            name = next(p[: -len("(M)")] for p in name.split("/") if p.endswith(f"({sex})"))
        items.append((name, int(row["weight_percent"])))
    return items


def _bonus_rows(item: str, grade: int, sex: str) -> list[dict[str, str]]:
    return [
        row
        for row in _csv("bonus.csv")
        if (row["item"], row["sex"]) == (item, sex)
        and (row["applies_to_grades"] == "1-6") == (grade <= 6)
    ]


def _reference_bonus(item: str, grade: int, sex: str, value: float) -> int:
    top = LEVELS[(item, str(grade), sex)][0][1]
    excess = top - value if item in LOWER else value - top
    points = 0
    for row in _bonus_rows(item, grade, sex):
        if excess >= float(row["excess_over_100pt_threshold"]):
            points = max(points, int(row["bonus_points"]))
    return points


def reference_fitness_row(grade: int, sex: str, measured: dict[str, Any]) -> dict[str, Any]:
    """The lookup rule of the README, one student at a time, in plain loops."""
    code = {"男": "M", "女": "F"}.get(sex, sex)
    out: dict[str, Any] = {column: None for column in OUTPUT_COLUMNS if column != "student_id"}
    out["bmi"], out["bmi_class"], bmi_score = _reference_bmi(
        str(grade), code, measured.get("height_cm"), measured.get("weight_kg")
    )
    total, complete, bonus, bonus_seen = Decimal(0), True, 0, False
    for item, weight in _reference_items(str(grade), code):
        if item == "bmi":
            score = bmi_score
            out["score_bmi"] = score
        else:
            value = measured.get(COLUMN[item])
            score = None
            if value is not None:
                reached = [
                    s
                    for s, t in LEVELS[(item, str(grade), code)]
                    if (value <= t if item in LOWER else value >= t)
                ]
                score = max(reached, default=0)
                if _bonus_rows(item, grade, code):
                    bonus += _reference_bonus(item, grade, code, value)
                    bonus_seen = True
            out[f"score_{COLUMN[item]}"] = score
        if score is None:
            complete = False
        else:
            total += Decimal(score * weight) / 100
    out["bonus"] = min(bonus, 20) if bonus_seen else None
    if complete:
        standard = total.quantize(Decimal("0.1"), ROUND_HALF_UP)
        out["standard"] = float(standard)
        out["total"] = float(standard + min(bonus, 20))
        whole = out["total"]
        out["rating"] = (
            "excellent"
            if whole >= 90
            else "good"
            if whole >= 80
            else "pass"
            if whole >= 60
            else "fail"
        )
    return out


def _grid(low: int, high: int, scale: int = 1) -> st.SearchStrategy:
    value = st.integers(low, high).map(lambda v: v / scale)
    return st.one_of(st.none(), value, value, value, value)  # mostly measured


MEASURED = st.fixed_dictionaries(
    {
        "height_cm": _grid(1000, 1900, 10),
        "weight_kg": _grid(150, 900, 10),
        "vital_capacity_ml": _grid(300, 6000),
        "run50m_s": _grid(55, 160, 10),
        "sit_reach_cm": _grid(-200, 300, 10),
        "rope_skip_1min": _grid(0, 250),
        "situps_1min": _grid(0, 70),
        "long_jump_cm": _grid(80, 300),
        "pullups": _grid(0, 30),
        "shuttle_50x8_s": _grid(80, 160),
        "run800m_s": _grid(150, 380),
        "run1000m_s": _grid(160, 420),
    }
)
STUDENT = st.tuples(st.integers(1, 12), st.sampled_from(["M", "F", "男", "女"]), MEASURED)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


@given(st.lists(STUDENT, min_size=1, max_size=20))
@SETTINGS
def test_vectorized_equals_the_row_by_row_reference(students: list[tuple[int, str, dict]]) -> None:
    frame = _frame([{"grade": g, "sex": s, **m} for g, s, m in students])
    out = score_fitness(frame)
    for position, (grade, sex, measured) in enumerate(students):
        got = {k: _plain(v) for k, v in out.iloc[position].to_dict().items()}
        del got["student_id"]
        assert got == reference_fitness_row(grade, sex, measured)


@given(
    st.integers(1, 12),
    st.sampled_from(["M", "F"]),
    st.sampled_from(sorted(ITEMS)),
    st.floats(0, 1),
    st.floats(0, 1),
)
@SETTINGS
def test_a_better_measurement_never_scores_lower(
    grade: int, sex: str, item: str, a: float, b: float
) -> None:
    if (item, str(grade), sex) not in LEVELS:
        return
    spec = ITEMS[item]
    span = spec.high - spec.low
    first, second = sorted([spec.low + a * span, spec.low + b * span])
    if spec.counted:
        first, second = float(int(first)), float(int(second))
    worse, better = (second, first) if spec.lower_is_better else (first, second)
    frame = _frame([{"grade": grade, "sex": sex, spec.column: v} for v in (worse, better)])
    out = score_fitness(frame)
    scores = out[f"score_{spec.column}"].tolist()
    assert scores[1] >= scores[0]
    bonus = out["bonus"].tolist()
    if bonus[0] is not pd.NA:
        assert bonus[1] >= bonus[0]


CELL = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
    st.booleans(),
    st.sampled_from(["男", "女", "M", "F", "7", "10.5", "", "nan"]),
)


@given(st.lists(st.lists(CELL, min_size=15, max_size=15), min_size=1, max_size=6))
@SETTINGS
def test_parsing_never_crashes(cells: list[list[Any]]) -> None:
    columns = ["student_id", "grade", "sex", *MEASUREMENT_COLUMNS]
    frame = pd.DataFrame(cells, columns=columns, dtype=object)
    try:
        out = score_fitness(frame)
    except ScreeningError as error:
        assert isinstance(error, InvalidMeasurement | MissingTable)
        assert error.column in columns and error.row is not None
    else:
        assert len(out) == len(frame)


def test_an_empty_table_gives_an_empty_result() -> None:
    out = score_fitness(_frame([]))
    assert list(out.columns) == list(OUTPUT_COLUMNS) and len(out) == 0


# ----------------------------------------------------------------------------- run times

MINUTE_MARKS = ("'", "′", "’", "分", ":", "：")
SECOND_MARKS = ('"', "″", "”", "秒", "")


@given(
    minutes=st.integers(0, 30),
    seconds=st.integers(0, 59),
    tenths=st.one_of(st.none(), st.integers(0, 9)),
    minute_mark=st.sampled_from(MINUTE_MARKS),
    second_mark=st.sampled_from(SECOND_MARKS),
    pad=st.booleans(),
)
def test_a_run_time_in_minutes_and_seconds_reads_as_seconds(
    minutes, seconds, tenths, minute_mark, second_mark, pad
):
    from screening.fitness import seconds_from_text

    fraction = "" if tenths is None else f".{tenths}"
    written = f"{seconds:02d}" if pad else str(seconds)
    text = f"{minutes}{minute_mark}{written}{fraction}{second_mark}"
    expected = minutes * 60 + seconds + (tenths or 0) / 10
    assert seconds_from_text(text) == pytest.approx(expected)


@given(st.decimals(0, 2000, places=1, allow_nan=False, allow_infinity=False))
def test_plain_seconds_read_as_themselves(value):
    from screening.fitness import seconds_from_text

    assert seconds_from_text(str(value)) == pytest.approx(float(value))
    assert seconds_from_text(f"{value}秒") == pytest.approx(float(value))


@given(minutes=st.integers(0, 30), seconds=st.integers(60, 999))
def test_seconds_of_sixty_or_more_after_minutes_are_refused(minutes, seconds):
    from screening.fitness import seconds_from_text

    with pytest.raises(ValueError):
        seconds_from_text(f"{minutes}'{seconds}\"")


@given(st.text(min_size=1, max_size=8))
def test_any_text_is_a_time_or_a_value_error(text):
    from screening.fitness import seconds_from_text

    try:
        value = seconds_from_text(text)
    except ValueError:
        return
    assert value is None or value >= 0


@pytest.mark.parametrize("text", ["abc", "3:60", "-5", "1e3", "分", "3''50", "3 50"])
def test_what_is_not_a_run_time(text):
    from screening.fitness import seconds_from_text

    with pytest.raises(ValueError):
        seconds_from_text(text)


def test_errors_carry_codes_and_every_error_of_the_row():
    frame = pd.DataFrame(
        {
            "student_id": ["1"],
            "grade": [7],
            "sex": ["M"],
            "height_cm": [300.0],
            "weight_kg": [50.0],
            "run50m_s": [2.0],
            "pullups": [2.5],
        }
    )
    with pytest.raises(InvalidMeasurement) as caught:
        score_fitness(frame)
    found = {(e.column, e.code) for e in caught.value.found}
    assert {("height_cm", "out_of_range"), ("run50m_s", "out_of_range")} <= found
    assert ("pullups", "not_whole") in found
    height = next(e for e in caught.value.found if e.column == "height_cm")
    assert height.params == {"value": "300", "low": "80", "high": "230", "unit": "cm"}
