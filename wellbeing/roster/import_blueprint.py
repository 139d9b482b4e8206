from flask import Blueprint

from wellbeing.security.policy import requires

bp = Blueprint("roster_import", __name__, url_prefix="/admin/roster")


@bp.get("/import")
@requires("roster.import")
def upload() -> str:
    return "being written"
