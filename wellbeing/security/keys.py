"""Key operations behind `wellbeing keys`: which keys the sealed rows use, rotation to a
new primary key while the app keeps serving, and retiring a key nobody uses any more.

Rotation is online and resumable. The new key becomes primary in the key file first
(written atomically), so every serving process seals new values under it from its next
read of the keyring. Then every value under another key is re-wrapped (only its data key
changes) in small batches, each committed on its own, with a compare-and-swap update: a
value a user changed meanwhile is never overwritten, it is already under a newer key or
the next pass picks it up. Passes repeat until no row is left under an old key; an
interrupted rotation resumes by running the passes again (rows already done are skipped).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    LargeBinary,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from wellbeing.security.crypto import (
    BY_CODE,
    KEY_ID_OFFSET,
    MAGIC,
    VERSION,
    Context,
    CryptoError,
    Keyring,
    KeySource,
    generate_key,
    key_id_marker,
    new_key_id,
    read_key_file,
    write_key_file,
)

BATCH_SIZE = 500
# A pass finds rows under an old key only when a process sealed with a keyring read
# before the rotation began; more passes than this mean something keeps doing so.
MAX_PASSES = 10
MALFORMED = "(malformed)"


class KeyOperationRefused(Exception):
    """A key operation that would lose data or cannot apply here; the message says why."""


# --- where the keys are used ---------------------------------------------------------


def _substr(column: Column, start: int, length: int) -> ColumnElement[bytes]:
    # Literal positions: PostgreSQL matches GROUP BY to SELECT only for identical SQL.
    return func.substr(
        column, literal_column(str(start)), literal_column(str(length)), type_=LargeBinary
    )


def under_key(column: Column, key_id: str) -> ColumnElement[bool]:
    """SQL: the column's value is wrapped by `key_id` (whatever its algorithm)."""
    marker = key_id_marker(key_id)
    return _substr(column, KEY_ID_OFFSET + 1, len(marker)) == bindparam(
        None, marker, type_=LargeBinary
    )


@dataclass
class ColumnUsage:
    """How many sealed values of one column each (key id, algorithm) wraps."""

    table: str
    column: str
    rows: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def under(self, key_id: str) -> int:
        return sum(n for (kid, _algorithm), n in self.rows.items() if kid == key_id)


def _valid_prefix(prefix: bytes) -> bool:
    return (
        len(prefix) == 4 and prefix[:1] == MAGIC and prefix[1] == VERSION and prefix[2] in BY_CODE
    )


def column_usage(session: Session, column: Column) -> ColumnUsage:
    """Counts by key id, grouped in SQL: first by the fixed 4-byte prefix (which holds the
    key id's length), then by the key id itself. Whole values are never read."""
    usage = ColumnUsage(column.table.name, column.name)
    prefix = _substr(column, 1, 4)
    groups = session.execute(
        select(prefix, func.count()).where(column.is_not(None)).group_by(prefix)
    ).all()
    for raw, count in groups:
        raw_prefix = bytes(raw or b"")
        if not _valid_prefix(raw_prefix) or raw_prefix[3] == 0:
            usage.rows[(MALFORMED, MALFORMED)] += count
            continue
        algorithm = BY_CODE[raw_prefix[2]].name
        kid = _substr(column, 5, raw_prefix[3])
        same_prefix = prefix == bindparam(None, raw_prefix, type_=LargeBinary)
        for raw_kid, n in session.execute(
            select(kid, func.count()).where(same_prefix).group_by(kid)
        ).all():
            try:
                usage.rows[(bytes(raw_kid).decode(), algorithm)] += n
            except UnicodeDecodeError:
                usage.rows[(MALFORMED, MALFORMED)] += n
    return usage


def key_usage(session: Session, columns: Iterable[Column]) -> list[ColumnUsage]:
    return [column_usage(session, column) for column in columns]


def rows_under(usages: Iterable[ColumnUsage], key_id: str) -> int:
    return sum(usage.under(key_id) for usage in usages)


