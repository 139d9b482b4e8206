"""Scoring of responses: many at once (vectorized) and one at a time (the definition).

`score_response` is the plain, row-by-row definition of a score; `score_matrix` computes
the same for a whole matrix of responses with numpy, and a property test checks that the
two agree exactly. Both use the registry's rules (`screening.rules`).

Definitions, for each scale (the total and every subscale):
- keyed value of an answer: the answer, or lowest + highest option value − answer for a
  reversed item;
- scorable: the scale's missing-data rule holds (`complete`: every item answered;
  `prorate`: at most `max_missing` unanswered);
- score: the score rule over the answered items (`sum`: keyed sum × items / answered,
  i.e. prorated, which is the plain sum when all are answered; `mean`: keyed sum /
  answered); None (NaN) when not scorable;
- band: the band with the highest `min` at or below the score (a prorated or mean score
  between one band's max and the next band's min belongs to the lower band); none
  above the last band's max.
For the response:
- missing: how many items are unanswered;
- critical: a critical item's answer is at least its `min` (an unanswered item is not
  endorsed);
- invalid reasons: `missing` when the total (or, without a total, any subscale) is not
  scorable, and the name of each validity rule that fails; valid = no reason.

Answer matrices hold option values, one column per item in the instrument's order. In
float matrices NaN marks an unanswered item; in signed integer matrices the dtype's
minimum does (−128 for int8; option values are limited to −100..100 by the schema).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from screening import rules
from screening.errors import InvalidAnswer, InvalidMatrix, InvalidTime, UnknownItem
from screening.instruments import Band, Instrument, Scale

# Blocks of about a million answers keep each block's temporaries (a few MB) near the
# CPU caches; measured: 2-3x faster than blocks of 3 million on a 100-item matrix.
BLOCK_CELLS = 1 << 20
MISSING_REASON = "missing"


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Score:
    """The score of one response. None: not scorable, not measured."""

    total: float | None
    band: str | None
    critical: bool
    valid: bool
    missing: int
    subscales: Mapping[str, float | None]
    subscale_bands: Mapping[str, str | None]
    indices: Mapping[str, float | None]
    invalid_reasons: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    """The scores of many responses, one array element per response.

    total and subscales: float64, NaN when not scorable; band and subscale_bands: int16
    positions into the scale's bands, −1 for none; critical, valid and failed (by
    reason): bool; missing: int32; indices (validity indices by name): float64, NaN when
    not measured."""

    instrument: Instrument
    total: np.ndarray
    band: np.ndarray
    critical: np.ndarray
    valid: np.ndarray
    missing: np.ndarray
    subscales: Mapping[str, np.ndarray]
    subscale_bands: Mapping[str, np.ndarray]
    indices: Mapping[str, np.ndarray]
    failed: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.valid)

    def band_ids(self, scale_id: str = "total") -> np.ndarray:
        """Band ids as an object array, None where there is no band."""
        scale = _scale_by_id(self.instrument, scale_id)
        positions = self.band if scale_id == "total" else self.subscale_bands[scale_id]
        lookup = np.array([band.id for band in scale.bands] + [None], dtype=object)
        return lookup[positions]

    def invalid_reasons(self) -> np.ndarray:
        """Per response, the failed reasons joined by ";" ("" when valid)."""
        joined = np.full(len(self), "", dtype=object)
        for reason, failed in self.failed.items():
            if failed.any():
                joined[failed] = np.where(
                    joined[failed] == "", reason, joined[failed] + ";" + reason
                )
        return joined

    def row(self, index: int) -> Score:
        def number(values: np.ndarray) -> float | None:
            value = float(values[index])
            return None if math.isnan(value) else value

        def band(scale_id: str) -> str | None:
            return self.band_ids(scale_id)[index]

        return Score(
            total=number(self.total),
            band=band("total") if self.instrument.total else None,
            critical=bool(self.critical[index]),
            valid=bool(self.valid[index]),
            missing=int(self.missing[index]),
            subscales={key: number(values) for key, values in self.subscales.items()},
            subscale_bands={key: band(key) for key in self.subscale_bands},
            indices={key: number(values) for key, values in self.indices.items()},
            invalid_reasons=tuple(r for r, failed in self.failed.items() if failed[index]),
        )

    def to_frame(self) -> pd.DataFrame:
        """Columns: total, band, critical, valid, missing, subscale_<id> and band_<id> per
        subscale (band_<id> only where the subscale has bands), one column per validity
        index (lie_score, longest_run, seconds_per_item, inconsistent_pairs) the
        instrument declares, invalid_reasons. Missing numbers are NaN, missing bands None."""
        columns: dict[str, Any] = {
            "total": self.total,
            "band": self.band_ids() if self.instrument.total else np.full(len(self), None),
            "critical": self.critical,
            "valid": self.valid,
            "missing": self.missing,
        }
        columns.update({f"subscale_{key}": values for key, values in self.subscales.items()})
        columns.update({f"band_{key}": self.band_ids(key) for key in self.subscale_bands})
        columns.update(self.indices)
        columns["invalid_reasons"] = self.invalid_reasons()
        return pd.DataFrame(columns)


def _scale_by_id(instrument: Instrument, scale_id: str) -> Scale:
    for scale in instrument.scales:
        if scale.id == scale_id:
            return scale
    raise KeyError(scale_id)


# ----------------------------------------------------------------------------- one response


def _answer(instrument: Instrument, position: int, value: Any) -> int | None:
    item = instrument.items[position]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or number not in item.values:
        raise InvalidAnswer(item.id, value, item.values, None)
    return int(number)


def _seconds(item: str, value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise InvalidTime(item, value, None)
    return float(value)


class _Row:
    """One response's columns for the row rules (rules.RowColumns)."""

    def __init__(
        self, instrument: Instrument, values: list[int | None], times: list[float | None]
    ) -> None:
        self.items = instrument.items
        self.values = values
        self.times = times

    def raw(self, item: int) -> float | None:
        value = self.values[item]
        return None if value is None else float(value)

    def keyed(self, item: int) -> float | None:
        value = self.values[item]
        return None if value is None else float(self.items[item].keyed(value))

    def seconds(self, item: int) -> float | None:
        return None if self.values[item] is None else self.times[item]


