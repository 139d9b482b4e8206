"""Text that people type or import (names, reasons, notes): one rule for every input.

A value is normalised to NFC, so the same name typed on two keyboards is stored once, and
refused when it holds a character that no person types on purpose: control characters
(NUL, ESC, BEL, ...; tab and line breaks are allowed only in multi-line text), unpaired
surrogates, Unicode non-characters and bidirectional overrides (which make a name read
differently from what it is). Private-use characters stay allowed: some input methods map
rare characters of Chinese names there.

    try:
        name = clean_text(raw)
    except InvalidText as problem:
        report(row, column, problem.codepoint)
"""

from __future__ import annotations

import unicodedata

from screening.errors import ScreeningError

LINE_BREAKS = frozenset("\t\n\r")
# Explicit bidirectional embeddings, overrides and isolates (Unicode's Bidi_Control less
# the marks LRM/RLM/ALM, which are harmless on their own).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidText(ScreeningError):
    """A value holds a character that text input refuses; `codepoint` names it (U+001B)
    and `position` is its 0-based index in the normalised value."""

    def __init__(self, character: str, position: int) -> None:
        self.character = character
        self.position = position
        self.codepoint = f"U+{ord(character):04X}"
        super().__init__(f"contains the character {self.codepoint}, which text may not hold")


def _refused(character: str, multiline: bool) -> bool:
    if character in LINE_BREAKS:
        return not multiline
    if character in BIDI_CONTROLS:
        return True
    category = unicodedata.category(character)
    if category in ("Cc", "Cs"):
        return True
    # Non-characters: U+FDD0..U+FDEF and the last two code points of every plane.
    code = ord(character)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean_text(value: str, *, multiline: bool = False) -> str:
    """The value normalised to NFC; InvalidText at the first refused character."""
    text = unicodedata.normalize("NFC", value)
    for position, character in enumerate(text):
        if _refused(character, multiline):
            raise InvalidText(character, position)
    return text


def is_clean(value: str, *, multiline: bool = False) -> bool:
    """Whether clean_text would accept the value (the normalisation aside)."""
    return not any(_refused(character, multiline) for character in value)
