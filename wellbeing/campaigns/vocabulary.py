"""The campaign vocabulary: ledger states, consent modes and decisions. Plain tuples with
no database import, so templates, forms and the pure parts share them."""

from __future__ import annotations

# Every target student is in exactly one of these states.
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
SCREENED_VALID = "screened_valid"
RETEST_PENDING = "retest_pending"
ABSENT = "absent"
TRANSFERRED = "transferred"
EXEMPT = "exempt"
CONSENT_WITHHELD = "consent_withheld"
STATES = (
    NOT_STARTED,
    IN_PROGRESS,
    SCREENED_VALID,
    RETEST_PENDING,
    ABSENT,
    TRANSFERRED,
    EXEMPT,
    CONSENT_WITHHELD,
)
# States in which the student's code opens the questionnaire.
ANSWERABLE = (NOT_STARTED, IN_PROGRESS)
# States staff set by hand (with a reason); the others follow from what happens.
MARKABLE = (ABSENT, TRANSFERRED, EXEMPT)

# Consent modes: a guardian notice with the right to opt out, or explicit opt-in.
OPT_OUT = "opt_out"
OPT_IN = "opt_in"
CONSENT_MODES = (OPT_OUT, OPT_IN)
# The legal basis of the processing (PIPL art. 13 and 31): a guardian's consent, or the
# school's statutory duty (the Law on the Protection of Minors, art. 30 and the
# Ministry's mental-health screening duties).
GUARDIAN_CONSENT = "guardian_consent"
STATUTORY_DUTY = "statutory_duty"
LEGAL_BASES = (GUARDIAN_CONSENT, STATUTORY_DUTY)

CONSENT = "consent"
OPT_OUT_DECISION = "opt_out"
WITHDRAWAL = "withdrawal"
CONSENT_DECISIONS = (CONSENT, OPT_OUT_DECISION, WITHDRAWAL)
CONSENT_METHODS = ("paper", "verbal", "online")

# Reason codes of consent_withheld.
REASON_AWAITING_CONSENT = "awaiting_consent"
REASON_OPTED_OUT = "opted_out"
REASON_WITHDRAWN = "withdrawn"

# The district plan's default population: new first-years of junior and senior high.
NEW_FIRST_YEAR_GRADES = (7, 10)
