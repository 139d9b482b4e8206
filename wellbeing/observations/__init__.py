"""Observations by the class 心理委员 and head teachers: the weekly report (nil in one
tap, or observations from a checklist), the urgent channel to the school's counselors,
acknowledgement deadlines and follow-ups, the observations' feature for the risk model,
and the committee's own coverage and report rates."""

# What the observations register with the layers below: scope rules with the access
# policy, the late reports' reminders and the acknowledgement sweep with the scheduler,
# the feature source with the review, the retention rules.
from wellbeing.observations import (  # noqa: F401
    access,
    features,
    reminders,
    retention,
    sla,
)
