"""`wellbeing vision classify` and `wellbeing fitness score` (shared/contracts/batch-cli.md).

Plain click commands without the app or a database. Reading is screening.spreadsheets
(CSV in UTF-8, UTF-8 with BOM or GBK, or XLSX; blank rows skipped, row numbers kept),
the rules are screening.vision and screening.fitness, and writing, the progress bar and
the exit status are those of `wellbeing score` (wellbeing.instruments_cli).

Every row is read and checked before anything is written: the first bad value (smallest
row, then leftmost column) ends the command with status 2, its row and column on
standard error, and no output file. Text in a number column is refused, except in a
fitness column the row's grade and sex do not use: the contract ignores those cells, and
mixed sheets carry markers such as 免考 or / in the other sex's items.

Output numbers use a dot and fixed decimals: SE 2, BMI, standard and total 1; scores
and bonus are whole numbers. Booleans are true/false; empty means not measured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from screening import fitness, vision
from screening.errors import InputError, InvalidMeasurement, MissingTable
from screening.spreadsheets import Block, CellError, Table, open_table
from wellbeing.instruments_cli import fail, progress_bar, write_or_fail


@dataclass(frozen=True)
class Command:
    """What differs between the two commands."""

    verb: str
    required: tuple[str, ...]  # header columns that must be present
    optional: tuple[str, ...]
    text: frozenset[str]  # read as text; the rest as numbers
    columns: tuple[str, ...]  # output columns
    decimals: Mapping[str, int]  # float columns and their fixed decimals
    integers: frozenset[str]  # whole-number columns
    run: Callable[[pd.DataFrame], pd.DataFrame]
    sheet: str
    # Whether a cell that is not a number matters for its row (fitness: only the items
    # the row's grade and sex use).
    matters: Callable[[Block, list[str], CellError], bool] = lambda *_: True


VISION = Command(
    verb="classify",
    required=vision.INPUT_COLUMNS,
    optional=vision.OPTIONAL_COLUMNS,
    text=frozenset({vision.ID_COLUMN, "ortho_k"}),
    columns=(*vision.OUTPUT_COLUMNS, *vision.EXTRA_COLUMNS),
    decimals={"se_right": 2, "se_left": 2},
    integers=frozenset(),
    run=vision.classify_vision,
    sheet="vision",
)


def _fitness_cell_matters(block: Block, numbers: list[str], cell: CellError) -> bool:
    if cell.column not in fitness.MEASUREMENT_COLUMNS:
        return True
    index = int(np.flatnonzero(block.rows == cell.row)[0])
    try:
        grade = int(block.numbers[index, numbers.index("grade")])
        return cell.column in fitness.required_items(grade, block.text["sex"][index])
    except (InvalidMeasurement, ValueError, OverflowError):  # the row is wrong itself
        return True


FITNESS = Command(
    verb="score",
    required=(fitness.ID_COLUMN, "grade", "sex"),
    optional=fitness.MEASUREMENT_COLUMNS,
    text=frozenset({fitness.ID_COLUMN, "sex"}),
    columns=fitness.OUTPUT_COLUMNS,
    decimals={"bmi": 1, "standard": 1, "total": 1},
    integers=frozenset({*fitness.SCORE_COLUMNS, "bonus"}),
    run=fitness.score_fitness,
    sheet="fitness",
    matters=_fitness_cell_matters,
)


@dataclass(frozen=True)
class FrameResult:
    """The result frames, one per block read, as write_output wants them."""

    command: Command
    frames: tuple[pd.DataFrame, ...]

    @property
    def sheet(self) -> str:
        return self.command.sheet

    @property
    def rows(self) -> int:
        return sum(len(frame) for frame in self.frames)

    @property
    def columns(self) -> list[str]:
        return list(self.command.columns)

    def text_blocks(self) -> Iterator[list[list[str]]]:
        for frame in self.frames:
            yield [_text(frame[column], column, self.command).tolist() for column in self.columns]

    def typed(self, text: str, column: str) -> Any:
        """XLSX cells: numbers as numbers, everything else (ids, booleans) as text."""
        if text == "":
            return None
        if column in self.command.integers:
            return int(text)
        return float(text) if column in self.command.decimals else text


def _text(series: pd.Series, column: str, command: Command) -> np.ndarray:
    """One output column as contract text ("" = empty)."""
    out = np.full(len(series), "", dtype=object)
    if column in command.decimals:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
        places = command.decimals[column]
        out[present] = [f"{v + 0.0:.{places}f}" for v in values[present].tolist()]
        return out
    present = series.notna().to_numpy()
    if isinstance(series.dtype, pd.BooleanDtype):
        flags = series.to_numpy(dtype=bool, na_value=False)
        out[present] = np.where(flags[present], "true", "false")
        return out
    out[present] = [str(v) for v in series[present].tolist()]
    return out


# ----------------------------------------------------------------------------- reading


def _process(command: Command, input_path: Path) -> FrameResult:
    """Read, check and run every block; exits with status 2 on the first bad value."""
    try:
        table = open_table(input_path)
        present = [*command.required, *table.require(command.required, command.optional)]
        text = [c for c in present if c in command.text]
        numbers = [c for c in present if c not in command.text]
        frames = []
        with progress_bar(table.estimated_rows, command.verb) as bar:
            for block in table.blocks(text, numbers):
                frames.append(_run_block(command, table, block, text, numbers))
                bar.update(len(block.rows))
        return FrameResult(command, tuple(frames))
    except InputError as error:
        fail(error.render(input_path.name))


def _run_block(
    command: Command, table: Table, block: Block, text: list[str], numbers: list[str]
) -> pd.DataFrame:
    columns = {name: block.text[name] for name in text}
    columns.update({name: block.numbers[:, slot] for slot, name in enumerate(numbers)})
    # In the file's column order, so that "leftmost" means the same in the core.
    frame = pd.DataFrame({name: columns[name] for name in sorted(columns, key=table.position)})
    found = [
        InvalidMeasurement(cell.row, cell.column, f"{cell.text!r} {cell.reason}")
        for cell in block.errors
        if command.matters(block, numbers, cell)
    ]
    result = None
    try:
        result = command.run(frame)
    except InputError as error:
        found.append(_in_file(error, block))
    if found or result is None:
        raise min(found, key=lambda e: (e.row or 0, _position(table, e.column)))
    return result


def _position(table: Table, column: str | None) -> int:
    return table.position(column) if column in table.header else len(table.header)


def _in_file(error: InputError, block: Block) -> InputError:
    """The core counts rows within the block from 1; the file counts from its header."""
    row = error.row if not error.row else int(block.rows[error.row - 1])
    if isinstance(error, InvalidMeasurement | MissingTable):
        return type(error)(row, error.column, error.message)
    return InputError(error.message, row, error.column)


def _run(command: Command, input_path: Path, output: Path | None) -> None:
    if output is not None and output.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{output}: the output must end in .csv or .xlsx")
    result = _process(command, input_path)
    write_or_fail(result, output)
    if output is not None:
        click.echo(f"{result.rows} rows -> {output}", err=True)


input_argument = click.argument(
    "input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path)
)
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write .csv (UTF-8) or .xlsx, by the file's ending; default: CSV to standard output.",
)


# ----------------------------------------------------------------------------- commands


@click.group("vision")
def vision_group() -> None:
    """Vision screening spreadsheets, without a database."""


@vision_group.command("classify")
@input_argument
@output_option
def classify_command(input_path: Path, output: Path | None) -> None:
    """Classify every student in INPUT (.csv or .xlsx) by the national myopia screening
    rules (WS/T 663-2020 and the myopia guidelines).

    Input columns: student_id, age, ucva_right, ucva_left (5-point notation),
    sph_right, cyl_right, sph_left, cyl_left (dioptres); optional ortho_k. Output:
    student_id, se_right, se_left, myopia_right, myopia_left, myopia, myopia_degree,
    va_grade, then va_grade_by_age and low_hyperopia_reserve_advisory. Exits with
    status 2, writing nothing, on bad input."""
    _run(VISION, input_path, output)


@click.group("fitness")
def fitness_group() -> None:
    """Fitness test spreadsheets, without a database."""


@fitness_group.command("score")
@input_argument
@output_option
def score_command(input_path: Path, output: Path | None) -> None:
    """Score every student in INPUT (.csv or .xlsx) by the National Student Physical
    Fitness Standard (2014 revision).

    Input columns: student_id, grade (1-12), sex (M/F/男/女) and the measurements the
    standard sets for the grade (height_cm, weight_kg, vital_capacity_ml, run50m_s,
    sit_reach_cm, rope_skip_1min, situps_1min, long_jump_cm, pullups, shuttle_50x8_s,
    run800m_s, run1000m_s; times in seconds). Output: student_id, bmi, bmi_class,
    score_<item>..., standard, bonus, total, rating. Exits with status 2, writing
    nothing, on bad input or a grade and sex without a scoring table."""
    _run(FITNESS, input_path, output)
