"""The application's clock: naive UTC datetimes, as stored. Tests move it forward.

People read and type times in the district's local time (China Standard Time, UTC+8 all
year); these helpers convert at the edges, so nothing else handles time zones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"
DAY = "%Y-%m-%d"


# How far the clock has been moved: tests (and the scheduler's fault tests, through
# WELLBEING_CLOCK_SHIFT_SECONDS in the test environment only) live hours ahead.
_shift = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + _shift


def move(delta: timedelta) -> None:
    """Move the clock forward (or back) by delta, for every caller of utcnow."""
    global _shift
    _shift += delta


def reset() -> None:
    global _shift
    _shift = timedelta(0)


def to_local(at: datetime) -> datetime:
    """A stored (naive UTC) time as naive local wall-clock time."""
    return at.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).replace(tzinfo=None)


def from_local(local: datetime) -> datetime:
    """A naive local wall-clock time (as typed) as a stored naive UTC time."""
    return local.replace(tzinfo=LOCAL_ZONE).astimezone(UTC).replace(tzinfo=None)


def local_text(at: datetime | None, fmt: str = MINUTES) -> str:
    """A stored time as local time text ("" for none)."""
    return "" if at is None else to_local(at).strftime(fmt)


def local_today() -> date:
    return to_local(utcnow()).date()


def local_midnight_utc(day: date) -> datetime:
    """The stored (naive UTC) time at which a local calendar day begins."""
    return from_local(datetime.combine(day, time()))
