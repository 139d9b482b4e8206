"""The transparent risk model: a points scorecard that turns a student's scores, validity,
observations and history into a tier (red 一级, orange 二级, yellow 三级, none 无预警)
with an explanation whose points add up to the total.

A model is a readable JSON document (see `screening/risk_models/default-1.json`):
features, each with ordered bins (least concern first) and the points of each bin;
rules that set a tier whatever the points (a critical item makes red); the tier
thresholds on the points; and, for a trained model, a summary of its training data and
its card. Pure: numpy and pandas, no Flask, no SQLAlchemy.

The input is a frame with one row per student and the columns the model's features and
rules name: `<instrument>_band` (band id), `<instrument>_total`, `critical` (any critical
item endorsed), `observations` (a count), `observations_urgent`, `previous_tier`, and any
context columns a trained model uses. A missing column or an empty cell is "not
measured": the feature's `missing` points, shown as such.

Training from counselor-confirmed outcomes (`fit`) and the card's exact shape
(`model_card`) are in screening.risk_fit."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TIERS = ("red", "orange", "yellow", "none")  # worst first
FLAGGED = TIERS[:3]
TIER_RANK = {tier: rank for rank, tier in enumerate(reversed(TIERS))}  # none 0 .. red 3
KINDS = ("category", "number", "flag")
DEFAULT_MODEL = "default-1.json"
DEFAULT_VERSION = "default-1"  # the version inside DEFAULT_MODEL
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "否", ""})


MIN_OUTCOMES = 100  # the fewest confirmed outcomes a model is trained on


class ModelError(ValueError):
    """A model document that cannot be used, with the JSON path of the problem."""


class TooFewOutcomes(ModelError):
    """Not enough confirmed outcomes to learn from: the count, the minimum and the
    positives (outcomes that needed intervention)."""

    def __init__(self, message: str, count: int, minimum: int, positives: int) -> None:
        super().__init__(message)
        self.count, self.minimum, self.positives = count, minimum, positives


Text = Mapping[str, str]  # {"zh": ..., "en": ...}


@dataclass(frozen=True)
class Bin:
    id: str
    label: Text
    points: int
    values: tuple[str, ...] = ()  # category and flag bins
    low: float | None = None  # number bins: [low, high)
    high: float | None = None


@dataclass(frozen=True)
class Feature:
    id: str
    column: str
    kind: str
    label: Text
    bins: tuple[Bin, ...]
    missing_label: Text
    missing_points: int = 0
    detail: str | None = None  # a column shown beside the bin, e.g. the total score
    source: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    column: str
    tier: str
    label: Text
    source: str = ""


@dataclass(frozen=True)
class Model:
    version: str
    name: Text
    thresholds: Mapping[str, int]  # red, orange, yellow: the least points of each tier
    features: tuple[Feature, ...]
    rules: tuple[Rule, ...]
    document: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def columns(self) -> list[str]:
        """Every input column the model reads."""
        named = [f.column for f in self.features] + [f.detail for f in self.features if f.detail]
        return list(dict.fromkeys(named + [r.column for r in self.rules]))

    def tier_of_points(self, points: int) -> str:
        for tier in FLAGGED:
            if points >= self.thresholds[tier]:
                return tier
        return "none"


# ----------------------------------------------------------------------------- reading


def _text(value: Any, path: str) -> Text:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ModelError(f'{path}: expected {{"zh": ..., "en": ...}}')
    if "zh" not in value:
        raise ModelError(f"{path}: the Chinese text (zh) is required")
    return dict(value)


def _bin(raw: Mapping[str, Any], kind: str, path: str) -> Bin:
    try:
        points = int(raw["points"])
        if points != raw["points"]:
            raise ValueError
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{path}.points: a whole number of points is required") from error
    if kind == "number":
        low = raw.get("low")
        if not isinstance(low, int | float):
            raise ModelError(f"{path}.low: a number is required")
        high = raw.get("high")
        return Bin(str(raw["id"]), _text(raw.get("label"), f"{path}.label"), points, (), low, high)
    values = tuple(str(v).lower() if kind == "flag" else str(v) for v in raw.get("values", ()))
    if not values:
        raise ModelError(f"{path}.values: at least one value is required")
    return Bin(str(raw["id"]), _text(raw.get("label"), f"{path}.label"), points, values)


def _feature(raw: Mapping[str, Any], path: str) -> Feature:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ModelError(f"{path}.kind: one of {', '.join(KINDS)}")
    bins = tuple(_bin(b, kind, f"{path}.bins[{i}]") for i, b in enumerate(raw.get("bins", ())))
    if not bins:
        raise ModelError(f"{path}.bins: at least one bin is required")
    if kind == "number":
        for i, (a, b) in enumerate(pairwise(bins)):
            if a.high != b.low:
                raise ModelError(f"{path}.bins[{i + 1}].low: number bins must meet ({a.high})")
    missing = raw.get("missing") or {"label": {"zh": "无", "en": "none"}, "points": 0}
    return Feature(
        id=str(raw["id"]),
        column=str(raw["column"]),
        kind=kind,
        label=_text(raw.get("label"), f"{path}.label"),
        bins=bins,
        missing_label=_text(missing.get("label"), f"{path}.missing.label"),
        missing_points=int(missing.get("points", 0)),
        detail=raw.get("detail"),
        source=str(raw.get("source", "")),
    )


def _rule(raw: Mapping[str, Any], path: str) -> Rule:
    if raw.get("tier") not in FLAGGED:
        raise ModelError(f"{path}.tier: one of {', '.join(FLAGGED)}")
    return Rule(
        str(raw["id"]),
        str(raw["column"]),
        raw["tier"],
        _text(raw.get("label"), f"{path}.label"),
        str(raw.get("source", "")),
    )


def model_from_document(document: Mapping[str, Any]) -> Model:
    """Check and read a model document (the parsed JSON)."""
    if document.get("format") != 1:
        raise ModelError("format: only format 1 is understood")
    thresholds = document.get("thresholds") or {}
    if set(thresholds) != set(FLAGGED) or not all(isinstance(thresholds[t], int) for t in FLAGGED):
        raise ModelError("thresholds: whole numbers for red, orange and yellow are required")
    if not thresholds["red"] >= thresholds["orange"] >= thresholds["yellow"]:
        raise ModelError("thresholds: red ≥ orange ≥ yellow is required")
    features = tuple(_feature(f, f"features[{i}]") for i, f in enumerate(document["features"]))
    rules = tuple(_rule(r, f"rules[{i}]") for i, r in enumerate(document.get("rules", ())))
    return Model(
        version=str(document["version"]),
        name=_text(document.get("name"), "name"),
        thresholds=dict(thresholds),
        features=features,
        rules=rules,
        document=document,
    )


def load_model(path: str | Path) -> Model:
    """A model from its JSON file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelError(f"{Path(path).name}: not JSON ({error})") from error
    return model_from_document(document)


