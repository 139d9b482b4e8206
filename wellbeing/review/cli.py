"""`wellbeing risk tier|card|train|export`: the risk model on the command line.

`risk tier` needs neither the app nor a database (a district office checks a model on
its own spreadsheets; shared/contracts/batch-cli.md's common rules: every row read and
checked before anything is written, bad input ends with status 2 and its row and column
on standard error, no output file). `card`, `train` and `export` read the database."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from screening import risk
from screening.errors import InputError
from screening.spreadsheets import Block, Table, open_table
from wellbeing.instruments_cli import fail, progress_bar, write_or_fail
from wellbeing.words import colon

risk_group = AppGroup("risk", help="The risk model: tier a scored spreadsheet, its card, training.")

ID = "respondent_id"
SCORE_TEXT = (ID, "band", "critical", "valid")
SCORE_NUMBERS = ("total",)
EXTRA_TEXT = ("observations_urgent", "previous_tier", "boarding", "left_behind")
EXTRA_NUMBERS = ("observations",)
OUTPUT = (ID, "tier", "points", "reasons", "rule")


# ----------------------------------------------------------------------------- tier


@dataclass(frozen=True)
class Scored:
    """One `wellbeing score` output: its instrument, cells by column, file row numbers."""

    instrument: str
    name: str
    table: Table
    rows: np.ndarray
    cells: dict[str, np.ndarray]


def _flag_values(cells: np.ndarray) -> np.ndarray:
    """1, 0, or −1 (empty) for each cell; −2 where the cell is not a boolean. Looked up
    once per distinct cell (a column holds a handful)."""
    codes, uniques = pd.factorize(cells)
    false_words = risk.FALSE_WORDS - {""}

    def flag(cell: str) -> int:
        word = str(cell).lower()
        return (
            1 if word in risk.TRUE_WORDS else 0 if word in false_words else -1 if not word else -2
        )

    table = np.array([flag(u) for u in uniques] + [-1], dtype=np.int8)
    return table[codes]


def _read(instrument: str, path: Path, text: Sequence[str], numbers: Sequence[str]) -> Scored:
    """Every row of a scored file; exits with status 2 on an unreadable file, a missing
    column or a cell that is not a number where one is needed."""
    try:
        table = open_table(path)
        required = [*SCORE_TEXT, *SCORE_NUMBERS]
        optional = [c for c in (*text, *numbers) if c not in required]
        present = set(required) | set(table.require(required, optional))
        text = [c for c in (*SCORE_TEXT, *text) if c in present]
        numbers = [c for c in (*SCORE_NUMBERS, *numbers) if c in present]
        rows, parts = [], {c: [] for c in (*text, *numbers)}
        with progress_bar(table.estimated_rows, "read") as bar:
            for block in table.blocks(text, numbers):
                _block_errors(block, table)
                rows.append(block.rows)
                for name in text:
                    parts[name].append(block.text[name])
                for slot, name in enumerate(numbers):
                    parts[name].append(block.numbers[:, slot])
                bar.update(len(block.rows))
    except InputError as error:
        fail(error.render(path.name))
    cells = {
        name: np.concatenate(chunks) if chunks else np.array([], dtype=object)
        for name, chunks in parts.items()
    }
    every = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
    return Scored(instrument, path.name, table, every, cells)


def _block_errors(block: Block, table: Table) -> None:
    if block.errors:
        first = min(block.errors, key=lambda e: (e.row, table.position(e.column)))
        raise InputError(f"{first.text!r} {first.reason}", first.row, first.column)


def _check(scored: Scored, model: risk.Model, first: bool) -> None:
    """The first bad cell (smallest row, then leftmost column) ends the command."""
    found: list[tuple[int, int, InputError]] = []

    def bad(mask: np.ndarray, column: str, message: Any) -> None:
        if mask.any():
            index = int(np.flatnonzero(mask)[0])
            row = int(scored.rows[index])
            text = message(index) if callable(message) else message
            error = InputError(text, row, column)
            found.append((row, scored.table.position(column), error))

    cells = scored.cells
    ids = cells[ID]
    bad(ids == "", ID, "the respondent id is empty")
    again = pd.Series(ids).duplicated().to_numpy() & (ids != "")

    def repeated(index: int) -> str:
        first = int(scored.rows[int(np.flatnonzero(ids == ids[index])[0])])
        return f"{ids[index]} appears again (first in row {first})"

    bad(again, ID, repeated)
    for column in ("critical", "valid"):
        bad(_flag_values(cells[column]) < 0, column, "expected true or false")
    allowed = _bands(model, scored.instrument)
    if allowed is not None:
        band = cells["band"]
        unknown = (band != "") & ~np.isin(band, sorted(allowed))
        choices = ", ".join(sorted(allowed))
        bad(
            unknown,
            "band",
            lambda i: f"{band[i]!r} is not a band of {scored.instrument} ({choices})",
        )
    if first:
        for column in ("observations_urgent", "boarding", "left_behind"):
            if column in cells:
                bad(_flag_values(cells[column]) == -2, column, "expected true, false or empty")
        if "previous_tier" in cells:
            tiers = cells["previous_tier"]
            choices = ", ".join(risk.TIERS)
            wrong = (tiers != "") & ~np.isin(tiers, list(risk.TIERS))
            bad(wrong, "previous_tier", f"expected one of {choices}, or empty")
        if "observations" in cells:
            counts = cells["observations"]
            wrong = ~np.isnan(counts) & ((counts < 0) | (counts != np.floor(counts)))
            bad(wrong, "observations", "expected a whole number of 0 or more")
    if found:
        fail(min(found, key=lambda f: (f[0], f[1]))[2].render(scored.name))


def _bands(model: risk.Model, instrument: str) -> set[str] | None:
    """The band ids the model knows for the instrument; None when it has no feature."""
    for feature in model.features:
        if feature.column == f"{instrument}_band":
            return {value for b in feature.bins for value in b.values}
    return None


def _inputs(scored: Sequence[Scored]) -> pd.DataFrame:
    """The model's input rows, one per respondent of the first file, in its order, as
    the app builds them for a sitting: band and total only when the response is valid;
    critical when any instrument's critical item was endorsed, valid or not."""
    order = pd.Index(scored[0].cells[ID])
    frame = pd.DataFrame(index=range(len(order)))
    critical = np.zeros(len(order), dtype=bool)
    for each in scored:
        positions = pd.Index(each.cells[ID]).get_indexer(order)
        present = positions >= 0
        pick = np.where(present, positions, 0)
        valid = (_flag_values(each.cells["valid"]) == 1)[pick] & present
        total = each.cells["total"][pick] if len(each.rows) else np.full(len(order), np.nan)
        scorable = valid & ~np.isnan(total)
        prefix = each.instrument
        frame[f"{prefix}_valid"] = np.where(present, valid, None)
        frame[f"{prefix}_band"] = np.where(scorable, each.cells["band"][pick], None)
        frame[f"{prefix}_total"] = np.where(scorable, total, np.nan)
        critical |= (_flag_values(each.cells["critical"]) == 1)[pick] & present
    frame["critical"] = critical
    for column in (*EXTRA_TEXT, *EXTRA_NUMBERS):
        if column in scored[0].cells:
            values = scored[0].cells[column]
            frame[column] = (
                values if column in EXTRA_NUMBERS else np.where(values == "", None, values)
            )
    return frame


