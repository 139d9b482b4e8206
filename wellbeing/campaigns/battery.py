"""The instruments a campaign can use: the shipped ones and a district's own files
(INSTRUMENT_DIRS, the same setting as the `wellbeing score` command's), loaded once per
process. A campaign pins each instrument's version and content hash; a file changed
under the same version is refused rather than scored with different rules."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app

from screening.instruments import Catalog, Instrument, load_catalog
from wellbeing.campaigns.models import Campaign, CampaignInstrument


class InstrumentChanged(RuntimeError):
    """The instrument file no longer matches the version the campaign pinned."""


def catalog() -> Catalog:
    cached = current_app.extensions.get("wellbeing_instruments")
    if cached is None:
        setting = current_app.config.get("INSTRUMENT_DIRS") or ""
        directories = [Path(p) for p in str(setting).split(os.pathsep) if p]
        cached = load_catalog(directories)
        current_app.extensions["wellbeing_instruments"] = cached
    return cached


def pinned(entry: CampaignInstrument) -> Instrument:
    instrument = catalog().get(entry.ref)
    if instrument.content_hash != entry.content_hash:
        raise InstrumentChanged(
            f"{entry.ref} changed since the campaign was opened "
            f"({entry.content_hash[:12]} → {instrument.content_hash[:12]})"
        )
    return instrument


def battery(campaign: Campaign) -> list[Instrument]:
    """The campaign's instruments in order."""
    return [pinned(entry) for entry in campaign.instruments]


def item_key(instrument: Instrument, item_id: str) -> str:
    return f"{instrument.id}:{item_id}"
