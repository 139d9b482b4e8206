"""The district view: indicators against the plan's targets, dashboards, exports."""

# Importing the areas' sources registers their indicators; the refresh, its nightly job.
from wellbeing.district import health_sources, refresh, sources, triggers  # noqa: F401
