"""Who may reach the campaign pages (wellbeing/campaigns/blueprint.py), for the
role-by-route test: endpoint -> roles allowed inside their scope."""

from __future__ import annotations

ADMIN_COUNSELOR = {"admin", "counselor"}
CAMPAIGN_READERS = {"admin", "monitor", "counselor", "head_teacher"}
CODE_PRINTERS = {"admin", "counselor", "head_teacher"}

PUBLIC: set[str] = set()
EXPECTED: dict[str, set[str]] = {
    "campaigns.index": CAMPAIGN_READERS,
    "campaigns.new": ADMIN_COUNSELOR,
    "campaigns.view": CAMPAIGN_READERS,
    # The owner only: campaign "A" is school A's, so its counselor and the district's
    # administrator; never a head teacher or the monitor.
    "campaigns.edit": ADMIN_COUNSELOR,
    "campaigns.refresh": ADMIN_COUNSELOR,
    "campaigns.slips": CODE_PRINTERS,
    "campaigns.student_slip": CODE_PRINTERS,
    "campaigns.notices": CODE_PRINTERS,
    # Crisis alerts: the school's counselors, and the district's administrators (who
    # receive them when a school has no counselor).
    "review.alerts": {"counselor", "admin"},
    "review.acknowledge_alert": {"counselor", "admin"},
}
