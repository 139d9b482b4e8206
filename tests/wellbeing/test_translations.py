"""Chinese first: every interface string has a Simplified Chinese translation, and the
compiled catalogue the app loads matches the one developers edit."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "wellbeing" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
METHODS = [("wellbeing/**.py", "python"), ("wellbeing/**/templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _po():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        return read_po(handle, locale="zh_Hans_CN")


def test_every_interface_string_is_translated():
    catalogue = _po()
    translated = {m.id for m in catalogue if m.id and m.string}
    untranslated = sorted(_source_messages() - translated)
    assert untranslated == [], "add these to the zh_Hans_CN catalogue (make translations)"


def test_compiled_catalogue_is_up_to_date():
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    edited = {m.id: m.string for m in _po() if m.id and m.string}
    assert compiled == edited, "run: make translations"