@dataclass(frozen=True)
class TieredResult:
    """The tiers as write_output wants them."""

    frame: pd.DataFrame

    @property
    def sheet(self) -> str:
        return "tiers"

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return list(OUTPUT)

    def text_blocks(self) -> Iterator[list[list[str]]]:
        yield [self.frame[column].astype(str).tolist() for column in OUTPUT]

    def typed(self, text: str, column: str) -> Any:
        if text == "":
            return None
        return int(text) if column == "points" else text


def _instrument_of(argument: str) -> tuple[str, Path]:
    name, sep, path = argument.partition("=")
    if not sep or not name.strip() or not path:
        fail(f"{argument}: expected INSTRUMENT=PATH (e.g. phq9=phq9_scores.csv)")
    return name.strip().split("@")[0], Path(path)


def _model_from(path: Path | None) -> risk.Model:
    try:
        return risk.load_model(path) if path else risk.default_model()
    except (OSError, KeyError, risk.ModelError) as error:
        fail(f"{path}: not a usable model: {error}")


@risk_group.command("tier", with_appcontext=False)
@click.argument("inputs", metavar="INSTRUMENT=PATH...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write .csv (UTF-8) or .xlsx, by the file's ending; default: CSV to standard output.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A model file (JSON; `wellbeing risk export` writes the district's); "
    "default: the shipped default model.",
)
def tier_command(inputs: tuple[str, ...], output: Path | None, model_path: Path | None) -> None:
    """Tier students from `wellbeing score` outputs, without a database.

    Each INPUT is INSTRUMENT=PATH, PATH being the output of `wellbeing score
    INSTRUMENT` (.csv in UTF-8, UTF-8 with BOM or GBK, or .xlsx) with the columns
    respondent_id, total, band, critical, valid (others ignored). Rows join on
    respondent_id; a respondent missing from a later input was not measured on it.
    The first input may also carry observations (a count), observations_urgent,
    previous_tier (red, orange, yellow, none), boarding and left_behind (true/false).

    Output: one row per respondent of the first input, in its order, with the columns
    respondent_id, tier (red, orange, yellow, none), points, reasons (the explanation
    in Chinese, its points adding up to the total) and rule (the rule that set the
    tier, e.g. critical_item; empty when none). Exits with status 2, writing nothing,
    on bad input (the message names the file, row and column)."""
    if output is not None and output.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{output}: the output must end in .csv or .xlsx")
    model = _model_from(model_path)
    named = [_instrument_of(argument) for argument in inputs]
    scored = []
    for position, (instrument, path) in enumerate(named):
        extra = (EXTRA_TEXT, EXTRA_NUMBERS) if position == 0 else ((), ())
        each = _read(instrument, path, *extra)
        _check(each, model, first=position == 0)
        scored.append(each)
    result = risk.assess(model, _inputs(scored))
    tiers = result.to_frame("zh")
    tiers.insert(0, ID, scored[0].cells[ID])
    write_or_fail(TieredResult(tiers), output)
    if output is not None:
        click.echo(f"{len(tiers)} rows tiered with {model.version} -> {output}", err=True)


