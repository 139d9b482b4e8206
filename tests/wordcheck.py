"""What a Chinese page must not show: English words, internal names and half-width
punctuation after Chinese characters. Shared by the page walk (HTML from the test client)
and the browser journeys (the text Chromium renders), so both judge text the same way."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Latin words a Chinese page may show: proper nouns, standards, file kinds and units.
ALLOWED = {
    # instruments and their abbreviations
    "PHQ",
    "GAD",
    "SDQ",
    "K6",
    "K10",
    "SCL",
    # file kinds, formats and protocols
    "CSV",
    "XLSX",
    "XLS",
    "PDF",
    "PNG",
    "JPEG",
    "UTF",
    "GBK",
    "ZIP",
    "JSON",
    "XML",
    "ADX",
    "DHIS2",
    "HTTP",
    "HTTPS",
    "URL",
    "QR",
    "ID",
    "IP",
    "UTC",
    "TOTP",
    "BMI",
    "OD",
    "OS",
    "OK",
    # keys on the keyboard
    "Ctrl",
    "Tab",
    "Enter",
    "Shift",
    "Esc",
    # units
    "cm",
    "kg",
    "ml",
    "mL",
    "s",
    "m",
    "D",
    "KB",
    "MB",
    "GB",
    # standards and their bodies
    "WS",
    "T",
    # the product's and the demo's names
    "Wellbeing",
}
# Attributes whose value a user sees (or hears, with a screen reader).
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# Not words to translate: scripts and styles, and literal text the user types or reads
# as is (a file's column names, a command) set in <code>, <kbd> or <samp>.
HIDDEN_ELEMENTS = {"script", "style", "template", "noscript", "code", "kbd", "samp"}
VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_'’-]*")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
HALF_WIDTH_AFTER_CJK = re.compile(rf"[{CJK}][:(]|[{CJK}]\s*,(?=\s*[{CJK}])")
# Things that look like words but are data: addresses, times, codes, e-mail, file names.
NOT_WORDS = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|\b[\w-]+\.(?:csv|xlsx|pdf|zip|txt)\b"
    r"|\b[0-9a-f]{8,}\b|/[\w/.-]+|\b[A-Z]{5}-[A-Z]{5}\b",  # an access code's shape
    re.IGNORECASE,
)


class _Text(HTMLParser):
    """The text of a page a user sees: element text outside scripts and styles, and the
    visible attributes (title, placeholder, aria-label, alt, a button's value). Text
    marked as another language (lang="en": the language switch, an instrument's
    verbatim credit line) is meant to be in that language and is left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.foreign: list[str] = []  # the open elements from a foreign-language one down

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        if tag not in VOID_ELEMENTS and (self.foreign or (lang and not lang.startswith("zh"))):
            self.foreign.append(tag)
        if self.foreign:
            return
        if tag in HIDDEN_ELEMENTS:
            self.hidden += 1
            return
        for name in VISIBLE_ATTRIBUTES:
            if values.get(name):
                self.parts.append(values[name] or "")
        button = tag == "button" or values.get("type") in ("submit", "button", "reset")
        if button and tag == "input" and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HIDDEN_ELEMENTS and not self.foreign:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.foreign:
            if tag in self.foreign:  # close up to the matching element (forgiving, as browsers are)
                del self.foreign[len(self.foreign) - 1 - self.foreign[::-1].index(tag) :]
            return
        if tag in HIDDEN_ELEMENTS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and not self.foreign:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "\n".join(part for part in parser.parts if part.strip())


def problems(text: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with a Chinese page's visible text: each English word, internal
    name (snake_case) and half-width ':' '(' ',' after a Chinese character, with a
    little context. `allowed` adds words (e.g. the synthetic data's own names)."""
    found = []
    for line in text.splitlines():
        for match in SNAKE_CASE.finditer(line):
            if match.group() in allowed:
                continue
            found.append(f"internal name {match.group()!r} in {line.strip()[:80]!r}")
        for match in HALF_WIDTH_AFTER_CJK.finditer(line):
            found.append(f"half-width {match.group()!r} in {line.strip()[:80]!r}")
        cleaned = NOT_WORDS.sub(" ", line)
        for match in LATIN_WORD.finditer(cleaned):
            word = match.group().strip("'’-")
            if _allowed(word, allowed) or "_" in word:  # snake_case reported above
                continue
            found.append(f"English {word!r} in {line.strip()[:80]!r}")
    return found


def _allowed(word: str, allowed: set[str] | frozenset[str]) -> bool:
    if word in ALLOWED or word in allowed:
        return True
    # Codes and identifiers mixing letters and digits (A1, 7b, PHQ9, K6) are data.
    return any(c.isdigit() for c in word) or (len(word) == 1 and word.isupper())
