"""The observations' pages, one blueprint; each group of pages lives in its own module
and adds its routes to `bp`:

    report_views.py     the 心理委员's and head teacher's phone-first weekly report, the
                        urgent report, their own reports of recent weeks
    training_views.py   the training page for new 心理委员
    incoming_views.py   the counselors' incoming observations: deadlines, acknowledging,
                        follow-ups made from them
    committee_views.py  the committee's health: coverage and report rates by class (the
                        school) and by school (the district)
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("observations", __name__)

from wellbeing.observations import (  # noqa: E402,F401  (each adds its routes to bp)
    committee_views,
    incoming_views,
    report_views,
    training_views,
)
