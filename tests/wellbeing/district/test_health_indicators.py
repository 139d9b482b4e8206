"""The district's health indicators: each source's counts equal a direct count of a small
district's records, by school, grade (the grade it was then) and sex; a student without a
valid result is out of the denominator; only the autumn vision round and the school
year's fitness tests count; the other district's records never do."""

from __future__ import annotations

import pytest

from screening.indicators import AT_MOST, POINTS, change, meets, roll_up, value
from tests.factories import make_student
from wellbeing.district.indicators import INDICATORS
from wellbeing.extensions import db
from wellbeing.health import summaries
from wellbeing.health.entry import check_fitness_row, check_vision_row, store_fitness, store_vision
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.models import School, SchoolClass

pytestmark = pytest.mark.app

AUTUMN, LAST_AUTUMN, SPRING = VisionRound(2026, 1), VisionRound(2025, 1), VisionRound(2026, 0)
DAYS = {AUTUMN: "2026-10-12", LAST_AUTUMN: "2025-10-12", SPRING: "2026-04-12"}


def _eyes(right: tuple, left: tuple) -> dict[str, str]:
    """(acuity, sphere, cylinder) per eye; an empty sphere leaves the eye unrefracted."""
    payload = {}
    for side, (ucva, sph, cyl) in (("right", right), ("left", left)):
        axis = "90" if sph else ""
        payload |= {f"ucva_{side}": ucva, f"sph_{side}": sph, f"cyl_{side}": cyl}
        payload[f"axis_{side}"] = axis
    return payload


# What the core makes of each (checked when stored, so the fixture says what it holds).
VISION = {
    "myopic": (_eyes(("4.7", "-1.50", "-0.50"), ("4.9", "-0.75", "0")), True, "moderate"),
    "normal": (_eyes(("5.0", "0.50", "0"), ("5.1", "0.50", "0")), False, "normal"),
    "high": (_eyes(("4.0", "-7.00", "-0.50"), ("4.2", "-6.50", "-0.50")), True, "severe"),
    "mild": (_eyes(("4.9", "0.25", "0"), ("5.0", "0.25", "0")), False, "mild"),
    # The autorefractor read one eye only: myopic in that eye, but without both eyes'
    # results it is no valid myopia result (as the school summary counts it).
    "half": (_eyes(("4.8", "-1.00", "0"), ("5.0", "", "")), True, "moderate"),
}
GRADE5 = {
    "height_cm": "140",
    "weight_kg": "33",
    "vital_capacity_ml": "2200",
    "run50m_s": "9.0",
    "sit_reach_cm": "8",
    "rope_skip_1min": "120",
    "situps_1min": "35",
    "shuttle_50x8_s": "105",
}
EXCELLENT = {"vital_capacity_ml": "3000", "run50m_s": "8.0", "sit_reach_cm": "16"} | {
    "rope_skip_1min": "170",
    "situps_1min": "50",
    "shuttle_50x8_s": "95",
}
PASS = {"vital_capacity_ml": "1700", "run50m_s": "10.0", "sit_reach_cm": "3"} | {
    "rope_skip_1min": "80",
    "situps_1min": "25",
    "shuttle_50x8_s": "115",
    "weight_kg": "45",
}
FAIL = {"vital_capacity_ml": "900", "run50m_s": "12.5", "sit_reach_cm": "-5"} | {
    "rope_skip_1min": "30",
    "situps_1min": "10",
    "shuttle_50x8_s": "140",
    "weight_kg": "55",
}


def _see(student, kind: str, vision_round: VisionRound = AUTUMN) -> None:
    payload = {"measured_on": DAYS[vision_round]}
    if kind == "absent":
        payload |= {"status": "absent", "reason": "病假"}
    else:
        payload |= VISION[kind][0]
    fields, errors = check_vision_row(student, vision_round, payload)
    assert errors == [], errors
    record = store_vision(student, vision_round, fields, None)
    if kind != "absent":
        assert (record.myopia, record.va_grade) == VISION[kind][1:], kind


