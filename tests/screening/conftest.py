"""Fixture paths for the pure screening tests (no app, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.instruments import Instrument, load_instrument, resolve

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"
EXAMPLES = FIXTURES / "examples"


@pytest.fixture(scope="session")
def phq9() -> Instrument:
    return resolve("phq9")


@pytest.fixture(scope="session")
def mht() -> Instrument:
    return load_instrument(GOOD / "mht_shaped.yaml")


@pytest.fixture(scope="session")
def wellbeing_school() -> Instrument:
    return load_instrument(GOOD / "school_wellbeing.yaml")
