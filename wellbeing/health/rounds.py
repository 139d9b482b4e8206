"""Screening rounds: vision every spring and autumn ("2026-autumn", "2027-spring"), fitness
once a school year (named by the year it starts in: 2026 is 2026-2027). Pure helpers,
no database."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

SEASONS = ("spring", "autumn")
VISION_ROUND = re.compile(r"(?P<year>20\d\d)-(?P<season>spring|autumn)")
# A school year starts in September; August belongs to the new one (term preparation).
SCHOOL_YEAR_FIRST_MONTH = 8
EARLIEST_YEAR = 2000
LATEST_YEAR = 2099


class BadRound(ValueError):
    """A round or school year that is not one the application knows how to name."""


@dataclass(frozen=True, order=True)
class VisionRound:
    """One vision screening round. Orders in time: spring before autumn of a year."""

    year: int
    season_index: int  # 0 spring, 1 autumn: the order within a calendar year

    @property
    def season(self) -> str:
        return SEASONS[self.season_index]

    @property
    def key(self) -> str:
        return f"{self.year}-{self.season}"

    @property
    def school_year(self) -> int:
        """The school year the round falls in (autumn opens it, spring closes it)."""
        return self.year if self.season == "autumn" else self.year - 1

    def previous(self) -> VisionRound:
        if self.season == "autumn":
            return VisionRound(self.year, 0)
        return VisionRound(self.year - 1, 1)

    def __str__(self) -> str:
        return self.key


def parse_vision_round(text: str) -> VisionRound:
    match = VISION_ROUND.fullmatch(text or "")
    if not match:
        raise BadRound(f"not a vision round: {text!r} (e.g. 2026-autumn)")
    year = int(match["year"])
    return VisionRound(year, SEASONS.index(match["season"]))


def vision_round_for(day: date) -> VisionRound:
    """The round a measurement on that day belongs to: February to July is spring,
    August to January the autumn of the school year's first calendar year."""
    if day.month == 1:
        return VisionRound(day.year - 1, 1)
    if day.month < SCHOOL_YEAR_FIRST_MONTH:
        return VisionRound(day.year, 0)
    return VisionRound(day.year, 1)


def school_year_for(day: date) -> int:
    return day.year if day.month >= SCHOOL_YEAR_FIRST_MONTH else day.year - 1


def check_school_year(year: int) -> int:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise BadRound(f"not a school year: {year}")
    return year


def recent_vision_rounds(day: date, count: int = 4) -> list[VisionRound]:
    """The current round and the ones before it, newest first (for round pickers)."""
    rounds = [vision_round_for(day)]
    while len(rounds) < count:
        rounds.append(rounds[-1].previous())
    return rounds


def recent_school_years(day: date, count: int = 3) -> list[int]:
    current = school_year_for(day)
    return [current - offset for offset in range(count)]


def _birthday(birth: date, year: int) -> date:
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def age_on(birth: date, day: date) -> float:
    """Age in years: completed years, plus the share of the current year of life, cut
    (never rounded up) to 2 decimals, so that nobody reaches an age group (6 for the
    myopia rule) before the birthday itself."""
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    last, following = _birthday(birth, birth.year + years), _birthday(birth, birth.year + years + 1)
    share = (day - last).days / (following - last).days
    return math.floor((years + share) * 100) / 100