def _test(student, changes: dict | None, rating, bmi_class, grade=5, year=2026) -> None:
    day = "2026-10-20" if year == 2026 else "2026-04-20"
    if changes is None:
        payload = {"measured_on": day, "status": "absent", "reason": "病假"}
    else:
        payload = {"measured_on": day, **GRADE5, **changes}
    fields, errors = check_fitness_row(student, grade, year, payload)
    assert errors == [], errors
    record = store_fitness(student, year, fields, None)
    assert (record.rating, record.bmi_class) == (rating, bmi_class)


@pytest.fixture
def district(world):
    """World's two junior schools (grade 7, 2026级) and a primary school's grade 5
    (2022级), with this autumn's, last autumn's and a spring vision round, and fitness
    tests; the neighbouring district's student is measured too."""
    primary = School(district=world.district, code="SP", name="测试小学", kind="primary")
    fifth = SchoolClass(school=primary, grade=5, name="1", entry_year=2022)
    db.session.add(primary)
    pupils = [make_student(fifth, f"小学生{i}", "MF"[i % 2]) for i in range(7)]
    db.session.flush()
    s = world.students
    for label, kind in {
        "A1-0": "myopic",
        "A1-1": "normal",
        "A1-2": "absent",
        "A2-0": "half",
        "A2-1": "high",
        "A2-2": "mild",
        "B1-1": "myopic",
        "C1-0": "myopic",
    }.items():
        _see(s[label], kind)
    _see(s["A1-0"], "normal", LAST_AUTUMN)
    _see(s["A1-1"], "myopic", LAST_AUTUMN)
    _see(s["A1-0"], "myopic", SPRING)  # a spring round: in no school year's figure
    _see(pupils[0], "myopic")
    _see(pupils[1], "normal")
    _test(pupils[0], {}, "good", "normal")
    _test(pupils[1], EXCELLENT, "excellent", "normal")
    _test(pupils[2], PASS, "pass", "overweight")
    _test(pupils[3], FAIL, "fail", "obese")
    _test(pupils[4], FAIL, "fail", "obese")
    _test(pupils[5], None, None, None)  # absent
    _test(pupils[6], {"shuttle_50x8_s": ""}, None, "normal")  # a required item not taken
    _test(pupils[0], FAIL, "fail", "obese", grade=4, year=2025)  # last school year
    world.primary = primary
    return world


def _cells(indicator_id: str, district_id: int, school_year: int) -> dict:
    source = INDICATORS[indicator_id].source
    tallies = list(source(district_id, school_year))
    cells = {(t.school_id, t.grade, t.sex): (t.numerator, t.denominator) for t in tallies}
    assert len(cells) == len(tallies)  # one tally per cell
    return cells


def test_myopia_counts_the_autumn_round_by_school_grade_then_and_sex(district):
    a, b, p = district.schools["A"].id, district.schools["B"].id, district.primary.id
    this_year = _cells("health_myopia", district.district.id, 2026)
    # A: the absent boy and the boy with one eye refracted are in no denominator.
    assert this_year == {
        (a, 7, "M"): (1, 2),
        (a, 7, "F"): (1, 2),
        (b, 7, "F"): (1, 1),
        (p, 5, "M"): (1, 1),
        (p, 5, "F"): (0, 1),
    }
    # Last autumn today's 2026级 grade 7 were in grade 6; the spring round is left out.
    assert _cells("health_myopia", district.district.id, 2025) == {
        (a, 6, "M"): (0, 1),
        (a, 6, "F"): (1, 1),
    }
    # The neighbouring district's girl counts there only.
    other = _cells("health_myopia", district.other_district.id, 2026)
    assert other == {(district.schools["C"].id, 10, "F"): (1, 1)}


