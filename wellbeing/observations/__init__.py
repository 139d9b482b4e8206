"""Observations by the class 心理委员 and head teachers: the weekly report (nil in one
tap, or observations from a checklist), the urgent channel to the school's counselors,
acknowledgement deadlines and follow-ups, the observations' feature for the risk model,
and the committee's own coverage and report rates."""

# What the observations register with the layers below: scope rules with the access
# policy (more as their modules land: the sweep and reminders with the scheduler, the
# feature source with the review, words with the audit layer, the retention rule).
from wellbeing.observations import access  # noqa: F401
