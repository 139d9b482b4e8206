"""Engine settings that make SQLite behave like the production database where it matters;
the SQLite file's permissions; the range of ids a route accepts."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, make_url
from werkzeug.routing import IntegerConverter, Map

from wellbeing.config import PRIVATE_FILE, private_directory, tighten

# The range of an Integer column on PostgreSQL (SQLite's is wider; the ids are the same).
INTEGER_MAX = 2**31 - 1
# Beside an SQLite database: SQLite creates them with the database file's mode.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def row_id(value: object) -> int | None:
    """A row id typed by a client (a form, a query string, JSON): the number, or None when
    it is not a whole number within the Integer columns' range (then it names no row)."""
    try:
        number = int(str(value).strip()) if isinstance(value, str | int) else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= INTEGER_MAX else None


class IdConverter(IntegerConverter):
    """Every route's `<int:...>`: a number beyond the Integer columns' range names no row,
    so it is not found (404) rather than a database error (500)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 0,
        max: int | None = INTEGER_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def prepare_sqlite_file(url: str) -> None:
    """Create an SQLite database file readable by its owner only, in a private folder if the
    folder is new, before SQLite opens it: SQLite gives its -wal, -shm and -journal files
    the database file's mode. Files made before this rule are tightened."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return
    if database.startswith("file:"):  # a URI filename: SQLite's to interpret
        return
    path = Path(database)
    private_directory(path.parent)
    with contextlib.suppress(FileExistsError):  # O_EXCL: never truncate a database
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for companion in (path, *(path.with_name(path.name + end) for end in _SQLITE_COMPANIONS)):
        tighten(companion)


def configure_sqlite(engine: Engine) -> None:
    """Enforce foreign keys, and let SQLAlchemy own transactions: the sqlite3 driver's
    own BEGIN handling otherwise breaks SAVEPOINT (nested transactions). Transactions
    begin IMMEDIATE: a request that reads and then writes (a login attempt, an audit row)
    would otherwise fail at once when another holds the write lock, instead of waiting
    busy_timeout for it. WAL lets reads go on beside the one writer."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Under a computer room's load a writer may queue for seconds (SQLite's waiters
        # poll unfairly); 20 s stays under the WSGI server's 30 s worker timeout.
        cursor.execute("PRAGMA busy_timeout=20000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
