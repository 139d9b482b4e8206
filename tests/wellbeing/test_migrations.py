"""Migrations: one head, models and migrations agree, and every revision upgrades,
downgrades and upgrades again on the database under test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from wellbeing import create_app
from wellbeing.extensions import db


def _script(app) -> ScriptDirectory:
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_there_is_exactly_one_head(app):
    with app.app_context():
        assert len(_script(app).get_heads()) == 1


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


@pytest.fixture
def scratch_url(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the one under test."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    name = "wellbeing_test_migrations"
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


def test_upgrade_downgrade_upgrade(scratch_url):
    app = create_app({"DATABASE_URL": scratch_url, "ENVIRONMENT": "test"})
    with app.app_context():
        upgrade()
        full = set(inspect(db.engine).get_table_names())
        assert {"student", "school_class", "user_account", "role_assignment"} <= full
        revisions = list(_script(app).walk_revisions())
        for _ in revisions:  # one step at a time: every downgrade is exercised
            downgrade(revision="-1")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == full
        db.engine.dispose()
