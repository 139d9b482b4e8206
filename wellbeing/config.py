"""Settings: defaults from config/default.toml, then an optional TOML file named by
WELLBEING_CONFIG, then WELLBEING_* environment variables, then an explicit override.
Also the instance folder's private files: the generated secret key and the folder's modes."""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "default.toml"
ENV_PREFIX = "WELLBEING_"
# Outside production an empty SECRET_KEY means this file in the instance folder, made with a
# random secret on first start and reused afterwards (every process must sign alike).
SECRET_KEY_FILE = "secret_key"
# A production secret is at least this long; generated ones are 64 characters.
SECRET_KEY_MIN_LENGTH = 32
# Published secrets: the constant that once stood in for an empty key outside production,
# and the production example's placeholder. Refused wherever they are set.
PUBLISHED_SECRETS = frozenset({"development-only-secret-not-for-production", "change-me"})
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600

log = logging.getLogger(__name__)


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


def chosen_instance_path(settings: Mapping[str, Any]) -> str | None:
    """The instance folder INSTANCE_PATH names (relative to the working folder), or None
    for Flask's own choice: `instance/` beside the package, or the environment's
    `var/wellbeing-instance` when the package is installed."""
    chosen = settings.get("INSTANCE_PATH") or ""
    return str(Path(chosen).resolve()) if chosen else None


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
    config["SECRET_KEY"] = _secret_key(settings, instance_path)
    # k = 1 would hide nothing: a monitor would see single students.
    if not isinstance(settings.get("SMALL_CELL_K"), int) or settings["SMALL_CELL_K"] < 2:
        raise ConfigError("SMALL_CELL_K must be a whole number of at least 2")
    config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if settings.get("SESSION_COOKIE_SECURE"):
        config["REMEMBER_COOKIE_SECURE"] = True
    config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    return config


def _secret_key(settings: Mapping[str, Any], instance_path: str) -> str:
    secret = settings.get("SECRET_KEY") or ""
    if secret in PUBLISHED_SECRETS:
        raise ConfigError("WELLBEING_SECRET_KEY is a published example: generate your own")
    if is_production(settings):
        # Several hosts must sign alike: production never makes its own.
        if not secret:
            raise ConfigError("WELLBEING_SECRET_KEY must be set in production")
        if len(secret) < SECRET_KEY_MIN_LENGTH:
            raise ConfigError(
                f"WELLBEING_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters "
                "in production"
            )
        return secret
    return secret or instance_secret_key(instance_path)


# --- the instance folder's private files ------------------------------------------------


def private_directory(path: Path) -> None:
    """Create a folder only its owner may enter (parents made on the way get the umask's
    mode); an existing folder is left as it is."""
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)


def tighten(path: Path) -> None:
    """Take group's and others' permissions off a file or folder of ours that had them
    (made before files were created private): it holds minors' data or a secret."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_mode & 0o077 and status.st_uid == os.geteuid():
        mode = PRIVATE_DIRECTORY if stat.S_ISDIR(status.st_mode) else PRIVATE_FILE
        try:
            os.chmod(path, mode)
        except OSError as exc:  # a read-only mount: say so, and go on serving
            log.warning("%s is open to other accounts and stays so: %s", path, exc.strerror)
            return
        log.warning("%s was open to other accounts: its mode is now %o", path, mode)


def instance_secret_key(instance_path: str) -> str:
    """The secret in the instance folder's SECRET_KEY_FILE, generated on first use. Every
    process of one installation (the commands, the server, workers starting together)
    gets the same secret: the file appears whole or not at all, and only once."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        if not path.exists():
            private_directory(path.parent)
            if _create_secret_file(path):
                log.warning(
                    "SECRET_KEY is empty: generated a random one in %s (mode 0600). Sessions "
                    "and printed access codes depend on it; production needs "
                    "WELLBEING_SECRET_KEY set, the same on every host",
                    path,
                )
        tighten(path)
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot create or read the secret key file {path} ({exc.strerror}): "
            "set WELLBEING_SECRET_KEY, or WELLBEING_INSTANCE_PATH to a folder this account owns"
        ) from exc
    if len(secret) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"the secret key file {path} is damaged: restore it from its backup, or remove it "
            "to generate a new one (users are logged out and printed access codes stop working)"
        )
    return secret


def _create_secret_file(path: Path) -> bool:
    """Write a new secret to `path` unless it exists; False if another process made it
    first. Written whole to a temporary file, then linked into place: the link, like
    O_EXCL, fails when the name exists, and a reader never sees a half-written file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(temporary)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the name survives a crash: sessions and codes depend on it
    finally:
        os.close(directory)
    return True
