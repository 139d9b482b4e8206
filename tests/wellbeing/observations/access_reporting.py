"""Who may use the reporters' pages (merged into the role-by-route test): a class's
心理委员 and head teacher on their own class; the training page also for counselors."""

EXPECTED: dict[str, set[str]] = {
    "observations.report": {"committee", "head_teacher"},
    "observations.urgent": {"committee", "head_teacher"},
    "observations.urgent_sent": {"committee", "head_teacher"},
    "observations.mine": {"committee", "head_teacher"},
    "observations.training": {"committee", "head_teacher", "counselor"},
}
PUBLIC: set[str] = set()
