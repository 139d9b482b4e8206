"""The roster's words for the audit browser (registered with the audit layer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.security.audit_labels import register_labels

register_labels(
    fields={
        "districts": _l("Districts"),
        "schools": _l("Schools"),
        "classes": _l("Classes"),
        "students": _l("Students"),
        "guardians": _l("Guardians"),
        "staff": _l("Staff"),
        "users": _l("Users"),
    },
    values={
        "roster.school_class": _l("Class list"),
        "roster.class_names": _l("Class list (names only)"),
    },
)
