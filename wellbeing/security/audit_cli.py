"""`wellbeing audit verify`, `wellbeing retention run [--apply]` and
`wellbeing compliance pack --year Y [--out DIR]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from wellbeing.extensions import db
from wellbeing.security import retention
from wellbeing.security.audit import command_actor
from wellbeing.security.audit_verify import BATCH_SIZE, verify_chain
from wellbeing.security.compliance import build_pack, default_folder, expect_command
from wellbeing.security.models import AuditHead

# Below this many rows a verification takes a second or two: no progress bar.
PROGRESS_ROWS = 200_000

audit_group = AppGroup("audit", help="The tamper-evident audit trail.")
retention_group = AppGroup("retention", help="Purge or anonymise records past their period.")
compliance_group = AppGroup("compliance", help="The yearly compliance pack.")


def _parse_anchor(text: str) -> tuple[int, str]:
    row_id, sep, digest = text.partition(":")
    if not sep or not row_id.isdigit() or len(digest) != 64:
        raise click.BadParameter(f"{text!r}: expected ROW_ID:HASH (64 hex digits)")
    return int(row_id), digest.lower()


@audit_group.command("verify")
@click.option(
    "--expect",
    "anchors",
    multiple=True,
    metavar="ID:HASH",
    help="A row id and hash written down earlier (e.g. from a compliance pack) that must "
    "still match; reveals a chain rewritten wholesale. Repeatable.",
)
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, help="Rows per query.")
def verify_command(anchors: tuple[str, ...], batch_size: int) -> None:
    """Walk the audit chain, recompute every hash and name the first break.

    Exits 0 when the chain is intact, 1 when it is broken."""
    expected = dict(_parse_anchor(anchor) for anchor in anchors)
    total = db.session.scalar(select(AuditHead.last_id).where(AuditHead.id == 1)) or 0
    with tqdm(
        total=total, file=sys.stderr, unit="row", desc="verify", disable=total < PROGRESS_ROWS
    ) as bar:
        result = verify_chain(anchors=expected, batch_size=batch_size, progress=bar.update)
    for line in result.summary():
        click.echo(line, err=not result.intact)
    if not result.intact:
        click.get_current_context().exit(1)


@retention_group.command("run")
@click.option("--apply", "carry_out", is_flag=True, help="Purge and anonymise (default: dry run).")
def run_command(carry_out: bool) -> None:
    """List what each retention rule would purge or anonymise; with --apply, do it in one
    transaction and audit the run ("retention_run")."""
    if carry_out:
        outcomes = retention.apply(current_app.config, actor=command_actor())
        db.session.commit()
        click.echo("applied (one transaction), audited as retention_run:")
    else:
        outcomes = retention.plan(current_app.config)
        click.echo("dry run: nothing was changed; add --apply to carry it out.")
    for outcome in outcomes:
        click.echo(outcome.render())


@compliance_group.command("pack")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Calendar year.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write (default: instance/compliance/YEAR/).",
)
def pack_command(year: int, out: Path | None) -> None:
    """Write the year's compliance pack: CSV files, one XLSX workbook and a README."""
    folder = out or default_folder(current_app.instance_path, year)
    pack = build_pack(year, folder, actor=command_actor())
    db.session.commit()
    click.echo(f"compliance pack {year} written to {pack.folder}:")
    for name in pack.files:
        click.echo(f"  {name}")
    status = "intact" if pack.verification.intact else "BROKEN (see 07_audit_chain_verification)"
    click.echo(f"audit chain: {status}", err=not pack.verification.intact)
    command = expect_command(pack.verification)
    if command is not None:
        click.echo(f"keep this to check later that the chain was not rewritten:\n  {command}")
