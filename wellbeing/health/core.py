"""The one place the app calls the pure core (screening.vision, screening.fitness): values
come back as plain Python (None for empty), errors as FieldError with the column."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from screening import fitness, vision
from screening.errors import MissingTable, ScreeningError

# The core's contract output (less the id), stored beside the advisory flag.
VISION_DERIVED = (*vision.OUTPUT_COLUMNS[1:], "low_hyperopia_reserve")
# Our column name -> the core's output column, where they differ.
VISION_SOURCE = {"low_hyperopia_reserve": "low_hyperopia_reserve_advisory"}
# What the core reads from a vision row (besides age and ortho_k): axis is ours alone.
VISION_INPUTS = tuple(name for name in vision.NUMBER_COLUMNS if name != "age")
FITNESS_DERIVED = ("bmi", "bmi_class", "standard", "bonus", "total", "rating")


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one value: the column (None: the row as a whole), a message for
    people (already translated by the caller) and the core's own detail, if any."""

    column: str | None
    message: str
    detail: str = ""

    def as_json(self) -> dict[str, str | None]:
        return {"column": self.column, "message": self.message, "detail": self.detail}


def plain(value: Any) -> Any:
    """A pandas/numpy scalar as plain Python; NaN, NA and NaT become None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def error_column(error: ScreeningError) -> str | None:
    return getattr(error, "column", None)


def error_row(error: ScreeningError) -> int | None:
    return getattr(error, "row", None)


def is_missing_table(error: ScreeningError) -> bool:
    return isinstance(error, MissingTable)


def _vision_result(row: Mapping[str, Any]) -> dict:
    return {name: plain(row.get(VISION_SOURCE.get(name, name))) for name in VISION_DERIVED}


def classify_vision_one(age: float, values: Mapping[str, float | None], ortho_k: bool) -> dict:
    """Classify one student's measurements; raises the core's ScreeningError."""
    result = vision.classify_one(
        age,
        values.get("ucva_right"),
        values.get("ucva_left"),
        values.get("sph_right"),
        values.get("cyl_right"),
        values.get("sph_left"),
        values.get("cyl_left"),
        ortho_k=ortho_k,
    )
    return _vision_result(result)


def classify_vision_frame(frame: pd.DataFrame) -> list[dict]:
    """Classify many rows at once (the vectorized path); one dict per input row."""
    result = vision.classify_vision(frame)
    return [_vision_result(row) for row in result.to_dict("records")]


def required_fitness_items(grade: int, sex: str) -> list[str]:
    return list(fitness.required_items(grade, sex))


def _fitness_result(row: Mapping[str, Any]) -> dict:
    derived = {name: plain(row.get(name)) for name in FITNESS_DERIVED}
    scores = {
        name: plain(value)
        for name, value in row.items()
        if name.startswith("score_") and plain(value) is not None
    }
    derived["item_scores"] = scores
    return derived


def score_fitness_one(grade: int, sex: str, values: Mapping[str, float | None]) -> dict:
    return _fitness_result(fitness.score_one(grade, sex, dict(values)))


def score_fitness_frame(frame: pd.DataFrame) -> list[dict]:
    result = fitness.score_fitness(frame)
    return [_fitness_result(row) for row in result.to_dict("records")]
