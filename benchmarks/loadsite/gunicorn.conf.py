"""gunicorn settings of the load benchmark (benchmarks/load_screening.py passes
`-c benchmarks/loadsite/gunicorn.conf.py --bind 127.0.0.1:PORT` and may override the
worker settings on the command line). Also a starting point for a production server on a
2-core machine; measured choices in benchmarks/README.md.

Two gthread workers of eight threads: two processes use both cores (the GIL allows one
core per process); threads overlap the waits on the database (PostgreSQL round trips,
SQLite's write lock) and let a worker keep hundreds of idle keep-alive connections
without a thread each. Keep-alive is long because a computer room's browsers answer an
item every few seconds: with gunicorn's default of 2 s every autosave would open a new
connection (behind nginx, its own keepalive_timeout applies instead)."""

wsgi_app = "wellbeing:create_app()"
worker_class = "gthread"
workers = 2
threads = 8
keepalive = 75
# Per worker; a computer room keeps one connection per browser open.
worker_connections = 1000
timeout = 30
graceful_timeout = 10
# No preload: each worker builds its own app, engine and connection pool after the fork.
preload_app = False
accesslog = None
loglevel = "warning"


# ----------------------------------------------------------------------------- experiments
# Measured proposals for SQLite, off unless asked for (the product's own settings are in
# wellbeing/database.py; these only show what a change there would buy):
#   LOAD_SQLITE_SYNCHRONOUS=NORMAL  commits in WAL mode without an fsync each
#   LOAD_SQLITE_BUSY_TIMEOUT=30000  how long a transaction waits for the write lock
#                                   (ms; the product sets 5000)
#   LOAD_SQLITE_SERIALISE=1         a worker's threads queue for the write lock on a
#                                   Python lock instead of SQLite's sleep-and-poll
#                                   busy handler (which sleeps up to 100 ms per try and
#                                   is unfair: a waiter can starve past busy_timeout)


def post_worker_init(worker):
    import os
    import threading

    synchronous = os.environ.get("LOAD_SQLITE_SYNCHRONOUS")
    serialise = os.environ.get("LOAD_SQLITE_SERIALISE") == "1"
    busy_timeout = os.environ.get("LOAD_SQLITE_BUSY_TIMEOUT")
    if not synchronous and not serialise and not busy_timeout:
        return
    from sqlalchemy import event

    from wellbeing.extensions import db

    with worker.wsgi.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    if synchronous:

        @event.listens_for(engine, "connect")
        def set_synchronous(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")

    if busy_timeout:

        @event.listens_for(engine, "connect")
        def set_busy_timeout(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")

    if serialise:
        lock = threading.Lock()
        held = threading.local()

        def acquire(_connection):
            if not getattr(held, "yes", False) and lock.acquire(timeout=30):
                held.yes = True

        def release(_connection):
            if getattr(held, "yes", False):
                held.yes = False
                lock.release()

        # Before the product's own listener that emits BEGIN IMMEDIATE.
        event.listen(engine, "begin", acquire, insert=True)
        event.listen(engine, "commit", release)
        event.listen(engine, "rollback", release)
