"""Verify the audit chain: walk every row in id order, recompute each hash, and name the
first row where the chain breaks.

What each kind of tampering looks like to the walk:
- a row edited in place: its stored hash no longer matches its fields ("edited");
- an edited row whose hash was recomputed: the next row's prev_hash no longer matches
  ("inserted": the chain does not continue from the row before);
- a row deleted in the middle: a gap in the ids ("deleted");
- the newest rows deleted: the head (audit_head) records a newer row than the table holds;
- a row added outside the application: a bad hash or prev_hash, or a row the head does
  not record;
- a chain rewritten wholesale from some row on: only an anchor (a row id and hash
  written down earlier, e.g. in last year's compliance pack) reveals it.

Rows purged by a DBA under the retention period (see README, "Retention") leave a chain
that starts at a later row: the walk then trusts the first remaining row's prev_hash and
says so ("chain starts at row N"). Such a purge removes only rows older than the period
(RETENTION_AUDIT_DAYS, never below 180 days) and keeps the newest of them as the chain's
new first row, so that row is itself older than the period. A chain that starts after row
1 with a row younger than that has lost rows still under retention: that is a break.
Row 1 is the installation's first row, whatever its age.

Rows are read in batches by keyset (id > last), as plain tuples: a million rows need no
ORM objects and constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security import retention
from wellbeing.security.audit import GENESIS, HASHED_FIELDS, row_hash
from wellbeing.security.models import AuditEvent, AuditHead

BATCH_SIZE = 10_000
# Writers keep appending while the walk runs; each pass catches up with the head. The
# head only moves forward, so a few passes end it; this bound only guards against a bug.
MAX_PASSES = 1_000

_TABLE = AuditEvent.__table__
_COLUMNS = [_TABLE.c[name] for name in (*HASHED_FIELDS, "prev_hash", "hash")]
_AUDIT_PERIOD = next(rule.period for rule in retention.RULES if rule.kind == "audit_events")


def retention_cutoff(config: Mapping[str, Any], now: datetime | None = None) -> datetime:
    """When the audit rows still under retention begin (RETENTION_AUDIT_DAYS before now,
    never fewer than 180 days): a purge may remove only rows written before it."""
    return _AUDIT_PERIOD.cutoff(config, now or utcnow())


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain breaks: the row (None when no row can be named) and why."""

    row_id: int | None
    problem: str  # "edited", "inserted", "deleted", "out_of_order", "head", "anchor"
    message: str


@dataclass
class Verification:
    rows: int = 0
    first_id: int | None = None
    first_at: datetime | None = None
    last_id: int | None = None
    last_hash: str = GENESIS
    head_id: int | None = None
    head_hash: str | None = None
    failure: ChainBreak | None = None
    anchors_checked: int = 0
    # Rows written from this time on are under retention: none may have been purged.
    retained_since: datetime | None = None
    _seen_anchors: set[int] = field(default_factory=set, repr=False)

    @property
    def intact(self) -> bool:
        return self.failure is None

    @property
    def from_genesis(self) -> bool:
        """Whether the chain still starts at its first row (nothing purged)."""
        return self.first_id in (None, 1)

    @property
    def anchor(self) -> str | None:
        """The newest row as `wellbeing audit verify --expect` takes it (ID:HASH), for a
        later run to check that the chain up to it was not rewritten; None when there is
        nothing trustworthy to write down (no row, or a broken chain)."""
        if not self.intact or self.last_id is None:
            return None
        return f"{self.last_id}:{self.last_hash}"

    def summary(self) -> list[str]:
        """Lines for a person: the result first, then the figures."""
        lines = []
        if self.failure is not None:
            where = f"row {self.failure.row_id}" if self.failure.row_id else "the head"
            lines.append(f"BROKEN at {where} ({self.failure.problem}): {self.failure.message}")
        else:
            lines.append("INTACT: every row's hash matches its content and its predecessor.")
        if self.rows and not self.from_genesis:
            written = f"{self.first_at:%Y-%m-%d %H:%M} UTC" if self.first_at else "?"
            lines.append(
                f"chain starts at row {self.first_id} (written {written}): the rows before it "
                f"were purged, and row {self.first_id}, older than the retention period "
                "(RETENTION_AUDIT_DAYS), shows that each of them was older too."
            )
        span = f"rows {self.first_id}–{self.last_id}" if self.rows else "no rows"
        lines.append(f"checked {self.rows} row(s), {span}; newest hash {self.last_hash}")
        if self.anchors_checked:
            lines.append(f"anchors matched: {self.anchors_checked}")
        return lines


def _batch(after: int, size: int) -> list[Any]:
    query = select(*_COLUMNS).where(_TABLE.c.id > after).order_by(_TABLE.c.id).limit(size)
    return db.session.execute(query).all()


def _expected_prev(state: Verification, row_id: int) -> tuple[str, ChainBreak | None]:
    """The prev_hash the row must carry, or the break its id reveals."""
    if state.last_id is None:
        # The first remaining row: from genesis, or (after a purge) trusted as it is.
        return GENESIS, None
    if row_id <= state.last_id:
        return state.last_hash, ChainBreak(
            row_id,
            "out_of_order",
            f"row id {row_id} repeats or goes backwards after row {state.last_id} "
            "(a row was inserted outside the application)",
        )
    if row_id != state.last_id + 1:
        first_missing = state.last_id + 1
        missing = f"{first_missing}" + (f"–{row_id - 1}" if row_id - 1 > first_missing else "")
        return state.last_hash, ChainBreak(
            first_missing,
            "deleted",
            f"row(s) {missing} are missing: row {row_id} follows row {state.last_id}",
        )
    return state.last_hash, None


