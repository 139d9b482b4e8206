"""Who may use the leaving package's pages (merged into the role-by-route test): the
plan's counselors, behind a fresh password (the matrix sees the 302 to /confirm)."""

EXPECTED: dict[str, set[str]] = {
    "plans.make_package": {"counselor"},
    "plans.package": {"counselor"},
}
PUBLIC: set[str] = set()
