"""Instrument definitions: load, validate and look up the YAML files of `instruments/`.

A file is checked in three steps, and every problem found is reported with the file
name and the JSON path of the offending value (`phq9.yaml: scoring.bands[2].min: ...`):

1. YAML syntax (duplicate keys are errors: PyYAML would silently keep the last one);
2. `instruments/schema.json` (structure and types);
3. meaning: rule names against the registry (`screening.rules`), item references,
   languages, band order and coverage, thresholds that can never (or always) fire.

The content hash (`sha256:` + hex) is taken over a canonical JSON form of the parsed
document: keys sorted, no whitespace, UTF-8 without escapes. Comments, key order and
layout of the YAML do not change it; any change of a text, value or rule does. It is
the version stamp stored with every response.
"""

from __future__ import annotations

import hashlib
import json
import re
import site
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from screening import rules
from screening.errors import InstrumentError, Problem, UnknownInstrument, UnknownItem
from screening.rules import ValidityRule

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# An installed (non-editable) wheel carries the files as data files under its scheme's
# data directory: the environment's prefix, or the user base for `pip install --user`.
DATA_SUBDIR = Path("share") / "wellbeing" / "instruments"
INSTALLED_DIRS = tuple(
    dict.fromkeys(
        Path(root) / DATA_SUBDIR
        for root in (sysconfig.get_path("data"), sys.prefix, site.getuserbase())
    )
)
SUFFIXES = (".yaml", ".yml")
SECONDS_SUFFIX = "_seconds"  # input column of an item's answering time


def shipped_dir() -> Path:
    """The directory of the instruments that ship with the product: instruments/ beside
    the packages (a checkout or an editable install), else the installed data files."""
    for directory in (PACKAGE_ROOT / "instruments", *INSTALLED_DIRS):
        if (directory / "schema.json").is_file():
            return directory
    return PACKAGE_ROOT / "instruments"  # absent: errors will name the expected place


