"""Who may reach the mental-health lesson log (merged into the role-by-route test): a
class's log for its head teacher, the school's counselors and leaders and the district's
administrators; logging and deleting for the head teacher (their own entries) and the
counselors; the school's overview for counselors, leaders and administrators. Never the
心理委员, students, doctors or monitors."""

EXPECTED: dict[str, set[str]] = {
    "lessons.class_log": {"head_teacher", "counselor", "school_leader", "admin"},
    "lessons.log": {"head_teacher", "counselor"},
    "lessons.delete": {"head_teacher", "counselor"},
    "lessons.school": {"counselor", "school_leader", "admin"},
}
PUBLIC: set[str] = set()
