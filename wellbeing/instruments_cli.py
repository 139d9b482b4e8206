"""`wellbeing score` and `wellbeing instruments check|list|import-redcap`.

Plain click commands: they need neither the app nor a database. The work is done by
the pure core (`screening`); these functions parse arguments, draw the progress bar,
write files atomically and turn named errors into messages and exit statuses.

Extra instrument directories (a school's own files) come from --dir options and from
WELLBEING_INSTRUMENT_DIRS (directories separated by the system's path separator).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
from tqdm import tqdm

from screening import redcap
from screening.batch import ScoredTable, TextResult, score_table, write_csv, write_xlsx
from screening.errors import InputError, InstrumentError, UnknownInstrument
from screening.instruments import Catalog, Instrument, load_catalog, resolve
from screening.spreadsheets import open_table

DIRS_ENV = "WELLBEING_INSTRUMENT_DIRS"
PROGRESS_ROWS = 10_000  # the contract: a bar only for inputs of more rows than this
BAD_INPUT = 2


def instrument_dirs(extra: Sequence[Path] = ()) -> list[Path]:
    from_env = [Path(p) for p in os.environ.get(DIRS_ENV, "").split(os.pathsep) if p]
    return [*from_env, *extra]


def fail(message: str) -> NoReturn:
    """Report bad input on standard error and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(BAD_INPUT)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


dir_option = click.option(
    "--dir",
    "dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help=f"A directory of extra instrument files (repeatable; also ${DIRS_ENV}).",
)


# ----------------------------------------------------------------------------- score


@click.command("score")
@click.argument("instrument")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write .csv (UTF-8) or .xlsx, by the file's ending; default: CSV to standard output.",
)
@dir_option
def score_command(
    instrument: str, input_path: Path, output: Path | None, dirs: tuple[Path, ...]
) -> None:
    """Score every response in INPUT (.csv or .xlsx) with INSTRUMENT (an id such as phq9,
    id@version, or the path of an instrument file).

    Input columns: respondent_id and one column per item id. Output columns:
    respondent_id, total, band, critical, valid, missing, subscale_<id>... (see
    instruments/README.md). Exits with status 2, writing nothing, on bad input."""
    try:
        chosen = resolve(instrument, instrument_dirs(dirs))
    except (UnknownInstrument, InstrumentError) as error:
        fail(str(error))
    if output is not None and output.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{output}: the output must end in .csv or .xlsx")
    result = _score(chosen, input_path)
    write_or_fail(result, output)
    if output is not None:
        click.echo(
            f"{result.rows} rows scored with {chosen.ref} ({chosen.content_hash}) -> {output}",
            err=True,
        )


def progress_bar(total: int, description: str) -> tqdm:
    """A bar on standard error, only when it is a terminal and there are enough rows."""
    show = _stderr_is_terminal() and total > PROGRESS_ROWS
    return tqdm(total=total, desc=description, unit="row", file=sys.stderr, disable=not show)


def _score(instrument: Instrument, input_path: Path) -> ScoredTable:
    try:
        table = open_table(input_path)
        with progress_bar(table.estimated_rows, "score") as bar:
            return score_table(instrument, table, bar.update)
    except InputError as error:
        fail(error.render(input_path.name))


def write_or_fail(result: TextResult, output: Path | None) -> None:
    """write_output, turning a failure (too many rows for XLSX, a missing directory)
    into a message and exit status 2."""
    try:
        write_output(result, output)
    except InputError as error:
        fail(error.render(str(output)))
    except OSError as error:  # e.g. the output's directory does not exist
        fail(f"{output}: cannot write: {error.strerror or error}")


def write_output(result: TextResult, output: Path | None) -> None:
    """Standard output (CSV) or OUTPUT (.csv or .xlsx), never half-written."""
    with progress_bar(result.rows if result.rows > PROGRESS_ROWS else 0, "write") as bar:
        if output is None:
            _stdout(result, bar.update)
        elif output.suffix.lower() == ".xlsx":
            _atomically(output, lambda path: write_xlsx(result, path, bar.update))
        else:
            _atomically(output, lambda path: _csv_file(result, path, bar.update))