@cache
def schema() -> dict[str, Any]:
    return json.loads((shipped_dir() / "schema.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Option:
    value: int
    label: Mapping[str, str]


@dataclass(frozen=True)
class Item:
    id: str
    text: Mapping[str, str]
    options: tuple[Option, ...]
    reverse: bool = False
    required: bool = True

    @cached_property
    def values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)

    @cached_property
    def low(self) -> int:
        return min(self.values)

    @cached_property
    def high(self) -> int:
        return max(self.values)

    def keyed(self, value: float) -> float:
        """The value that scores: reversed items count from the other end."""
        return self.low + self.high - value if self.reverse else value


@dataclass(frozen=True)
class Band:
    id: str
    label: Mapping[str, str]
    min: float
    max: float


@dataclass(frozen=True)
class Scale:
    """The total (id "total") or a subscale: a score rule over items, a missing rule."""

    id: str
    title: Mapping[str, str]
    rule: str
    items: tuple[int, ...]
    missing_rule: str = "complete"
    max_missing: int = 0
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class Critical:
    item: int
    min: int
    label: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: Mapping[str, str]
    languages: tuple[str, ...]
    items: tuple[Item, ...]
    total: Scale | None
    subscales: tuple[Scale, ...]
    critical: tuple[Critical, ...]
    validity: tuple[ValidityRule, ...]
    content_hash: str
    source: str
    document: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def index_of(self, item_id: str) -> int:
        try:
            return self.positions[item_id]
        except KeyError:
            raise UnknownItem(item_id, self.ref) from None

    @cached_property
    def positions(self) -> Mapping[str, int]:
        """Item id -> position in the item order."""
        return {item.id: position for position, item in enumerate(self.items)}

    @property
    def scales(self) -> tuple[Scale, ...]:
        return ((self.total,) if self.total else ()) + self.subscales


# ----------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys instead of keeping the last one."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    try:
        return yaml.load(text, Loader=_StrictLoader), []  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        detail = error.problem or error.context or "invalid YAML"
        return None, [Problem("", f"{where}{detail}", "yaml")]
    except yaml.YAMLError as error:
        return None, [Problem("", f"invalid YAML: {error}", "yaml")]


# ----------------------------------------------------------------------------- schema


def json_path(parts: Iterable[Any]) -> str:
    """["scoring", "bands", 2, "min"] -> "scoring.bands[2].min"."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_problem(error: ValidationError) -> Problem:
    if error.validator in ("anyOf", "oneOf") and error.context:
        error = best_match(error.context)
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(key) for key in error.instance if key not in known)
        path.append(extra[0])
        message = f"unknown key (allowed here: {', '.join(sorted(known))})"
    elif error.validator == "pattern" and "a-z][a-z0-9_]" in str(error.validator_value):
        message = f"{error.instance!r} is not an id: lowercase letters, digits and _, from a letter"
    elif error.validator == "type" and path == ["version"]:
        message += ' (quote the version in YAML: "1.0")'
    return Problem(json_path(path), message, "schema")


def _unknown_rule_params(error: ValidationError) -> bool:
    """Parameters of an unregistered rule: left to the registry check, which names the
    rule, rather than reported as unexpected keys."""
    instance = error.instance
    return (
        error.validator == "unevaluatedProperties"
        and isinstance(instance, dict)
        and isinstance(instance.get("rule"), str)
        and instance["rule"] not in rules.REGISTRY
    )


def _schema_problems(document: Any) -> list[Problem]:
    validator = Draft202012Validator(schema())
    errors = [e for e in validator.iter_errors(document) if not _unknown_rule_params(e)]
    errors.sort(key=lambda e: json_path(e.absolute_path))
    return [_schema_problem(error) for error in errors]


# ----------------------------------------------------------------------------- meaning


class _Checker:
    """The checks the schema cannot express; collects problems with their paths."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document
        self.problems: list[Problem] = []
        self.languages = tuple(document["languages"])
        self.sets: Mapping[str, list] = document.get("option_sets", {})
        self.ids = [item["id"] for item in document["items"]]
        self.known = set(self.ids)

    def add(self, path: str, message: str, code: str) -> None:
        self.problems.append(Problem(path, message, code))

    def run(self) -> list[Problem]:
        self.texts()
        self.items()
        scoring = self.doc["scoring"]
        self.population()
        total = scoring.get("total")
        if total is None and not scoring.get("subscales"):
            self.add("scoring", "declares neither a total nor a subscale", "nothing_scored")
        if "missing" in scoring:
            self.rule("missing", scoring["missing"]["rule"], "scoring.missing.rule")
        before = len(self.problems)
        if total is not None:
            self.scale(total, "scoring.total", scoring.get("missing"))
        if "bands" in scoring:
            if total is None:
                self.add("scoring.bands", "bands need a total to classify", "bands_without_total")
            elif len(self.problems) == before:
                self.bands(scoring["bands"], "scoring.bands", total, scoring.get("missing"))
        self.subscales(scoring.get("subscales", []), scoring.get("missing"))
        self.critical(scoring.get("critical", []))
        self.validity(scoring.get("validity", []))
        return self.problems

    # -- texts and items

    def texts(self) -> None:
        for path, text in _texts(self.doc):
            missing = [lang for lang in self.languages if lang not in text]
            extra = [lang for lang in text if lang not in self.languages]
            if missing:
                self.add(
                    path,
                    f"no {'/'.join(missing)} text (languages: {_join(self.languages)})",
                    "language",
                )
            if extra:
                self.add(
                    path,
                    f"{'/'.join(extra)} is not among the declared languages "
                    f"({_join(self.languages)})",
                    "language",
                )

    def items(self) -> None:
        seen: set[str] = set()
        for name, options in self.sets.items():
            self.option_values(options, f"option_sets.{name}")
        for number, item in enumerate(self.doc["items"]):
            path = f"items[{number}]"
            if item["id"] in seen:
                self.add(f"{path}.id", f"duplicate item id {item['id']!r}", "duplicate_item")
            seen.add(item["id"])
            if item["id"].endswith(SECONDS_SUFFIX) and item["id"][: -len(SECONDS_SUFFIX)] in (
                self.known
            ):
                self.add(
                    f"{path}.id",
                    f"{item['id']!r} clashes with the time column of "
                    f"{item['id'][: -len(SECONDS_SUFFIX)]!r}",
                    "duplicate_item",
                )
            options = item["options"]
            if isinstance(options, str) and options not in self.sets:
                known = _join(self.sets) or "none declared"
                self.add(
                    f"{path}.options",
                    f"unknown option set {options!r} (option_sets: {known})",
                    "unknown_option_set",
                )
            elif isinstance(options, list):
                self.option_values(options, f"{path}.options")

    def option_values(self, options: list, path: str) -> None:
        seen: set[int] = set()
        for number, option in enumerate(options):
            if option["value"] in seen:
                self.add(
                    f"{path}[{number}].value",
                    f"option value {option['value']} appears twice",
                    "duplicate_option",
                )
            seen.add(option["value"])

    def values(self, item_id: str) -> list[int]:
        options = self.doc["items"][self.ids.index(item_id)]["options"]
        options = self.sets.get(options, []) if isinstance(options, str) else options
        return [option["value"] for option in options] or [0]

    def population(self) -> None:
        for key in ("age", "grades"):
            bounds = self.doc["population"].get(key, {})
            if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
                self.add(f"population.{key}", "min is above max", "population_range")

    # -- references

    def refs(self, items: Any, path: str) -> list[str]:
        """Item ids of an item list ("all" or ids), reporting unknown and repeated ones."""
        if items == "all":
            return list(self.ids)
        seen: set[str] = set()
        for number, item in enumerate(items):
            if item not in self.known:
                self.add(f"{path}[{number}]", f"unknown item {item!r}", "unknown_item")
            elif item in seen:
                self.add(f"{path}[{number}]", f"item {item!r} is listed twice", "duplicate_item")
            seen.add(item)
        return [item for item in dict.fromkeys(items) if item in self.known]

    def rule(self, kind: rules.Kind, name: str, path: str) -> bool:
        if rules.lookup(kind, name) is None:
            self.add(
                path,
                f"unknown {kind} rule {name!r} (known: {_join(rules.names(kind))})",
                "unknown_rule",
            )
            return False
        return True

    # -- scales

    def scale(self, scale: Mapping[str, Any], path: str, missing: Any) -> None:
        self.rule("score", scale["rule"], f"{path}.rule")
        items = self.refs(scale["items"], f"{path}.items")
        missing = scale.get("missing", missing)
        if missing and missing["rule"] == "prorate" and missing["max_missing"] >= len(items):
            self.add(
                f"{path}.items",
                f"max_missing {missing['max_missing']} allows every one of "
                f"its {len(items)} items to be unanswered",
                "max_missing",
            )

    def subscales(self, subscales: list, missing: Any) -> None:
        seen: set[str] = set()
        for number, subscale in enumerate(subscales):
            path = f"scoring.subscales[{number}]"
            if subscale["id"] in seen:
                self.add(
                    f"{path}.id", f"duplicate subscale id {subscale['id']!r}", "duplicate_subscale"
                )
            seen.add(subscale["id"])
            if "missing" in subscale:
                self.rule("missing", subscale["missing"]["rule"], f"{path}.missing.rule")
            before = len(self.problems)
            self.scale(subscale, path, missing)
            if "bands" in subscale and len(self.problems) == before:
                self.bands(
                    subscale["bands"], f"{path}.bands", subscale, subscale.get("missing", missing)
                )

    def bands(self, bands: list, path: str, scale: Mapping[str, Any], missing: Any) -> None:
        ids = self.refs(scale["items"], "")
        low, high, integral = self.score_range(ids, scale["rule"], missing)
        seen: set[str] = set()
        before = len(self.problems)
        for number, band in enumerate(bands):
            here = f"{path}[{number}]"
            if band["id"] in seen:
                self.add(f"{here}.id", f"duplicate band id {band['id']!r}", "duplicate_band")
            seen.add(band["id"])
            if band["min"] > band["max"]:
                self.add(here, f"min {band['min']} is above max {band['max']}", "band_bounds")
            if number == 0:
                continue
            previous = bands[number - 1]
            if band["min"] <= previous["max"]:
                code = "band_order" if band["min"] < previous["min"] else "band_overlap"
                self.add(
                    f"{here}.min",
                    f"{band['min']} is not above the previous band's max "
                    f"{previous['max']}: bands must ascend without overlap",
                    code,
                )
            elif band["min"] - previous["max"] > 1:
                self.add(
                    f"{here}.min",
                    f"gap: scores between {previous['max']} and {band['min']} fall in no band",
                    "band_gap",
                )
        ordered = len(self.problems) == before
        if ordered and (bands[0]["min"] > low or bands[-1]["max"] < high):
            self.add(
                path,
                f"bands cover {bands[0]['min']}–{bands[-1]['max']} but the score "
                f"ranges from {_number(low)} to {_number(high)}",
                "band_coverage",
            )
        if integral:
            for number, band in enumerate(bands):
                for key in ("min", "max"):
                    if band[key] != int(band[key]):
                        self.add(
                            f"{path}[{number}].{key}",
                            f"{band[key]} is not a whole number but the score always is",
                            "band_bounds",
                        )

    def score_range(self, ids: list[str], rule: str, missing: Any) -> tuple[float, float, bool]:
        lows = [min(self.values(item)) for item in ids] or [0]
        highs = [max(self.values(item)) for item in ids] or [0]
        prorated = bool(missing) and missing["rule"] == "prorate" and missing["max_missing"] > 0
        if rule == "mean":
            return min(lows), max(highs), False
        return sum(lows), sum(highs), not prorated

    # -- critical items and validity

    def critical(self, critical: list) -> None:
        for number, entry in enumerate(critical):
            path = f"scoring.critical[{number}]"
            if entry["item"] not in self.known:
                self.add(f"{path}.item", f"unknown item {entry['item']!r}", "unknown_item")
                continue
            values = self.values(entry["item"])
            if not min(values) < entry["min"] <= max(values):
                self.add(
                    f"{path}.min",
                    f"{entry['min']} must be above the lowest option value "
                    f"{min(values)} and at most the highest {max(values)}, or the item is "
                    "always or never endorsed",
                    "critical_threshold",
                )

    def validity(self, validity: list) -> None:
        seen: set[str] = set()
        for number, entry in enumerate(validity):
            path = f"scoring.validity[{number}]"
            if not self.rule("validity", entry["rule"], f"{path}.rule"):
                continue
            if entry["rule"] in seen:
                self.add(f"{path}.rule", f"{entry['rule']} is declared twice", "duplicate_rule")
            seen.add(entry["rule"])
            getattr(self, f"_{entry['rule']}")(entry, path)

    def _lie_scale(self, entry: Mapping[str, Any], path: str) -> None:
        ids = self.refs(entry["items"], f"{path}.items")
        top = sum(max(self.values(item)) for item in ids)
        bottom = sum(min(self.values(item)) for item in ids)
        if not bottom <= entry["max"] < top:
            self.add(
                f"{path}.max",
                f"{entry['max']} must be from {bottom} up to below {top}, "
                "the highest lie score, or the rule always or never fails",
                "rule_limit",
            )

    def _long_string(self, entry: Mapping[str, Any], path: str) -> None:
        ids = self.refs(entry.get("items", "all"), f"{path}.items")
        if entry["max_run"] >= len(ids):
            self.add(
                f"{path}.max_run",
                f"{entry['max_run']} is not below the {len(ids)} items: the rule can never fail",
                "rule_limit",
            )

    def _too_fast(self, entry: Mapping[str, Any], path: str) -> None:
        self.refs(entry.get("items", "all"), f"{path}.items")

    def _inconsistent_pairs(self, entry: Mapping[str, Any], path: str) -> None:
        for number, pair in enumerate(entry["pairs"]):
            self.refs(pair, f"{path}.pairs[{number}]")
            if pair[0] == pair[1]:
                self.add(
                    f"{path}.pairs[{number}]", "a pair needs two different items", "duplicate_item"
                )
        if entry["max"] >= len(entry["pairs"]):
            self.add(
                f"{path}.max",
                f"{entry['max']} is not below the {len(entry['pairs'])} "
                "pairs: the rule can never fail",
                "rule_limit",
            )


def _texts(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, str]]]:
    """Every text object of the document with its path."""
    for key in ("title", "instructions", "timeframe"):
        if key in document:
            yield key, document[key]
    if "note" in document["population"]:
        yield "population.note", document["population"]["note"]
    for number, note in enumerate(document.get("notes", [])):
        yield f"notes[{number}]", note
    for name, options in document.get("option_sets", {}).items():
        yield from _option_texts(options, f"option_sets.{name}")
    for number, item in enumerate(document["items"]):
        yield f"items[{number}].text", item["text"]
        if isinstance(item["options"], list):
            yield from _option_texts(item["options"], f"items[{number}].options")
    scoring = document["scoring"]
    yield from _band_texts(scoring.get("bands", []), "scoring.bands")
    for number, subscale in enumerate(scoring.get("subscales", [])):
        yield f"scoring.subscales[{number}].title", subscale["title"]
        yield from _band_texts(subscale.get("bands", []), f"scoring.subscales[{number}].bands")
    for number, entry in enumerate(scoring.get("critical", [])):
        if "label" in entry:
            yield f"scoring.critical[{number}].label", entry["label"]