def _band_of(bands: Sequence[Band], value: float | None) -> str | None:
    if value is None or not bands or value < bands[0].min or value > bands[-1].max:
        return None
    return [band for band in bands if band.min <= value][-1].id


def _scale_row(scale: Scale, row: _Row) -> float | None:
    answered = [(i, value) for i in scale.items if (value := row.values[i]) is not None]
    count = len(answered)
    if not rules.REGISTRY[scale.missing_rule].row(count, len(scale.items), scale.max_missing):
        return None
    keyed_sum = sum(row.items[i].keyed(value) for i, value in answered)
    return rules.REGISTRY[scale.rule].row(keyed_sum, count, len(scale.items))


def score_response(
    instrument: Instrument,
    answers: Mapping[str, Any],
    seconds: Mapping[str, Any] | None = None,
) -> Score:
    """Score one response: answers (and optional per-item seconds) by item id; an item
    that is absent or None is unanswered. Raises UnknownItem, InvalidAnswer, InvalidTime."""
    for key in (*answers, *(seconds or {})):
        instrument.index_of(key)  # raises UnknownItem
    values = [
        _answer(instrument, i, answers.get(item.id)) for i, item in enumerate(instrument.items)
    ]
    times = [_seconds(item.id, (seconds or {}).get(item.id)) for item in instrument.items]
    row = _Row(instrument, values, times)
    total = _scale_row(instrument.total, row) if instrument.total else None
    subscales = {scale.id: _scale_row(scale, row) for scale in instrument.subscales}
    reasons = []
    unscorable = total is None if instrument.total else None in subscales.values()
    if unscorable:
        reasons.append(MISSING_REASON)
    indices: dict[str, float | None] = {}
    for rule in instrument.validity:
        spec = rules.REGISTRY[rule.rule]
        index, fails = spec.row(row, rule)
        indices[spec.index or rule.rule] = index
        if fails:
            reasons.append(rule.rule)
    critical = any(
        (value := values[c.item]) is not None and value >= c.min for c in instrument.critical
    )
    return Score(
        total=total,
        band=_band_of(instrument.total.bands, total) if instrument.total else None,
        critical=critical,
        valid=not reasons,
        missing=sum(value is None for value in values),
        subscales=subscales,
        subscale_bands={
            s.id: _band_of(s.bands, subscales[s.id]) for s in instrument.subscales if s.bands
        },
        indices=indices,
        invalid_reasons=tuple(reasons),
    )