def missing_keys(usages: Iterable[ColumnUsage], keyring: Keyring) -> dict[str, int]:
    """Key ids that rows use but the keyring lacks, with their row counts."""
    missing: Counter[str] = Counter()
    for usage in usages:
        for (kid, _algorithm), n in usage.rows.items():
            if kid != MALFORMED and kid not in keyring.keys:
                missing[kid] += n
    return dict(missing)


# --- the key file ----------------------------------------------------------------------


def _key_file(source: KeySource) -> Path:
    if source.from_environment:
        raise KeyOperationRefused(
            "keys come from WELLBEING_KEYS, not from a key file: change that variable instead"
        )
    if source.key_file is None:
        raise KeyOperationRefused("no key file is configured: set WELLBEING_KEY_FILE")
    return source.key_file


def create_key_file(source: KeySource) -> tuple[Path, str]:
    """A new key file with one key; refuses to replace an existing file (even one created
    a moment ago by another process): a lost key makes its rows unreadable for good."""
    path = _key_file(source)
    key_id = new_key_id()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=".keys-"))
    try:
        write_key_file(staging / path.name, {key_id: generate_key()}, key_id)
        try:
            os.link(staging / path.name, path)  # atomic, and fails when the path exists
        except FileExistsError as exc:
            raise KeyOperationRefused(f"key file {path} exists: it was not replaced") from exc
    finally:
        (staging / path.name).unlink(missing_ok=True)
        staging.rmdir()
    return path, key_id


