"""The notifications' words for the audit browser (registered with the audit layer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.security.audit_labels import register_labels

register_labels(
    actions={"outbox_retry": _l("Retried an outbox message")},
    targets={"outbox_message": _l("Outbox message")},
)
