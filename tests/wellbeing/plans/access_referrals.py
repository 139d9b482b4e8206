"""Who may use the referral pages (merged into the role-by-route test): the counselors
of the plan's school."""

EXPECTED: dict[str, set[str]] = {
    "plans.new_referral": {"counselor"},
    "plans.referral": {"counselor"},
    "plans.advance_referral": {"counselor"},
    "plans.referral_sheet": {"counselor"},
}
PUBLIC: set[str] = set()
