"""compliance: registrations added by its owner (see __init__.py)."""
