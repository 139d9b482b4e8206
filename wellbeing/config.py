"""Settings: defaults from config/default.toml, then an optional TOML file named by
WELLBEING_CONFIG, then WELLBEING_* environment variables, then an explicit override."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "default.toml"
ENV_PREFIX = "WELLBEING_"


class ConfigError(ValueError):
    """A setting is missing or cannot be parsed."""


def _parse_env(key: str, raw: str, default: Any) -> Any:
    """Parse an environment value to the type of its default."""
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{ENV_PREFIX}{key} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{key} must be a whole number, not {raw!r}") from exc
    if isinstance(default, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(default, dict):
        return json.loads(raw)
    if default is None and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"  # a Flask flag with no default here (e.g. TESTING)
    return raw


def load_settings(
    override: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    extra_file = environ.get(f"{ENV_PREFIX}CONFIG")
    if extra_file:
        settings.update(tomllib.loads(Path(extra_file).read_text(encoding="utf-8")))
    for name, raw in environ.items():
        if name.startswith(ENV_PREFIX) and name != f"{ENV_PREFIX}CONFIG":
            key = name[len(ENV_PREFIX) :]
            settings[key] = _parse_env(key, raw, settings.get(key))
    settings.update(override or {})
    return settings


def is_production(settings: Mapping[str, Any]) -> bool:
    return settings.get("ENVIRONMENT") == "production"


def _instance_relative(path: str, instance_path: str) -> str:
    if path.startswith("instance/"):
        return str(Path(instance_path) / path.removeprefix("instance/"))
    return path


def flask_config(settings: Mapping[str, Any], instance_path: str) -> dict[str, Any]:
    """Derive Flask's own keys from our settings."""
    config = dict(settings)
    url = settings["DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative.startswith("instance/"):
            relative = str(Path(instance_path) / relative.removeprefix("instance/"))
        url = f"sqlite:///{Path(relative).resolve()}"
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["KEY_FILE"] = _instance_relative(settings.get("KEY_FILE", ""), instance_path)
    secret = settings.get("SECRET_KEY") or ""
    if not secret:
        if is_production(settings):
            raise ConfigError("WELLBEING_SECRET_KEY must be set in production")
        secret = "development-only-secret-not-for-production"
    config["SECRET_KEY"] = secret
    config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if settings.get("SESSION_COOKIE_SECURE"):
        config["REMEMBER_COOKIE_SECURE"] = True
    config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    return config
