"""REDCap data dictionary -> instrument document (our YAML format).

A REDCap data dictionary is a CSV with one row per field. Of one form (instrument):
- radio, dropdown: an item with the field's choices ("0, Never | 1, Sometimes"); codes
  must be whole numbers, since they are the values that score;
- yesno, truefalse: an item with 1 = yes/true and 0 = no/false (REDCap's coding);
- checkbox: one item per choice, named as REDCap exports it (`field___code`), with
  0 = unchecked and 1 = checked;
- calc: when the calculation is a plain sum of item fields ("[a]+[b]+[c]" or
  "sum([a],[b],[c])") it becomes the total (the first such sum) or a subscale;
  any other calculation is left for the user to declare, with a note saying so;
- every other field type (text, notes, descriptive, slider, file, ...) is skipped with a
  note. Branching logic is not carried over (noted per field).
The result is validated like any instrument file; what still needs the user's hand
(bands, licence, a missing total) is listed in `problems`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from screening.errors import InstrumentError, ScreeningError
from screening.instruments import instrument_from_document
from screening.spreadsheets import decode_text

CHOICE_FIELDS = ("radio", "dropdown")
BINARY_LABELS = {
    "yesno": {"zh": ("是", "否"), "en": ("Yes", "No")},
    "truefalse": {"zh": ("对", "错"), "en": ("True", "False")},
}
CHECKBOX_LABELS = {"zh": ("已选", "未选"), "en": ("Checked", "Unchecked")}
CJK = re.compile(r"[\u3400-\u9fff]")
FIELD_REF = r"\[\s*([a-z][a-z0-9_]*)\s*\]"
PLUS_SUM = re.compile(rf"^\s*{FIELD_REF}(?:\s*\+\s*{FIELD_REF})+\s*$")
SUM_CALL = re.compile(rf"^\s*sum\s*\(\s*{FIELD_REF}(?:\s*,\s*{FIELD_REF})*\s*\)\s*$", re.I)
HEADERS = {
    "name": "variable / field name",
    "form": "form name",
    "type": "field type",
    "label": "field label",
    "choices": "choices, calculations, or slider labels",
    "required": "required field",
    "branching": "branching logic",
}


class RedcapError(ScreeningError):
    """The dictionary cannot be converted at all (unreadable, no such form)."""


@dataclass
class Converted:
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # what was skipped or changed
    problems: list[str] = field(default_factory=list)  # what the user must still declare


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        key = name.strip().lower()
        for ours, theirs in HEADERS.items():
            if key.startswith(theirs) and ours not in found:
                found[ours] = position
    missing = [HEADERS[key] for key in ("name", "form", "type", "label") if key not in found]
    if missing:
        raise RedcapError(f"not a REDCap data dictionary: no column {', '.join(missing)}")
    return found


def _plain(label: str) -> str:
    """A field label without REDCap's HTML and piping markup."""
    text = re.sub(r"<[^>]+>", " ", label)
    return re.sub(r"\s+", " ", text).strip()


def _choices(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if code.strip():
            pairs.append((code.strip(), _plain(label)))
    return pairs


def _identifier(text: str) -> str:
    ident = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower()).strip("_")
    return ident if re.match(r"[a-z]", ident) else f"form_{ident}"


def _sum_fields(expression: str) -> list[str] | None:
    for pattern in (PLUS_SUM, SUM_CALL):
        if pattern.match(expression):
            return re.findall(FIELD_REF, expression)
    return None


