"""Grades and classes in the words of the reader's language: 七年级1班 and 高一10班 in
Chinese, "Grade 7, class 1" in English. Every page, export and message names them here."""

from __future__ import annotations

from flask_babel import get_locale, gettext

from wellbeing.roster.vocabulary import class_name_zh, grade_name_zh


def _chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


def grade_name(grade: int) -> str:
    """七年级 / 高一, or "Grade 7" in English."""
    if _chinese():
        return grade_name_zh(grade)
    return gettext("Grade %(grade)d", grade=grade)


def class_name(grade: int, name: str) -> str:
    """七年级1班 / 高一10班, or "Grade 7, class 1" in English."""
    if _chinese():
        return class_name_zh(grade, name)
    return gettext("Grade %(grade)d, class %(name)s", grade=grade, name=name)
