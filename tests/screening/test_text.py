"""The one rule for typed and imported text: NFC, and no character nobody types."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.text import InvalidText, clean_text, is_clean


@pytest.mark.parametrize(
    "value",
    ["a\x00b", "\x1b[31m", "张\x07三", "x\x7f", "\x85", "\u202e张三", "a\ufffe", "\ud800", "a\tb"],
)
def test_refuses_characters_nobody_types(value: str) -> None:
    with pytest.raises(InvalidText) as refused:
        clean_text(value)
    assert refused.value.codepoint.startswith("U+")
    assert not is_clean(value)


def test_names_the_character_and_its_position() -> None:
    with pytest.raises(InvalidText) as refused:
        clean_text("王小\x1b明")
    assert (refused.value.codepoint, refused.value.position) == ("U+001B", 2)


def test_line_breaks_only_in_multiline_text() -> None:
    assert clean_text("第一行\r\n第二行\t。", multiline=True) == "第一行\r\n第二行\t。"
    with pytest.raises(InvalidText):
        clean_text("第一行\n第二行")


def test_normalises_to_nfc() -> None:
    decomposed = "Zoe\u0301"
    assert clean_text(decomposed) == "Zo\u00e9"


def test_keeps_chinese_names_private_use_and_emoji() -> None:
    for value in ["欧阳娜娜", "\ue000明", "李👍‍", "O'Brien-Smith", "  spaced  "]:
        assert clean_text(value) == unicodedata.normalize("NFC", value)


@given(st.text())
def test_accepted_text_is_nfc_and_clean(value: str) -> None:
    try:
        cleaned = clean_text(value, multiline=True)
    except InvalidText as refused:
        normalised = unicodedata.normalize("NFC", value)
        assert normalised[refused.position] == refused.character
        assert not is_clean(normalised, multiline=True)
        return
    assert unicodedata.is_normalized("NFC", cleaned)
    assert all(unicodedata.category(c) not in ("Cc", "Cs") or c in "\t\n\r" for c in cleaned)
