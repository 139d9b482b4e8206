"""Training a risk model (screening.risk) from counselor-confirmed outcomes, and its card.
Pure: numpy, pandas and scikit-learn; no Flask, no SQLAlchemy.

How `fit` learns (the same seed and data give the same document, key for key):

- Features and bins are the template model's (the shipped default's: the instruments'
  published bands). A label is 1 when the counselor confirmed that the student needs
  intervention (reviewed tier red or orange), 0 otherwise.
- Bins are encoded cumulatively ("thermometer": step k of a feature is 1 when the
  student's bin index is k or more; a feature not measured is all 0, like its lowest
  bin). A scikit-learn LogisticRegression (lbfgs, L2 with C = 1, seeded) learns one
  coefficient per step; a step whose coefficient is negative is dropped (its bin merges
  with the one below) and the rest refitted, until none is negative. So a worse bin never
  gets fewer points than a better one: monotone by construction.
- Observations are shrunk harder: they are what classmates and teachers noticed, not a
  measurement, and a district's outcomes often follow them because the counselor read
  them. The steps of the features in OBSERVATION_FEATURES (`observations`,
  `observations_urgent`) enter the design matrix multiplied by OBSERVATION_SCALE (0.5);
  a coefficient b' learnt on the scaled column is b = 0.5 × b' on the 0/1 column, so the
  L2 penalty on it is (b / 0.5)² = 4 × b²: four times the other steps' penalty. The
  coefficients are converted back (× 0.5) before points are computed, and the monotone
  rule is unchanged (scaling by a positive number keeps the sign). The shipped default
  model gives them 0 points until a district trains one.
- Points on a fixed scale: POINTS_TO_DOUBLE_ODDS (20) points double the odds; the lowest
  bin and "not measured" give 0; each step's points are its coefficient × 20 / ln 2,
  rounded, and a bin's points are the sum of its steps. The model writes its `scale`
  (the intercept: the log-odds at 0 points) so that points read as a probability:
  p = 1 / (1 + exp(−(intercept + points × ln 2 / 20))).
- Tier thresholds are the least points whose probability reaches the cut points written
  in the model (CUT_POINTS): red p ≥ 0.6, orange p ≥ 0.3, yellow p ≥ 0.1. The template's
  rules are kept (a critical item makes red whatever the points).
- Context features (boarding, left-behind) are tried one at a time, in order, and kept
  only if both hold: the cross-validated Brier score improves (is lower by at least
  MIN_BRIER_GAIN, 0.001: less is noise), and the
  fairness check passes: the gap in true-positive rate between the sexes (largest minus
  smallest, over the sexes with at least SUPPRESS_BELOW students and one positive) does
  not widen by more than FAIRNESS_WIDENING (0.05). Without a sex column in `groups`, or
  with fewer than two such sexes, the check cannot be made and context is not used.
- Refused (TooFewOutcomes) below `min_outcomes` outcomes, or when either class has fewer
  members than `folds`.
- The card's figures are cross-validated: stratified k-fold (shuffled with the seed);
  each fold fits a whole scorecard as above on the other folds and tiers its held-out
  students with it (rules included). AUC and Brier score are of the held-out points'
  probabilities; flag rates and true-positive rates are of the held-out tiers.

The card (document["card"], also `model_card(model)`), keys stable for the page:

    {
      "version": "2026-1", "previous": "default-1" | None,
      "outcomes": 240,                # labelled students
      "positives": 61,                # of them labelled 1
      "folds": 5, "seed": 0,
      "auc": 0.81, "brier": 0.14,     # cross-validated, 4 decimals
      "cut_points": {"red": 0.6, "orange": 0.3, "yellow": 0.1},
      "points_to_double_odds": 20,
      "calibration": [                # fixed probability bins of width 0.1, empty ones left out
        {"bin": "0.0-0.1", "low": 0.0, "high": 0.1,
         "predicted": 0.05, "observed": 0.04, "n": 120}, ...],
      "groups": {                     # "sex", "grade", "school": whichever groups had
        "sex": [                      # (values as given, as text; "unknown" for empty)
          {"group": "F", "n": 130, "positives": 33, "flag_rate": 0.42, "tpr": 0.88,
           "suppressed": False},
          {"group": "X", "n": None, "positives": None, "flag_rate": None, "tpr": None,
           "suppressed": True}],      # under SUPPRESS_BELOW (5) students: no figures
        ...},                         # tpr is None when the group has no positive
      "fairness": {"measure": "tpr_gap_by_sex", "limit": 0.05, "gap": 0.06 | None},
      "changes": [                    # against the previous model; [] without one
        {"feature": "phq9", "bin": "moderate", "before": 20, "after": 26},
        {"feature": "thresholds", "bin": "red", "before": 60, "after": 71}],
                                      # before/after None: the bin is new / gone
      "context": [
        {"feature": "boarding", "used": False,
         "why": "no_gain" | "improves" | "widens_gap" | "no_variation" | "no_groups",
         "brier_without": 0.14, "brier_with": 0.141 | None,
         "gap_without": 0.05 | None, "gap_with": 0.07 | None}],
      "training": {                   # also document["training"]
        "outcomes": 240, "positives": 61,
        "by_tier": {"red": 20, "orange": 41, "yellow": 90, "none": 89},  # if groups has
                                      # "reviewed_tier"; {} otherwise
        "from": "2026-09-01", "to": "2026-11-30",   # if groups has "date"; else None
        "features": ["phq9", "gad7", ...]}          # the features the model uses
    }
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from screening.risk import (
    FLAGGED,
    MIN_OUTCOMES,
    TIERS,
    Model,
    ModelError,
    TooFewOutcomes,
    assess,
    model_card,
    model_from_document,
)

POINTS_TO_DOUBLE_ODDS = 20
CUT_POINTS = {"red": 0.6, "orange": 0.3, "yellow": 0.1}
SUPPRESS_BELOW = 5
FAIRNESS_WIDENING = 0.05
MIN_BRIER_GAIN = 0.001  # below this, a context feature's gain is noise
GROUP_KINDS = ("sex", "grade", "school")
CONTEXT = ("boarding", "left_behind")
# The features whose steps bear 1 / OBSERVATION_SCALE² (4×) the L2 penalty (see above).
OBSERVATION_FEATURES = ("observations", "observations_urgent")
OBSERVATION_SCALE = 0.5
DECIMALS = 4
__all__ = ["MIN_OUTCOMES", "TooFewOutcomes", "fit", "model_card"]

_NO_YES = [
    {"id": "no", "values": ["false"], "label": {"zh": "否", "en": "no"}, "points": 0},
    {"id": "yes", "values": ["true"], "label": {"zh": "是", "en": "yes"}, "points": 0},
]
CONTEXT_FEATURES: dict[str, dict[str, Any]] = {
    "boarding": {
        "id": "boarding",
        "column": "boarding",
        "kind": "flag",
        "label": {"zh": "住校", "en": "boarding"},
        "missing": {"label": {"zh": "未登记", "en": "not recorded"}, "points": 0},
        "bins": _NO_YES,
    },
    "left_behind": {
        "id": "left_behind",
        "column": "left_behind",
        "kind": "flag",
        "label": {"zh": "留守儿童", "en": "left-behind child"},
        "missing": {"label": {"zh": "未登记", "en": "not recorded"}, "points": 0},
        "bins": _NO_YES,
    },
}


# ----------------------------------------------------------------------------- fitting


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _steps(model: Model, frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The thermometer matrix (rows × steps) and each column's (feature, step k ≥ 1)."""
    bins = assess(model, frame).bins
    slots = [(j, k) for j, f in enumerate(model.features) for k in range(1, len(f.bins))]
    matrix = np.zeros((len(frame), len(slots)), dtype=np.float64)
    for column, (j, k) in enumerate(slots):
        matrix[:, column] = bins[:, j] >= k
    return matrix, slots


