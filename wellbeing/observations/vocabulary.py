"""The observations' vocabulary: what a 心理委员 or a head teacher may have seen (a
checklist for non-specialists, no diagnosis), how sure they are, who reports, and the
committee's rules. Plain tuples with no database import, so forms, templates, sweeps and
the demo share them; their words are in wellbeing/observations/words.py."""

from __future__ import annotations

from wellbeing.followups import vocabulary as fv

# What was seen, in the order the form lists them. The last two are signs of danger: a
# report with one of them is urgent (the counselors are told at once, the reporter is
# shown what to do now).
WITHDRAWN = "withdrawn"  # keeps to themselves, stopped talking or playing with others
LOW_MOOD = "low_mood"  # often sad, crying
CONFLICT = "conflict"  # quarrels, fights, is bullied or bullies
ABSENT = "absent"  # missing school or lessons, often late
SUDDEN_CHANGE = "sudden_change"  # grades, eating, sleeping, looks changed suddenly
TIRED = "tired"  # sleeps in class, no energy
GIVING_AWAY = "giving_away"  # gives away treasured things, says goodbye
HOPELESS_TALK = "hopeless_talk"  # says life is meaningless, talks of dying
SELF_HARM = "self_harm"  # injures themselves, or says they will
SIGNS = (
    WITHDRAWN,
    LOW_MOOD,
    CONFLICT,
    ABSENT,
    SUDDEN_CHANGE,
    TIRED,
    GIVING_AWAY,
    HOPELESS_TALK,
    SELF_HARM,
)
DANGER_SIGNS = (GIVING_AWAY, HOPELESS_TALK, SELF_HARM)

# How sure the reporter is.
SAW_MYSELF = "saw_myself"  # I saw or heard it myself
HEARD_FROM_OTHERS = "heard"  # classmates told me
NOT_SURE = "not_sure"  # I am not sure, it just seemed so
CERTAINTIES = (SAW_MYSELF, HEARD_FROM_OTHERS, NOT_SURE)

# Who reports: a 心理委员 (role committee) or the class's head teacher.
BY_COMMITTEE = "committee"
BY_HEAD_TEACHER = "head_teacher"
REPORTERS = (BY_COMMITTEE, BY_HEAD_TEACHER)

NOTE_MAX = 500  # characters of the reporter's note
OBSERVATIONS_PER_REPORT = 10  # at most, in one weekly report

# The committee: two members per class (one boy, one girl) from grade 4 up.
COMMITTEE_FROM_GRADE = 4
COMMITTEE_PER_CLASS = 2

# How far back the risk model counts observations of a student (its feature says "in the
# last two weeks").
FEATURE_DAYS = 14

# What the ladder records of an observation (followups.models.SlaEvent.subject): the
# follow-ups' vocabulary names it, for the table's CHECK constraint.
SUBJECT_OBSERVATION = fv.SUBJECT_OBSERVATION
