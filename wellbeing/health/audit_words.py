"""The health area's words for the audit browser: the keys and values of the detail of
its imports, exports and pages, registered with the audit layer (which knows no area)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.health.labels import round_label, school_year_label
from wellbeing.health.rounds import parse_vision_round
from wellbeing.security.audit_labels import register_labels


def _round(key: str) -> str:
    return round_label(parse_vision_round(key))


register_labels(
    fields={
        "round": _l("Vision round"),
        "vision_round": _l("Vision round"),
        "school_year": _l("School year"),
        "letters": _l("Letters"),
        "problems": _l("Problems"),
        "format": _l("File format"),
    },
    values={
        "vision": _l("Vision"),
        "fitness": _l("Fitness"),
        "national_fitness": _l("National upload file"),
        "national_fitness_problems": _l("Problems of the national upload file"),
        "csv": "CSV",
        "xlsx": "XLSX",
        "parent_letters_vision": _l("Parent letters (vision)"),
        "parent_letters_fitness": _l("Parent letters (fitness)"),
        "health.school_class": _l("Vision and fitness of a class"),
        "health.vision_grid": _l("Vision entry"),
        "health.fitness_grid": _l("Fitness entry"),
        "health.vision_letters": _l("Parent letters (vision)"),
        "health.fitness_letters": _l("Parent letters (fitness)"),
        "health.school_summary": _l("School summary"),
        "health.export_check": _l("National upload file"),
        "health": _l("Vision and fitness"),
    },
    formats={"round": _round, "vision_round": _round, "school_year": school_year_label},
)
