"""Who may use the counselors' pages of incoming observations (merged into the
role-by-route test)."""

EXPECTED: dict[str, set[str]] = {
    "observations.incoming": {"counselor", "admin"},
    "observations.view": {"counselor", "admin"},
    "observations.acknowledge": {"counselor", "admin"},
}
PUBLIC: set[str] = set()