def _stdout(result: TextResult, progress: Callable[[int], Any]) -> None:
    """UTF-8 whatever the locale: wrap the byte stream under standard output."""
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stream (embedding): it takes str as it is
        write_csv(result, sys.stdout, progress)
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    write_csv(result, stream, progress)
    stream.flush()
    stream.detach()  # leave standard output open


def _csv_file(result: TextResult, path: Path, progress: Callable[[int], Any]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(result, handle, progress)


def _atomically(output: Path, write: Callable[[Path], None]) -> None:
    """Write beside the target, then rename: never a half-written OUTPUT."""
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- instruments


@click.group("instruments")
def instruments_group() -> None:
    """Instrument definitions: check files, list them, import a REDCap dictionary."""


@instruments_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@dir_option
def check_command(paths: tuple[Path, ...], dirs: tuple[Path, ...]) -> None:
    """Validate the shipped instruments, the extra directories and PATHS (files or
    directories). Prints each problem with its file and location; exits 1 if any."""
    extra_dirs = instrument_dirs(dirs) + [p for p in paths if p.is_dir()]
    catalog = load_catalog(extra_dirs)
    for path in (p for p in paths if p.is_file()):
        catalog.add(path)
    for path, loaded in catalog.files.items():
        if isinstance(loaded, Instrument):
            click.echo(f"ok    {loaded.ref:<24} {loaded.content_hash[:19]}  {path}")
    for error in catalog.problems:
        for problem in error.problems:
            click.echo(f"error {problem.render(error.source)}")
    if catalog.problems:
        count = sum(len(error.problems) for error in catalog.problems)
        click.echo(f"{count} problem(s) in {len(catalog.problems)} file(s)", err=True)
        sys.exit(1)


@instruments_group.command("list")
@dir_option
def list_command(dirs: tuple[Path, ...]) -> None:
    """List the instruments available to `wellbeing score` (all versions)."""
    catalog = load_catalog(instrument_dirs(dirs))
    rows = [("id@version", "items", "languages", "licence", "hash", "title")]
    for instrument in sorted(catalog.instruments.values(), key=lambda i: i.ref):
        rows.append(_list_row(instrument))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
    _report_broken(catalog)


def _list_row(instrument: Instrument) -> tuple[str, ...]:
    title = " / ".join(instrument.title[lang] for lang in instrument.languages)
    return (
        instrument.ref,
        str(len(instrument.items)),
        ",".join(instrument.languages),
        str(instrument.document["licence"]["kind"]),
        instrument.content_hash[:19],
        title,
    )


def _report_broken(catalog: Catalog) -> None:
    if catalog.problems:
        names = ", ".join(Path(error.source).name for error in catalog.problems)
        click.echo(f"not listed (run `wellbeing instruments check`): {names}", err=True)


@instruments_group.command("import-redcap")
@click.argument("dictionary", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--form", required=True, help="The REDCap instrument (Form Name) to convert.")
@click.option("--id", "instrument_id", help="Our instrument id (default: from the form name).")
@click.option(
    "--language",
    type=click.Choice(["zh", "en"]),
    help="The language of the dictionary's labels (default: zh when they hold Chinese).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the YAML here (refuses to overwrite); default: standard output.",
)
def import_redcap_command(
    dictionary: Path,
    form: str,
    instrument_id: str | None,
    language: str | None,
    output: Path | None,
) -> None:
    """Turn a REDCap data dictionary form into an instrument file.

    radio, dropdown, yesno, truefalse and checkbox fields become items; a calc field that
    is a plain sum of item fields becomes the total (or a subscale). Everything else is
    reported on standard error for you to declare by hand."""
    try:
        converted = redcap.convert(
            dictionary.read_bytes(),
            form,
            instrument_id=instrument_id,
            language=language,
            source_name=dictionary.name,
        )
    except redcap.RedcapError as error:
        fail(f"{dictionary.name}: {error}")
    for note in converted.notes:
        click.echo(f"note: {note}", err=True)
    text = redcap.to_yaml(converted.document)
    if output is None:
        click.echo(text, nl=False)
    else:
        if output.exists():
            fail(f"{output} exists; choose a new file name")
        _atomically(output, lambda path: path.write_text(text, encoding="utf-8"))
        click.echo(
            f"written to {output}; check it with `wellbeing instruments check {output}`", err=True
        )
    if converted.problems:
        for problem in converted.problems:
            click.echo(f"to do: {problem}", err=True)