# ----------------------------------------------------------------------------- card


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A plain text table whose columns line up with Chinese text (two cells wide)."""
    cells = [[str(c) for c in header]] + [["—" if c is None else str(c) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    return [
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


def _share(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return value.get(language) or value.get("zh") or ""
    return str(value)


def card_lines(model: risk.Model, language: str = "zh") -> list[str]:
    """The model's points, thresholds and rules, then its card, as text lines (in the
    current locale's words)."""
    from wellbeing.review.words import tier_name

    lines = [
        _(
            "Risk model %(version)s: %(name)s",
            version=model.version,
            name=_text(model.name, language),
        )
    ]
    shown = _("; ").join(
        _("%(tier)s from %(points)s points", tier=tier_name(t), points=model.thresholds[t])
        for t in risk.FLAGGED
    )
    lines += [_("Thresholds: %(shown)s", shown=shown), ""]
    rows = [
        (_text(f.label, language), _text(b.label, language), b.points)
        for f in model.features
        for b in f.bins
    ]
    lines += table_text([_("Feature"), _("Level"), _("Points")], rows)
    for rule in model.rules:
        lines.append(
            _(
                "Rule: %(rule)s makes %(tier)s",
                rule=_text(rule.label, language),
                tier=tier_name(rule.tier),
            )
        )
    card = risk.model_card(model)
    if not card:
        lines += ["", _("This model was not trained on outcomes, so it has no card.")]
        return lines
    lines += [
        "",
        _(
            "%(outcomes)s confirmed outcomes, %(positives)s needing intervention; "
            "%(folds)s-fold cross-validation, seed %(seed)s",
            outcomes=card["outcomes"],
            positives=card["positives"],
            folds=card["folds"],
            seed=card["seed"],
        ),
        _(
            "AUC %(auc)s; Brier score %(brier)s (cross-validated)",
            auc=card["auc"],
            brier=card["brier"],
        ),
        "",
        _("Calibration"),
    ]
    lines += table_text(
        [_("Probability"), _("Predicted"), _("Observed"), _("Number of students")],
        [
            (c["bin"], _share(c["predicted"]), _share(c["observed"]), c["n"])
            for c in card["calibration"]
        ],
    )
    kinds = {"sex": _("By sex"), "grade": _("By grade"), "school": _("By school")}
    for kind, rows_ in card["groups"].items():
        lines += ["", str(kinds.get(kind, kind))]
        lines += table_text(
            [_("Group"), _("Number of students"), _("Flag rate"), _("True-positive rate")],
            [
                (
                    r["group"],
                    _("suppressed (under 5)") if r["suppressed"] else r["n"],
                    _share(r["flag_rate"]),
                    _share(r["tpr"]),
                )
                for r in rows_
            ],
        )
    reasons = {
        "improves": _("used: it improves the Brier score and passes the fairness check"),
        "no_gain": _("not used: it does not improve the Brier score"),
        "widens_gap": _("not used: it widens the true-positive rate gap between the sexes"),
        "no_variation": _("not used: no variation in the outcomes"),
        "no_groups": _("not used: too few students of each sex for the fairness check"),
    }
    lines += ["", _("Context features")]
    for entry in card["context"]:
        name = _names(model, entry["feature"], "", language)[0]
        lines.append(f"  {name}{colon()}{reasons.get(entry['why'], entry['why'])}")
    lines += ["", _("Changes since the previous version (%(v)s)", v=card.get("previous") or "—")]
    if card["changes"]:
        lines += table_text(
            [_("Feature"), _("Level"), _("Points before"), _("Points after")],
            [
                (*_names(model, c["feature"], c["bin"], language), c["before"], c["after"])
                for c in card["changes"]
            ],
        )
    else:
        lines.append("  " + _("no changes"))
    training = card["training"]
    if training.get("by_tier"):
        counts = _("; ").join(f"{tier_name(t)} {n}" for t, n in training["by_tier"].items())
        lines += ["", _("Training data by reviewed tier: %(counts)s", counts=counts)]
    if training.get("from"):
        lines.append(
            _("Decided from %(start)s to %(end)s", start=training["from"], end=training["to"])
        )
    return lines


