"""`wellbeing roster import FILE` and `wellbeing roster template OUTPUT`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from screening import exports
from wellbeing.extensions import db
from wellbeing.imports import command_limits
from wellbeing.roster.importer import KINDS, read_roster, template_csv, template_xlsx
from wellbeing.roster.services import Credential, ImportResult, apply_roster

# Below this many rows an import takes a few seconds: no progress bar.
PROGRESS_ROWS = 10_000

roster_group = AppGroup(
    "roster", help="Import schools, classes, students, guardians and staff from XLSX or CSV."
)


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--credentials-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the generated passwords of new accounts to this CSV file (never overwritten).",
)
def import_command(file: Path, credentials_out: Path | None) -> None:
    """Import FILE (XLSX with one sheet per kind, or CSV of one kind); all rows or none.

    Exits with status 2, writing nothing, when any row is invalid."""
    if credentials_out is not None and credentials_out.exists():
        raise click.UsageError(f"{credentials_out} exists; choose a new file for credentials.")
    # No row ceiling by default, the same guards against far cells and zip bombs as the web.
    parsed = read_roster(file.read_bytes(), file.name, command_limits(current_app.config))
    with tqdm(
        total=parsed.rows,
        file=sys.stderr,
        unit="row",
        desc="import",
        disable=parsed.rows <= PROGRESS_ROWS,
    ) as bar:
        result = apply_roster(
            parsed,
            password_min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            progress=bar.update,
        )
    for note in result.notes:
        click.echo(f"note: {note.render()}", err=True)
    if not result.ok:
        # Nothing was written (every row is checked first); the session just closes.
        for error in result.errors:
            click.echo(error.render(), err=True)
        click.echo(f"{len(result.errors)} error(s): nothing was imported.", err=True)
        click.get_current_context().exit(2)
    if result.credentials:
        _report_credentials(result.credentials, credentials_out, file)
    db.session.commit()
    click.echo(_summary(result))


def _report_credentials(credentials: list[Credential], out: Path | None, source: Path) -> None:
    if out is None:
        suggestion = source.with_name(f"{source.stem}-credentials.csv")
        click.echo(
            f"warning: {len(credentials)} new account(s) got generated passwords that were not "
            f"saved; next time pass --credentials-out (e.g. {suggestion}).",
            err=True,
        )
        return
    # Created for the owner only, and before the commit: no account without its password.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
        rows = [(c.username, c.display_name, c.password) for c in credentials]
        exports.write_csv(handle, [("username", "display_name", "password"), *rows])
    click.echo(f"generated passwords of {len(credentials)} account(s) written to {out}", err=True)


def _summary(result: ImportResult) -> str:
    lines = [
        f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
        for kind, c in result.counts.items()
    ]
    if result.district_created:
        lines.insert(0, "district: created (the default district)")
    if "staff" in result.counts:
        lines.append(
            f"role assignments: {result.roles_added} added, {result.roles_removed} removed"
        )
    if "students" in result.counts:
        lines.append(f"students moved to another class: {len(result.moved)}")
        lines.append(
            f"enrolled students of these schools missing from the file: {len(result.missing)}"
            + (" (left unchanged): " + " ".join(result.missing) if result.missing else "")
        )
    return "\n".join(lines)


@roster_group.command("template", with_appcontext=False)
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="For a .csv OUTPUT: which kind.")
@click.option(
    "--headers",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Chinese or English header names (both are accepted on import).",
)
def template_command(output: Path, kind: str | None, headers: str) -> None:
    """Write the import template: an .xlsx workbook, or with --kind a .csv file."""
    if output.suffix.lower() == ".csv":
        if kind is None:
            raise click.UsageError("a .csv template holds one kind: add --kind")
        output.write_bytes(template_csv(kind, headers))
    else:
        output.write_bytes(template_xlsx(headers))
    click.echo(f"template written to {output}")
