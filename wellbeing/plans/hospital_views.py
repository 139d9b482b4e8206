"""hospital_views: routes added by its owner (see blueprint.py)."""

from wellbeing.plans.blueprint import bp  # noqa: F401
