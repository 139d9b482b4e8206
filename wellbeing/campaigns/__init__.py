"""Screening campaigns: batteries, consent, access codes, the questionnaire runner,
submissions and the coverage ledger."""
