"""Hardening from the outside security review (issue 10): no published session secret,
forged and tampered session cookies refused, ids beyond the columns' range not found,
a password change that must change the password, and private SQLite files."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import _create_identifier
from itsdangerous.encoding import base64_decode, base64_encode
from sqlalchemy import text
from werkzeug.routing import IntegerConverter

from tests.conftest import TEST_KEYS, TEST_PASSWORD, login
from wellbeing import create_app
from wellbeing.config import SECRET_KEY_FILE, ConfigError, instance_secret_key
from wellbeing.database import INTEGER_MAX
from wellbeing.extensions import db

REPOSITORY = Path(__file__).resolve().parents[2]
# What an empty SECRET_KEY used to mean outside production, printed in the source.
OLD_CONSTANT = "development-only-secret-not-for-production"
# A page for administrators only.
ADMIN_PAGE = "/admin/audit/"
AGENT = {"User-Agent": "review-client/1.0"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """Files made under the common umask 022: a stricter one would hide a wide mode."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _open_settings(instance: Path, **more: object) -> dict[str, object]:
    """Settings as `make demo` runs: no SECRET_KEY, not production."""
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": "sqlite:///instance/wellbeing.sqlite",
        "ENVIRONMENT": "development",
        "SECRET_KEY": "",
        "KEYS": TEST_KEYS,
        **more,
    }


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


# --- the session secret --------------------------------------------------------------------


def test_without_a_secret_key_one_is_generated_private_and_reused(tmp_path, usual_umask, caplog):
    instance = tmp_path / "instance"
    caplog.set_level(logging.WARNING, logger="wellbeing.config")
    first = create_app(_open_settings(instance))
    secret_file = instance / SECRET_KEY_FILE
    assert first.secret_key != OLD_CONSTANT and len(first.secret_key) >= 32
    assert secret_file.read_text().strip() == first.secret_key
    assert _mode(secret_file) == 0o600 and _mode(instance) == 0o700
    warned = [r.getMessage() for r in caplog.records if str(secret_file) in r.getMessage()]
    assert len(warned) == 1 and "generated" in warned[0]

    caplog.clear()
    second = create_app(_open_settings(instance))
    assert second.secret_key == first.secret_key
    assert not [r for r in caplog.records if "generated" in r.getMessage()]
    # Another installation gets another secret.
    assert create_app(_open_settings(tmp_path / "other")).secret_key != first.secret_key
    for app in (first, second):
        _dispose(app)


_READ_SECRET = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
from wellbeing.config import instance_secret_key
print(instance_secret_key(sys.argv[1]))
"""


def test_processes_starting_together_share_one_secret(tmp_path):
    """Workers starting at the same moment: one file is made, whole, and all read it."""
    instance, go = tmp_path / "instance", tmp_path / "go"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _READ_SECRET, str(instance), str(go)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(1.0)  # let every worker import and wait at the line
    go.touch()
    results = [worker.communicate(timeout=60) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err for _, err in results]
    secrets_read = {out.strip() for out, _ in results}
    assert secrets_read == {(instance / SECRET_KEY_FILE).read_text().strip()}
    generated = sum("generated" in err for _, err in results)
    assert generated == 1
    assert [p.name for p in instance.iterdir()] == [SECRET_KEY_FILE]  # no staging file left


def test_a_command_and_the_app_sign_with_the_same_secret(tmp_path):
    """The commands (`wellbeing demo` prints codes keyed from the secret) and the server
    are separate processes: they find the instance folder and its secret alike."""
    instance = tmp_path / "instance"
    app = create_app(_open_settings(instance))
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "WELLBEING_INSTANCE_PATH": str(instance),
        "WELLBEING_ENVIRONMENT": "development",
        "WELLBEING_SECRET_KEY": "",
        "WELLBEING_KEYS": TEST_KEYS,
    }
    printed = subprocess.run(
        [sys.executable, "-c", "from wellbeing import create_app; print(create_app().secret_key)"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert printed == app.secret_key
    _dispose(app)


def test_a_damaged_secret_file_stops_the_start(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    (instance / SECRET_KEY_FILE).write_text("\n")
    with pytest.raises(ConfigError, match="damaged"):
        instance_secret_key(str(instance))


def test_a_secret_file_open_to_others_is_tightened(tmp_path):
    instance = tmp_path / "instance"
    secret = instance_secret_key(str(instance))
    (instance / SECRET_KEY_FILE).chmod(0o644)
    assert instance_secret_key(str(instance)) == secret
    assert _mode(instance / SECRET_KEY_FILE) == 0o600


@pytest.mark.parametrize(
    ("secret", "refusal"),
    [
        ("", "must be set"),
        ("short-but-set", "at least 32"),
        ("change-me", "published"),
        (OLD_CONSTANT, "published"),
    ],
)
def test_production_never_makes_or_takes_a_weak_secret(tmp_path, secret, refusal):
    settings = _open_settings(tmp_path / "instance", ENVIRONMENT="production", SECRET_KEY=secret)
    with pytest.raises(ConfigError, match=refusal):
        create_app(settings)
    assert not (tmp_path / "instance" / SECRET_KEY_FILE).exists()


# --- forged session cookies --------------------------------------------------------------


@pytest.fixture
def open_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app as `make demo` runs it (no SECRET_KEY), on the test database: it shares
    the fixture's connection, so it sees the test's world."""
    other = create_app(
        _open_settings(
            tmp_path / "instance",
            DATABASE_URL=app.config["DATABASE_URL"],
            WTF_CSRF_ENABLED=False,
            TESTING=True,
        )
    )
    yield other
    _dispose(other)


