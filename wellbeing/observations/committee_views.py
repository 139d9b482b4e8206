"""committee_views (to be written)."""

from wellbeing.observations.blueprint import bp  # noqa: F401
