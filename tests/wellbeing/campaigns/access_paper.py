"""Who may use the paper fallback's pages (merged into the role-by-route test)."""

EXPECTED: dict[str, set[str]] = {
    "paper.print_form": {"admin", "counselor"},
    "paper.enter": {"admin", "counselor"},
    "paper.import_file": {"admin", "counselor"},
    "paper.import_template": {"admin", "counselor"},
}
PUBLIC: set[str] = set()