def _names(model: risk.Model, feature: str, bin_id: str, language: str) -> tuple[str, str]:
    """A change's feature and bin in words (thresholds: the tier's name)."""
    from wellbeing.review.words import tier_name

    if feature == "thresholds":
        return _("Threshold"), tier_name(bin_id)
    for each in model.features:
        if each.id == feature:
            found = next((b for b in each.bins if b.id == bin_id), None)
            return _text(each.label, language), _text(found.label, language) if found else bin_id
    from screening.risk_fit import CONTEXT_FEATURES

    if feature in CONTEXT_FEATURES:  # a context feature the model does not use
        return _text(CONTEXT_FEATURES[feature]["label"], language), bin_id
    return feature, bin_id  # a feature the new model dropped


def _echo_card(model: risk.Model, language: str | None) -> None:
    locale = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        for line in card_lines(model, "en" if locale.startswith("en") else "zh"):
            click.echo(line)


language_option = click.option(
    "--language", type=click.Choice(["zh_Hans_CN", "en"]), help="Default: the site's language."
)


def _stored(version: str | None) -> risk.Model:
    """The model of that version, or the active one (the shipped default without one)."""
    from wellbeing.extensions import db
    from wellbeing.review.assessments import active_model
    from wellbeing.review.models import RiskModel

    if version is None:
        return active_model()
    if version == risk.default_model().version:
        return risk.default_model()
    row = db.session.scalar(select(RiskModel).where(RiskModel.version == version))
    if row is None:
        raise click.UsageError(f"no risk model has the version {version!r}")
    return risk.model_from_document(row.document)


@risk_group.command("card")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--version", help="A stored model's version (default: the active model).")
@language_option
def card_command(model_path: Path | None, version: str | None, language: str | None) -> None:
    """Print a model's points, thresholds and card (the active model's by default)."""
    model = _model_from(model_path) if model_path else _stored(version)
    _echo_card(model, language)


@risk_group.command("export")
@click.option("--version", help="A stored model's version (default: the active model).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_command(version: str | None, output: Path) -> None:
    """Write a model's JSON file, for `wellbeing risk tier --model` away from the site."""
    model = _stored(version)
    try:
        output.write_text(json.dumps(model.document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}")
    click.echo(f"{model.version} -> {output}", err=True)


@risk_group.command("train")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--version", help="The new model's version (default: trained-DATE-N).")
@language_option
def train_command(seed: int, version: str | None, language: str | None) -> None:
    """Train a model on the counselors' confirmed outcomes and save it as a draft.

    Exits with status 1 below the minimum number of outcomes."""
    from wellbeing.extensions import db
    from wellbeing.review.training import train
    from wellbeing.security.audit import command_actor

    locale = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    try:
        row = train(version=version, seed=seed, username=command_actor())
    except risk.TooFewOutcomes as error:
        with force_locale(locale):
            click.echo(
                _(
                    "Not enough confirmed outcomes to train: %(count)s (%(positives)s needing "
                    "intervention); at least %(minimum)s are needed, with at least 5 of each kind.",
                    count=error.count,
                    positives=error.positives,
                    minimum=error.minimum,
                ),
                err=True,
            )
        sys.exit(1)
    except risk.ModelError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    _echo_card(risk.model_from_document(row.document), language)
    with force_locale(locale):
        click.echo("")
        click.echo(
            _(
                "Saved as draft %(version)s: preview it and activate it on the risk model page.",
                version=row.version,
            )
        )
