"""The review's acts and detail keys, registered with the audit layer (which knows no
area), so the audit browser words them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.review.words import CHECKLIST_NAMES
from wellbeing.security.audit_labels import register_labels

register_labels(
    actions={
        "crisis_alert": _l("Crisis alert raised"),
        "alert_acknowledge": _l("Crisis alert acknowledged"),
        "alert_step": _l("Crisis checklist step recorded"),
        "review_decision": _l("Review decision recorded"),
        "risk_model_activate": _l("Risk model activated"),
        "risk_model_train": _l("Risk model trained"),
    },
    targets={
        "crisis_alert": _l("Crisis alert"),
        "risk_assessment": _l("Risk assessment"),
        "risk_model": _l("Risk model"),
    },
    fields={
        "alerts": _l("Alerts"),
        "open": _l("Open"),
        "step": _l("Step"),
        "decision": _l("Decision"),
        "assessment": _l("Risk assessment"),
        "model": _l("Risk model"),
        "changed": _l("Changed"),
    },
    values={
        **CHECKLIST_NAMES,
        "review.acknowledge_alert": _l("Acknowledge a crisis alert"),
    },
)

# The crisis alert's page (GET) and its checklist's form (POST, shown again with its
# problems), as the audit browser names them.
register_labels(
    values={
        "review.alert": _l("A crisis alert and its checklist"),
        "review.record_step": _l("A crisis alert and its checklist"),
    },
)

# The review queue and a case's page (queue_views.py): the queue's row counts its cases,
# never names them; a case's row names its student and assessment.
register_labels(
    fields={
        "cases": _l("Cases"),
        "shown": _l("Shown"),
    },
    values={
        "review.queue": _l("Review queue"),
        "review.case": _l("A student's review case"),
        "review.decide": _l("A student's review case (decision refused)"),
    },
)
