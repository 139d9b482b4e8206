"""Screening campaigns: batteries, consent, access codes, the questionnaire runner,
submissions and the coverage ledger."""

# What the campaigns register with the layers below: their scope rule with the access
# policy, their consent sheet with the compliance pack.
# Their words for the audit browser with the audit layer.
from wellbeing.campaigns import access, audit_words, compliance  # noqa: F401
