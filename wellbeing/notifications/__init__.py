"""Notifications: the in-app inbox (mail and webhooks come later). A low layer: the
areas and security/ send through it; it knows only the roster."""
