"""Fixtures for the tests with real `wellbeing` processes (tests/wellbeing/processes.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine

from tests.wellbeing import scheduler_jobs
from tests.wellbeing.processes import Processes, scratch_app
from wellbeing.extensions import db


@pytest.fixture
def small_cells_of_5(app):
    """Suppression with k = 5 (SMALL_CELL_K): for worlds counted by hand around it, and to
    show the setting is the one read."""
    before = app.config["SMALL_CELL_K"]
    app.config["SMALL_CELL_K"] = 5
    yield
    app.config["SMALL_CELL_K"] = before


@pytest.fixture
def scheduler_db(scratch_url: str) -> Iterator[tuple[str, Engine]]:
    """A migrated database of the kind under test, with the test jobs' table."""
    app = scratch_app(scratch_url)
    with app.app_context():
        upgrade()
        scheduler_jobs.metadata.create_all(db.engine)
        db.engine.dispose()
    engine = create_engine(scratch_url)
    yield scratch_url, engine
    engine.dispose()


@pytest.fixture
def processes(scheduler_db, tmp_path) -> Iterator[Processes]:
    started = Processes(scheduler_db[0], tmp_path)
    yield started
    started.stop_all()
