"""The risk models' pages: the list, a model's card, the preview of its effect on the tiers
(with the capacity check) and its audited activation."""

from __future__ import annotations

from wellbeing.review.blueprint import bp

__all__ = ["bp"]
