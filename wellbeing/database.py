"""Engine settings that make SQLite behave like the production database where it matters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


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
