"""`wellbeing score` without the command line: a table of responses in, scored rows out.

See docs/batch-cli.md. Input: `respondent_id` and one column per item (all
required, cells may be empty), plus optional `<item>_seconds` columns holding each
item's answering time for the `too_fast` rule. Every row is checked before anything is
written; the first bad value (smallest row, then leftmost column) raises InputError.

Output columns, in this order:
- respondent_id: as read (spaces trimmed);
- total, band, critical, valid, missing: as the contract says;
- subscale_<id>: one per subscale, in the file's order;
- band_<id>: for each subscale that has bands;
- lie_score, longest_run, seconds_per_item, inconsistent_pairs: for each validity rule
  the instrument declares;
- invalid_reasons: the reasons `valid` is false, joined by ";" (missing, lie_scale, ...).
Numbers are printed without a trailing ".0" when whole (every sum of complete answers
is), otherwise as the shortest decimal that reads back as the same float (prorated and
mean scores, e.g. 11.25 or 2.3333333333333335). Empty cell = not scorable / not measured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

import numpy as np

from screening import exports, rules
from screening.errors import InputError
from screening.instruments import SECONDS_SUFFIX, Instrument
from screening.scoring import Scores, first_invalid_answer, first_invalid_time, score_matrix
from screening.spreadsheets import Block, Table

ID_COLUMN = "respondent_id"
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows, less the header


def output_columns(instrument: Instrument) -> list[str]:
    columns = [ID_COLUMN, "total", "band", "critical", "valid", "missing"]
    columns += [f"subscale_{s.id}" for s in instrument.subscales]
    columns += [f"band_{s.id}" for s in instrument.subscales if s.bands]
    columns += [rules.REGISTRY[r.rule].index or r.rule for r in instrument.validity]
    return [*columns, "invalid_reasons"]


@dataclass(frozen=True)
class ScoredBlock:
    ids: np.ndarray
    scores: Scores


class TextResult(Protocol):
    """What write_csv and write_xlsx need from a result (`wellbeing score`, and the
    vision and fitness commands): the header, the row count, the output columns as
    contract text block by block, and each cell as XLSX should type it."""

    @property
    def sheet(self) -> str: ...

    @property
    def rows(self) -> int: ...

    @property
    def columns(self) -> list[str]: ...

    def text_blocks(self) -> Iterator[list[list[str]]]: ...

    def typed(self, text: str, column: str) -> Any: ...


@dataclass(frozen=True)
class ScoredTable:
    instrument: Instrument
    blocks: tuple[ScoredBlock, ...]
    sheet: ClassVar[str] = "scores"

    @property
    def rows(self) -> int:
        return sum(len(block.ids) for block in self.blocks)

    @property
    def columns(self) -> list[str]:
        return output_columns(self.instrument)

    def text_blocks(self) -> Iterator[list[list[str]]]:
        for block in self.blocks:
            yield [values.tolist() for values in text_columns(block)]

    def typed(self, text: str, column: str) -> Any:
        return _typed(text, column)


def _shown(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _answer_error(instrument: Instrument, block: Block, answers: np.ndarray) -> list[InputError]:
    """The first row's bad answers (every bad cell of that row: the leftmost wins)."""
    bad = first_invalid_answer(instrument, answers)
    if bad is None or bad.row is None:
        return []
    errors = []
    for position, item in enumerate(instrument.items):
        value = answers[bad.row, position]
        if not np.isnan(value) and value not in item.values:
            allowed = ", ".join(str(v) for v in item.values)
            message = f"{_shown(float(value))} is not an answer of {item.id} (allowed: {allowed})"
            errors.append(InputError(message, int(block.rows[bad.row]), item.id))
    return errors


def _time_error(instrument: Instrument, block: Block, times: list[str]) -> list[InputError]:
    late = first_invalid_time(instrument, _seconds_matrix(instrument, block, times))
    if late is None or late.row is None:
        return []
    shown = _shown(late.value) if isinstance(late.value, float) else repr(late.value)
    message = f"{shown} is not a number of seconds at or above 0"
    return [InputError(message, int(block.rows[late.row]), late.item + SECONDS_SUFFIX)]


def _first_error(table: Table, instrument: Instrument, block: Block, times: list[str]) -> None:
    """Raise the block's first bad value in reading order: smallest row, then leftmost."""
    allowed = {item.id: ", ".join(str(v) for v in item.values) for item in instrument.items}
    found = []
    for cell in block.errors:
        if cell.codepoint:  # a refused character in respondent_id
            found.append(InputError(f"{cell.text!r} {cell.reason}", cell.row, cell.column))
            continue
        kind = f"allowed: {allowed[cell.column]}" if cell.column in allowed else "seconds"
        found.append(InputError(f"{cell.text!r} {cell.reason} ({kind})", cell.row, cell.column))
    empty_ids = block.text[ID_COLUMN] == ""
    if empty_ids.any():
        row = int(block.rows[empty_ids.argmax()])
        found.append(InputError("empty, but the row has answers", row, ID_COLUMN))
    found += _answer_error(instrument, block, block.numbers[:, : len(instrument.items)])
    if times:
        found += _time_error(instrument, block, times)
    if found:
        raise min(found, key=lambda e: (e.row, table.position(e.column or ID_COLUMN)))


