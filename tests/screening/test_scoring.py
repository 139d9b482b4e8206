"""Scoring rules on hand-worked cases: MHT-shaped school file, prorating, reversal,
validity indices, named errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from screening.errors import InvalidAnswer, InvalidMatrix, InvalidTime, UnknownItem
from screening.instruments import parse_instrument
from screening.scoring import answers_matrix, score_matrix, score_response
from tests.screening.conftest import GOOD

YES, NO = 1, 0
LIE = [f"mht_{n}" for n in range(82, 101, 2)]
IMPULSIVITY = [f"mht_{n}" for n in range(81, 100, 2)]


def _mht_answers(yes: set[str]) -> dict[str, int]:
    return {f"mht_{n}": YES if f"mht_{n}" in yes else NO for n in range(1, 101)}


def test_mht_shaped_scales_bands_and_lie_scale(mht) -> None:
    yes = {f"mht_{n}" for n in range(1, 9)} | set(IMPULSIVITY[:3]) | set(LIE[:6])
    score = score_response(mht, _mht_answers(yes))
    assert score.subscales["learning_anxiety"] == 8  # items 1-8 answered yes
    assert score.subscale_bands["learning_anxiety"] == "elevated"  # cut-off 8
    assert score.subscales["impulsivity"] == 3
    assert score.subscale_bands["impulsivity"] == "normal"
    assert score.total == 11  # the 90 content items; the lie items do not count
    assert score.band == "normal"
    assert score.indices == {"lie_score": 6}
    assert score.valid  # 6 is the limit: still valid

    over = score_response(mht, _mht_answers(yes | {LIE[6]}))
    assert over.indices == {"lie_score": 7}
    assert not over.valid and over.invalid_reasons == ("lie_scale",)
    assert over.total == 11  # scored all the same: the counselor sees why it is invalid


def test_mht_shaped_total_band_at_the_cut_off(mht) -> None:
    content = [f"mht_{n}" for n in range(1, 81)] + IMPULSIVITY
    assert score_response(mht, _mht_answers(set(content[:64]))).band == "normal"
    assert score_response(mht, _mht_answers(set(content[:65]))).band == "high"


def test_mht_matrix_in_int8_equals_float(mht) -> None:
    rng = np.random.default_rng(7)
    answers = rng.integers(0, 2, size=(500, 100)).astype(np.int8)
    answers[rng.random(answers.shape) < 0.01] = np.iinfo(np.int8).min  # unanswered
    as_float = np.where(answers == -128, np.nan, answers).astype(np.float64)
    small = score_matrix(mht, answers, chunk_rows=64)
    wide = score_matrix(mht, as_float)
    for i in range(0, 500, 37):
        assert small.row(i) == wide.row(i)
    assert small.missing.sum() == (answers == -128).sum()


def test_prorated_mean_and_reversed_items(wellbeing_school) -> None:
    # w2 and w4 are reversed on 1-5: keyed 6 - answer.
    full = score_response(wellbeing_school, {"w1": 5, "w2": 1, "w3": 4, "w4": 2, "w5": 3})
    assert full.total == (5 + 5 + 4 + 4 + 3) / 5
    assert full.band == "high"
    assert full.subscales == {"friends": 9, "school": 7}
    one_missing = score_response(wellbeing_school, {"w1": 5, "w2": 1, "w3": 4, "w4": 2})
    assert one_missing.total == (5 + 5 + 4 + 4) / 4  # prorate: mean of the answered
    assert one_missing.subscales["school"] == 4 * 2 / 1  # sum prorated to both items
    assert one_missing.valid and one_missing.missing == 2  # w5 and the optional w6
    two_missing = score_response(wellbeing_school, {"w1": 5, "w2": 1, "w3": 4})
    assert two_missing.total is None and two_missing.invalid_reasons[0] == "missing"
    no_friends = score_response(wellbeing_school, {"w1": 5, "w3": 4, "w4": 2, "w5": 3})
    assert no_friends.subscales["friends"] is None  # its own missing rule: complete


def test_a_score_between_bands_belongs_to_the_lower_band() -> None:
    text = (GOOD / "school_wellbeing.yaml").read_text(encoding="utf-8")
    instrument = parse_instrument(text.replace("max: 2.49", "max: 2.2"))
    # keyed: 2, 6-4=2, 3, 6-4=2, 3 -> mean 2.4, between low's max 2.2 and middle's min 2.5
    score = score_response(instrument, {"w1": 2, "w2": 4, "w3": 3, "w4": 4, "w5": 3})
    assert score.total == 2.4 and score.band == "low"
    edge = score_response(instrument, {"w1": 2, "w2": 4, "w3": 3, "w4": 3})
    assert edge.total == 2.5 and edge.band == "middle"


def test_validity_indices(wellbeing_school) -> None:
    same = {"w1": 3, "w2": 3, "w3": 3, "w4": 3, "w5": 3}
    score = score_response(wellbeing_school, same, {k: 1.0 for k in same})
    assert score.indices["longest_run"] == 5
    assert score.indices["seconds_per_item"] == 1.0
    assert set(score.invalid_reasons) == {"long_string", "too_fast"}
    broken = score_response(wellbeing_school, {**same, "w3": None})
    assert broken.indices["longest_run"] == 2  # an unanswered item ends a run
    assert broken.indices["seconds_per_item"] is None and broken.valid
    # keyed w1=5 vs w5=1 (4 apart), keyed w2=6-1=5 vs w3=1 (4 apart): both inconsistent
    odd = score_response(wellbeing_school, {"w1": 5, "w2": 1, "w3": 1, "w4": 3, "w5": 1})
    assert odd.indices["inconsistent_pairs"] == 2 and "inconsistent_pairs" in odd.invalid_reasons
    timed = {"w1": 2.0, "w2": 1.0, "w3": 8.0, "w4": 4.0, "w5": None}
    assert score_response(wellbeing_school, same, timed).indices["seconds_per_item"] == 3.0


def test_critical_item_whatever_the_total(phq9) -> None:
    answers = {f"phq9_{i}": 0 for i in range(1, 9)}
    assert score_response(phq9, {**answers, "phq9_9": 1}).critical
    assert not score_response(phq9, {**answers, "phq9_9": 0}).critical
    assert not score_response(phq9, answers).critical  # unanswered: not endorsed
    unscorable = score_response(phq9, {"phq9_9": 2})
    assert unscorable.critical and unscorable.total is None and unscorable.missing == 8


def test_named_errors(phq9) -> None:
    with pytest.raises(UnknownItem):
        score_response(phq9, {"phq9_10": 1})
    with pytest.raises(InvalidAnswer) as caught:
        score_response(phq9, {"phq9_1": 4})
    assert caught.value.item == "phq9_1" and caught.value.allowed == (0, 1, 2, 3)
    for bad in (True, "1", 1.5, math.inf):
        with pytest.raises(InvalidAnswer):
            score_response(phq9, {"phq9_1": bad})
    with pytest.raises(InvalidTime):
        score_response(phq9, {"phq9_1": 1}, {"phq9_1": -1})
    with pytest.raises(InvalidMatrix):
        score_matrix(phq9, np.zeros((2, 8)))
    with pytest.raises(InvalidMatrix):
        score_matrix(phq9, np.zeros((2, 9), dtype=np.uint8))
    with pytest.raises(UnknownItem):
        answers_matrix(phq9, [{"nope": 1}])


def test_matrix_reports_the_first_bad_value(phq9) -> None:
    answers = np.zeros((5, 9))
    answers[3, 7] = 9
    answers[3, 2] = 0.5
    answers[4, 0] = -1
    with pytest.raises(InvalidAnswer) as caught:
        score_matrix(phq9, answers, chunk_rows=2)
    assert (caught.value.row, caught.value.item) == (3, "phq9_3")


def test_empty_matrix(phq9) -> None:
    scores = score_matrix(phq9, np.zeros((0, 9)))
    assert len(scores) == 0 and list(scores.to_frame().columns)[:5] == [
        "total",
        "band",
        "critical",
        "valid",
        "missing",
    ]


def test_to_frame_columns(wellbeing_school) -> None:
    scores = score_matrix(
        wellbeing_school, answers_matrix(wellbeing_school, [{"w1": 1}, {"w1": 2, "w2": 2}])
    )
    assert list(scores.to_frame().columns) == [
        "total",
        "band",
        "critical",
        "valid",
        "missing",
        "subscale_friends",
        "subscale_school",
        "band_friends",
        "longest_run",
        "seconds_per_item",
        "inconsistent_pairs",
        "invalid_reasons",
    ]
