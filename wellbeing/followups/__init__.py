"""Follow-ups: dated tasks for named people about a student (an interview, a call to the
guardians, a re-screen...), reminded and escalated by the scheduler's sweep."""

# The follow-ups' jobs, registered with the scheduler at import.
from wellbeing.followups import digest, sweep  # noqa: F401
