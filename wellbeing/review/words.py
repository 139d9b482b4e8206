"""The review's words for pages, forms and messages: tiers, case states, decisions
and checklist steps, translated when shown."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.review import vocabulary as v

TIER_NAMES = {
    "red": _l("Level 1 (red)"),
    "orange": _l("Level 2 (orange)"),
    "yellow": _l("Level 3 (yellow)"),
    "none": _l("No alert"),
}
STATE_NAMES = {
    v.WAITING: _l("Waiting for review"),
    v.FOLLOWING: _l("Following up"),
    v.CLOSED: _l("Closed"),
}
DECISION_NAMES = {
    v.CONFIRM: _l("Confirm the tier"),
    v.CHANGE_TIER: _l("Change the tier"),
    v.INTERVIEW: _l("Schedule an interview"),
    v.FOLLOW_UP: _l("Schedule another follow-up"),
    v.GUARDIAN: _l("Contact the guardian"),
    v.REFER: _l("Refer to a hospital"),
    v.CLOSE: _l("Close the case"),
}
CHECKLIST_NAMES = {
    v.SEEN_SAFE: _l("Student seen and safe"),
    v.GUARDIAN_CONTACTED: _l("Guardian contacted"),
    v.SAFETY_PLAN: _l("Safety plan made"),
    v.REFERRAL: _l("Hospital referral or hotline"),
    v.WATCH: _l("24-hour watch arranged"),
}


def tier_name(tier: str | None) -> str:
    return str(TIER_NAMES.get(tier or "none", tier))


def checklist_label(step: str) -> str:
    return str(CHECKLIST_NAMES.get(step, step))
