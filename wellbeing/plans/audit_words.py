"""The file's acts and pages, registered with the audit layer (which knows no area), so
the audit browser words them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask_babel import lazy_gettext as _l

from wellbeing.plans.words import (
    CLOSE_REASON_LABELS,
    REFERRAL_STATE_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)
from wellbeing.security.audit_labels import register_labels


def worded(labels: Mapping[str, object]) -> Callable[[object], str]:
    """A detail key's values in the file's words; a value of another area's (the key is
    shared) is left to the general words (the audit layer falls back on ValueError)."""

    def word(value: object) -> str:
        if value not in labels:
            raise ValueError(value)
        return str(labels[value])

    return word


# The plan itself (services.py) and its pages (views.py).
register_labels(
    actions={
        "plan_open": _l("一生一策 file opened"),
        "plan_amend": _l("一生一策 file amended"),
        "plan_sign": _l("一生一策 version signed"),
        "plan_status": _l("一生一策 file status changed"),
        "plan_close": _l("一生一策 file closed"),
    },
    targets={"growth_plan": _l("一生一策 file")},
    fields={
        "version": _l("Version"),
        "source": _l("Source"),
        "cancelled": _l("Follow-ups cancelled"),
        "measures": _l("Measures"),
    },
    values={
        # A status ("from", "status") and a close reason; the sources ("review",
        # "alert", "counselor") and the other reasons are worded alike by other areas.
        **STATUS_LABELS,
        "goals_met": CLOSE_REASON_LABELS["goals_met"],
        "plan_print": _l("Printed 一生一策 file"),
        "plans.school_plans": _l("A school's 一生一策 files"),
        "plans.new": _l("Opening a 一生一策 file"),
        "plans.view": _l("A 一生一策 file"),
        "plans.amend": _l("Amending a 一生一策 file"),
        "plans.version": _l("A version of a 一生一策 file"),
        "plans.sign": _l("A version of a 一生一策 file (signing refused)"),
        "plans.print_version": _l("A printed 一生一策 file"),
        "plans.close": _l("A 一生一策 file (closing refused)"),
        "plans.care": _l("A head teacher's care actions"),
    },
)

# Keys whose values are the file's own codes: its sources, and a referral's states.
register_labels(
    formats={
        "source": worded(SOURCE_LABELS),
        "state": worded(REFERRAL_STATE_LABELS),
        "from_state": worded(REFERRAL_STATE_LABELS),
    }
)
