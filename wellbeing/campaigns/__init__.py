"""Screening campaigns: batteries, consent, access codes, the questionnaire runner,
submissions and the coverage ledger."""

# What the campaigns register with the layers below: their scope rule with the access
# policy, their consent sheet with the compliance pack.
from wellbeing.campaigns import access, compliance  # noqa: F401
