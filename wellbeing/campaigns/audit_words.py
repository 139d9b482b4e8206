"""The campaigns' words for the audit browser: the acts they record and the keys and
values of their detail, registered with the audit layer (which knows no area)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.campaigns import vocabulary as v
from wellbeing.security.audit_labels import register_labels

# The ledger states in words, for the audit browser, the spreadsheets and flashed messages
# (the same words as templates/campaigns/_macros.html state_label).
STATE_LABELS = {
    v.NOT_STARTED: _l("Not started"),
    v.IN_PROGRESS: _l("In progress"),
    v.SCREENED_VALID: _l("Screened"),
    v.RETEST_PENDING: _l("Retest pending"),
    v.ABSENT: _l("Absent"),
    v.TRANSFERRED: _l("Transferred"),
    v.EXEMPT: _l("Exempt"),
    v.CONSENT_WITHHELD: _l("Consent withheld"),
}


register_labels(
    actions={
        "campaign_open": _l("Campaign opened"),
        "campaign_edit": _l("Campaign changed"),
        "coverage_mark": _l("Coverage marked"),
        "consent_record": _l("Consent recorded"),
        "retest_issue": _l("Retest issued"),
        "code_reissue": _l("Access code reissued"),
    },
    targets={"campaign": _l("Campaign")},
    fields={
        "campaign": _l("Campaign"),
        "targets": _l("Students drawn"),
        "added": _l("Added"),
        "transferred": _l("Transferred"),
        "changed": _l("Changed"),
        "state": _l("State"),
        "decision": _l("Decision"),
        "stage": _l("Stage"),
        "source": _l("Source"),
        "same_user": _l("Same person as the first entry"),
        "items": _l("Items"),
        "codes": _l("Access codes"),
        "notices": _l("Notices"),
        "schools": _l("Schools"),
        "suppressed": _l("Small cells suppressed"),
        "name": _l("Name"),
        "opens_at": _l("Opens"),
        "closes_at": _l("Closes"),
        "notice_version": _l("Notice version"),
    },
    values={
        **STATE_LABELS,
        "undo": _l("Mark undone"),
        v.CONSENT: _l("Consent"),
        v.OPT_OUT_DECISION: _l("Opt-out"),
        v.WITHDRAWAL: _l("Withdrawal"),
        "paper": _l("On paper"),
        "online": _l("Online"),
        "first": _l("First entry"),
        "second": _l("Second entry"),
        "single": _l("Single entry"),
        "discard": _l("First entry discarded"),
        "mismatch": _l("Entries differ"),
        "submit_saved": _l("Submitted for the student"),
        "paper_mismatch": _l("Paper entries that differ"),
        "coverage_xlsx": _l("Coverage of a school (XLSX)"),
        "coverage_district_xlsx": _l("Coverage of the district (XLSX)"),
        "coverage.school": _l("Coverage of a school"),
        "coverage.school_class": _l("Coverage of a class"),
        "coverage.student": _l("A student's screening actions"),
        "paper.enter": _l("Paper entry"),
    },
)