# ----------------------------------------------------------------------------- many responses


@dataclass(frozen=True)
class _Group:
    """Item columns sharing one set of option values, checked together."""

    columns: slice | np.ndarray
    positions: tuple[int, ...]
    values: np.ndarray
    low: int
    high: int
    contiguous: bool


@dataclass(frozen=True)
class _Plan:
    """How a block is summed: items are regrouped into atoms (items that belong to the
    same scales), each atom is summed with one `reduceat` pass over contiguous columns,
    and each sum column (a scale, a lie scale, all items) adds up its atoms. Integer
    arithmetic throughout: exact, and no BLAS threads to contend for the CPU."""

    scales: tuple[Scale, ...]
    columns: dict[tuple[int, ...], int]  # items -> sum column
    order: np.ndarray | None  # item positions grouped by atom (None: already grouped)
    starts: np.ndarray  # first position of each atom in `order`
    atoms: tuple[tuple[int, ...], ...]  # per sum column: its atoms
    reversed: tuple[tuple[int, int], ...]  # (position in `order`, low + high)
    groups: tuple[_Group, ...]
    base: int  # power of two above twice any |keyed sum|: carries answered counts
    dtype: type  # integer type that holds keyed sums + base × answered


def _columns(positions: Sequence[int]) -> slice | np.ndarray:
    """A slice when the positions step evenly (a view, no copy), else an index array."""
    if len(positions) == 1:
        return slice(positions[0], positions[0] + 1)
    step = positions[1] - positions[0]
    if step > 0 and all(b - a == step for a, b in itertools.pairwise(positions)):
        return slice(positions[0], positions[-1] + 1, step)
    return np.asarray(positions)


def _option_groups(instrument: Instrument) -> tuple[_Group, ...]:
    by_values: dict[tuple[int, ...], list[int]] = {}
    for position, item in enumerate(instrument.items):
        by_values.setdefault(tuple(sorted(item.values)), []).append(position)
    return tuple(
        _Group(
            _columns(positions),
            tuple(positions),
            np.array(values),
            values[0],
            values[-1],
            values == tuple(range(values[0], values[-1] + 1)),
        )
        for values, positions in by_values.items()
    )


def _plan(instrument: Instrument) -> _Plan:
    count = len(instrument.items)
    sets = [scale.items for scale in instrument.scales]
    sets += [rule.items for rule in instrument.validity if rule.rule == "lie_scale"]
    sets.append(tuple(range(count)))  # every item: counts the missing
    columns: dict[tuple[int, ...], int] = {}
    for column, items in enumerate(sets):
        columns.setdefault(tuple(items), column)
    membership: dict[tuple[bool, ...], list[int]] = {}
    for position in range(count):
        key = tuple(position in set(items) for items in sets)
        membership.setdefault(key, []).append(position)
    atoms = list(membership.values())
    order = [position for atom in atoms for position in atom]
    starts = np.cumsum([0] + [len(atom) for atom in atoms[:-1]])
    where = {position: index for index, position in enumerate(order)}
    largest = sum(max(abs(item.low), abs(item.high)) for item in instrument.items)
    base = 1 << (2 * largest + 1).bit_length()  # above twice any |keyed sum|
    dtype = np.int32 if largest + count * base < 2**31 else np.int64
    return _Plan(
        scales=instrument.scales,
        columns=columns,
        order=None if order == list(range(count)) else np.array(order),
        starts=starts,
        atoms=tuple(
            tuple(a for a, key in enumerate(membership) if key[column])
            for column in range(len(sets))
        ),
        reversed=tuple(
            (where[position], item.low + item.high)
            for position, item in enumerate(instrument.items)
            if item.reverse
        ),
        groups=_option_groups(instrument),
        base=base,
        dtype=dtype,
    )


