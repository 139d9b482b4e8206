"""The counselors' words for incoming observations: where one stands against its deadline,
and the acts and pages the audit browser shows (registered with the audit layer, which
knows no area)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.observations import incoming
from wellbeing.security.audit_labels import register_labels

STATUS_LABELS = {
    incoming.WAITING: _l("Waiting for acknowledgement"),
    incoming.OVERDUE: _l("Overdue"),
    incoming.ACKNOWLEDGED: _l("Already acknowledged"),
}

register_labels(
    actions={"observation_acknowledge": _l("Observation acknowledged")},
    fields={
        "observation": _l("Observation"),
        "late": _l("After its deadline"),
    },
    values={
        "observations.incoming": _l("A school's incoming observations"),
        "observations.view": _l("An observation"),
        "observations.acknowledge": _l("An observation"),
    },
)
