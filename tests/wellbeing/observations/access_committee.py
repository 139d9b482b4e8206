"""Who may see the committee's health (merged into the role-by-route test): a school's
classes with their 心理委员 and report rates for its counselors, leaders and the district's
administrators; each school's figures for the district's monitors and administrators."""

EXPECTED: dict[str, set[str]] = {
    "observations.committee_school": {"counselor", "school_leader", "admin"},
    "observations.committee_district": {"monitor", "admin"},
}
PUBLIC: set[str] = set()
