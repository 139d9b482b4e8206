"""Worked examples of every shipped instrument, asserted row by row: through the
row definition, the matrix scorer and `wellbeing score` itself (which ignores the
expected_* columns as unknown columns)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from screening.instruments import load_catalog
from screening.scoring import answers_matrix, score_matrix, score_response
from tests.screening.conftest import EXAMPLES
from wellbeing.instruments_cli import score_command

SHIPPED = sorted({i.id for i in load_catalog().instruments.values()})
CHECKED = ("total", "band", "critical", "valid", "missing")


def _rows(name: str) -> list[dict[str, str]]:
    with (EXAMPLES / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _answers(instrument, row: dict[str, str]) -> dict[str, int | None]:
    return {i: int(row[i]) if row[i] else None for i in instrument.item_ids}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_shipped_instrument_has_worked_examples() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.csv")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_worked_examples(name: str) -> None:
    instrument = load_catalog().get(name)
    rows = _rows(name)
    scores = score_matrix(
        instrument, answers_matrix(instrument, [_answers(instrument, r) for r in rows])
    )
    for index, row in enumerate(rows):
        expected = {key: row[f"expected_{key}"] for key in CHECKED}
        score = score_response(instrument, _answers(instrument, row))
        got = {key: _text(getattr(score, key)) for key in CHECKED}
        assert got == expected, f"{name} {row['respondent_id']}: {row['why']}"
        assert scores.row(index) == score


@pytest.mark.parametrize("name", SHIPPED)
def test_worked_examples_through_the_command(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        score_command, [name, str(EXAMPLES / f"{name}.csv"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        produced = list(csv.DictReader(handle))
    rows = _rows(name)
    assert [r["respondent_id"] for r in produced] == [r["respondent_id"] for r in rows]
    for got, row in zip(produced, rows, strict=True):
        assert {k: got[k] for k in CHECKED} == {k: row[f"expected_{k}"] for k in CHECKED}, row[
            "why"
        ]