def _missing_mask(block: np.ndarray) -> np.ndarray | None:
    """Where answers are missing; None when none is (found in one pass, no temporary)."""
    if block.size == 0:
        return None
    if block.dtype.kind == "f":
        return np.isnan(block) if np.isnan(block.min()) else None
    sentinel = np.iinfo(block.dtype).min
    return block == sentinel if block.min() == sentinel else None


def _no_bad_integers(group: _Group, values: np.ndarray) -> bool:
    """True when an integer group holds only its range and the missing sentinel,
    found with reductions rather than full-size temporaries."""
    if values.max() > group.high:
        return False
    lowest = values.min()
    if lowest >= group.low:
        return True
    sentinel = np.iinfo(values.dtype).min
    return bool(lowest == sentinel and not ((values < group.low) & (values != sentinel)).any())


def _group_bad(group: _Group, values: np.ndarray, missing: np.ndarray | None) -> np.ndarray | None:
    """Bad cells of one group's columns, or None when there are none."""
    if values.dtype.kind == "i" and group.contiguous and _no_bad_integers(group, values):
        return None  # the common case
    if group.contiguous:
        good = (values >= group.low) & (values <= group.high)
        if values.dtype.kind == "f":
            good &= values == np.floor(values)
    else:
        good = np.isin(values, group.values)
    bad = ~good if missing is None else ~good & ~missing[:, group.columns]
    return bad if bad.any() else None


def _first_bad_answer(
    instrument: Instrument,
    plan: _Plan,
    block: np.ndarray,
    missing: np.ndarray | None,
    start: int,
) -> InvalidAnswer | None:
    first_row = None
    for group in plan.groups:
        bad = _group_bad(group, block[:, group.columns], missing)
        if bad is not None:
            row = int(bad.any(axis=1).argmax())
            first_row = row if first_row is None else min(first_row, row)
    if first_row is None:
        return None
    for position, item in enumerate(instrument.items):
        value = block[first_row, position]
        unanswered = missing is not None and missing[first_row, position]
        if not unanswered and value not in item.values:
            shown = value.item() if hasattr(value, "item") else value
            return InvalidAnswer(item.id, shown, item.values, start + first_row)
    return None  # pragma: no cover - the group check and this loop agree


def _check_times(instrument: Instrument, times: np.ndarray, start: int) -> None:
    finite = np.isfinite(times)
    bad = ~np.isnan(times) & ~(finite & (np.where(finite, times, 0) >= 0))
    if bad.any():
        row, position = np.unravel_index(int(bad.argmax()), bad.shape)
        value = float(times[row, position])
        raise InvalidTime(instrument.items[position].id, value, start + int(row))