def _forge(app: Flask, secret: str, payload: dict) -> str:
    """A session cookie as an attacker makes it: Flask's own signing, with `secret`."""
    signer = Flask("attacker")
    signer.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps(payload)


def _admin_session(app: Flask, user: object) -> dict:
    """Everything a logged-in administrator's session holds; all of it is guessable."""
    with app.test_request_context(headers=AGENT):
        identifier = _create_identifier()  # Flask-Login's: address and user agent
    now = time.time()
    return {
        "_user_id": str(user.id),
        "_fresh": True,
        "_id": identifier,
        "_permanent": True,
        "session_version": user.session_version,
        "login_at": now,
        "last_seen": now,
    }


def _visit_with(app: Flask, cookie: str):
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client.get(ADMIN_PAGE, headers=AGENT)


def test_a_session_signed_with_the_old_constant_is_refused(open_app, db_session, world):
    payload = _admin_session(open_app, world.users["admin"])
    # The payload is a working session when signed with the app's real secret...
    assert _visit_with(open_app, _forge(open_app, open_app.secret_key, payload)).status_code == 200
    # ...and opens nothing signed with the constant printed in the source.
    refused = _visit_with(open_app, _forge(open_app, OLD_CONSTANT, payload))
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_a_session_signed_with_a_wrong_key_is_refused(open_app, db_session, world):
    payload = _admin_session(open_app, world.users["admin"])
    for secret in ("test-secret", "x" * 64, open_app.secret_key[:-1]):
        refused = _visit_with(open_app, _forge(open_app, secret, payload))
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def _tampered(cookie: str, change: dict) -> str:
    """The cookie with its payload changed and its signature kept."""
    compressed = cookie.startswith(".")
    payload, timestamp, signature = cookie.lstrip(".").split(".")
    raw = base64_decode(payload)
    document = json.loads(zlib.decompress(raw) if compressed else raw)
    document.update(change)
    encoded = base64_encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    return f"{encoded}.{timestamp}.{signature}"


