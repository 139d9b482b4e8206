"""screening.risk and screening.risk_fit: explanations that add up, monotone points,
rules, reproducible training, refusals, the card's figures and its fairness groups."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score

from screening import risk, risk_fit

PHQ = ["minimal", "mild", "moderate", "moderately_severe", "severe"]
GAD = ["minimal", "mild", "moderate", "severe"]
K6 = ["below_cutoff", "serious_distress"]


def synthetic(n: int, seed: int = 1, boarding_effect: float = 1.2) -> tuple:
    """Students whose need of intervention follows PHQ-9 and GAD-7 bands (and boarding),
    with sex, grade and school; a generating process known to the test."""
    rng = np.random.default_rng(seed)
    p, g = rng.integers(0, 5, n), rng.integers(0, 4, n)
    boarding = rng.random(n) < 0.3
    chance = 1 / (1 + np.exp(-(-3.2 + 0.9 * p + 0.5 * g + boarding_effect * boarding)))
    labels = (rng.random(n) < chance).astype(int)
    frame = pd.DataFrame(
        {
            "phq9_band": np.array(PHQ)[p],
            "phq9_total": p * 5 + 2,
            "gad7_band": np.array(GAD)[g],
            "gad7_total": g * 5 + 1,
            "critical": rng.random(n) < 0.03,
            "boarding": boarding,
            "left_behind": rng.random(n) < 0.2,
        }
    )
    groups = pd.DataFrame(
        {
            "sex": rng.choice(["M", "F"], n),
            "grade": rng.integers(7, 10, n),
            "school": rng.choice(["一中", "二中", "三中"], n),
        }
    )
    return frame, labels, groups


@pytest.fixture(scope="module")
def trained() -> tuple[risk.Model, tuple]:
    data = synthetic(500)
    frame, labels, groups = data
    groups = groups.assign(
        school=np.where(np.arange(len(groups)) < 3, "小学校", groups["school"]),
        reviewed_tier=np.where(labels == 1, "orange", "none"),
        date=pd.Timestamp("2026-10-01") + pd.to_timedelta(np.arange(len(groups)) % 30, "D"),
    )
    model = risk.fit(
        frame,
        labels,
        template=risk.default_model(),
        groups=groups,
        version="test-1",
        previous=risk.default_model(),
    )
    return model, (frame, labels, groups)


rows = st.fixed_dictionaries(
    {
        "phq9_band": st.sampled_from([*PHQ, None, "bogus"]),
        "phq9_total": st.integers(0, 27) | st.none(),
        "gad7_band": st.sampled_from([*GAD, None]),
        "gad7_total": st.integers(0, 21),
        "k6_band": st.sampled_from([*K6, None]),
        "critical": st.sampled_from([True, False, None, "true", "否", "1"]),
        "observations": st.integers(0, 5) | st.none(),
        "observations_urgent": st.sampled_from([True, False, None]),
        "previous_tier": st.sampled_from([*risk.TIERS, None]),
        "boarding": st.booleans(),
    }
)


def _listed_points(text: str) -> int:
    return sum(int(n) * (1 if s == "+" else -1) for s, n in re.findall(r"([+−])(\d+)", text))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(rows, min_size=1, max_size=30))
def test_the_explanation_adds_up_to_the_total_for_any_input(trained, students) -> None:
    frame = pd.DataFrame(students)
    for model in (risk.default_model(), trained[0]):
        result = risk.assess(model, frame)
        reasons = result.to_frame()["reasons"].tolist()
        for row in range(len(frame)):
            assert sum(c.points for c in result.contributions(row)) == result.total[row]
            assert reasons[row] == result.reasons(row)  # the fast path says the same
            assert _listed_points(reasons[row]) == result.total[row]
            assert result.reasons(row, "en") == result.to_frame("en")["reasons"][row]


def _worse_never_lowers(model: risk.Model, student: dict, feature: int) -> None:
    chosen = model.features[feature]
    if chosen.kind != "category":
        return
    totals = []
    for each in chosen.bins:
        totals.append(
            int(
                risk.assess(
                    model, pd.DataFrame([{**student, chosen.column: each.values[0]}])
                ).total[0]
            )
        )
    assert totals == sorted(totals), (chosen.id, totals)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows, st.integers(0, 7))
def test_a_worse_band_never_lowers_the_points(trained, student, feature) -> None:
    for model in (risk.default_model(), trained[0]):
        _worse_never_lowers(model, student, feature % len(model.features))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**16), st.floats(-3, 3))
def test_a_fitted_model_is_monotone_whatever_the_data(seed, effect) -> None:
    """Even when the data say a worse band needs less help (a negative effect), the
    fitted points never fall as the band worsens."""
    frame, _labels, _groups = synthetic(150, seed)
    rng = np.random.default_rng(seed)
    p = frame["phq9_band"].map(PHQ.index).to_numpy()
    labels = (rng.random(150) < 1 / (1 + np.exp(-(effect * (p - 2))))).astype(int)
    if min(labels.sum(), 150 - labels.sum()) < 5:
        return
    model = risk.fit(frame, labels, template=risk.default_model(), version="m", min_outcomes=100)
    for feature in model.features:
        points = [b.points for b in feature.bins]
        assert points == sorted(points) and points[0] == 0, (feature.id, points)


def test_rules_fire_as_shown() -> None:
    model = risk.default_model()
    frame = pd.DataFrame(
        [
            {"phq9_band": "minimal", "phq9_total": 0, "critical": True},
            {"phq9_band": "severe", "phq9_total": 25, "critical": False},
            {"phq9_band": "mild", "phq9_total": 6, "critical": None},
        ]
    )
    result = risk.assess(model, frame)
    assert list(result.tier) == ["red", "orange", "none"]
    assert list(result.rule) == ["critical_item", None, None]
    assert list(result.total) == [0, 40, 5]  # the rule sets the tier, not the points
    reasons = result.to_frame()["reasons"]
    assert (
        reasons[0].startswith("规则：关键题目阳性")
        and result.to_frame()["rule"][0] == "critical_item"
    )
    assert "规则" not in reasons[1] and reasons[1] == "PHQ-9 重度（25 分）：+40"
    assert result.reasons(2, "en") == "PHQ-9 mild (6 points): +5"


def test_fit_is_reproducible_with_a_seed() -> None:
    frame, labels, groups = synthetic(300, 5)
    options = {"template": risk.default_model(), "groups": groups, "version": "r-1"}
    first = risk.fit(frame, labels, seed=7, **options)
    again = risk.fit(frame, labels, seed=7, **options)
    assert json.dumps(first.document, sort_keys=True) == json.dumps(again.document, sort_keys=True)
    tiers = risk.assess(first, frame).tier
    assert list(tiers) == list(risk.assess(again, frame).tier)
    other = risk.fit(frame, labels, seed=8, **options)
    assert other.document["card"]["seed"] == 8


def test_training_is_refused_below_the_minimum() -> None:
    frame, labels, _groups = synthetic(60)
    with pytest.raises(risk.TooFewOutcomes) as refused:
        risk.fit(frame, labels, template=risk.default_model(), version="x")
    positives = int(labels.sum())
    assert (refused.value.count, refused.value.minimum, refused.value.positives) == (
        60,
        100,
        positives,
    )
    assert f"60 confirmed outcomes ({positives} needing intervention)" in str(refused.value)
    assert "at least 100" in str(refused.value)
    frame, labels, _groups = synthetic(120)
    labels = np.zeros(120, dtype=int)
    labels[:3] = 1
    with pytest.raises(risk.TooFewOutcomes, match="3 needing intervention and 117 not: 5-fold"):
        risk.fit(frame, labels, template=risk.default_model(), version="x")
    with pytest.raises(risk.ModelError, match="only 0 and 1"):
        risk.fit(frame, np.full(120, 2), template=risk.default_model(), version="x")


def test_the_cards_figures_are_sklearns_on_the_held_out_predictions(trained) -> None:
    model, (frame, labels, _groups) = trained
    card = risk.model_card(model)
    used = [f for f in model.document["features"]]
    chances, _tiers = risk_fit.cross_validate(model.document, used, frame, labels, 0, 5)
    assert card["auc"] == round(roc_auc_score(labels, chances), 4)
    assert card["brier"] == round(brier_score_loss(labels, chances), 4)
    assert 0.7 < card["auc"] < 0.95  # the generating process is learnable, not trivial
    assert (card["outcomes"], card["positives"], card["folds"], card["seed"]) == (
        500,
        int(labels.sum()),
        5,
        0,
    )
    assert sum(row["n"] for row in card["calibration"]) == 500
    for row in card["calibration"]:
        assert row["low"] <= row["predicted"] < row["high"] + 1e-9
        assert set(row) == {"bin", "low", "high", "predicted", "observed", "n"}


def test_a_perfect_signal_gives_an_auc_of_one() -> None:
    frame, _labels, _groups = synthetic(200, 3)
    labels = frame["phq9_band"].isin(["moderately_severe", "severe"]).astype(int).to_numpy()
    card = risk.model_card(risk.fit(frame, labels, template=risk.default_model(), version="p"))
    assert card["auc"] == 1.0 and card["brier"] < 0.05


def test_fairness_figures_are_computed_per_group_with_suppression(trained) -> None:
    model, (frame, labels, groups) = trained
    card = risk.model_card(model)
    assert set(card["groups"]) == {"sex", "grade", "school"}
    small = [row for row in card["groups"]["school"] if row["group"] == "小学校"]
    assert small == [
        {
            "group": "小学校",
            "n": None,
            "positives": None,
            "flag_rate": None,
            "tpr": None,
            "suppressed": True,
        }
    ]
    _chances, tiers = risk_fit.cross_validate(
        model.document, model.document["features"], frame, labels, 0, 5
    )
    flagged = np.isin(tiers, risk.FLAGGED)
    for row in card["groups"]["sex"]:
        inside = (groups["sex"] == row["group"]).to_numpy()
        assert row["n"] == inside.sum() and not row["suppressed"]
        assert row["flag_rate"] == round(flagged[inside].mean(), 4)
        assert row["tpr"] == round(flagged[inside & (labels == 1)].mean(), 4)
    assert [row["group"] for row in card["groups"]["grade"]] == ["7", "8", "9"]
    assert card["fairness"]["measure"] == "tpr_gap_by_sex" and card["fairness"]["limit"] == 0.05
    training = card["training"]
    assert training["by_tier"]["orange"] == labels.sum() and training["from"] == "2026-10-01"
    assert training["to"] == "2026-10-30" and model.document["training"] == training


def test_context_is_used_only_when_it_helps_and_is_fair(trained) -> None:
    model, _data = trained
    context = {entry["feature"]: entry for entry in risk.model_card(model)["context"]}
    assert context["boarding"]["used"] and context["boarding"]["why"] == "improves"
    assert context["boarding"]["brier_with"] < context["boarding"]["brier_without"]
    assert not context["left_behind"]["used"]  # noise in the generating process
    assert context["left_behind"]["why"] == "no_gain"
    assert [f.id for f in model.features][-1] == "boarding"
    frame, labels, _groups = synthetic(300)
    unfair = risk.fit(frame, labels, template=risk.default_model(), version="n")  # no sexes
    assert {e["why"] for e in risk.model_card(unfair)["context"]} == {"no_groups"}
    assert "boarding" not in [f.id for f in unfair.features]


def test_a_context_feature_that_widens_the_gap_between_the_sexes_is_refused() -> None:
    """Boarding predicts need among the girls only, and more boys board: with it, the
    girls' true positives rise, the boys' fall, and the gap widens beyond 0.05 although
    the Brier score improves."""
    rng = np.random.default_rng(12)
    n = 600
    frame, _labels, groups = synthetic(n, 12)
    girl = (groups["sex"] == "F").to_numpy()
    p = frame["phq9_band"].map(PHQ.index).to_numpy()
    boarding = np.where(girl, rng.random(n) < 0.3, rng.random(n) < 0.5)
    frame["boarding"] = boarding
    chance = 1 / (1 + np.exp(-(-5.0 + 0.8 * p + 4.0 * (boarding & girl))))
    labels = (rng.random(n) < chance).astype(int)
    model = risk.fit(frame, labels, template=risk.default_model(), groups=groups, version="g")
    entry = next(e for e in risk.model_card(model)["context"] if e["feature"] == "boarding")
    assert entry["brier_with"] < entry["brier_without"]
    assert entry["why"] == "widens_gap" and not entry["used"]
    assert entry["gap_with"] - entry["gap_without"] > 0.05
    assert "boarding" not in [f.id for f in model.features]


def test_changes_since_the_previous_version(trained) -> None:
    model, _data = trained
    changes = risk.model_card(model)["changes"]
    default = risk.default_model()
    before = {(f.id, b.id): b.points for f in default.features for b in f.bins}
    for change in changes:
        if change["feature"] == "thresholds":
            assert change["before"] == default.thresholds[change["bin"]]
            assert change["after"] == model.thresholds[change["bin"]]
        else:
            assert change["before"] == before.get((change["feature"], change["bin"]))
    unchanged = {(c["feature"], c["bin"]) for c in changes}
    for feature in model.features:
        for each in feature.bins:
            if (feature.id, each.id) not in unchanged:
                assert before[(feature.id, each.id)] == each.points
    assert risk_fit.changes(model.document, None) == []


def test_thresholds_follow_the_cut_points(trained) -> None:
    model, _data = trained
    for tier, cut in risk_fit.CUT_POINTS.items():
        at = model.thresholds[tier]
        assert risk_fit.probability(model, np.array([at]))[0] >= cut - 1e-9
        if at > 0:
            assert risk_fit.probability(model, np.array([at - 1]))[0] < cut


def test_a_hundred_thousand_students_are_tiered_and_explained_quickly() -> None:
    """The figure is the benchmark's (benchmarks/bench_risk.py); here, a loose bound
    that catches a return to explaining row by row."""
    import time

    rng = np.random.default_rng(0)
    n = 100_000
    frame = pd.DataFrame(
        {
            "phq9_band": np.array(PHQ)[rng.integers(0, 5, n)],
            "phq9_total": rng.integers(0, 28, n),
            "gad7_band": np.array(GAD)[rng.integers(0, 4, n)],
            "gad7_total": rng.integers(0, 22, n),
            "critical": rng.random(n) < 0.03,
        }
    )
    start = time.perf_counter()
    tiers = risk.assess(risk.default_model(), frame).to_frame()
    assert time.perf_counter() - start < 5 and len(tiers) == n
