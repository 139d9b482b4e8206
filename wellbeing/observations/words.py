"""The observations' words, written for children of 10 to 18 and for teachers: what was
seen, how sure, who reported. For the forms, the lists, the counselors' queue and the
audit browser alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.observations import vocabulary as v

SIGN_LABELS = {
    v.WITHDRAWN: _l("Keeps to themselves, stopped talking or playing with others"),
    v.LOW_MOOD: _l("Often sad or crying"),
    v.CONFLICT: _l("Quarrels or fights, or is picked on"),
    v.ABSENT: _l("Often absent or late"),
    v.SUDDEN_CHANGE: _l("Changed suddenly: grades, eating, sleeping or looks"),
    v.TIRED: _l("Always tired, sleeps in class"),
    v.GIVING_AWAY: _l("Gives away treasured things or says goodbye"),
    v.HOPELESS_TALK: _l("Says life is meaningless or talks about dying"),
    v.SELF_HARM: _l("Hurts themselves, or says they will"),
}
CERTAINTY_LABELS = {
    v.SAW_MYSELF: _l("I saw or heard it myself"),
    v.HEARD_FROM_OTHERS: _l("Classmates told me"),
    v.NOT_SURE: _l("I am not sure, it just seemed so"),
}
REPORTER_LABELS = {
    v.BY_COMMITTEE: _l("Class mental-health committee member"),
    v.BY_HEAD_TEACHER: _l("Head teacher"),
}