@contextmanager
def _locked(path: Path, suffix: str, wait: bool = True) -> Iterator[None]:
    descriptor = os.open(path.with_name(path.name + suffix), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise KeyOperationRefused(
                f"another `wellbeing keys rotate` is running on {path}: wait for it to finish"
            ) from exc
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _editing(path: Path) -> AbstractContextManager[None]:
    """Hold the key file's lock while reading, changing and replacing it: two commands
    at once must not both start from the same old file (a key written by one and then
    dropped by the other would leave the rows it sealed unreadable)."""
    return _locked(path, ".lock")


def _rotating(source: KeySource) -> AbstractContextManager[None]:
    """One rotation at a time per key file: two would re-wrap each other's rows back and
    forth. (With WELLBEING_KEYS there is no file to lock: run one at a time.)"""
    if source.from_environment or source.key_file is None:
        return nullcontext()
    return _locked(source.key_file, ".rotate.lock", wait=False)


def add_primary_key(source: KeySource) -> tuple[str, list[str]]:
    """Add a new key to the key file and make it primary; the old keys stay (rows still
    use them until re-wrapped). Returns the new id and the ids of the older keys."""
    path = _key_file(source)
    with _editing(path):
        keys, _primary = read_key_file(path)
        key_id = new_key_id()
        while key_id in keys:
            key_id = new_key_id()
        write_key_file(path, {**keys, key_id: generate_key()}, key_id)
    return key_id, list(keys)


def remove_key(source: KeySource, key_id: str) -> None:
    path = _key_file(source)
    with _editing(path):
        keys, primary = read_key_file(path)
        if key_id == primary:  # made primary by a rotation started meanwhile
            raise KeyOperationRefused(f"key {key_id} is the primary key: it was not removed")
        write_key_file(path, {kid: key for kid, key in keys.items() if kid != key_id}, primary)


# --- rotation ------------------------------------------------------------------------


class RotationObserver:
    """Told how many rows a pass plans to visit and how many each batch visited (the
    command draws a progress bar with it)."""

    def planned(self, rows: int) -> None:
        """A pass starts with about this many rows to visit."""

    def advanced(self, rows: int) -> None:
        """A batch of this many rows was visited and committed."""


@dataclass(frozen=True)
class RowFailure:
    table: str
    column: str
    row_id: Any
    error: str

    def render(self) -> str:
        return f"{self.table}.{self.column} id {self.row_id}: {self.error}"


@dataclass
class RotationResult:
    primary: str
    new_key: str | None = None
    old_keys: list[str] = field(default_factory=list)
    rewrapped: int = 0
    # Changed by a concurrent writer between our read and our update: left alone.
    skipped: int = 0
    passes: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    # Rows still under another key when the passes ran out (besides failures).
    remaining: int = 0

    @property
    def complete(self) -> bool:
        return not self.failures and not self.remaining

    def audit_detail(self, phase: str) -> dict[str, Any]:
        return {
            "phase": phase,
            "primary": self.primary,
            "new_key": self.new_key,
            "old_keys": self.old_keys,
            "rewrapped": self.rewrapped,
            "skipped_changed_meanwhile": self.skipped,
            "passes": self.passes,
            "failed": len(self.failures),
            "remaining": self.remaining,
        }


def _identity(column: Column) -> tuple[Column, Column]:
    table = column.table
    if "id" not in table.c or "uid" not in table.c:
        raise KeyOperationRefused(f"table {table.name} has a sealed column but no id and uid")
    return table.c.id, table.c.uid


def _count_not_under(session: Session, column: Column, key_id: str) -> int:
    query = select(func.count()).where(column.is_not(None), ~under_key(column, key_id))
    return session.scalar(query) or 0


def _rewrap_batch(
    session: Session, column: Column, keyring: Keyring, rows: Sequence[Any], result: RotationResult
) -> None:
    table = column.table
    changes = []
    for row_id, uid, sealed in rows:
        try:
            new = keyring.rewrap(sealed, Context(table.name, uid, column.name))
        except CryptoError as exc:
            result.failures.append(RowFailure(table.name, column.name, row_id, str(exc)))
            continue
        changes.append({"b_id": row_id, "b_old": sealed, "b_new": new})
    if not changes:
        return
    # Compare and swap: only where the value is still the one that was re-wrapped.
    swap = (
        update(table)
        .where(table.c.id == bindparam("b_id"), column == bindparam("b_old"))
        .values({column.name: bindparam("b_new")})
    )
    updated = session.execute(swap, changes).rowcount
    session.commit()
    result.rewrapped += updated
    result.skipped += len(changes) - updated


def _rewrap_pass(
    session: Session,
    column: Column,
    keyring: Keyring,
    batch_size: int,
    result: RotationResult,
    observer: RotationObserver,
) -> int:
    """Visit every row of the column not under the primary key, in id order; the number
    of rows visited that had not failed before."""
    pk, uid = _identity(column)
    failed = {
        f.row_id for f in result.failures if (f.table, f.column) == (column.table.name, column.name)
    }
    pending = select(pk, uid, column).where(
        column.is_not(None), ~under_key(column, keyring.primary)
    )
    visited, last = 0, None
    while True:
        query = pending if last is None else pending.where(pk > last)
        rows = session.execute(query.order_by(pk).limit(batch_size)).all()
        # End the read transaction before writing: on SQLite a transaction that read
        # cannot take the write lock while another writer commits (it fails at once).
        session.commit()
        if not rows:
            return visited
        last = rows[-1][0]
        fresh = [row for row in rows if row[0] not in failed]
        visited += len(fresh)
        _rewrap_batch(session, column, keyring, fresh, result)
        observer.advanced(len(rows))


def rewrap_all(
    session: Session,
    columns: Sequence[Column],
    keyring: Keyring,
    *,
    batch_size: int = BATCH_SIZE,
    max_passes: int = MAX_PASSES,
    observer: RotationObserver | None = None,
    result: RotationResult | None = None,
    planned: int | None = None,
) -> RotationResult:
    """Re-wrap every sealed value not under the keyring's primary key. `planned` (rows
    under other keys, if the caller counted them) spares a scan of every table."""
    observer = observer or RotationObserver()
    result = result or RotationResult(keyring.primary)
    if planned is None:
        planned = sum(_count_not_under(session, c, keyring.primary) for c in columns)
        session.commit()
    observer.planned(planned)
    for _ in range(max_passes):
        result.passes += 1
        visited = sum(
            _rewrap_pass(session, c, keyring, batch_size, result, observer) for c in columns
        )
        if not visited:  # a whole pass found nothing left to move: done
            return result
    # Out of passes while rows kept appearing under old keys: say how many are left.
    counted = sum(_count_not_under(session, c, keyring.primary) for c in columns)
    session.commit()
    result.remaining = max(0, counted - len(result.failures))
    return result


def _audit(session: Session, action: str, detail: dict[str, Any]) -> None:
    """One audit row in its own transaction: it stays even if what follows fails."""
    from wellbeing.security.audit import command_actor, record_event

    record_event(action, username=command_actor(), detail=detail)
    session.commit()


def rotate_keys(
    session: Session,
    columns: Sequence[Column],
    source: KeySource,
    *,
    resume: bool = False,
    batch_size: int = BATCH_SIZE,
    max_passes: int = MAX_PASSES,
    observer: RotationObserver | None = None,
) -> RotationResult:
    """`wellbeing keys rotate`: make a new primary key (unless resuming) and re-wrap every
    value under an older key to it. Audited at the start and at the end."""
    with _rotating(source):
        return _rotate_keys(
            session,
            columns,
            source,
            resume=resume,
            batch_size=batch_size,
            max_passes=max_passes,
            observer=observer,
        )


def _rotate_keys(
    session: Session,
    columns: Sequence[Column],
    source: KeySource,
    *,
    resume: bool = False,
    batch_size: int = BATCH_SIZE,
    max_passes: int = MAX_PASSES,
    observer: RotationObserver | None = None,
) -> RotationResult:
    keyring = source.keyring()
    usage = key_usage(session, columns)
    session.commit()
    missing = missing_keys(usage, keyring)
    if missing:
        counts = ", ".join(f"{kid}: {n} rows" for kid, n in sorted(missing.items()))
        raise KeyOperationRefused(
            f"rows use keys that are not in the keyring ({counts}): restore them from the "
            "key file backup before rotating"
        )
    new_key = None
    if not resume:
        if source.from_environment:
            raise KeyOperationRefused(
                "keys come from WELLBEING_KEYS: put a new key first in that variable, "
                "restart the app, then run `wellbeing keys rotate --resume`"
            )
        new_key, _older = add_primary_key(source)
        keyring = source.keyring()
    result = RotationResult(keyring.primary, new_key=new_key)
    result.old_keys = sorted(
        {kid for u in usage for (kid, _a) in u.rows if kid not in (keyring.primary, MALFORMED)}
    )
    planned = sum(u.total for u in usage) - rows_under(usage, keyring.primary)
    _audit(
        session,
        "key_rotation",
        {
            "phase": "resume" if resume else "start",
            "primary": result.primary,
            "new_key": new_key,
            "old_keys": result.old_keys,
            "rows": planned,
        },
    )
    rewrap_all(
        session,
        columns,
        keyring,
        batch_size=batch_size,
        max_passes=max_passes,
        observer=observer,
        result=result,
        planned=planned,
    )
    _audit(
        session, "key_rotation", result.audit_detail("done" if result.complete else "incomplete")
    )
    return result


# --- retiring --------------------------------------------------------------------------


def retire_key(session: Session, columns: Sequence[Column], source: KeySource, key_id: str) -> None:
    """Remove `key_id` from the key file, only when it is not primary and no row uses it.
    Refusals name the rows that still use it."""
    keyring = source.keyring()
    if key_id not in keyring.keys:
        raise KeyOperationRefused(f"key {key_id!r} is not in the keyring")
    if key_id == keyring.primary:
        raise KeyOperationRefused(
            f"key {key_id} is the primary key: run `wellbeing keys rotate` first"
        )
    usage = key_usage(session, columns)
    session.commit()
    in_use = {f"{u.table}.{u.column}": u.under(key_id) for u in usage if u.under(key_id)}
    if in_use:
        counts = ", ".join(f"{name}: {n} rows" for name, n in in_use.items())
        raise KeyOperationRefused(
            f"key {key_id} is still in use ({counts}): run `wellbeing keys rotate --resume` "
            "to move those rows to the primary key, then retire it"
        )
    if source.from_environment:
        raise KeyOperationRefused(
            f"no row uses key {key_id}, but keys come from WELLBEING_KEYS: remove it from "
            "that variable and restart the app"
        )
    remove_key(source, key_id)
    _audit(session, "key_retire", {"key": key_id, "primary": keyring.primary})
