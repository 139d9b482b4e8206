"""The registry of named scoring rules.

Instrument files name their rules (`sum`, `prorate`, `lie_scale`, ...) and never hold
expressions. Each name maps to a pair of functions: a vectorized one over many responses
(numpy) and a row one over a single response (plain Python), written with the same
arithmetic in the same order so that both give bit-identical results (a property test
compares them). The loader rejects any rule name that is not registered here.

Kinds of rules:
- score: turns the keyed sum `s` of a scale's answered items, the number answered `a`
  and the number of items `n` into the scale score (called only when scorable).
- missing: decides from `a` and `n` whether a scale is scorable.
- validity: computes one index per response and whether it fails the rule's limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

Kind = Literal["score", "missing", "validity"]


@dataclass(frozen=True)
class ValidityRule:
    """A validity rule as declared, with item ids resolved to item positions.

    `limit` is the rule's threshold (`max`, `max_run` or `min_seconds_per_item`)."""

    rule: str
    items: tuple[int, ...] = ()
    pairs: tuple[tuple[int, int], ...] = ()
    limit: float = 0.0
    max_difference: float = 0.0


class VectorColumns(Protocol):
    """Columns of a block of responses, float64 with NaN where an item is unanswered."""

    rows: int

    def raw(self, items: Sequence[int]) -> np.ndarray: ...

    def keyed(self, items: Sequence[int]) -> np.ndarray: ...

    def keyed_sum(self, items: Sequence[int]) -> np.ndarray: ...

    def seconds(self, items: Sequence[int]) -> np.ndarray | None: ...


class RowColumns(Protocol):
    """One response; None where the item is unanswered (or its time not recorded)."""

    def raw(self, item: int) -> float | None: ...

    def keyed(self, item: int) -> float | None: ...

    def seconds(self, item: int) -> float | None: ...


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Kind
    summary: str
    vector: Callable[..., Any]
    row: Callable[..., Any]
    # validity rules: the index column they add and the file key holding their limit
    index: str | None = None
    limit_key: str | None = None


# ------------------------------------------------------------------ score rules


