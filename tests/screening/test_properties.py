"""Properties: vectorized scoring equals the row-by-row definition on random instruments
and answers; parsing never crashes (a valid result or a named error, nothing else)."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.batch import score_table
from screening.errors import InputError, InstrumentError
from screening.instruments import instrument_from_document, parse_instrument, resolve
from screening.scoring import answers_matrix, score_matrix, score_response
from screening.spreadsheets import CsvTable, decode_text
from tests.screening.conftest import GOOD

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = {"en": "x"}


def _label(value: Any) -> dict[str, Any]:
    return {"en": str(value)}


@st.composite
def _bands(draw: st.DrawFn, low: float, high: float, integral: bool) -> list[dict[str, Any]]:
    """Bands covering low..high: ascending, no overlap, no gap (as the loader demands)."""
    whole = [v for v in range(int(np.floor(low)) + 1, int(np.floor(high)) + 1) if v > low]
    cuts = sorted(draw(st.sets(st.sampled_from(whole), max_size=3))) if whole else []
    step = 1 if integral else draw(st.sampled_from([0.5, 0.01, 1]))
    bounds = [low, *cuts]
    bands = []
    for number, start in enumerate(bounds):
        end = bounds[number + 1] - step if number + 1 < len(bounds) else high
        bands.append({"id": f"b{number}", "label": TEXT, "min": start, "max": end})
    return bands


@st.composite
def _items_subset(draw: st.DrawFn, ids: list[str]) -> Any:
    if draw(st.booleans()):
        return "all"
    chosen = draw(st.sets(st.sampled_from(ids), min_size=1))
    return [i for i in ids if i in chosen]


def _range(values: dict[str, list[int]], ids: list[str], rule: str) -> tuple[float, float]:
    lows, highs = [min(values[i]) for i in ids], [max(values[i]) for i in ids]
    return (min(lows), max(highs)) if rule == "mean" else (sum(lows), sum(highs))


@st.composite
def _scale(
    draw: st.DrawFn, ids: list[str], values: dict[str, list[int]], missing: dict[str, Any]
) -> dict[str, Any]:
    items = draw(_items_subset(ids))
    members = ids if items == "all" else items
    scale: dict[str, Any] = {"rule": draw(st.sampled_from(["sum", "mean"])), "items": items}
    own = missing
    if draw(st.booleans()):
        own = {"rule": "complete"}
        scale["missing"] = own
    if own["rule"] == "prorate" and own["max_missing"] >= len(members):
        own = {"rule": "complete"}
        scale["missing"] = own
    if draw(st.booleans()):
        low, high = _range(values, members, scale["rule"])
        prorated = own["rule"] == "prorate" and own["max_missing"] > 0
        integral = scale["rule"] == "sum" and not prorated
        scale["bands"] = draw(_bands(low, high, integral))
    return scale


@st.composite
def instrument_documents(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 7))
    ids = [f"i{n}" for n in range(count)]
    values = {i: sorted(draw(st.sets(st.integers(-5, 5), min_size=2, max_size=5))) for i in ids}
    items = [
        {
            "id": i,
            "text": TEXT,
            "options": [{"value": v, "label": _label(v)} for v in values[i]],
            "reverse": draw(st.booleans()),
        }
        for i in ids
    ]
    missing: dict[str, Any] = {"rule": "complete"}
    if draw(st.booleans()):
        missing = {"rule": "prorate", "max_missing": draw(st.integers(0, count))}
    scoring: dict[str, Any] = {"missing": missing}
    total = draw(_scale(ids, values, missing))
    if draw(st.booleans()) or count == 1:
        scoring["total"] = {"rule": total["rule"], "items": total["items"]}
        if "bands" in total:
            scoring["bands"] = total["bands"]
        if "missing" in total:
            missing = scoring["missing"] = total["missing"]
    subscales = []
    for number in range(draw(st.integers(0 if "total" in scoring else 1, 2))):
        subscales.append({"id": f"s{number}", "title": TEXT, **draw(_scale(ids, values, missing))})
    if subscales:
        scoring["subscales"] = subscales
    critical = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    scoring["critical"] = [
        {"item": i, "min": draw(st.sampled_from(values[i][1:]))} for i in critical
    ]
    scoring["validity"] = draw(_validity(ids, values))
    for scale in [scoring.get("total"), *subscales]:  # re-check prorating against sizes
        if scale is not None:
            size = count if scale["items"] == "all" else len(scale["items"])
            rule = scale.get("missing", scoring["missing"])
            if rule["rule"] == "prorate" and rule["max_missing"] >= size:
                scale["missing"] = {"rule": "complete"}
                if scale is scoring.get("total"):
                    scoring["missing"] = {"rule": "complete"}
    return {
        "format": 1,
        "id": "random",
        "version": "1",
        "title": TEXT,
        "languages": ["en"],
        "source": {"reference": "generated"},
        "licence": {"kind": "licensed", "statement": "generated"},
        "population": {"note": TEXT},
        "items": items,
        "scoring": scoring,
    }


@st.composite
def _validity(draw: st.DrawFn, ids: list[str], values: dict[str, list[int]]) -> list[dict]:
    rules: list[dict[str, Any]] = []
    if draw(st.booleans()):
        chosen = draw(st.sets(st.sampled_from(ids), min_size=1))
        lie = [i for i in ids if i in chosen]
        bottom = sum(min(values[i]) for i in lie)
        top = sum(max(values[i]) for i in lie)
        rules.append({"rule": "lie_scale", "items": lie, "max": draw(st.integers(bottom, top - 1))})
    if len(ids) >= 2 and draw(st.booleans()):
        rules.append({"rule": "long_string", "max_run": draw(st.integers(1, len(ids) - 1))})
    if draw(st.booleans()):
        seconds = draw(st.floats(0.1, 5, allow_nan=False))
        rules.append({"rule": "too_fast", "min_seconds_per_item": seconds})
    if len(ids) >= 2 and draw(st.booleans()):
        pairs = draw(
            st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), min_size=1, max_size=3)
        )
        pairs = [list(p) for p in pairs if p[0] != p[1]] or [[ids[0], ids[1]]]
        rules.append(
            {
                "rule": "inconsistent_pairs",
                "pairs": pairs,
                "max_difference": draw(st.integers(0, 3)),
                "max": draw(st.integers(0, len(pairs) - 1)),
            }
        )
    return rules


@st.composite
def instruments_and_answers(draw: st.DrawFn) -> tuple[Any, list[dict], list[dict]]:
    instrument = instrument_from_document(draw(instrument_documents()))
    rows = draw(st.integers(0, 12))
    answers, seconds = [], []
    for _ in range(rows):
        answers.append(
            {
                item.id: draw(st.one_of(st.none(), st.sampled_from(item.values)))
                for item in instrument.items
            }
        )
        seconds.append(
            {
                item.id: draw(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)))
                for item in instrument.items
            }
        )
    return instrument, answers, seconds


def _seconds(instrument: Any, seconds: list[dict]) -> np.ndarray:
    return np.array(
        [[np.nan if s[i] is None else s[i] for i in instrument.item_ids] for s in seconds],
        dtype=np.float64,
    ).reshape(len(seconds), len(instrument.items))


@SETTINGS
@given(instruments_and_answers(), st.sampled_from([np.float64, np.int8, np.int16, np.int32]))
def test_vectorized_equals_row_by_row(case: tuple, dtype: Any) -> None:
    instrument, answers, seconds = case
    matrix = answers_matrix(instrument, answers, dtype)
    scores = score_matrix(instrument, matrix, _seconds(instrument, seconds), chunk_rows=5)
    for index, (answer, second) in enumerate(zip(answers, seconds, strict=True)):
        assert scores.row(index) == score_response(instrument, answer, second)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_instrument_error(text: str) -> None:
    with contextlib.suppress(InstrumentError):
        parse_instrument(text)


_TINY = yaml.safe_load((GOOD / "school_wellbeing.yaml").read_text(encoding="utf-8"))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 30) | st.floats(-2, 30) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@SETTINGS
@given(st.data())
def test_mutated_documents_load_or_raise_instrument_error(data: st.DataObject) -> None:
    document = copy.deepcopy(_TINY)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)[1:]))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        choice = data.draw(st.sampled_from(["replace", "delete", "item_ref", "number"]))
        if choice == "delete":
            del parent[path[-1]]
        elif choice == "item_ref":
            parent[path[-1]] = data.draw(st.sampled_from(["w1", "w6", "w9", "all", "freq"]))
        elif choice == "number":
            parent[path[-1]] = data.draw(st.integers(-2, 12))
        else:
            parent[path[-1]] = data.draw(_JSON)
    with contextlib.suppress(InstrumentError):
        instrument_from_document(document)


@SETTINGS
@given(
    st.lists(
        st.lists(
            st.sampled_from(["", " ", "0", "1", "3", "4", "x", "1.0", "１", "-1", "a,b"]),
            min_size=0,
            max_size=11,
        ),
        max_size=8,
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
)
def test_any_csv_scores_or_raises_input_error(rows: list[list[str]], encoding: str) -> None:
    phq9 = resolve("phq9")
    header = ["respondent_id", *phq9.item_ids, "学号"]
    lines = [",".join(header)] + [",".join(row) for row in rows]
    data = ("\n".join(lines) + "\n").encode(encoding)
    try:
        result = score_table(phq9, CsvTable("in.csv", decode_text(data)))
    except InputError as error:
        assert error.row is not None and error.column is not None
    else:
        assert result.rows <= len(rows)
