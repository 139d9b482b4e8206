"""The registry of the district's indicators: each area's figure (screening.indicators
says what an indicator is) with the function that counts it from the database. The
district view, its precomputation, its exports and the DHIS2 files read the registry;
the areas' sources live in the district package (the district sits above every area and
reads their tables), one module per area.

A source takes (district id, school year) and returns the cells' Tally counts for that
school year: per school, and per grade and sex when the indicator comes by them. It
counts; it never returns a student."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from screening.indicators import Indicator, Tally

Source = Callable[[int, int], Iterable[Tally]]


@dataclass(frozen=True)
class Registered:
    indicator: Indicator
    source: Source | None  # None for a change, computed from the indicator it changes


INDICATORS: dict[str, Registered] = {}


def register_indicator(indicator: Indicator, source: Source | None = None) -> Indicator:
    """Add an indicator (in the dashboard's order). A change in points has no source."""
    if indicator.id in INDICATORS:
        raise ValueError(f"indicator {indicator.id} registered twice")
    if (source is None) != (indicator.change_of is not None):
        raise ValueError(f"{indicator.id}: a source, unless it is a change of another")
    INDICATORS[indicator.id] = Registered(indicator, source)
    return indicator


def indicator(indicator_id: str) -> Indicator:
    return INDICATORS[indicator_id].indicator


# Counts several sources share (the SLA figures, a school's staffing, the opened tiers),
# computed once per refresh rather than once per indicator: kept only while `sharing()`
# is open, so a source called on its own always counts afresh.
_shared: dict[tuple, Any] | None = None
Shared = TypeVar("Shared", bound=Callable[..., Any])


def shared(function: Shared) -> Shared:
    @wraps(function)
    def once(*args: Any) -> Any:
        if _shared is None:
            return function(*args)
        key = (function.__qualname__, *args)
        if key not in _shared:
            _shared[key] = function(*args)
        return _shared[key]

    return once  # type: ignore[return-value]


@contextmanager
def sharing() -> Iterator[None]:
    global _shared
    _shared = {}
    try:
        yield
    finally:
        _shared = None