class _Block:
    """One block of responses for the vector rules (rules.VectorColumns)."""

    def __init__(
        self,
        instrument: Instrument,
        plan: _Plan,
        block: np.ndarray,
        missing: np.ndarray | None,
        times: np.ndarray | None,
        sums: np.ndarray,
    ) -> None:
        self.instrument = instrument
        self.plan = plan
        self.block = block
        self.missing = missing
        self.times = times
        self.sums = sums  # product columns × rows
        self.rows = block.shape[0]

    def raw(self, items: Sequence[int]) -> np.ndarray:
        columns = _columns(items)
        values = self.block[:, columns].astype(np.float64)
        if self.missing is not None:
            values[self.missing[:, columns]] = np.nan
        return values

    def keyed(self, items: Sequence[int]) -> np.ndarray:
        values = self.raw(items)
        for column, position in enumerate(items):
            item = self.instrument.items[position]
            if item.reverse:
                values[:, column] = item.low + item.high - values[:, column]
        return values

    def keyed_sum(self, items: Sequence[int]) -> np.ndarray:
        column = self.plan.columns.get(tuple(items))
        if column is not None:
            return self.sums[column]
        keyed = self.keyed(items)
        return np.where(np.isnan(keyed), 0.0, keyed).sum(axis=1)

    def seconds(self, items: Sequence[int]) -> np.ndarray | None:
        if self.times is None:
            return None
        columns = _columns(items)
        values = self.times[:, columns].astype(np.float64)
        if self.missing is not None:
            values[self.missing[:, columns]] = np.nan  # a time without an answer
        return values


def _bands(bands: Sequence[Band], values: np.ndarray) -> np.ndarray:
    """Band positions by the lower bounds (−1: none); a few comparisons beat a search."""
    positions = np.zeros(len(values), dtype=np.int16)
    if not bands:
        positions.fill(-1)
        return positions
    for band in bands[1:]:
        positions += values >= band.min
    outside = ~(values >= bands[0].min) | (values > bands[-1].max)  # NaN is outside
    np.putmask(positions, outside, -1)
    return positions


@lru_cache(maxsize=512)
def _table(dtype: np.dtype, pivot: int | None, base: int, working: type) -> np.ndarray:
    """Value -> working value for every value of a small integer dtype, indexed by the
    value's unsigned bits: the keyed value plus `base`, and 0 for the missing sentinel.
    Cached: the same few tables serve every block (never modified)."""
    bits = dtype.itemsize * 8
    values = np.arange(1 << bits, dtype=np.int64)
    values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
    keyed = values if pivot is None else pivot - values
    table = (keyed + base).astype(working)
    table[1 << (bits - 1)] = 0  # the bits of the dtype's minimum: unanswered
    return table


def _looked_up(plan: _Plan, grouped: np.ndarray, base: int) -> np.ndarray:
    """`_working` for int8/int16 blocks: one gather per column kind, no mask needed."""
    unsigned = grouped.view(f"u{grouped.dtype.itemsize}")
    values = np.take(_table(grouped.dtype, None, base, plan.dtype), unsigned)
    for position, pivot in plan.reversed:
        table = _table(grouped.dtype, pivot, base, plan.dtype)
        values[:, position] = np.take(table, unsigned[:, position])
    return values


