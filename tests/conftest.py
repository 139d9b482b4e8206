"""Shared fixtures. App tests run against a real database: SQLite by default,
PostgreSQL with `--db postgresql` (URL in WELLBEING_TEST_POSTGRES_URL). The schema is
built once per run by the Alembic migrations; each test runs inside a savepoint that
is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import scoped_session, sessionmaker

POSTGRES_ENV = "WELLBEING_TEST_POSTGRES_URL"
# The role and database that .ci/run creates on loopback.
POSTGRES_DEFAULT = "postgresql+psycopg://wellbeing:wellbeing@127.0.0.1:5432/wellbeing_test"
TEST_PASSWORD = "correct-horse-battery"
EXTRA_INSTRUMENTS = Path(__file__).parent / "screening" / "fixtures" / "good"
# A fixed key-encryption key for tests (never used outside them).
TEST_KEYS = "ktest:" + base64.b64encode(bytes(range(32))).decode()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database for app tests (postgresql reads WELLBEING_TEST_POSTGRES_URL)",
    )


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.config.getoption("--db") == "postgresql":
        url = os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from wellbeing import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "test",
            "SECRET_KEY": "test-secret",
            "KEYS": TEST_KEYS,
            "WTF_CSRF_ENABLED": False,
            "TESTING": True,
            # A school's own instruments beside the shipped ones (validity rules, 100 items).
            "INSTRUMENT_DIRS": str(EXTRA_INSTRUMENTS),
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from wellbeing.extensions import db

        db.engine.dispose()


@pytest.fixture
def db_session(app: Flask) -> Iterator[object]:
    """Bind the app's session to one connection whose outer transaction is rolled
    back after the test; the app's own commits become savepoint releases."""
    from wellbeing.extensions import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain Session: Flask-SQLAlchemy's own would route queries to the engine,
        # around the connection that holds the outer transaction.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, db_session: object) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash() -> str:
    from wellbeing.security.passwords import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def world(db_session: object, password_hash: str) -> SimpleNamespace:
    """A small district: two schools, two classes each, three students per class,
    and one user per role, each scoped to school A (or its class A1)."""
    from tests.factories import build_world

    return build_world(password_hash)


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> None:
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} failed"
    if response.headers["Location"] in ("/login/code", "/login/enrol"):
        pass_second_factor(client, username)


def pass_second_factor(client: FlaskClient, username: str) -> None:
    """Admins and counselors need a second factor: give the user a confirmed one with a
    fresh secret (no earlier step used) and enter its current code."""
    import pyotp
    from sqlalchemy import select

    from wellbeing.clock import utcnow
    from wellbeing.extensions import db
    from wellbeing.roster.models import User
    from wellbeing.security.models import SecondFactor

    user = db.session.scalar(select(User).where(User.username == username))
    factor = db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))
    if factor is None:
        factor = SecondFactor(user_id=user.id)
        db.session.add(factor)
    factor.secret = secret = pyotp.random_base32()
    factor.enabled_at, factor.last_step = utcnow(), None
    db.session.flush()
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, f"second factor of {username} failed"


@pytest.fixture
def scratch_url(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the one under test."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    # Named after the test database, so runs against different databases never collide.
    name = f"{make_url(database_url).database}_scratch"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    _drop_database(admin, name)
    admin.dispose()


def _drop_database(admin, name: str) -> None:
    # An autovacuum worker (a superuser's process) may still be inside the scratch database
    # for a moment; FORCE cannot end it for us, so wait for it instead.
    for _ in range(20):
        try:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            return
        except OperationalError:
            time.sleep(0.5)
    raise RuntimeError(f"could not drop the scratch database {name}")