@functools.cache
def default_model() -> Model:
    """The shipped model, whose points come from the instruments' published bands."""
    text = resources.files("screening.risk_models").joinpath(DEFAULT_MODEL).read_text("utf-8")
    return model_from_document(json.loads(text))


# ----------------------------------------------------------------------------- tiering


@dataclass(frozen=True)
class Contribution:
    """One feature's part of a student's points."""

    feature: str
    bin: str | None  # None: not measured
    points: int
    label: Text  # the feature's label
    bin_label: Text
    detail: float | None  # e.g. the total score behind the band

    def text(self, language: str = "zh") -> str:
        name = self.label.get(language) or self.label["zh"]
        level = self.bin_label.get(language) or self.bin_label["zh"]
        shown = f"{name} {level}"
        if self.detail is not None:
            number = f"{self.detail:g}"
            shown += f"（{number} 分）" if language == "zh" else f" ({number} points)"
        sign = "+" if self.points >= 0 else "−"
        colon = "：" if language == "zh" else ": "
        return f"{shown}{colon}{sign}{abs(self.points)}"


@dataclass(frozen=True)
class Assessments:
    """The tiers of many students, one array element per input row.

    bins: int16 (rows × features), the bin index or −1 when not measured; points: the
    points each feature gave (rows × features); total: their sum; rule: the id of the
    first rule that fired, or None; tier: the worse of the points' tier and the rule's."""

    model: Model
    bins: np.ndarray
    points: np.ndarray
    details: np.ndarray  # float64 (rows × features), NaN when the feature has no detail
    total: np.ndarray
    rule: np.ndarray
    tier: np.ndarray

    def __len__(self) -> int:
        return len(self.total)

    def contributions(self, row: int) -> list[Contribution]:
        """Every feature's contribution to the row's points, in the model's order."""
        found = []
        for column, feature in enumerate(self.model.features):
            index = int(self.bins[row, column])
            detail = self.details[row, column]
            detail_value = None if np.isnan(detail) else float(detail)
            if index < 0:
                found.append(
                    Contribution(
                        feature.id,
                        None,
                        int(self.points[row, column]),
                        feature.label,
                        feature.missing_label,
                        None,
                    )
                )
                continue
            chosen = feature.bins[index]
            found.append(
                Contribution(
                    feature.id,
                    chosen.id,
                    int(self.points[row, column]),
                    feature.label,
                    chosen.label,
                    detail_value,
                )
            )
        return found

    def rule_label(self, row: int, language: str = "zh") -> str | None:
        rule_id = self.rule[row]
        for rule in self.model.rules:
            if rule.id == rule_id:
                return rule.label.get(language) or rule.label["zh"]
        return None

    def reasons(self, row: int, language: str = "zh") -> str:
        """The explanation in words: the rule that fired, then every contribution that
        gave points; what is listed adds up to the total."""
        return explain_text(self.contributions(row), self.rule_label(row, language), language)

    def reasons_all(self, language: str = "zh") -> list[str]:
        """reasons(row) of every row, the same text, computed per distinct (bin, detail)
        of each feature rather than per row: 100,000 students in a fraction of a second."""
        width = len(self.model.features)
        parts: list[np.ndarray] = []
        for column in range(width):
            index = self.bins[:, column].astype(np.int64)
            detail = np.where(np.isnan(self.details[:, column]), -np.inf, self.details[:, column])
            detail_codes, shown = pd.factorize(detail)
            pairs, inverse = np.unique((index + 1) * len(shown) + detail_codes, return_inverse=True)
            texts = np.array(
                [
                    self._part(column, int(p // len(shown)) - 1, shown[p % len(shown)], language)
                    for p in pairs.tolist()
                ],
                dtype=object,
            )
            parts.append(texts[inverse])
        labels = {r.id: r.label.get(language) or r.label["zh"] for r in self.model.rules}
        rules = [labels.get(r) if r else None for r in self.rule.tolist()]
        return (
            [
                _joined([p for p in row if p], rule, language)
                for row, rule in zip(zip(*parts, strict=True), rules, strict=True)
            ]
            if width
            else [_joined([], rule, language) for rule in rules]
        )

    def _part(self, column: int, index: int, detail: float, language: str) -> str:
        """The text of one feature's contribution ("" when it gave no points)."""
        feature = self.model.features[column]
        if index < 0:
            points, chosen, label, shown = feature.missing_points, None, feature.missing_label, None
        else:
            chosen = feature.bins[index]
            points, label = chosen.points, chosen.label
            shown = None if detail == -np.inf else float(detail)
        if points == 0:
            return ""
        bin_id = chosen.id if chosen else None
        return Contribution(feature.id, bin_id, points, feature.label, label, shown).text(language)

    def to_frame(self, language: str = "zh") -> pd.DataFrame:
        """tier, points, reasons and rule, one row per input row."""
        return pd.DataFrame(
            {
                "tier": self.tier,
                "points": self.total,
                "reasons": self.reasons_all(language),
                "rule": [r or "" for r in self.rule],
            }
        )


def explain_text(
    contributions: Sequence[Contribution], rule_label: str | None, language: str = "zh"
) -> str:
    """ "规则：…；PHQ-9 中重度（17 分）：+30；GAD-7 中度（12 分）：+20"."""
    return _joined([c.text(language) for c in contributions if c.points != 0], rule_label, language)


def _joined(parts: list[str], rule_label: str | None, language: str) -> str:
    separator = "；" if language == "zh" else "; "
    if rule_label:
        parts = [("规则：" if language == "zh" else "Rule: ") + rule_label, *parts]
    if not parts:
        return "各项均未计分（0 分）" if language == "zh" else "No feature scored (0 points)"
    return separator.join(parts)


def _flags(values: pd.Series) -> np.ndarray:
    """True, False or missing (as 1, 0, −1) from the ways spreadsheets write booleans."""
    return _per_distinct(values, _flag_of, np.int16)


def _flag_of(value: Any) -> int:
    if _is_missing(value):
        return -1
    word = str(value).strip().lower()
    return 1 if word in TRUE_WORDS else 0 if word in FALSE_WORDS and word != "" else -1


def _per_distinct(values: pd.Series, convert: Any, dtype: Any) -> np.ndarray:
    """convert(value) for every value, called once per distinct value (a column of
    100,000 cells holds a handful): pandas' factorize, then a lookup."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([convert(u) for u in uniques] + [convert(None)], dtype=dtype)
    return table[codes]  # code −1 (missing) picks the table's last entry


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _bin_indices(feature: Feature, values: pd.Series) -> np.ndarray:
    """Each row's bin of the feature, −1 when not measured (or outside every bin)."""
    if feature.kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        lows = np.array([b.low for b in feature.bins], dtype=np.float64)
        index = np.searchsorted(lows, numbers, side="right") - 1
        last = feature.bins[-1].high
        outside = np.isnan(numbers) | (index < 0)
        if last is not None:
            outside |= numbers >= last
        return np.where(outside, -1, index).astype(np.int16)
    if feature.kind == "flag":
        flags = _flags(values)
        lookup = {v: i for i, b in enumerate(feature.bins) for v in b.values}
        yes, no = lookup.get("true", -1), lookup.get("false", -1)
        return np.select([flags == 1, flags == 0], [yes, no], -1).astype(np.int16)
    lookup = {v: i for i, b in enumerate(feature.bins) for v in b.values}
    return _per_distinct(
        values, lambda v: -1 if _is_missing(v) else lookup.get(str(v).strip(), -1), np.int16
    )


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].reset_index(drop=True)
    return pd.Series([None] * len(frame), dtype=object)


def assess(model: Model, frame: pd.DataFrame) -> Assessments:
    """Tier every row of the frame, with the points of each feature."""
    rows, width = len(frame), len(model.features)
    bins = np.full((rows, width), -1, dtype=np.int16)
    points = np.zeros((rows, width), dtype=np.int32)
    details = np.full((rows, width), np.nan)
    for column, feature in enumerate(model.features):
        index = _bin_indices(feature, _column(frame, feature.column))
        table = np.array([b.points for b in feature.bins] + [feature.missing_points])
        bins[:, column] = index
        points[:, column] = table[index]  # −1 picks the missing points (the table's last)
        if feature.detail:
            shown = pd.to_numeric(_column(frame, feature.detail), errors="coerce")
            details[:, column] = np.where(index >= 0, shown.to_numpy(dtype=np.float64), np.nan)
    total = points.sum(axis=1)
    tier_rank = np.zeros(rows, dtype=np.int16)
    for tier in ("yellow", "orange", "red"):
        tier_rank[total >= model.thresholds[tier]] = TIER_RANK[tier]
    rule = np.full(rows, None, dtype=object)
    for each in model.rules:
        fired = (_flags(_column(frame, each.column)) == 1) & (rule == None)  # noqa: E711
        rule[fired] = each.id
        tier_rank = np.where(fired, np.maximum(tier_rank, TIER_RANK[each.tier]), tier_rank)
    names = np.array(list(reversed(TIERS)), dtype=object)
    return Assessments(model, bins, points, details, total, rule, names[tier_rank])


def worse(a: str, b: str) -> str:
    """The worse of two tiers."""
    return a if TIER_RANK[a] >= TIER_RANK[b] else b


# ----------------------------------------------------------------------------- training


def fit(frame: pd.DataFrame, labels: Any, **options: Any) -> Model:
    """Learn a model from counselor-confirmed outcomes: screening.risk_fit.fit (the
    method, the card's shape and the refusals are in that module's docstring)."""
    from screening import risk_fit  # it builds on this module

    return risk_fit.fit(frame, labels, **options)


def model_card(model: Model) -> dict[str, Any] | None:
    """The model's card (shape: screening.risk_fit's docstring); None when not trained."""
    card = model.document.get("card")
    return dict(card) if card else None
