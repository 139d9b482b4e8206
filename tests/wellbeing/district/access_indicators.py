"""Who may see the district's indicators (merged into the role-by-route test): the
district's monitors and administrators; only the administrators set the targets."""

EXPECTED: dict[str, set[str]] = {
    "indicators.dashboard": {"monitor", "admin"},
    "indicators.definitions": {"monitor", "admin"},
    "indicators.indicator_page": {"monitor", "admin"},
    "indicators.school_page": {"monitor", "admin"},
    "indicators.export_xlsx": {"monitor", "admin"},
    "indicators.export_csv": {"monitor", "admin"},
    "indicators.school_export_xlsx": {"monitor", "admin"},
    "indicators.school_export_csv": {"monitor", "admin"},
    "indicators.report": {"monitor", "admin"},
    "indicators.report_xlsx": {"monitor", "admin"},
    "indicators.targets": {"admin"},
    "indicators.dhis2_page": {"admin"},
    "indicators.dhis2_file": {"admin"},
}
PUBLIC: set[str] = set()
