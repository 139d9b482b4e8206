"""The organisation tree, people and accounts, and the roster import."""

# Its words for the audit browser, registered with the audit layer.
from wellbeing.roster import audit_words  # noqa: F401
