"""`wellbeing keys generate | status | rotate | retire`: the key-encryption keys.

Every failure (a refused operation, a missing or damaged key, a tampered value) ends with
its message and exit status 2, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Column
from tqdm import tqdm

from wellbeing.extensions import db
from wellbeing.security.crypto import (
    CryptoError,
    KeySource,
    encode_key_setting,
    generate_key,
    new_key_id,
)
from wellbeing.security.fields import encrypted_columns
from wellbeing.security.keys import (
    BATCH_SIZE,
    MALFORMED,
    KeyOperationRefused,
    RotationObserver,
    RotationResult,
    create_key_file,
    key_usage,
    missing_keys,
    retire_key,
    rotate_keys,
)

F = TypeVar("F", bound=Callable[..., Any])
BACKUP_REMINDER = (
    "Back up the key file now, and keep the copy apart from the database and its backups: "
    "without it the sealed data cannot be read, and with it a stolen database can."
)

keys_group = AppGroup("keys", help="Key-encryption keys of the sealed fields.")


class KeysFailed(click.ClickException):
    """Printed as `Error: <message>`, exit status 2."""

    exit_code = 2


def _failures_exit_2(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (CryptoError, KeyOperationRefused) as exc:
            db.session.rollback()
            raise KeysFailed(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _source() -> KeySource:
    return current_app.extensions["wellbeing_keys"]


def _columns() -> list[Column]:
    return encrypted_columns(db.metadata)


@keys_group.command("generate")
@click.option("--if-missing", is_flag=True, help="Do nothing when the key file exists.")
@_failures_exit_2
def generate_command(if_missing: bool) -> None:
    """Create the key file with a first key (never replaces an existing one)."""
    source = _source()
    if source.from_environment:
        click.echo("Keys come from WELLBEING_KEYS; no key file is used or written.")
        click.echo(
            "To add a key, put this entry first in WELLBEING_KEYS (entries are separated by "
            "';'), restart the app, then run `wellbeing keys rotate --resume`:"
        )
        click.echo(encode_key_setting(new_key_id(), generate_key()))
        return
    if source.key_file is not None and source.key_file.exists():
        if if_missing:
            click.echo(f"key file {source.key_file} exists: nothing to do")
            return
        raise KeyOperationRefused(
            f"key file {source.key_file} exists and was not replaced (its keys open the "
            "sealed data); to change the primary key run `wellbeing keys rotate`"
        )
    path, key_id = create_key_file(source)
    click.echo(f"key file written: {path} (primary key {key_id}, readable by its owner only)")
    click.echo(BACKUP_REMINDER)


@keys_group.command("status")
@_failures_exit_2
def status_command() -> None:
    """Rows per key id and algorithm in every sealed column; which keys can be retired."""
    source = _source()
    keyring = source.keyring()
    origin = "WELLBEING_KEYS" if source.from_environment else f"key file {source.key_file}"
    click.echo(f"keys from {origin}; primary key {keyring.primary}")
    usage = key_usage(db.session, _columns())
    db.session.rollback()
    for column in usage:
        click.echo(f"{column.table}.{column.column}: {column.total} sealed values")
        for (kid, algorithm), rows in sorted(column.rows.items()):
            mark = " (primary)" if kid == keyring.primary else ""
            click.echo(f"  {kid:<20} {algorithm:<12} {rows:>10}{mark}")
    in_use = {kid for column in usage for (kid, _a) in column.rows}
    unused = sorted(set(keyring.keys) - in_use - {keyring.primary})
    click.echo("unused keys (can be retired): " + (" ".join(unused) or "none"))
    waiting = sorted(in_use - {keyring.primary, MALFORMED})
    if waiting:
        click.echo("keys still in use besides the primary: " + " ".join(waiting))
    for kid, rows in sorted(missing_keys(usage, keyring).items()):
        click.echo(f"warning: {rows} values use key {kid}, which is not in the keyring", err=True)
    if MALFORMED in in_use:
        click.echo("warning: some values are not sealed values (see (malformed))", err=True)


class _ProgressBar(RotationObserver):
    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def planned(self, rows: int) -> None:
        self.bar.total = (self.bar.total or 0) + rows
        self.bar.refresh()

    def advanced(self, rows: int) -> None:
        # Later passes find rows the app changed meanwhile: grow the total with them.
        if self.bar.n + rows > (self.bar.total or 0):
            self.bar.total = self.bar.n + rows
        self.bar.update(rows)


@keys_group.command("rotate")
@click.option(
    "--resume",
    is_flag=True,
    help="Finish an interrupted rotation: re-wrap to the current primary key, no new key.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Rows per committed batch.",
)
@_failures_exit_2
def rotate_command(resume: bool, batch_size: int) -> None:
    """Make a new primary key and re-wrap every sealed value to it, while the app serves."""
    source = _source()
    with tqdm(total=0, file=sys.stderr, unit="row", desc="rotate") as bar:
        result = rotate_keys(
            db.session,
            _columns(),
            source,
            resume=resume,
            batch_size=batch_size,
            observer=_ProgressBar(bar),
        )
    _report_rotation(result, source)


def _report_rotation(result: RotationResult, source: KeySource) -> None:
    if result.new_key:
        click.echo(f"new primary key {result.new_key} written to {source.key_file}")
    click.echo(
        f"re-wrapped {result.rewrapped} values to key {result.primary} in {result.passes} "
        f"pass(es); {result.skipped} changed meanwhile by the app (left as written)"
    )
    if result.new_key:
        click.echo(BACKUP_REMINDER)
    if result.failures:
        for failure in result.failures[:20]:
            click.echo(failure.render(), err=True)
        raise KeyOperationRefused(
            f"{len(result.failures)} value(s) could not be re-wrapped (listed above); "
            "the others were"
        )
    if result.remaining:
        raise KeyOperationRefused(
            f"{result.remaining} value(s) are still under an older key (a process still "
            "seals with it?): run `wellbeing keys rotate --resume` again"
        )
    old = ", ".join(result.old_keys) or "none"
    click.echo(f"no value is under an older key any more; keys now unused: {old}")


@keys_group.command("retire")
@click.argument("key_id")
@_failures_exit_2
def retire_command(key_id: str) -> None:
    """Remove KEY_ID from the key file, only when no value uses it and it is not primary."""
    retire_key(db.session, _columns(), _source(), key_id)
    click.echo(f"key {key_id} removed from {_source().key_file}")
    click.echo(
        "Keep an old copy of the key file as long as you keep database backups made "
        "before this: they still need the retired key."
    )
