"""The district's precomputed figures and the administrator's targets. Both hold counts
or settings only, never a student: they stay in clear (README, "What is sealed at rest")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.clock import utcnow
from wellbeing.extensions import db


class IndicatorValue(db.Model):
    """One indicator's counts for one cell of one school year: the district (school_id
    null), a school, and within it a grade and/or a sex (null: all). Written only by
    wellbeing.district.refresh (delete and insert per district and school year)."""

    __tablename__ = "indicator_value"
    # The pages read one district's school year (or one indicator over the years).
    __table_args__ = (
        Index("ix_indicator_value_year", "district_id", "school_year", "indicator_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    indicator_id: Mapped[str] = mapped_column(String(60))
    school_year: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    grade: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    # What a monitor may not see, decided by the refresh over the whole year's cells of
    # the indicator at k = small_cell_k (screening.indicators.hidden_cells).
    numerator_hidden: Mapped[bool] = mapped_column(Boolean, server_default=false())
    denominator_hidden: Mapped[bool] = mapped_column(Boolean, server_default=false())
    small_cell_k: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IndicatorTarget(db.Model):
    """The district's own target for an indicator, replacing the plan's default."""

    __tablename__ = "indicator_target"
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    target: Mapped[float] = mapped_column(Float)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IndicatorRefreshRequest(db.Model):
    """A district's school year whose stored figures are out of date: an import was
    committed, or a campaign closed (wellbeing.district.triggers). One row per district
    and year however many imports asked, so a burst leads to one refresh; the scheduler's
    job refreshes the year and deletes the row in one transaction."""

    __tablename__ = "indicator_refresh_request"
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), primary_key=True)
    school_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The first request since the last refresh (it bounds the wait) and the latest (the
    # job waits for a quiet moment after it).
    first_requested_at: Mapped[datetime] = mapped_column(DateTime)
    last_requested_at: Mapped[datetime] = mapped_column(DateTime)
    # What asked last: vision, fitness, roster or campaign.
    reason: Mapped[str] = mapped_column(String(20))
