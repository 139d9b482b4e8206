"""The lease: one row per name saying which process runs the jobs, until when.

A process takes the lease, or renews its own, with one conditional UPDATE: the row moves
to it only if it already holds it or the holder's time is up. The database applies the
UPDATE atomically (a row lock on PostgreSQL, the write lock on SQLite), so of two
processes racing for an expired lease exactly one sees its row changed. The very first
time there is no row: an INSERT, which the primary key lets only one process win.

Taking, renewing and releasing are each a short transaction on a connection of their
own, apart from any job's."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.scheduler.models import SchedulerLease

NAME = "scheduler"
_table = SchedulerLease.__table__


def new_holder() -> str:
    """host:pid:random: which machine and process, and a fresh value per start (a pid is
    reused after a restart)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(holder: str, seconds: float, name: str = NAME, now: datetime | None = None) -> bool:
    """Take the lease or renew it for `seconds` from now. True if `holder` holds it."""
    now = now or utcnow()
    expires = now + timedelta(seconds=seconds)
    with db.engine.begin() as connection:
        changed = connection.execute(
            update(_table)
            .where(
                _table.c.name == name,
                or_(_table.c.holder == holder, _table.c.expires_at < now),
            )
            .values(
                holder=holder,
                expires_at=expires,
                # A renewal keeps the time the lease was taken; a takeover starts it anew.
                acquired_at=case((_table.c.holder == holder, _table.c.acquired_at), else_=now),
            )
        ).rowcount
    if changed:
        return True
    try:
        with db.engine.begin() as connection:
            exists = connection.execute(select(_table.c.name).where(_table.c.name == name))
            if exists.first() is not None:
                return False  # held by another, and not expired
            connection.execute(
                insert(_table).values(name=name, holder=holder, expires_at=expires, acquired_at=now)
            )
    except IntegrityError:  # another process inserted it first
        return False
    return True


def holds(holder: str, name: str = NAME) -> bool:
    """Whether `holder` still holds an unexpired lease. Read in the session's own
    transaction: a job checks this before it commits, and on SQLite a second connection
    would wait for the write lock the job's transaction holds."""
    found = db.session.execute(
        select(_table.c.name).where(
            _table.c.name == name, _table.c.holder == holder, _table.c.expires_at >= utcnow()
        )
    ).first()
    return found is not None


def release(holder: str, name: str = NAME) -> None:
    """Give the lease up at a clean stop: a standby takes it at its next look."""
    with db.engine.begin() as connection:
        connection.execute(
            update(_table)
            .where(and_(_table.c.name == name, _table.c.holder == holder))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def current(name: str = NAME) -> SchedulerLease | None:
    return db.session.get(SchedulerLease, name)


def forget(name: str = NAME) -> None:
    """Remove the row (tests)."""
    with db.engine.begin() as connection:
        connection.execute(delete(_table).where(_table.c.name == name))
