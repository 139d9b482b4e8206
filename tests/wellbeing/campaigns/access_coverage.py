"""Who may reach the coverage ledger's pages (wellbeing/campaigns/coverage.py), for the
role-by-route test: endpoint -> roles allowed inside their scope. District pages take a
District as their target (the role-by-route test needs `district_id` in TARGET_ARGS)."""

from __future__ import annotations

DISTRICT = {"admin", "monitor"}
SCHOOL = {"admin", "counselor"}

PUBLIC: set[str] = set()
EXPECTED: dict[str, set[str]] = {
    # Counts and rates by school; never a name (monitors see small cells suppressed).
    "coverage.district": DISTRICT,
    "coverage.export_district": DISTRICT,
    "coverage.equity": DISTRICT,
    # A school's equity: its counselors, and the district's roles (suppressed for monitors).
    "coverage.school_equity": {"admin", "monitor", "counselor"},
    # Names: who is missing and why.
    "coverage.school": SCHOOL,
    "coverage.export_school": SCHOOL,
    "coverage.school_class": {"admin", "counselor", "head_teacher"},
    # One student's actions (mark, consent, codes), reached from the class's ledger.
    "coverage.student": {"admin", "counselor", "head_teacher"},
    # Marks, undo and retests: coverage.mark.
    "coverage.mark": SCHOOL,
    "coverage.unmark": SCHOOL,
    "coverage.retest": SCHOOL,
    "coverage.submit_saved": SCHOOL,
    # A guardian's decision: consent.record; a lost slip's new code: campaign.codes.
    "coverage.consent": {"admin", "counselor", "head_teacher"},
    "coverage.reissue": {"admin", "counselor", "head_teacher"},
}