def _sum_vector(s: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    # Prorated: the sum scaled to all n items; equals s exactly when a == n.
    return s * n / a


def _sum_row(s: int, a: int, n: int) -> float:
    return s * n / a


def _mean_vector(s: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    return s / a


def _mean_row(s: int, a: int, n: int) -> float:
    return s / a


# ------------------------------------------------------------------ missing rules


def _complete_vector(a: np.ndarray, n: int, max_missing: int) -> np.ndarray:
    return a == n


def _complete_row(a: int, n: int, max_missing: int) -> bool:
    return a == n


def _prorate_vector(a: np.ndarray, n: int, max_missing: int) -> np.ndarray:
    return (n - a <= max_missing) & (a > 0)


def _prorate_row(a: int, n: int, max_missing: int) -> bool:
    return n - a <= max_missing and a > 0


# ------------------------------------------------------------------ validity rules


def _lie_vector(cols: VectorColumns, rule: ValidityRule) -> tuple[np.ndarray, np.ndarray]:
    index = cols.keyed_sum(rule.items)  # unanswered items add nothing
    return index, index > rule.limit


def _lie_row(cols: RowColumns, rule: ValidityRule) -> tuple[float | None, bool]:
    index = 0.0
    for item in rule.items:
        value = cols.keyed(item)
        if value is not None:
            index += value
    return index, index > rule.limit


def _long_string_vector(cols: VectorColumns, rule: ValidityRule) -> tuple[np.ndarray, np.ndarray]:
    raw = cols.raw(rule.items)
    rows = raw.shape[0]
    run = np.zeros(rows)
    longest = np.zeros(rows)
    previous = np.full(rows, np.nan)
    for column in raw.T:
        # NaN never equals anything: an unanswered item ends the run and starts none.
        run = np.where(np.isnan(column), 0.0, np.where(column == previous, run + 1.0, 1.0))
        np.maximum(longest, run, out=longest)
        previous = column
    return longest, longest > rule.limit


def _long_string_row(cols: RowColumns, rule: ValidityRule) -> tuple[float | None, bool]:
    run = longest = 0.0
    previous: float | None = None
    for item in rule.items:
        value = cols.raw(item)
        if value is None:
            run = 0.0
        elif previous is not None and value == previous:
            run += 1.0
        else:
            run = 1.0
        longest = max(longest, run)
        previous = value
    return longest, longest > rule.limit


def _too_fast_vector(cols: VectorColumns, rule: ValidityRule) -> tuple[np.ndarray, np.ndarray]:
    times = cols.seconds(rule.items)
    if times is None:
        return np.full(cols.rows, np.nan), np.zeros(cols.rows, dtype=bool)
    ordered = np.sort(times, axis=1)  # NaN sorts last
    count = (~np.isnan(ordered)).sum(axis=1)
    last = ordered.shape[1] - 1
    take = np.arange(cols.rows)
    low = ordered[take, np.clip((count - 1) // 2, 0, last)]
    high = ordered[take, np.clip(count // 2, 0, last)]
    median = np.where(count > 0, (low + high) / 2, np.nan)
    return median, median < rule.limit


def _too_fast_row(cols: RowColumns, rule: ValidityRule) -> tuple[float | None, bool]:
    times = sorted(t for t in (cols.seconds(i) for i in rule.items) if t is not None)
    if not times:
        return None, False
    count = len(times)
    median = (times[(count - 1) // 2] + times[count // 2]) / 2
    return median, median < rule.limit


def _pairs_vector(cols: VectorColumns, rule: ValidityRule) -> tuple[np.ndarray, np.ndarray]:
    first = cols.keyed([a for a, _ in rule.pairs])
    second = cols.keyed([b for _, b in rule.pairs])
    with np.errstate(invalid="ignore"):
        apart = np.abs(first - second) > rule.max_difference  # NaN compares False
    index = apart.sum(axis=1).astype(np.float64)
    return index, index > rule.limit


def _pairs_row(cols: RowColumns, rule: ValidityRule) -> tuple[float | None, bool]:
    index = 0.0
    for a, b in rule.pairs:
        first, second = cols.keyed(a), cols.keyed(b)
        if first is not None and second is not None and abs(first - second) > rule.max_difference:
            index += 1.0
    return index, index > rule.limit


REGISTRY: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "sum",
            "score",
            "sum of the keyed answers (prorated when answers may be missing)",
            _sum_vector,
            _sum_row,
        ),
        Rule("mean", "score", "mean of the answered items' keyed values", _mean_vector, _mean_row),
        Rule(
            "complete",
            "missing",
            "scorable only when every item is answered",
            _complete_vector,
            _complete_row,
        ),
        Rule(
            "prorate",
            "missing",
            "scorable when at most max_missing items are unanswered",
            _prorate_vector,
            _prorate_row,
        ),
        Rule(
            "lie_scale",
            "validity",
            "keyed sum of the lie items; fails above max",
            _lie_vector,
            _lie_row,
            index="lie_score",
            limit_key="max",
        ),
        Rule(
            "long_string",
            "validity",
            "longest run of identical consecutive answers; fails above max_run",
            _long_string_vector,
            _long_string_row,
            index="longest_run",
            limit_key="max_run",
        ),
        Rule(
            "too_fast",
            "validity",
            "median seconds per answered item; fails below min_seconds_per_item",
            _too_fast_vector,
            _too_fast_row,
            index="seconds_per_item",
            limit_key="min_seconds_per_item",
        ),
        Rule(
            "inconsistent_pairs",
            "validity",
            "pairs whose keyed answers differ by more than max_difference; fails above max",
            _pairs_vector,
            _pairs_row,
            index="inconsistent_pairs",
            limit_key="max",
        ),
    )
}


def names(kind: Kind) -> tuple[str, ...]:
    """The registered rule names of one kind, in registry order."""
    return tuple(name for name, rule in REGISTRY.items() if rule.kind == kind)


def lookup(kind: Kind, name: str) -> Rule | None:
    rule = REGISTRY.get(name)
    return rule if rule is not None and rule.kind == kind else None
