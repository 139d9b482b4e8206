"""The entry grid's columns: what each cell takes and the range the browser checks as it
is typed. The ranges are the pure core's own (screening.vision.RANGES,
screening.fitness.BODY and ITEMS), so the browser warns at once about exactly what the
server will refuse when the row is saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from screening import fitness, vision
from screening.errors import ScreeningError
from wellbeing.health import core
from wellbeing.health.labels import MEASURE


@dataclass(frozen=True)
class GridColumn:
    name: str
    low: float
    high: float
    step: str = "any"
    # VA below 3.0 is recorded as 0 (the national convention).
    zero_ok: bool = False
    # A run time: typed as seconds or minutes and seconds (3'50", 3:50, 3分50秒).
    timed: bool = False

    @property
    def label(self) -> Any:
        return MEASURE[self.name]

    @property
    def short(self) -> Any:
        """The grid's sub-header under its group (acuity R/L, refraction S/C/A)."""
        return SHORT.get(self.name) or SHORT.get(self.name.split("_")[0], self.label)


SHORT = {
    "ucva_right": _l("R"),
    "ucva_left": _l("L"),
    "sph": _l("S"),
    "cyl": _l("C"),
    "axis": _l("A"),
}


def _vision_column(name: str, step: str) -> GridColumn:
    if name.startswith("axis"):
        return GridColumn(name, 0, 180, step)
    low, high, _unit = vision.RANGES[name.split("_")[0]]
    return GridColumn(name, low, high, step, zero_ok=name.startswith("ucva"))


VISION_COLUMNS = tuple(
    _vision_column(name, step)
    for name, step in (
        ("ucva_right", "0.1"),
        ("ucva_left", "0.1"),
        ("sph_right", "0.25"),
        ("cyl_right", "0.25"),
        ("axis_right", "1"),
        ("sph_left", "0.25"),
        ("cyl_left", "0.25"),
        ("axis_left", "1"),
    )
)
VISION_DERIVED_COLUMNS = ("se_right", "se_left", "myopia_degree", "va_grade")
FITNESS_DERIVED_COLUMNS = ("bmi", "bmi_class", "total", "rating")


def _fitness_column(name: str) -> GridColumn:
    if name in fitness.BODY:
        low, high, _unit = fitness.BODY[name]
        return GridColumn(name, low, high, "0.1")
    item = next(item for item in fitness.ITEMS.values() if item.column == name)
    timed = name in fitness.TIMED_COLUMNS
    return GridColumn(name, item.low, item.high, "1" if item.counted else "0.1", timed=timed)


def required_items(grade: int, sex: str) -> list[str]:
    """The items of this grade and sex, or none when the core has no table for them
    (the row's save then reports the core's refusal)."""
    try:
        return core.required_fitness_items(grade, sex)
    except ScreeningError:
        return []


@dataclass(frozen=True)
class FitnessSlot:
    """One column of the fitness grid: the same item for both sexes, or the pair the
    standard sets in its place (pull-ups for boys, sit-ups for girls), so that Enter
    walks the same number of cells in every row."""

    boys: GridColumn | None
    girls: GridColumn | None

    def for_sex(self, sex: str) -> GridColumn | None:
        return self.boys if sex == "M" else self.girls

    @property
    def label(self) -> str:
        if self.boys and self.girls and self.boys.name != self.girls.name:
            return f"{self.boys.label} / {self.girls.label}"
        return str((self.boys or self.girls).label)


def fitness_slots(grade: int) -> list[FitnessSlot]:
    """The grade's items in the standard's order (weights.csv), boys' and girls' side by
    side; where the two lists differ in length, the rest stand alone."""
    boys, girls = required_items(grade, "M"), required_items(grade, "F")
    slots = []
    for index in range(max(len(boys), len(girls))):
        boy = _fitness_column(boys[index]) if index < len(boys) else None
        girl = _fitness_column(girls[index]) if index < len(girls) else None
        slots.append(FitnessSlot(boy, girl))
    return slots
