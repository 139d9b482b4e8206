"""The review queue and a case's page: flagged students by tier and waiting time, and one
student's answers, scores, explanation, history and decisions."""

from __future__ import annotations

from wellbeing.review.blueprint import bp

__all__ = ["bp"]