def _monotone_fit(matrix: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """Intercept and one coefficient per step, none negative: negative steps are dropped
    and the rest refitted until none is."""
    active = np.ones(matrix.shape[1], dtype=bool)
    while True:
        coefficients = np.zeros(matrix.shape[1])
        if not active.any():
            return _logit(float(np.clip(labels.mean(), 1e-6, 1 - 1e-6))), coefficients
        fitted = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        fitted.fit(matrix[:, active], labels)
        coefficients[active] = fitted.coef_[0]
        negative = active & (coefficients < 0)
        if not negative.any():
            return float(fitted.intercept_[0]), coefficients
        active &= ~negative


def _document(
    template: Mapping[str, Any],
    features: Sequence[Mapping[str, Any]],
    slots: Sequence[tuple[int, int]],
    intercept: float,
    coefficients: np.ndarray,
    version: str,
) -> dict[str, Any]:
    """A scorecard document: the template's rules, the features with learnt points."""
    scale = POINTS_TO_DOUBLE_ODDS / math.log(2)
    step_points = {
        slot: round(float(c) * scale) for slot, c in zip(slots, coefficients, strict=True)
    }
    out_features = []
    for j, raw in enumerate(features):
        feature = copy.deepcopy(dict(raw))
        running = 0
        for k, bin_ in enumerate(feature["bins"]):
            running += step_points.get((j, k), 0)
            bin_["points"] = running
        feature["missing"] = dict(feature.get("missing") or {})
        feature["missing"].setdefault("label", {"zh": "无", "en": "none"})
        feature["missing"]["points"] = 0
        out_features.append(feature)
    thresholds = {
        tier: max(0, math.ceil(round((_logit(CUT_POINTS[tier]) - intercept) * scale, 9)))
        for tier in FLAGGED
    }
    return {
        "format": 1,
        "version": version,
        "name": {"zh": f"本区训练模型 {version}", "en": f"District-trained model {version}"},
        "basis": "trained",
        "description": {
            "zh": (
                "由本区咨询师确认的结果训练：分级逐级累加编码的逻辑回归（单调：更严重的"
                f"分级不会得分更低），{POINTS_TO_DOUBLE_ODDS} 分使风险比翻倍；等级阈值取自"
                "概率切点：一级 ≥ 0.6，二级 ≥ 0.3，三级 ≥ 0.1。关键题目规则照旧。"
            ),
            "en": (
                "Trained on the district's counselor-confirmed outcomes: a logistic "
                "regression on cumulatively encoded bins (monotone: a worse bin never "
                f"scores less); {POINTS_TO_DOUBLE_ODDS} points double the odds; the tier "
                "thresholds come from probability cut points: red ≥ 0.6, orange ≥ 0.3, "
                "yellow ≥ 0.1. The critical-item rule is kept."
            ),
        },
        "scale": {
            "points_to_double_odds": POINTS_TO_DOUBLE_ODDS,
            "intercept": round(intercept, 6),
            "cut_points": dict(CUT_POINTS),
        },
        "thresholds": thresholds,
        "features": out_features,
        "rules": copy.deepcopy(list(template.get("rules", []))),
        "training": None,
        "card": None,
    }


def column_scales(
    model: Model, slots: Sequence[tuple[int, int]], observation_scale: float = OBSERVATION_SCALE
) -> np.ndarray:
    """Each step column's factor in the design matrix: `observation_scale` for the
    observations' steps (shrunk harder), 1 for the others."""
    return np.array(
        [
            observation_scale if model.features[j].id in OBSERVATION_FEATURES else 1.0
            for j, _k in slots
        ],
        dtype=np.float64,
    )


def _train(
    template: Mapping[str, Any],
    features: Sequence[Mapping[str, Any]],
    frame: pd.DataFrame,
    labels: np.ndarray,
    seed: int,
    version: str,
    observation_scale: float = OBSERVATION_SCALE,
) -> dict[str, Any]:
    shell = model_from_document({**_document(template, features, [], 0.0, np.zeros(0), version)})
    matrix, slots = _steps(shell, frame)
    scales = column_scales(shell, slots, observation_scale)
    intercept, coefficients = _monotone_fit(matrix * scales, labels, seed)
    # Back to the 0/1 columns: b = scale × b' (see the module's docstring).
    return _document(template, features, slots, intercept, coefficients * scales, version)


def probability(model: Model, points: np.ndarray) -> np.ndarray:
    """The probability the model's points stand for (a trained model's scale)."""
    scale = model.document.get("scale") or {}
    intercept = float(scale.get("intercept", 0.0))
    per_point = math.log(2) / float(scale.get("points_to_double_odds", POINTS_TO_DOUBLE_ODDS))
    return 1 / (1 + np.exp(-(intercept + np.asarray(points, dtype=np.float64) * per_point)))


def cross_validate(
    template: Mapping[str, Any],
    features: Sequence[Mapping[str, Any]],
    frame: pd.DataFrame,
    labels: np.ndarray,
    seed: int,
    folds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out probabilities and tiers: each fold tiered by a scorecard fitted on the
    others (stratified, shuffled with the seed)."""
    chances = np.zeros(len(frame))
    tiers = np.empty(len(frame), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held in splitter.split(np.zeros(len(labels)), labels):
        document = _train(
            template, features, frame.iloc[train].reset_index(drop=True), labels[train], seed, "cv"
        )
        fold_model = model_from_document(document)
        result = assess(fold_model, frame.iloc[held].reset_index(drop=True))
        chances[held] = probability(fold_model, result.total)
        tiers[held] = result.tier
    return chances, tiers


# ----------------------------------------------------------------------------- card parts


def _group_values(values: pd.Series) -> np.ndarray:
    return np.array(
        ["unknown" if v is None or v is pd.NA or v != v or v == "" else str(v) for v in values],
        dtype=object,
    )


def _sort_key(value: str) -> tuple[int, Any]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def group_figures(
    values: pd.Series, labels: np.ndarray, flagged: np.ndarray
) -> list[dict[str, Any]]:
    """Flag rate and true-positive rate per group; groups under SUPPRESS_BELOW students
    are shown as suppressed, with no figures."""
    names = _group_values(values)
    rows = []
    for name in sorted(set(names.tolist()), key=_sort_key):
        inside = names == name
        n = int(inside.sum())
        if n < SUPPRESS_BELOW:
            rows.append(
                {
                    "group": name,
                    "n": None,
                    "positives": None,
                    "flag_rate": None,
                    "tpr": None,
                    "suppressed": True,
                }
            )
            continue
        positives = inside & (labels == 1)
        tpr = float(flagged[positives].mean()) if positives.any() else None
        rows.append(
            {
                "group": name,
                "n": n,
                "positives": int(positives.sum()),
                "flag_rate": round(float(flagged[inside].mean()), DECIMALS),
                "tpr": None if tpr is None else round(tpr, DECIMALS),
                "suppressed": False,
            }
        )
    return rows


def tpr_gap(sexes: pd.Series, labels: np.ndarray, tiers: np.ndarray) -> float | None:
    """Largest minus smallest true-positive rate over the sexes that have enough
    students and a positive; None when fewer than two such."""
    rates = [
        row["tpr"]
        for row in group_figures(sexes, labels, np.isin(tiers, FLAGGED))
        if not row["suppressed"] and row["tpr"] is not None
    ]
    return round(max(rates) - min(rates), DECIMALS) if len(rates) >= 2 else None


def calibration(chances: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
    """Predicted mean and observed rate in fixed probability bins of width 0.1."""
    edges = np.round(np.linspace(0, 1, 11), 1)
    slot = np.clip(np.searchsorted(edges, chances, side="right") - 1, 0, 9)
    rows = []
    for index in range(10):
        inside = slot == index
        if not inside.any():
            continue
        low, high = float(edges[index]), float(edges[index + 1])
        rows.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "low": low,
                "high": high,
                "predicted": round(float(chances[inside].mean()), DECIMALS),
                "observed": round(float(labels[inside].mean()), DECIMALS),
                "n": int(inside.sum()),
            }
        )
    return rows


def changes(document: Mapping[str, Any], previous: Model | None) -> list[dict[str, Any]]:
    """Bins whose points changed, and thresholds, against the previous model."""
    if previous is None:
        return []
    before: dict[tuple[str, str], int] = {
        (f.id, b.id): b.points for f in previous.features for b in f.bins
    }
    before.update({("thresholds", t): int(previous.thresholds[t]) for t in FLAGGED})
    after: dict[tuple[str, str], int] = {
        (f["id"], b["id"]): b["points"] for f in document["features"] for b in f["bins"]
    }
    after.update({("thresholds", t): int(document["thresholds"][t]) for t in FLAGGED})
    found = []
    for key in list(after) + [k for k in before if k not in after]:
        if before.get(key) != after.get(key):
            found.append(
                {
                    "feature": key[0],
                    "bin": key[1],
                    "before": before.get(key),
                    "after": after.get(key),
                }
            )
    return found


def _training_summary(
    groups: pd.DataFrame | None, labels: np.ndarray, features: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    by_tier: dict[str, int] = {}
    first = last = None
    if groups is not None and "reviewed_tier" in groups:
        counts = groups["reviewed_tier"].value_counts()
        by_tier = {tier: int(counts.get(tier, 0)) for tier in TIERS}
    if groups is not None and "date" in groups:
        dates = pd.to_datetime(groups["date"], errors="coerce").dropna()
        if len(dates):
            first, last = dates.min().date().isoformat(), dates.max().date().isoformat()
    return {
        "outcomes": len(labels),
        "positives": int(labels.sum()),
        "by_tier": by_tier,
        "from": first,
        "to": last,
        "features": [f["id"] for f in features],
    }


# ----------------------------------------------------------------------------- fit


def _labels(labels: Any, rows: int) -> np.ndarray:
    values = np.asarray(labels)
    if values.shape != (rows,):
        raise ModelError(f"labels: {values.shape[0] if values.ndim else 0} labels for {rows} rows")
    if not np.isin(values, (0, 1, True, False)).all():
        raise ModelError("labels: only 0 and 1 (1 = needs intervention) are allowed")
    return values.astype(np.int64)


def _refuse(labels: np.ndarray, min_outcomes: int, folds: int) -> None:
    count, positives = len(labels), int(labels.sum())
    negatives = count - positives
    if count < min_outcomes:
        raise TooFewOutcomes(
            f"{count} confirmed outcomes ({positives} needing intervention): "
            f"training needs at least {min_outcomes}",
            count,
            min_outcomes,
            positives,
        )
    if min(positives, negatives) < folds:
        raise TooFewOutcomes(
            f"{count} confirmed outcomes, {positives} needing intervention and {negatives} "
            f"not: {folds}-fold cross-validation needs at least {folds} of each",
            count,
            min_outcomes,
            positives,
        )


def fit(
    frame: pd.DataFrame,
    labels: Any,
    *,
    template: Model,
    groups: pd.DataFrame | None = None,
    seed: int = 0,
    folds: int = 5,
    version: str,
    previous: Model | None = None,
    min_outcomes: int = MIN_OUTCOMES,
    context: Sequence[str] = CONTEXT,
) -> Model:
    """Learn a scorecard from labelled students (see the module's docstring): one row of
    the model's input columns per student, labels 1 = needs intervention; `groups` has
    one row per student with any of sex, grade, school (the card's fairness figures),
    reviewed_tier and date (the training summary)."""
    frame = frame.reset_index(drop=True)
    y = _labels(labels, len(frame))
    _refuse(y, min_outcomes, folds)
    if folds < 2:
        raise ModelError("folds: at least 2 are needed")
    groups = None if groups is None else groups.reset_index(drop=True)
    raw = template.document
    base = [f for f in raw["features"] if f["id"] not in CONTEXT_FEATURES]
    chances, tiers = cross_validate(raw, base, frame, y, seed, folds)
    brier = float(brier_score_loss(y, chances))
    sexes = groups["sex"] if groups is not None and "sex" in groups else None
    gap = tpr_gap(sexes, y, tiers) if sexes is not None else None
    tried = []
    for name in context:
        candidate = CONTEXT_FEATURES[name]
        entry: dict[str, Any] = {
            "feature": name,
            "used": False,
            "brier_without": round(brier, DECIMALS),
            "brier_with": None,
            "gap_without": gap,
            "gap_with": None,
        }
        tried.append(entry)
        if name not in frame or frame[name].nunique(dropna=True) < 2:
            entry["why"] = "no_variation"
            continue
        if gap is None:  # no sexes, or fewer than two with enough students and a positive
            entry["why"] = "no_groups"
            continue
        with_chances, with_tiers = cross_validate(raw, [*base, candidate], frame, y, seed, folds)
        with_brier = float(brier_score_loss(y, with_chances))
        with_gap = tpr_gap(sexes, y, with_tiers)
        entry.update(brier_with=round(with_brier, DECIMALS), gap_with=with_gap)
        if not with_brier <= brier - MIN_BRIER_GAIN:
            entry["why"] = "no_gain"
        elif (with_gap or 0.0) - (gap or 0.0) > FAIRNESS_WIDENING:
            entry["why"] = "widens_gap"
        else:
            entry.update(used=True, why="improves")
            base, chances, tiers, brier, gap = (
                [*base, candidate],
                with_chances,
                with_tiers,
                with_brier,
                with_gap,
            )
    document = _train(raw, base, frame, y, seed, version)
    training = _training_summary(groups, y, base)
    flagged = np.isin(tiers, FLAGGED)
    document["training"] = training
    document["card"] = {
        "version": version,
        "previous": previous.version if previous else None,
        "outcomes": training["outcomes"],
        "positives": training["positives"],
        "folds": folds,
        "seed": seed,
        "auc": round(float(roc_auc_score(y, chances)), DECIMALS),
        "brier": round(brier, DECIMALS),
        "cut_points": dict(CUT_POINTS),
        "points_to_double_odds": POINTS_TO_DOUBLE_ODDS,
        "calibration": calibration(chances, y),
        "groups": {
            kind: group_figures(groups[kind], y, flagged)
            for kind in GROUP_KINDS
            if groups is not None and kind in groups
        },
        "fairness": {"measure": "tpr_gap_by_sex", "limit": FAIRNESS_WIDENING, "gap": gap},
        "changes": changes(document, previous),
        "context": tried,
        "training": training,
    }
    return model_from_document(document)
