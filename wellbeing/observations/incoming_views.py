"""The counselors' incoming observations (placeholder until the queue lands: the link
that the urgent channel's messages carry)."""

from __future__ import annotations

from wellbeing.observations.blueprint import bp
from wellbeing.roster.models import School
from wellbeing.security.policy import requires


@bp.get("/schools/<int:school_id>/observations")
@requires("observations.incoming", School)
def incoming(school: School) -> str:
    return ""  # replaced by the queue
