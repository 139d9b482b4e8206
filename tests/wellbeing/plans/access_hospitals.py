"""Who may keep the district's partner hospitals (merged into the role-by-route test):
the district's administrators."""

EXPECTED: dict[str, set[str]] = {
    "plans.hospitals": {"admin"},
    "plans.edit_hospital": {"admin"},
}
PUBLIC: set[str] = set()