def _option_texts(options: list, path: str) -> Iterator[tuple[str, Mapping[str, str]]]:
    for number, option in enumerate(options):
        yield f"{path}[{number}].label", option["label"]


def _band_texts(bands: list, path: str) -> Iterator[tuple[str, Mapping[str, str]]]:
    for number, band in enumerate(bands):
        yield f"{path}[{number}].label", band["label"]


def _join(names: Iterable[str]) -> str:
    return ", ".join(names)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


# ----------------------------------------------------------------------------- building


def content_hash(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _options(document: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[Option, ...]:
    options = item["options"]
    if isinstance(options, str):
        options = document["option_sets"][options]
    return tuple(Option(o["value"], dict(o["label"])) for o in options)


def _bands(bands: list) -> tuple[Band, ...]:
    return tuple(Band(b["id"], dict(b["label"]), b["min"], b["max"]) for b in bands)


def _positions(items: Any, position: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(range(len(position))) if items == "all" else tuple(position[i] for i in items)


def _scale(
    spec: Mapping[str, Any], scale_id: str, missing: Mapping[str, Any], position: Mapping[str, int]
) -> Scale:
    missing = spec.get("missing", missing)
    return Scale(
        id=scale_id,
        title=dict(spec.get("title", {})),
        rule=spec["rule"],
        items=_positions(spec["items"], position),
        missing_rule=missing["rule"],
        max_missing=missing.get("max_missing", 0),
        bands=_bands(spec.get("bands", [])),
    )


def _validity(spec: Mapping[str, Any], position: Mapping[str, int]) -> ValidityRule:
    rule = rules.REGISTRY[spec["rule"]]
    return ValidityRule(
        rule=spec["rule"],
        items=_positions(spec.get("items", "all"), position),
        pairs=tuple((position[a], position[b]) for a, b in spec.get("pairs", [])),
        limit=float(spec[rule.limit_key or "max"]),
        max_difference=float(spec.get("max_difference", 0)),
    )


def _build(document: Mapping[str, Any], source: str) -> Instrument:
    position = {item["id"]: number for number, item in enumerate(document["items"])}
    scoring = document["scoring"]
    missing = scoring.get("missing", {"rule": "complete"})
    total = None
    if "total" in scoring:
        total = _scale(
            {**scoring["total"], "bands": scoring.get("bands", [])}, "total", missing, position
        )
    return Instrument(
        id=document["id"],
        version=document["version"],
        title=dict(document["title"]),
        languages=tuple(document["languages"]),
        items=tuple(
            Item(
                id=item["id"],
                text=dict(item["text"]),
                options=_options(document, item),
                reverse=item.get("reverse", False),
                required=item.get("required", True),
            )
            for item in document["items"]
        ),
        total=total,
        subscales=tuple(
            _scale(sub, sub["id"], missing, position) for sub in scoring.get("subscales", [])
        ),
        critical=tuple(
            Critical(position[c["item"]], c["min"], dict(c.get("label", {})))
            for c in scoring.get("critical", [])
        ),
        validity=tuple(_validity(spec, position) for spec in scoring.get("validity", [])),
        content_hash=content_hash(document),
        source=source,
        document=document,
    )


def problems_of(document: Any) -> list[Problem]:
    """Everything wrong with a parsed document; empty when it is a usable instrument."""
    if not isinstance(document, dict):
        return [Problem("", "the file must hold a mapping (id: ..., items: ...)", "schema")]
    problems = _schema_problems(document)
    return problems or _Checker(document).run()


def instrument_from_document(document: Any, source: str = "<document>") -> Instrument:
    problems = problems_of(document)
    if problems:
        raise InstrumentError(source, problems)
    return _build(document, source)


def parse_instrument(text: str | bytes, source: str = "<text>") -> Instrument:
    """An instrument from YAML (or JSON) text; raises InstrumentError with every problem."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InstrumentError(
                source, [Problem("", f"not UTF-8 text ({error.reason})", "yaml")]
            ) from None
    document, problems = _parse_yaml(text)
    if problems:
        raise InstrumentError(source, problems)
    return instrument_from_document(document, source)


def load_instrument(path: Path | str) -> Instrument:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InstrumentError(
            path.name, [Problem("", error.strerror or str(error), "io")]
        ) from None
    return parse_instrument(data, str(path))


# ----------------------------------------------------------------------------- catalog


def _version_key(version: str) -> tuple:
    """ "1.10" after "1.9": numeric parts compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[._-]", version))


@dataclass
class Catalog:
    """The instruments of the shipped directory and any extra (a school's own) ones."""

    instruments: dict[str, Instrument] = field(default_factory=dict)  # by id@version
    files: dict[Path, Instrument | InstrumentError] = field(default_factory=dict)
    problems: list[InstrumentError] = field(default_factory=list)

    def add(self, path: Path) -> None:
        if any(path.resolve() == known.resolve() for known in self.files):
            return  # the same file named twice (e.g. a shipped file passed to check)
        try:
            instrument = load_instrument(path)
        except InstrumentError as error:
            self.files[path] = error
            self.problems.append(error)
            return
        self.files[path] = instrument
        other = self.instruments.get(instrument.ref)
        if other is not None:
            error = InstrumentError(
                str(path),
                [
                    Problem(
                        "id",
                        f"{instrument.ref} is already defined by {other.source}",
                        "duplicate_instrument",
                    )
                ],
            )
            self.files[path] = error
            self.problems.append(error)
            return
        self.instruments[instrument.ref] = instrument

    def get(self, ref: str) -> Instrument:
        """By "id" (its highest version) or "id@version"."""
        if ref in self.instruments:
            return self.instruments[ref]
        versions = [i for i in self.instruments.values() if i.id == ref]
        if not versions:
            known = ", ".join(sorted({i.id for i in self.instruments.values()}))
            raise UnknownInstrument(f"no instrument {ref!r} (known: {known or 'none'})")
        return max(versions, key=lambda i: _version_key(i.version))

    def latest(self) -> list[Instrument]:
        return sorted(
            (self.get(identifier) for identifier in {i.id for i in self.instruments.values()}),
            key=lambda i: i.id,
        )


def instrument_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())


def load_catalog(extra_dirs: Sequence[Path | str] = (), shipped: bool = True) -> Catalog:
    """Load every instrument file; files with problems are kept in `problems`."""
    catalog = Catalog()
    directories = ([shipped_dir()] if shipped else []) + [Path(d) for d in extra_dirs]
    for directory in directories:
        if not directory.is_dir():
            catalog.problems.append(
                InstrumentError(str(directory), [Problem("", "not a directory", "io")])
            )
            continue
        for path in instrument_files(directory):
            catalog.add(path)
    return catalog


def looks_like_path(ref: str) -> bool:
    return ref.endswith((*SUFFIXES, ".json")) or "/" in ref or "\\" in ref


def resolve(ref: str, extra_dirs: Sequence[Path | str] = ()) -> Instrument:
    """A shipped (or extra-directory) instrument by id or id@version, or a file by path.

    Raises UnknownInstrument, or InstrumentError when the file is not a valid instrument.
    Only the requested file must be valid: a broken neighbour does not block it."""
    if looks_like_path(ref) or Path(ref).is_file():
        if not Path(ref).is_file():
            raise UnknownInstrument(f"no instrument file {ref}")
        return load_instrument(ref)
    return load_catalog(extra_dirs).get(ref)