def _working(plan: _Plan, block: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """The block as exact integers in atom order, reversed items keyed; with missing
    answers, every answered value carries `base` and missing ones are 0."""
    grouped = block if plan.order is None else block[:, plan.order]
    if (
        block.dtype.kind == "i"
        and block.dtype.itemsize <= 2
        and (plan.reversed or missing is not None)
    ):
        return _looked_up(plan, grouped, 0 if missing is None else plan.base)
    if missing is not None and plan.order is not None:
        missing = missing[:, plan.order]
    if missing is None:
        if block.dtype.kind == "i" and not plan.reversed:
            return grouped  # reduceat widens as it sums: no copy needed
        values = grouped.astype(plan.dtype)
        for position, pivot in plan.reversed:
            np.subtract(pivot, values[:, position], out=values[:, position])
        return values
    if block.dtype.kind == "f":
        grouped = np.where(missing, 0, grouped)  # NaN has no integer value
    values = grouped.astype(plan.dtype)
    values += plan.base
    for position, pivot in plan.reversed:  # (pivot - x) + base
        np.subtract(pivot + 2 * plan.base, values[:, position], out=values[:, position])
    np.putmask(values, missing, 0)
    return values


def _scale_sums(
    plan: _Plan, block: np.ndarray, missing: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Keyed sums and answered counts, one row per sum column, exact, as float64.
    Counts are None when nothing is missing (every scale then has all its items).

    With missing answers one pass yields both: a column holds sum + base × answered, and
    |sum| < base / 2 makes the split exact."""
    values = _working(plan, block, missing)
    atoms = np.add.reduceat(values, plan.starts, axis=1, dtype=plan.dtype).T.copy()
    totals = np.stack([atoms[list(members)].sum(axis=0) for members in plan.atoms])
    if missing is None:
        return totals.astype(np.float64), None
    answered = (totals + plan.base // 2) // plan.base
    return (totals - answered * plan.base).astype(np.float64), answered.astype(np.float64)


def _scale_score(
    scale: Scale, sums: np.ndarray, answered: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The scale's scores (NaN when not scorable) and where it is scorable (None: all)."""
    size = len(scale.items)
    rule = rules.REGISTRY[scale.rule]
    if answered is None:
        return rule.vector(sums, size, size), None
    ok = rules.REGISTRY[scale.missing_rule].vector(answered, size, scale.max_missing)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows that are not scorable
        return np.where(ok, rule.vector(sums, answered, size), np.nan), ok


def _score_block(
    instrument: Instrument,
    plan: _Plan,
    block: np.ndarray,
    times: np.ndarray | None,
    start: int,
    out: dict[str, Any],
) -> None:
    rows = slice(start, start + block.shape[0])
    missing = _missing_mask(block)
    bad = _first_bad_answer(instrument, plan, block, missing, start)
    if bad is not None:
        raise bad
    if times is not None:
        _check_times(instrument, times, start)
    sums, answered = _scale_sums(plan, block, missing)
    unscorable = out["failed"][MISSING_REASON][rows]
    for column, scale in enumerate(plan.scales):
        counts = None if answered is None else answered[column]
        score, ok = _scale_score(scale, sums[column], counts)
        is_total = instrument.total is not None and column == 0
        if is_total:
            out["total"][rows] = score
            out["band"][rows] = _bands(scale.bands, score)
        else:
            out["subscales"][scale.id][rows] = score
            if scale.bands:
                out["subscale_bands"][scale.id][rows] = _bands(scale.bands, score)
        if ok is not None and (is_total or instrument.total is None):
            unscorable |= ~ok
    if answered is not None:
        everything = plan.columns[tuple(range(len(instrument.items)))]
        out["missing"][rows] = len(instrument.items) - answered[everything]
    critical = out["critical"][rows]
    for entry in instrument.critical:
        critical |= block[:, entry.item] >= entry.min  # NaN and the int sentinel are below
    columns = _Block(instrument, plan, block, missing, times, sums)
    for rule in instrument.validity:
        spec = rules.REGISTRY[rule.rule]
        index, fails = spec.vector(columns, rule)
        out["indices"][spec.index or rule.rule][rows] = index
        out["failed"][rule.rule][rows] = fails


def _outputs(instrument: Instrument, rows: int) -> dict[str, Any]:
    def nan() -> np.ndarray:
        return np.full(rows, np.nan)

    return {
        "total": nan(),
        "band": np.full(rows, -1, dtype=np.int16),
        "critical": np.zeros(rows, dtype=bool),
        "missing": np.zeros(rows, dtype=np.int32),
        "subscales": {scale.id: nan() for scale in instrument.subscales},
        "subscale_bands": {
            s.id: np.full(rows, -1, dtype=np.int16) for s in instrument.subscales if s.bands
        },
        "indices": {rules.REGISTRY[r.rule].index or r.rule: nan() for r in instrument.validity},
        "failed": {
            reason: np.zeros(rows, dtype=bool)
            for reason in (MISSING_REASON, *(r.rule for r in instrument.validity))
        },
    }


def _check_matrix(instrument: Instrument, answers: np.ndarray, seconds: np.ndarray | None) -> None:
    expected = len(instrument.items)
    if answers.ndim != 2 or answers.shape[1] != expected:
        raise InvalidMatrix(
            f"answers must have shape (responses, {expected}) for {instrument.ref}, "
            f"not {answers.shape}"
        )
    if answers.dtype.kind not in "if":
        raise InvalidMatrix(f"answers must be float or signed integers, not {answers.dtype}")
    if seconds is not None and (seconds.shape != answers.shape or seconds.dtype.kind != "f"):
        raise InvalidMatrix("seconds must be a float matrix of the same shape as the answers")


def _blocks(rows: int, chunk_rows: int | None, items: int) -> Iterator[tuple[int, int]]:
    chunk_rows = chunk_rows or max(1024, BLOCK_CELLS // max(items, 1))
    for start in range(0, rows, chunk_rows):
        yield start, min(start + chunk_rows, rows)


def first_invalid_answer(
    instrument: Instrument, answers: np.ndarray, chunk_rows: int | None = None
) -> InvalidAnswer | None:
    """The first value that is not an option value (smallest row, then item order)."""
    answers = np.asarray(answers)
    _check_matrix(instrument, answers, None)
    plan = _plan(instrument)
    for start, stop in _blocks(answers.shape[0], chunk_rows, answers.shape[1]):
        block = answers[start:stop]
        bad = _first_bad_answer(instrument, plan, block, _missing_mask(block), start)
        if bad is not None:
            return bad
    return None


def first_invalid_time(instrument: Instrument, seconds: np.ndarray) -> InvalidTime | None:
    """The first time that is not a finite number of seconds at or above zero."""
    try:
        _check_times(instrument, seconds, 0)
    except InvalidTime as error:
        return error
    return None


def score_matrix(
    instrument: Instrument,
    answers: np.ndarray,
    seconds: np.ndarray | None = None,
    chunk_rows: int | None = None,
) -> Scores:
    """Score every row of `answers` (responses × items, in the instrument's item order).

    `seconds`, when given, holds each item's answering time (float, NaN = not recorded).
    Raises InvalidAnswer / InvalidTime for the first bad value (smallest row, then item
    order; `row` is its 0-based position) and InvalidMatrix for a wrong shape or dtype."""
    answers = np.asarray(answers)
    _check_matrix(instrument, answers, seconds)
    rows = answers.shape[0]
    plan = _plan(instrument)
    out = _outputs(instrument, rows)
    for start, stop in _blocks(rows, chunk_rows, answers.shape[1]):
        times = None if seconds is None else seconds[start:stop]
        _score_block(instrument, plan, answers[start:stop], times, start, out)
    failed = out["failed"]
    valid = ~np.logical_or.reduce(list(failed.values())) if rows else np.zeros(0, dtype=bool)
    return Scores(
        instrument=instrument,
        total=out["total"],
        band=out["band"],
        critical=out["critical"],
        valid=valid,
        missing=out["missing"],
        subscales=out["subscales"],
        subscale_bands=out["subscale_bands"],
        indices=out["indices"],
        failed=failed,
    )


def answers_matrix(
    instrument: Instrument, responses: Sequence[Mapping[str, Any]], dtype: Any = np.float64
) -> np.ndarray:
    """Responses given as mappings (item id -> value or None) as an answer matrix."""
    for response in responses:
        for key in response:
            if key not in instrument.item_ids:
                raise UnknownItem(key, instrument.ref)
    ids = instrument.item_ids
    if np.dtype(dtype).kind == "f":
        rows = [[np.nan if r.get(i) is None else r[i] for i in ids] for r in responses]
        return np.array(rows, dtype=dtype).reshape(len(responses), len(ids))
    sentinel = np.iinfo(dtype).min
    rows = [[sentinel if r.get(i) is None else r[i] for i in ids] for r in responses]
    return np.array(rows, dtype=dtype).reshape(len(responses), len(ids))