def _purged_within_retention(state: Verification, row: Any) -> ChainBreak | None:
    """The chain starts after row 1: the rows before it were purged, which is lawful only
    if they were past retention. The first remaining row must be past it too (a purge
    keeps the newest row older than the period), else younger rows were removed."""
    if state.retained_since is None or row.at < state.retained_since:
        return None
    missing = "1" if row.id == 2 else f"1–{row.id - 1}"
    return ChainBreak(
        row.id - 1,
        "deleted",
        f"row(s) {missing} are missing and the chain starts at row {row.id}, written "
        f"{row.at:%Y-%m-%d %H:%M} UTC, within the retention period (rows written since "
        f"{state.retained_since:%Y-%m-%d %H:%M} UTC are kept, RETENTION_AUDIT_DAYS): a purge "
        "removes only rows older than the period, so rows still under retention were deleted",
    )


def _check_row(state: Verification, row: Any, anchors: Mapping[int, str]) -> ChainBreak | None:
    # A plain dict: row_hash reads 13 fields, and a dict's get is far cheaper than a row's.
    fields = dict(zip(HASHED_FIELDS, row, strict=False))
    expected, problem = _expected_prev(state, row.id)
    if problem is not None:
        return problem
    if state.last_id is None and row.id != 1:
        expected = row.prev_hash  # purged under retention: the chain starts here
    if row_hash(fields, row.prev_hash) != row.hash:
        return ChainBreak(
            row.id,
            "edited",
            f"row {row.id}'s stored hash does not match its content "
            "(the row was edited, or forged)",
        )
    if state.last_id is None and row.id != 1:
        purged = _purged_within_retention(state, row)
        if purged is not None:
            return purged
    if row.prev_hash != expected:
        before = f"row {state.last_id}" if state.last_id else "the chain's start"
        return ChainBreak(
            row.id,
            "inserted",
            f"row {row.id} does not continue from {before}: its prev_hash is not {before}'s "
            f"hash (a row was inserted or replaced here, or {before} was rewritten)",
        )
    if row.id in anchors:
        state._seen_anchors.add(row.id)
        if anchors[row.id] != row.hash:
            return ChainBreak(
                row.id,
                "anchor",
                f"row {row.id}'s hash differs from the one recorded earlier "
                f"({anchors[row.id][:16]}…): the chain was rewritten up to this row",
            )
        state.anchors_checked += 1
    return None


def _walk(
    state: Verification, anchors: Mapping[int, str], size: int, progress: Callable | None
) -> None:
    while state.failure is None:
        rows = _batch(state.last_id or 0, size)
        if not rows:
            return
        for row in rows:
            state.failure = _check_row(state, row, anchors)
            if state.failure is not None:
                return
            if state.first_id is None:
                state.first_id, state.first_at = row.id, row.at
            state.rows += 1
            state.last_id, state.last_hash = row.id, row.hash
        if progress is not None:
            progress(len(rows))


def _check_head(state: Verification) -> ChainBreak | None:
    head = db.session.execute(
        select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        return ChainBreak(None, "head", "the audit_head row is missing")
    state.head_id, state.head_hash = head.last_id, head.last_hash
    newest = state.last_id or 0
    if head.last_id > newest:
        return ChainBreak(
            newest + 1,
            "deleted",
            f"the head records row {head.last_id} as the newest, but the table ends at "
            f"{f'row {newest}' if newest else 'no row'}: row(s) {newest + 1}–{head.last_id} "
            "were deleted",
        )
    if head.last_id < newest:
        return ChainBreak(
            head.last_id + 1,
            "inserted",
            f"row(s) {head.last_id + 1}–{newest} are not recorded in the head, which names "
            f"row {head.last_id} as the newest (rows added outside the application)",
        )
    if head.last_hash != state.last_hash:
        return ChainBreak(
            newest or None,
            "head",
            f"the head's hash differs from row {newest}'s hash "
            "(the newest row was rewritten with a recomputed hash)",
        )
    return None


def _newer_rows_exist(after: int) -> bool:
    return db.session.scalar(select(_TABLE.c.id).where(_TABLE.c.id > after).limit(1)) is not None


def _check_anchors(state: Verification, anchors: Mapping[int, str]) -> ChainBreak | None:
    for row_id in sorted(set(anchors) - state._seen_anchors):
        if state.first_id is not None and row_id < state.first_id:
            continue  # purged under retention: nothing left to compare
        return ChainBreak(row_id, "anchor", f"row {row_id}, recorded earlier, is missing")
    return None


def verify_chain(
    *,
    anchors: Mapping[int, str] | None = None,
    retained_since: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], Any] | None = None,
) -> Verification:
    """Walk the whole chain and compare its end with the head. `anchors` maps row ids to
    hashes written down earlier; each must still match. A chain that no longer starts at
    row 1 must start with a row written before `retained_since` (by default the app's
    audit retention cutoff). Stops at the first break."""
    anchors = dict(anchors or {})
    if retained_since is None:
        retained_since = retention_cutoff(current_app.config)
    state = Verification(retained_since=retained_since)
    for _ in range(MAX_PASSES):
        _walk(state, anchors, batch_size, progress)
        if state.failure is not None:
            return state
        state.failure = _check_head(state)
        # A head ahead of the walk may only mean rows committed meanwhile: walk on.
        if state.failure is None or not _newer_rows_exist(state.last_id or 0):
            break
        state.failure = None
    if state.failure is None:
        state.failure = _check_anchors(state, anchors)
    return state


def chain_head() -> tuple[int, str]:
    """The newest row id and hash as the head records them: an anchor to write down."""
    head = db.session.execute(
        select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one()
    return head.last_id, head.last_hash
