"""Counselors' confidential notes (sealed, every read audited)."""

# What the notes register with the layers below: how long notes are kept, and their
# section of a student's page.
from wellbeing.notes import audit_words, retention, section  # noqa: F401
