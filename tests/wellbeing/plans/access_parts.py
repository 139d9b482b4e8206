"""Who may use the guardian contact log and the attachments (merged into the role-by-route
test): the counselors of the plan's school."""

EXPECTED: dict[str, set[str]] = {
    "plans.add_contact": {"counselor"},
    "plans.upload_attachment": {"counselor"},
    "plans.attachment": {"counselor"},
}
PUBLIC: set[str] = set()
