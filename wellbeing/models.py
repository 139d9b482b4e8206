"""Every model module, imported once so the metadata (and Alembic) sees every table."""

from wellbeing.campaigns import models as campaigns  # noqa: F401
from wellbeing.district import models as district  # noqa: F401
from wellbeing.followups import models as followups  # noqa: F401
from wellbeing.health import models as health  # noqa: F401
from wellbeing.lessons import models as lessons  # noqa: F401
from wellbeing.notes import models as notes  # noqa: F401
from wellbeing.notifications import models as notifications  # noqa: F401
from wellbeing.observations import models as observations  # noqa: F401
from wellbeing.plans import models as plans  # noqa: F401
from wellbeing.review import models as review  # noqa: F401
from wellbeing.roster import models as roster  # noqa: F401
from wellbeing.scheduler import models as scheduler  # noqa: F401
from wellbeing.security import models as security  # noqa: F401