class _Converter:
    def __init__(self, rows: list[Mapping[str, str]], language: str) -> None:
        self.rows = rows
        self.lang = language
        self.items: list[dict[str, Any]] = []
        self.sums: list[tuple[str, str, list[str]]] = []
        self.notes: list[str] = []

    def text(self, value: str) -> dict[str, str]:
        return {self.lang: value or "(no label)"}

    def option(self, value: int, label: str) -> dict[str, Any]:
        return {"value": value, "label": self.text(label)}

    def item(self, name: str, label: str, options: list, required: bool) -> None:
        entry: dict[str, Any] = {"id": name, "text": self.text(label), "options": options}
        if not required:
            entry["required"] = False
        self.items.append(entry)

    def run(self) -> None:
        for row in self.rows:
            name, kind = row["name"], row["type"].strip().lower()
            label = _plain(row["label"])
            required = row.get("required", "").strip().lower() == "y"
            if row.get("branching", "").strip():
                self.notes.append(f"{name}: branching logic not carried over")
            handler = getattr(self, f"_{kind}", None)
            if kind in CHOICE_FIELDS:
                self._choice(name, label, row.get("choices", ""), required)
            elif handler is not None:
                handler(name, label, row.get("choices", ""), required)
            else:
                self.notes.append(f"{name}: {kind or 'untyped'} field skipped (not scored)")

    def _choice(self, name: str, label: str, choices: str, required: bool) -> None:
        options = []
        for code, text in _choices(choices):
            if not re.fullmatch(r"-?\d+", code):
                self.notes.append(
                    f"{name}: choice code {code!r} is not a whole number: "
                    "field skipped, declare its options by hand"
                )
                return
            options.append(self.option(int(code), text))
        if len(options) < 2:
            self.notes.append(f"{name}: fewer than two choices: field skipped")
            return
        self.item(name, label, options, required)

    def _binary(self, kind: str, name: str, label: str, required: bool) -> None:
        yes, no = BINARY_LABELS[kind][self.lang]
        self.item(name, label, [self.option(1, yes), self.option(0, no)], required)

    def _yesno(self, name: str, label: str, choices: str, required: bool) -> None:
        self._binary("yesno", name, label, required)

    def _truefalse(self, name: str, label: str, choices: str, required: bool) -> None:
        self._binary("truefalse", name, label, required)

    def _checkbox(self, name: str, label: str, choices: str, required: bool) -> None:
        checked, unchecked = CHECKBOX_LABELS[self.lang]
        for code, text in _choices(choices):
            item = f"{name}___{re.sub(r'[^a-z0-9_]', '_', code.lower())}"
            options = [self.option(0, unchecked), self.option(1, checked)]
            self.item(item, f"{label}: {text}" if label else text, options, False)

    def _calc(self, name: str, label: str, choices: str, required: bool) -> None:
        fields = _sum_fields(choices)
        if fields is None:
            self.notes.append(
                f"{name}: calculation {choices.strip()!r} is not a plain sum of "
                "fields: declare its scoring by hand"
            )
            return
        self.sums.append((name, label, fields))

    def scoring(self) -> dict[str, Any]:
        known = {item["id"] for item in self.items}
        scoring: dict[str, Any] = {}
        subscales = []
        for name, label, fields in self.sums:
            unknown = [f for f in fields if f not in known]
            if unknown:
                self.notes.append(
                    f"{name}: sums fields that are not items of this form "
                    f"({', '.join(unknown)}): declare it by hand"
                )
            elif "total" not in scoring:
                scoring["total"] = {"rule": "sum", "items": fields}
                scoring["missing"] = {"rule": "complete"}
                self.notes.append(
                    f"{name}: became the total (sum; not scorable when an item "
                    "is unanswered: change scoring.missing to prorate if wanted)"
                )
            else:
                subscales.append(
                    {
                        "id": _identifier(name),
                        "title": self.text(label or name),
                        "rule": "sum",
                        "items": fields,
                    }
                )
                self.notes.append(f"{name}: became subscale {_identifier(name)}")
        if subscales:
            scoring["subscales"] = subscales
        return scoring


def _read(data: bytes, form: str) -> tuple[list[dict[str, str]], set[str]]:
    text = decode_text(data)
    records = list(csv.reader(io.StringIO(text)))
    if not records:
        raise RedcapError("the dictionary is empty")
    columns = _columns(records[0])
    rows, forms = [], set()
    for record in records[1:]:
        cells = {key: record[pos] if pos < len(record) else "" for key, pos in columns.items()}
        forms.add(cells["form"].strip())
        if cells["form"].strip() == form:
            rows.append(cells)
    return rows, forms


def _shared_options(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Option lists used by several items become named option sets (a shorter file)."""
    sets: dict[str, list] = {}
    names: dict[str, str] = {}
    for item in items:
        key = repr(item["options"])
        if sum(repr(other["options"]) == key for other in items) < 2:
            continue
        if key not in names:
            names[key] = f"options_{len(names) + 1}"
            sets[names[key]] = item["options"]
        item["options"] = names[key]
    return {"option_sets": sets, "items": items} if sets else {"items": items}


def convert(
    data: bytes,
    form: str,
    instrument_id: str | None = None,
    language: str | None = None,
    source_name: str = "a REDCap data dictionary",
) -> Converted:
    """Convert one form of a REDCap data dictionary (CSV bytes)."""
    try:
        rows, forms = _read(data, form)
    except ScreeningError as error:
        raise RedcapError(str(error)) from None
    if not rows:
        raise RedcapError(f"no form {form!r} (forms: {', '.join(sorted(f for f in forms if f))})")
    lang = language or (
        "zh" if any(CJK.search(r["label"] + r.get("choices", "")) for r in rows) else "en"
    )
    converter = _Converter(rows, lang)
    converter.run()
    if not converter.items:
        raise RedcapError(f"form {form!r} has no field that can be an item")
    title = form.replace("_", " ").strip()
    document: dict[str, Any] = {
        "format": 1,
        "id": instrument_id or _identifier(form),
        "version": "1",
        "title": {lang: title},
        "languages": [lang],
        "source": {"reference": f"REDCap form {form!r} of {source_name}"},
        "licence": {
            "kind": "licensed",
            "statement": "Not stated in the REDCap dictionary: replace with the licence.",
        },
        "population": {"note": {lang: "Not stated in the REDCap dictionary: fill in."}},
        **_shared_options(converter.items),
        "scoring": converter.scoring(),
    }
    result = Converted(document, converter.notes)
    if "total" in document["scoring"]:
        result.problems.append("declare scoring.bands (cut-offs) for the total if it has any")
    try:
        instrument_from_document(document, "converted form")
    except InstrumentError as error:
        result.problems += [
            f"{problem.path}: {problem.message}" if problem.path else problem.message
            for problem in error.problems
        ]
    return result


def to_yaml(document: Mapping[str, Any]) -> str:
    header = (
        "# Converted from a REDCap data dictionary by `wellbeing instruments import-redcap`.\n"
        "# Review the licence, population, scoring and bands, then run\n"
        "# `wellbeing instruments check` on this file.\n"
    )
    body = yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100)
    return header + body
