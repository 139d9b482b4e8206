"""Migrations: one head, models and migrations agree, and every revision upgrades,
downgrades and upgrades again on the database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

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
