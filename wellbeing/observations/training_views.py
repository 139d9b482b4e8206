"""The training page for 心理委员 (and the head teachers and counselors who train them):
what to watch, what to do, what not to do, in plain words for children of 10 to 18."""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale
from flask_login import current_user

from wellbeing.campaigns.runner import help_lines
from wellbeing.observations import vocabulary as v
from wellbeing.observations.blueprint import bp
from wellbeing.observations.words import SIGN_LABELS
from wellbeing.security.policy import requires


@bp.get("/observations/training")
@requires("observations.training")
def training() -> str:
    # The reporter's own class, for the links back to the report and the urgent button.
    classes = [
        a.school_class
        for a in current_user.roles
        if a.role in v.REPORTERS and a.school_class is not None
    ]
    return render_template(
        "observations/training.html",
        signs=[SIGN_LABELS[sign] for sign in v.SIGNS if sign not in v.DANGER_SIGNS],
        danger=[SIGN_LABELS[sign] for sign in v.DANGER_SIGNS],
        help_lines=help_lines(get_locale().language),
        classes=classes,
    )
