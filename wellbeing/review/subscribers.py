"""The review's subscription to the campaigns' scored sittings: tier the sitting, raise a
crisis alert for each instrument whose critical item was endorsed, and one for a red
tier that no critical item explains (once: a retest still red raises no second one). In
the submission's transaction."""

from __future__ import annotations

from typing import Any

from wellbeing.campaigns.models import CampaignTarget
from wellbeing.campaigns.signals import sitting_scored
from wellbeing.review import vocabulary as v
from wellbeing.review.alerts import endorsed_items, raise_alert
from wellbeing.review.assessments import assess_sitting


@sitting_scored.connect
def on_sitting_scored(target: CampaignTarget, responses: list, instruments: list, **_: Any) -> None:
    assessment, before = assess_sitting(target, responses)
    raised = False
    for instrument, response in zip(instruments, responses, strict=True):
        if response.critical:
            items = endorsed_items(instrument, (response.raw or {}).get("answers", {}))
            detail = f"{instrument.ref}: {', '.join(items)}"
            raise_alert(target, v.CRITICAL_ITEM, detail, response=response, assessment=assessment)
            raised = True
    if assessment.tier == "red" and not raised and before != "red":
        raise_alert(target, v.RED_TIER, f"{assessment.points}", assessment=assessment)
