"""The district view: indicators against the plan's targets, dashboards, exports."""

from wellbeing.district import refresh  # noqa: F401  (registers the nightly job)