def _seconds_matrix(instrument: Instrument, block: Block, times: list[str]) -> np.ndarray:
    """Answering times in item order; NaN for items whose time column is absent."""
    matrix = np.full((len(block.rows), len(instrument.items)), np.nan)
    offset = len(instrument.items)
    for slot, column in enumerate(times):
        position = instrument.index_of(column[: -len(SECONDS_SUFFIX)])
        matrix[:, position] = block.numbers[:, offset + slot]
    return matrix


def score_table(
    instrument: Instrument, table: Table, progress: Callable[[int], Any] | None = None
) -> ScoredTable:
    """Read, check and score every row; raises InputError for the first bad value."""
    items = list(instrument.item_ids)
    times = table.require([ID_COLUMN, *items], [f"{item}{SECONDS_SUFFIX}" for item in items])
    wants_times = any(rule.rule == "too_fast" for rule in instrument.validity)
    blocks = []
    for block in table.blocks([ID_COLUMN], [*items, *times]):
        _first_error(table, instrument, block, times)
        seconds = _seconds_matrix(instrument, block, times) if times and wants_times else None
        answers = np.ascontiguousarray(block.numbers[:, : len(items)])
        blocks.append(
            ScoredBlock(block.text[ID_COLUMN], score_matrix(instrument, answers, seconds))
        )
        if progress is not None:
            progress(len(block.rows))
    return ScoredTable(instrument, tuple(blocks))


# ----------------------------------------------------------------------------- output


def format_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers as contract text: "" for NaN, whole numbers without ".0"."""
    out = np.full(len(values), "", dtype=object)
    present = ~np.isnan(values)
    whole = present & (values == np.floor(values))
    out[whole] = values[whole].astype(np.int64).astype(str).astype(object)
    fraction = present & ~whole
    out[fraction] = [repr(float(v)) for v in values[fraction]]
    return out


def _booleans(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false").astype(object)


def _bands(ids: np.ndarray) -> np.ndarray:
    return np.array(["" if band is None else band for band in ids.tolist()], dtype=object)


def text_columns(block: ScoredBlock) -> list[np.ndarray]:
    """One block's output columns as text, in output_columns order."""
    scores, instrument = block.scores, block.scores.instrument
    columns = [
        block.ids,
        format_numbers(scores.total),
        _bands(scores.band_ids()) if instrument.total else np.full(len(block.ids), "", object),
        _booleans(scores.critical),
        _booleans(scores.valid),
        scores.missing.astype(str).astype(object),
    ]
    columns += [format_numbers(values) for values in scores.subscales.values()]
    columns += [_bands(scores.band_ids(key)) for key in scores.subscale_bands]
    columns += [format_numbers(values) for values in scores.indices.values()]
    return [*columns, scores.invalid_reasons()]


def _counted(
    result: TextResult, progress: Callable[[int], Any] | None
) -> Iterator[list[list[str]]]:
    """The result's blocks, reporting each block's rows once it is written."""
    for columns in result.text_blocks():
        yield columns
        if progress is not None:
            progress(len(columns[0]))


def write_csv(
    result: TextResult, handle: IO[str], progress: Callable[[int], Any] | None = None
) -> None:
    """CSV (UTF-8, no BOM: the contract's), every cell through screening.exports."""
    exports.write_csv_columns(
        handle, result.columns, _counted(result, progress), lineterminator="\n"
    )


def _typed(text: str, column: str) -> Any:
    """A cell for XLSX: numbers as numbers, everything else (booleans too) as text."""
    if text == "" or column in (ID_COLUMN, "band", "invalid_reasons", "critical", "valid"):
        return text or None
    if column.startswith("band_"):
        return text or None
    number = float(text)
    return int(number) if number.is_integer() else number


def write_xlsx(
    result: TextResult, path: Path, progress: Callable[[int], Any] | None = None
) -> None:
    if result.rows > XLSX_MAX_ROWS:
        raise InputError(
            f"{result.rows} rows do not fit in an XLSX sheet ({XLSX_MAX_ROWS}): write CSV"
        )
    columns = result.columns

    def rows() -> Iterator[list[Any]]:
        yield columns
        for block in _counted(result, progress):
            for row in zip(*block, strict=True):
                yield [result.typed(text, c) for text, c in zip(row, columns, strict=True)]

    exports.write_xlsx(path, [exports.Sheet(result.sheet, rows())])
