"""The district view: indicators, dashboards, exports."""

# Importing the areas' sources registers their indicators.
from wellbeing.district import health_sources  # noqa: F401