def test_high_myopia_and_poor_vision_by_grade(district):
    a, d = district.schools["A"].id, district.district.id
    assert _cells("health_high_myopia", d, 2026)[(a, 7, "F")] == (1, 2)
    assert _cells("health_high_myopia", d, 2026)[(a, 7, "M")] == (0, 2)
    poor = _cells("health_poor_vision", d, 2026)
    # The half-refracted boy has both eyes' acuity: in the poor-vision denominator.
    assert poor[(a, 7, "M")] == (3, 3) and poor[(a, 7, "F")] == (1, 2)
    graded = {g: _cells(f"health_poor_vision_{g}", d, 2026) for g in ("mild", "moderate", "severe")}
    assert [graded[g][(a, 7, "M")] for g in graded] == [(1, 3), (2, 3), (0, 3)]
    assert [graded[g][(a, 7, "F")] for g in graded] == [(0, 2), (0, 2), (1, 2)]
    # The grades add up to the poor-vision rate, cell by cell.
    for cell, (n, d_) in poor.items():
        assert sum(graded[g][cell][0] for g in graded) == n
        assert all(graded[g][cell][1] == d_ for g in graded)


def test_fitness_rates_count_the_rated_and_bmi_the_classed(district):
    p, d = district.primary.id, district.district.id
    expected = {
        "health_fitness_pass": {(p, 5, "M"): (2, 3), (p, 5, "F"): (1, 2)},
        "health_fitness_good": {(p, 5, "M"): (1, 3), (p, 5, "F"): (1, 2)},
        "health_fitness_excellent": {(p, 5, "M"): (0, 3), (p, 5, "F"): (1, 2)},
        # The boy with an item not taken has a BMI class but no rating.
        "health_overweight": {(p, 5, "M"): (1, 4), (p, 5, "F"): (0, 2)},
        "health_obese": {(p, 5, "M"): (1, 4), (p, 5, "F"): (1, 2)},
    }
    for indicator_id, cells in expected.items():
        assert _cells(indicator_id, d, 2026) == cells, indicator_id
    assert _cells("health_fitness_pass", d, 2025) == {(p, 4, "M"): (0, 1)}


def test_the_district_agrees_with_the_school_summary(district):
    """The school doctor's summary (same students, this round, current grade) and the
    district source count the same students."""
    school = district.schools["A"]
    students = [s for s in district.students.values() if s.school_class.school_id == school.id]
    summary = summaries.vision_summary(students, AUTUMN)
    for name, indicator_id in (("myopia", "health_myopia"), ("poor_vision", "health_poor_vision")):
        cells = _cells(indicator_id, district.district.id, 2026)
        for sex in ("M", "F"):
            rate = summary.cell(7, sex).now[name]
            assert cells[(school.id, 7, sex)] == (rate.count, rate.of), (name, sex)


def test_the_change_is_this_autumn_less_last_autumn_in_points(district):
    registered = INDICATORS["health_myopia_change"]
    change_of = registered.indicator
    assert registered.source is None and change_of.change_of == "health_myopia"
    assert (change_of.unit, change_of.direction, change_of.target) == (POINTS, AT_MOST, -0.5)
    d, a = district.district.id, district.schools["A"].id
    by_school = {
        year: roll_up(INDICATORS["health_myopia"].source(d, year), lambda t: t.school_id)
        for year in (2025, 2026)
    }
    now, before = value("percent", *by_school[2026][a]), value("percent", *by_school[2025][a])
    assert (now, before) == (50.0, 50.0)  # 2 of 4 this autumn, 1 of 2 last
    assert change(now, before) == 0.0 and meets(change_of, 0.0, -0.5) is False
    assert meets(change_of, -0.6, -0.5) is True


def test_every_health_indicator_is_registered_with_its_texts():
    health = [r.indicator for r in INDICATORS.values() if r.indicator.group == "health"]
    assert len(health) == 12
    for indicator in health:
        for text in (indicator.name, indicator.definition, indicator.numerator):
            assert text["zh"] and text["en"]
        assert indicator.source["zh"] and indicator.by_grade and indicator.by_sex
