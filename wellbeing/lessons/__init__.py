"""The mental-health lesson log (心理健康课记录): one row per lesson a class held, kept
by its head teacher or the school's counselors (date and topic), counted per semester
against the district plan's target (at least LESSONS_PER_SEMESTER). Nothing in it is
about a student."""

# What the lessons register with the layers below: the scope rule of a lesson with the
# access policy, the audit browser's words for its acts.
from wellbeing.lessons import access, words  # noqa: F401
