"""Vision and fitness records: the school doctor's entry grid and import, a student's
health page, parent letters, the national upload export and school summaries. The
rules themselves (classification, scoring) live in `screening.vision` and
`screening.fitness`; this package stores, shows and prints what they compute."""

# Its words for the audit browser, registered with the audit layer.
from wellbeing.health import audit_words  # noqa: F401
