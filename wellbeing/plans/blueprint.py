"""The 一生一策 file's pages, one blueprint; each group of pages lives in its own module
and adds its routes to `bp`:

    views.py           the school's list, opening, the plan page, amendments, versions,
                       signing, printing, status and closing, the head teacher's care view
    parts_views.py     the guardian contact log and the attachments
    referral_views.py  referrals: the sheet, the states, the hospital's feedback
    hospital_views.py  the district's partner hospitals (administrators)
    package_views.py   the leaving-district package (made once, downloaded once)
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("plans", __name__)

from wellbeing.plans import (  # noqa: E402,F401  (each adds its routes to bp)
    hospital_views,
    package_views,
    parts_views,
    referral_views,
    views,
)
