"""The reporters' acts and pages, registered with the audit layer (which knows no area),
so the audit browser words them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.observations.words import REPORTER_LABELS
from wellbeing.security.audit_labels import register_labels


def reporter_word(value: object) -> str:
    """A reporter's role in words (an unknown code is shown as stored)."""
    if value not in REPORTER_LABELS:
        raise ValueError(value)
    return str(REPORTER_LABELS[value])


register_labels(
    actions={
        "observation_report": _l("Weekly observation report filed"),
        "observation_urgent": _l("Urgent observation filed"),
    },
    targets={
        "weekly_report": _l("Weekly observation report"),
        "observation": _l("Observation"),
    },
    fields={
        "nil": _l("Nothing to report"),
        "reported_as": _l("Reported as"),
        "urgent": _l("Urgent"),
    },
    values={
        "observations.report": _l("A class's weekly observation report"),
        "observations.urgent": _l("An urgent observation"),
        "observations.mine": _l("One's own observation reports"),
    },
    formats={"reported_as": reporter_word},
)
