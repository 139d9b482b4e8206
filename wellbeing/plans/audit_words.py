"""audit_words: registrations added by its owner (see __init__.py)."""
