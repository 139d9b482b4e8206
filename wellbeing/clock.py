"""The application's clock: naive UTC datetimes, as stored. Tests move it forward."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
