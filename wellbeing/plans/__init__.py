"""The 一生一策 psychological growth file: a sealed, versioned plan per student who needs
one, its guardian contact log and attachments, referrals to partner hospitals from sent
to closed, purpose-bound access (who viewed it), transfers between schools and the
leaving package, retention and the compliance pack's counts."""

# What the plans register with the layers below: scope and break-glass rules with the
# access policy, words with the audit layer, the referral sweep with the scheduler, the
# retention rule, the compliance sheet, and the roster subscription (transfers).
from wellbeing.plans import (  # noqa: F401
    access,
    audit_words,
    compliance,
    retention,
    section,
    sweep,
    transfers,
)
