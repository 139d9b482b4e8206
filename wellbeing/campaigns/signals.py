"""What the campaigns announce to the areas above them (the review subscribes): a sitting
was scored. Sent inside the submission's transaction, so what a subscriber writes (a
tier, a crisis alert) commits with the answers or not at all."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the CampaignTarget; keyword arguments: responses (the ScreeningResponses just
# stored, one per instrument) and instruments (the same order).
sitting_scored = _signals.signal("sitting-scored")
