"""How stored values read on the pages (translated), shared by the templates and the
grid's JSON answers so that a saved row shows exactly what a reloaded page shows."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wellbeing.health.models import FitnessRecord, VisionRecord
from wellbeing.health.rounds import VisionRound

STATUS = {"measured": _l("Measured"), "absent": _l("Absent"), "exempt": _l("Exempt")}
MYOPIA_DEGREE = {
    "none": _l("No myopia"),
    "low": _l("Low myopia"),
    "moderate": _l("Moderate myopia"),
    "high": _l("High myopia"),
}
VA_GRADE = {
    "normal": _l("Normal vision"),
    "mild": _l("Mildly poor vision"),
    "moderate": _l("Moderately poor vision"),
    "severe": _l("Severely poor vision"),
}
BMI_CLASS = {
    "normal": _l("Normal weight"),
    "underweight": _l("Underweight"),
    "overweight": _l("Overweight"),
    "obese": _l("Obese"),
}
LETTER_REASON = {
    "myopia": _l("Screening myopia"),
    "poor_vision": _l("Poor vision"),
    "fitness_fail": _l("Fitness fail"),
}
RATING = {"excellent": _l("Excellent"), "good": _l("Good"), "pass": _l("Pass"), "fail": _l("Fail")}
MEASURE = {
    "ucva_right": _l("UCVA right"),
    "ucva_left": _l("UCVA left"),
    "sph_right": _l("Sphere right"),
    "cyl_right": _l("Cylinder right"),
    "axis_right": _l("Axis right"),
    "sph_left": _l("Sphere left"),
    "cyl_left": _l("Cylinder left"),
    "axis_left": _l("Axis left"),
    "ortho_k": _l("Ortho-K"),
    "height_cm": _l("Height (cm)"),
    "weight_kg": _l("Weight (kg)"),
    "vital_capacity_ml": _l("Vital capacity (mL)"),
    "run50m_s": _l("50 m run (s)"),
    "sit_reach_cm": _l("Sit and reach (cm)"),
    "rope_skip_1min": _l("Rope skipping, 1 min"),
    "situps_1min": _l("Sit-ups, 1 min"),
    "long_jump_cm": _l("Standing long jump (cm)"),
    "pullups": _l("Pull-ups"),
    "shuttle_50x8_s": _l("50 m × 8 shuttle (s)"),
    "run800m_s": _l("800 m run (s)"),
    "run1000m_s": _l("1000 m run (s)"),
    "bmi": _l("BMI"),
    "status": _l("Test status"),
    "reason": _l("Reason"),
    "measured_on": _l("Date"),
    "student": _l("Student"),
    "student_id": _l("Student number"),
    "grade": _l("Grade"),
    "sex": _l("Sex"),
}


def round_label(vision_round: VisionRound) -> str:
    if vision_round.season == "spring":
        return _("Spring %(year)d", year=vision_round.year)
    return _("Autumn %(year)d", year=vision_round.year)


def school_year_label(school_year: int) -> str:
    return _("School year %(start)d–%(end)d", start=school_year, end=school_year + 1)


def label(table: dict[str, Any], value: str | None) -> str:
    return "" if value is None else str(table.get(value, value))


def number(value: float | None) -> str:
    """A signed number as doctors write refraction: -1.25, +0.50, 0.00; empty for None."""
    if value is None:
        return ""
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


def plain_number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def flag(value: bool | None) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def vision_display(record: VisionRecord | None) -> dict[str, str]:
    """The derived cells of a grid row, as text."""
    if record is None:
        return {}
    if record.status != "measured":
        return {"status": label(STATUS, record.status)}
    return {
        "se_right": number(record.se_right),
        "se_left": number(record.se_left),
        "myopia": flag(record.myopia),
        "myopia_degree": label(MYOPIA_DEGREE, record.myopia_degree),
        "va_grade": label(VA_GRADE, record.va_grade),
        "low_hyperopia_reserve": _("Low (advisory)") if record.low_hyperopia_reserve else "",
    }


def fitness_display(record: FitnessRecord | None) -> dict[str, str]:
    if record is None:
        return {}
    if record.status != "measured":
        return {"status": label(STATUS, record.status)}
    return {
        "bmi": plain_number(record.bmi),
        "bmi_class": label(BMI_CLASS, record.bmi_class),
        "standard": plain_number(record.standard),
        "bonus": plain_number(record.bonus),
        "total": plain_number(record.total),
        "rating": label(RATING, record.rating),
    }
