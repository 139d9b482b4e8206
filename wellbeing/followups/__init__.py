"""Follow-ups: dated tasks for named people about a student (an interview, a call to the
guardians, a re-screen...), reminded and escalated by the scheduler's sweep."""