def test_a_tampered_session_is_refused(open_app, db_session, world):
    client = open_app.test_client()
    login(client, "teacher")
    cookie = client.get_cookie(open_app.config["SESSION_COOKIE_NAME"]).value
    assert client.get("/home").status_code == 200 and client.get(ADMIN_PAGE).status_code == 403
    # The teacher's own session, claiming to be the administrator's.
    forged = _tampered(cookie, {"_user_id": str(world.users["admin"].id)})
    refused = open_app.test_client()
    refused.set_cookie(open_app.config["SESSION_COOKIE_NAME"], forged)
    answer = refused.get(ADMIN_PAGE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    # A changed signature, too: its first character (the last one may differ only in
    # base64's unused low bits, which decode to the same signature).
    head, signature = cookie.rsplit(".", 1)
    flipped = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    refused.set_cookie(open_app.config["SESSION_COOKIE_NAME"], flipped)
    assert refused.get("/home").status_code == 302


# --- ids beyond the columns' range -----------------------------------------------------------

_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _int_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """(rule, method, its integer arguments) for every route with an integer argument."""
    routes = []
    for rule in app.url_map.iter_rules():
        names = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        if names:
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
            routes.append((rule.rule, method, names))
    return routes


def _url(rule: str, values: dict[str, int]) -> str:
    return _ARGUMENT.sub(lambda m: str(values.get(m["name"], "x")), rule)


def test_every_integer_argument_is_bounded_to_the_column_range(app):
    routes = _int_routes(app)
    assert len(routes) > 30  # the check below saw the routes
    for rule in app.url_map.iter_rules():
        for converter in rule._converters.values():
            if isinstance(converter, IntegerConverter):
                assert (converter.min, converter.max) == (0, INTEGER_MAX), rule.rule


@pytest.mark.parametrize("beyond", [INTEGER_MAX + 1, 10**23], ids=["2147483648", "10**23"])
def test_ids_beyond_the_range_are_not_found(app, client, world, beyond):
    login(client, "admin")
    answers = {}
    for rule, method, names in _int_routes(app):
        for name in names:
            url = _url(rule, {n: (beyond if n == name else 1) for n in names})
            answers[f"{method} {url}"] = client.open(url, method=method).status_code
    assert answers and {a: s for a, s in answers.items() if s != 404} == {}


def test_the_largest_id_is_looked_up_not_refused(app, client, world):
    """The bound is the column's: its largest value still reaches the page (no such row)."""
    login(client, "admin")
    answers = {}
    for rule, method, names in _int_routes(app):
        if method == "GET":
            url = _url(rule, dict.fromkeys(names, INTEGER_MAX))
            answers[url] = client.get(url).status_code
    assert {a: s for a, s in answers.items() if s >= 500} == {}
    assert answers[f"/students/{INTEGER_MAX}"] == 404


# --- a password change must change the password ---------------------------------------------

SAME = {"current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
MESSAGE = "新密码不能与当前密码相同"


def _refused_beside_the_field(page: str) -> None:
    start = page.index('name="new_password"')
    assert start < page.index(MESSAGE) < page.index('name="confirm"')


def test_a_forced_change_refuses_the_old_password(client, world):
    world.users["doctor"].must_change_password = True
    db.session.flush()
    login(client, "doctor")
    answer = client.post("/password", data=SAME)
    assert answer.status_code == 200
    _refused_beside_the_field(answer.get_data(as_text=True))
    assert world.users["doctor"].must_change_password
    assert client.get("/home").headers["Location"] == "/password"  # still to be changed
    client.get("/language/en")
    english = client.post("/password", data=SAME).get_data(as_text=True)
    assert "The new password must differ from the current one." in english


def test_a_voluntary_change_refuses_the_old_password(client, world):
    login(client, "teacher")
    before = world.users["head_teacher"].password_hash
    answer = client.post("/password", data=SAME)
    assert answer.status_code == 200
    _refused_beside_the_field(answer.get_data(as_text=True))
    assert world.users["head_teacher"].password_hash == before
    changed = client.post(
        "/password",
        data={**SAME, "new_password": "another-long-one", "confirm": "another-long-one"},
    )
    assert changed.status_code == 302


# --- private SQLite files ------------------------------------------------------------------


def test_a_fresh_instance_folder_and_its_database_are_private(tmp_path, usual_umask):
    from flask_migrate import upgrade

    instance = tmp_path / "instance"
    app = create_app(_open_settings(instance))
    database = instance / "wellbeing.sqlite"
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:  # held open: -wal and -shm stay
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            connection.execute(
                text("INSERT INTO district (code, name) VALUES ('510599', '测试区')")
            )
            connection.commit()
            companions = [database.with_name(database.name + end) for end in ("-wal", "-shm")]
            assert all(path.exists() for path in companions)
            modes = {path.name: _mode(path) for path in (database, *companions)}
        db.engine.dispose()
    assert _mode(instance) == 0o700
    assert modes == dict.fromkeys(modes, 0o600) and len(modes) == 3


def test_files_from_before_are_tightened(tmp_path, usual_umask):
    """An installation made before this rule: its folder and database become private."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    database = instance / "wellbeing.sqlite"
    database.touch(mode=0o644)
    database.with_name("wellbeing.sqlite-wal").touch(mode=0o644)
    _dispose(create_app(_open_settings(instance)))
    assert _mode(instance) == 0o700
    assert _mode(database) == _mode(database.with_name("wellbeing.sqlite-wal")) == 0o600


@pytest.mark.parametrize("value", ["2147483648", str(10**23), "-1", "x"])
def test_ids_typed_in_forms_queries_and_json_beyond_the_range_name_no_row(client, world, value):
    """Ids that come in a form, a query string or a JSON body, not a route, are bounded too."""
    from wellbeing.clock import utcnow
    from wellbeing.health.rounds import vision_round_for

    login(client, "admin")
    assert client.get(f"/admin/audit/?before={value}").status_code == 200
    assert client.get(f"/admin/audit/?after={value}").status_code == 200
    school = world.schools["A"]
    acknowledged = client.post(f"/schools/{school.id}/alerts/{value}/acknowledge")
    assert acknowledged.status_code == 404
    chosen = vision_round_for(utcnow().date())
    saved = client.post(
        f"/health/classes/{world.classes['A1'].id}/vision/{chosen.key}/rows",
        json={"student": value},
    )
    assert saved.status_code == 200 and saved.get_json()["ok"] is False
