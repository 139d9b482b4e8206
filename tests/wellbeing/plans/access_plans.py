"""Who may use the file's own pages (merged into the role-by-route test). An
administrator opens a plan only by break-glass (tests/wellbeing/plans/test_plans_pages.py)."""

EXPECTED: dict[str, set[str]] = {
    "plans.school_plans": {"counselor"},
    "plans.new": {"counselor"},
    "plans.view": {"counselor"},
    "plans.amend": {"counselor"},
    "plans.version": {"counselor"},
    "plans.sign": {"counselor"},
    "plans.print_version": {"counselor"},
    "plans.set_status": {"counselor"},
    "plans.close": {"counselor"},
    "plans.care": {"head_teacher"},
}
PUBLIC: set[str] = set()
