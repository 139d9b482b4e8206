"""What the health area announces to the areas above it (the district subscribes): a
vision or fitness file was stored. Sent inside the import's transaction, so what a
subscriber writes (a refresh request) commits with the records or not at all.

    records_imported.connect(receiver)
    # receiver(school, kind="vision" | "fitness", school_year=2026, rows=40)"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
records_imported = _signals.signal("records-imported")
