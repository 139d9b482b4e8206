"""Punctuation that follows the language: a label's colon and a list's separator are
half-width in English and full-width in Chinese ("编辑：…", "七年级、高一"), so templates
and labels never write ASCII ':' or ',' after Chinese words."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# The languages a campaign's questionnaire and notices can be in, by code.
LANGUAGES = {"zh": _l("Chinese"), "en": _l("English")}


def colon() -> str:
    """After a label: ": " in English, "：" in Chinese."""
    return _(": ")


def listed(items: Iterable[object]) -> str:
    """A list in a sentence: "7, 10" in English, "七年级、高一" in Chinese."""
    return _(", ").join(str(item) for item in items)


def language_name(code: str) -> str:
    """A language by its code, named in the user's language ("zh" -> 中文)."""
    return str(LANGUAGES.get(code, code))
