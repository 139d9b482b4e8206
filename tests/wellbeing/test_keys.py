"""`wellbeing keys` and the evidence around sealed fields, on SQLite and PostgreSQL.

Most tests here commit for real (rotation commits batch by batch; threads need their own
connections; a database file is read byte by byte), so each gets a fresh database copied
from a migrated template, and apps of its own with a key file in tmp_path."""

from __future__ import annotations

import getpass
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine, make_url, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.notes.models import StudentNote
from wellbeing.roster.models import District, School, SchoolClass, Student, User
from wellbeing.security.crypto import (
    AES_256_GCM,
    SM4_GCM,
    KeyringError,
    TamperedCiphertext,
    encode_key_setting,
    generate_key,
    key_id_of,
    parse_header,
    parse_keys_setting,
    read_key_file,
)
from wellbeing.security.fields import encrypted_columns
from wellbeing.security.keys import key_usage
from wellbeing.security.keys_cli import keys_group
from wellbeing.security.models import AuditEvent, SecondFactor

REPO = Path(__file__).resolve().parents[2]


# --- fresh databases -----------------------------------------------------------------


def _server_url(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def template(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database to copy: a file on SQLite, a template on PostgreSQL."""
    if not database_url.startswith("postgresql"):
        url = f"sqlite:///{tmp_path_factory.mktemp('keys') / 'template.sqlite'}"
        _migrate(url)
        yield url
        return
    name = f"{make_url(database_url).database}_keys_tpl"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        _drop(admin, name)
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        url = _server_url(database_url, name)
        _migrate(url)
        yield url
        _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop a scratch database. Plain DROP first: it waits for an autovacuum worker to
    leave, where WITH (FORCE) would fail (a superuser's process, not ours to end)."""
    for attempt in range(20):
        force = " WITH (FORCE)" if attempt % 2 else ""
        try:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
            return
        except DBAPIError:
            time.sleep(0.25)
    raise AssertionError(f"could not drop the scratch database {name}")


def _migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "ENVIRONMENT": "test", "KEYS": ""})
    with app.app_context():
        upgrade()
        db.engine.dispose()


_copies = iter(range(1, 10**6))


@pytest.fixture
def fresh_url(template: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    if template.startswith("sqlite"):
        path = tmp_path / "wellbeing.sqlite"
        shutil.copy(template.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    template_name = make_url(template).database
    name = f"{make_url(database_url).database}_keys_{os.getpid()}_{next(_copies)}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template_name}"))
        yield _server_url(database_url, name)
        _drop(admin, name)
    finally:
        admin.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "instance-keys" / "keys.json"


@pytest.fixture
def make_app(fresh_url: str, key_file: Path) -> Iterator[Callable[..., Flask]]:
    """Apps over the fresh database; each is a separate "process" with its own engine
    and key source (by default the key file, read and re-read like in production)."""
    apps: list[Flask] = []

    def factory(**settings: object) -> Flask:
        config = {
            "DATABASE_URL": fresh_url,
            "ENVIRONMENT": "test",
            "SECRET_KEY": "test-secret",
            "KEYS": "",
            "KEY_FILE": str(key_file),
            "TESTING": True,
            **settings,
        }
        app = create_app(config)
        app.cli.add_command(keys_group)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def keys(app: Flask, *args: str) -> SimpleNamespace:
    result = app.test_cli_runner().invoke(args=["keys", *args])
    return SimpleNamespace(code=result.exit_code, out=result.output, exception=result.exception)


def _ok(app: Flask, *args: str) -> str:
    result = keys(app, *args)
    assert result.code == 0, result.out
    return result.out


# --- rows ----------------------------------------------------------------------------


def seed_people(app: Flask, student_name: str = "学生甲") -> tuple[int, int]:
    """The least a note needs: a student (in a class of a school) and an author."""
    with app.app_context():
        district = District(code="510502", name="江阳区")
        school = School(district=district, code="S1", name="一中", kind="junior")
        school_class = SchoolClass(school=school, grade=7, name="1", entry_year=2026)
        student = Student(
            student_number="G51050220120000001X",
            name=student_name,
            sex="F",
            birth_date=date(2013, 5, 1),
            school_class=school_class,
        )
        author = User(username="counselor", display_name="心理老师")
        db.session.add_all([district, student, author])
        db.session.commit()
        return student.id, author.id


def add_notes(app: Flask, people: tuple[int, int], bodies: list[str]) -> list[str]:
    """Notes written the app's way (the model's sealed attribute); their uids."""
    student_id, author_id = people
    with app.app_context():
        notes = [StudentNote(student_id=student_id, author_id=author_id) for _ in bodies]
        for note, body in zip(notes, bodies, strict=True):
            note.body = body
        db.session.add_all(notes)
        db.session.commit()
        return [note.uid for note in notes]


def open_all(app: Flask) -> dict[str, str]:
    with app.app_context():
        notes = db.session.scalars(select(StudentNote).order_by(StudentNote.id)).all()
        return {note.uid: note.body for note in notes}


def raw_values(app: Flask) -> dict[str, bytes]:
    with app.app_context():
        rows = db.session.execute(select(StudentNote.uid, StudentNote.body_sealed)).all()
        return {uid: bytes(sealed) for uid, sealed in rows}


def usage(app: Flask) -> dict[tuple[str, str], int]:
    """Rows per (key id, algorithm) over every sealed column."""
    with app.app_context():
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for column in key_usage(db.session, encrypted_columns(db.metadata)):
            for key, rows in column.rows.items():
                counts[key] += rows
        return dict(counts)


def audit_details(app: Flask, action: str) -> list[dict]:
    with app.app_context():
        query = select(AuditEvent.detail).where(AuditEvent.action == action)
        return [json.loads(detail) for detail in db.session.scalars(query.order_by(AuditEvent.id))]


def primary(key_file: Path) -> str:
    return read_key_file(key_file)[1]


# --- generate --------------------------------------------------------------------------


def test_generate_writes_an_owner_only_key_file_once(make_app, key_file):
    app = make_app()
    out = _ok(app, "generate")
    assert str(key_file) in out and "Back up the key file" in out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys_in_file, first = read_key_file(key_file)
    assert list(keys_in_file) == [first]
    before = key_file.read_bytes()

    refused = keys(app, "generate")
    assert refused.code == 2 and "exists and was not replaced" in refused.out
    assert "nothing to do" in _ok(app, "generate", "--if-missing")
    assert key_file.read_bytes() == before
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["keys.json"]


def test_generate_with_keys_from_the_environment_prints_a_fresh_key_only(make_app, key_file):
    from tests.conftest import TEST_KEYS

    app = make_app(KEYS=TEST_KEYS)
    out = _ok(app, "generate")
    assert "WELLBEING_KEYS" in out and not key_file.exists()
    existing = TEST_KEYS.partition(":")[2]
    assert existing not in out
    fresh = out.strip().splitlines()[-1]
    keys_in_value, key_id = parse_keys_setting(fresh)
    assert len(keys_in_value[key_id]) == 32


def test_without_a_key_file_nothing_is_sealed_and_secret_key_is_no_fallback(make_app):
    app = make_app(SECRET_KEY="a-long-session-secret")
    people = seed_people(app)
    with pytest.raises(KeyringError, match="does not exist: run `wellbeing keys generate`"):
        add_notes(app, people, ["x"])
    failed = keys(app, "status")
    assert failed.code == 2 and "wellbeing keys generate" in failed.out
    assert "Traceback" not in failed.out


# --- moved ciphertexts, in the database ------------------------------------------------


def test_a_ciphertext_copied_to_another_row_or_table_fails_to_open(world, db_session):
    author = world.users["counselor"]
    notes = [StudentNote(student=world.students["A1-0"], author=author) for _ in range(2)]
    notes[0].body, notes[1].body = "第一条", "第二条"
    factor = SecondFactor(user_id=author.id)
    factor.secret = "JBSWY3DPEHPK3PXP"
    db_session.add_all([*notes, factor])
    db_session.flush()
    stolen = notes[0].body_sealed
    db_session.execute(
        update(StudentNote).where(StudentNote.id == notes[1].id).values(body_sealed=stolen)
    )
    db_session.execute(
        update(SecondFactor).where(SecondFactor.id == factor.id).values(secret_sealed=stolen)
    )
    db_session.expire_all()
    assert notes[0].body == "第一条"
    with pytest.raises(TamperedCiphertext, match=r"student_note\.body of row"):
        _ = notes[1].body
    with pytest.raises(TamperedCiphertext, match=r"second_factor\.secret of row"):
        _ = factor.secret


# --- status, rotate, retire ------------------------------------------------------------


def test_status_counts_rows_per_key_and_algorithm(make_app, key_file):
    aes = make_app()
    _ok(aes, "generate")
    people = seed_people(aes)
    add_notes(aes, people, ["a"] * 3)
    add_notes(make_app(ENCRYPTION_ALGORITHM="SM4-GCM"), people, ["s"] * 2)
    key_id = primary(key_file)
    out = _ok(aes, "status")
    assert f"primary key {key_id}" in out
    assert "student_note.body: 5 sealed values" in out
    assert "second_factor.secret: 0 sealed values" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [key_id, "AES-256-GCM", "3", "(primary)"] in lines
    assert [key_id, "SM4-GCM", "2", "(primary)"] in lines
    assert "unused keys (can be retired): none" in out


def test_rotation_rewraps_mixed_aes_and_sm4_values_and_every_row_opens(make_app, key_file):
    aes, sm4 = make_app(), make_app(ENCRYPTION_ALGORITHM="SM4-GCM")
    _ok(aes, "generate")
    old_key = primary(key_file)
    people = seed_people(aes)
    add_notes(aes, people, [f"AES 笔记 {i}" for i in range(7)])
    add_notes(sm4, people, [f"SM4 笔记 {i}" for i in range(5)])
    before, raw_before = open_all(aes), raw_values(aes)

    out = _ok(aes, "rotate", "--batch-size", "4")
    new_key = primary(key_file)
    assert new_key != old_key and f"new primary key {new_key}" in out
    assert "re-wrapped 12 values" in out and "Back up the key file" in out
    assert usage(aes) == {(new_key, "AES-256-GCM"): 7, (new_key, "SM4-GCM"): 5}
    assert open_all(aes) == open_all(sm4) == before
    for uid, sealed in raw_values(aes).items():
        old = raw_before[uid]
        assert parse_header(sealed)[0].algorithm == parse_header(old)[0].algorithm
        assert sealed[-40:] == old[-40:]  # the body is kept; only the data key's wrap changes
    status = _ok(aes, "status")
    assert f"unused keys (can be retired): {old_key}" in status
    assert set(read_key_file(key_file)[0]) == {old_key, new_key}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    [start, done] = audit_details(aes, "key_rotation")
    assert (start["phase"], start["new_key"], start["old_keys"], start["rows"]) == (
        "start",
        new_key,
        [old_key],
        12,
    )
    assert (done["phase"], done["rewrapped"], done["failed"], done["remaining"]) == (
        "done",
        12,
        0,
        0,
    )


def test_an_app_started_before_a_rotation_reads_and_writes_after_it(make_app, key_file):
    serving = make_app()
    _ok(serving, "generate")
    people = seed_people(serving)
    add_notes(serving, people, [f"旧 {i}" for i in range(20)])
    before = open_all(serving)  # the serving app has read the old key file

    _ok(make_app(), "rotate")  # another process: the `wellbeing keys rotate` command
    new_key = primary(key_file)
    assert open_all(serving) == before
    [uid] = add_notes(serving, people, ["写于轮换之后"])
    assert key_id_of(raw_values(serving)[uid]) == new_key
    assert set(usage(serving)) == {(new_key, "AES-256-GCM")}


def test_retire_refuses_while_rows_use_a_key_and_succeeds_after_rotation(
    make_app, key_file, monkeypatch
):
    app = make_app()
    _ok(app, "generate")
    add_notes(app, seed_people(app), ["一", "二", "三"])
    old_key = primary(key_file)

    class Interrupted(Exception):
        pass

    def interrupted(*args: object, **kwargs: object) -> None:
        raise Interrupted

    # A rotation stopped at once: the new key is primary, every row still under the old.
    with monkeypatch.context() as patch:
        patch.setattr("wellbeing.security.keys.rewrap_all", interrupted)
        assert isinstance(keys(app, "rotate").exception, Interrupted)
    new_key = primary(key_file)

    in_use = keys(app, "retire", old_key)
    assert in_use.code == 2
    assert f"key {old_key} is still in use (student_note.body: 3 rows)" in in_use.out
    assert "Traceback" not in in_use.out
    is_primary = keys(app, "retire", new_key)
    assert is_primary.code == 2 and "is the primary key" in is_primary.out
    unknown = keys(app, "retire", "knot-a-key")
    assert unknown.code == 2 and "is not in the keyring" in unknown.out
    assert set(read_key_file(key_file)[0]) == {old_key, new_key}

    _ok(app, "rotate", "--resume")
    out = _ok(app, "retire", old_key)
    assert f"key {old_key} removed" in out and "Keep an old copy" in out
    keys_left, still_primary = read_key_file(key_file)
    assert (list(keys_left), still_primary) == ([new_key], new_key)
    assert sorted(open_all(app).values()) == sorted(["一", "二", "三"])
    assert audit_details(app, "key_retire") == [{"key": old_key, "primary": new_key}]
    with app.app_context():
        actors = set(db.session.scalars(select(AuditEvent.username)))
    assert actors == {f"cli:{getpass.getuser()}"}


def test_only_one_rotation_runs_at_a_time(make_app, key_file):
    from wellbeing.security.keys import _locked

    app = make_app()
    _ok(app, "generate")
    before = key_file.read_bytes()
    with _locked(key_file, ".rotate.lock"):  # another `wellbeing keys rotate`
        busy = keys(app, "rotate")
    assert busy.code == 2 and "another `wellbeing keys rotate` is running" in busy.out
    assert key_file.read_bytes() == before
    _ok(app, "rotate")


def test_keys_from_the_environment_rotate_only_by_resume(make_app):
    first = encode_key_setting("kenv1", generate_key())
    second = encode_key_setting("kenv2", generate_key())
    old = make_app(KEYS=first)
    add_notes(old, seed_people(old), ["环境变量中的钥匙"] * 4)

    new = make_app(KEYS=f"{second};{first}")  # restarted with a new key put first
    refused = keys(new, "rotate")
    assert refused.code == 2 and "put a new key first in that variable" in refused.out
    _ok(new, "rotate", "--resume")
    assert usage(new) == {("kenv2", "AES-256-GCM"): 4}
    retire = keys(new, "retire", "kenv1")
    assert retire.code == 2 and "remove it from that variable" in retire.out
    assert set(open_all(new).values()) == {"环境变量中的钥匙"}


def test_a_tampered_or_unkeyed_row_makes_the_command_exit_2_not_crash(make_app, key_file):
    app = make_app()
    _ok(app, "generate")
    uids = add_notes(app, seed_people(app), [f"n{i}" for i in range(5)])
    with app.app_context():
        sealed = bytearray(raw_values(app)[uids[2]])
        sealed[20] ^= 0xFF  # inside the wrapped data key
        db.session.execute(
            update(StudentNote).where(StudentNote.uid == uids[2]).values(body_sealed=sealed)
        )
        db.session.commit()
        note_id = db.session.scalar(select(StudentNote.id).where(StudentNote.uid == uids[2]))

    out = keys(app, "rotate")
    assert out.code == 2 and out.exception is not None and "Traceback" not in out.out
    assert f"student_note.body id {note_id}: sealed value of student_note.body" in out.out
    assert "failed authentication" in out.out
    assert "1 value(s) could not be re-wrapped" in out.out
    new_key = primary(key_file)
    assert usage(app)[(new_key, "AES-256-GCM")] == 4  # the others moved on
    assert audit_details(app, "key_rotation")[-1]["phase"] == "incomplete"

    # A key file missing the key the rows use: refused, nothing changed.
    keys_in_file, _primary = read_key_file(key_file)
    from wellbeing.security.crypto import write_key_file

    write_key_file(key_file, {new_key: keys_in_file[new_key]}, new_key)
    key_file.chmod(0o600)
    missing = keys(app, "rotate", "--resume")
    assert missing.code == 2 and "not in the keyring" in missing.out
    status = keys(app, "status")
    assert status.code == 0 and "which is not in the keyring" in status.out


# --- rotation under load -----------------------------------------------------------------


def _retrying(work: Callable[[], None]) -> None:
    """SQLite answers "database is locked" at once to a transaction that read before
    writing while another commits; an application retries such a transaction."""
    for _attempt in range(50):
        try:
            work()
            return
        except OperationalError as exc:
            db.session.rollback()
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("still locked after 50 attempts")


class Load:
    """A writer thread inserting and updating notes, a reader thread opening them."""

    def __init__(self, app: Flask, people: tuple[int, int], uids: list[str], bodies: dict):
        self.app, self.people = app, people
        self.latest = dict(bodies)  # uid -> the last committed body
        self.written = defaultdict(set, {uid: {body} for uid, body in bodies.items()})
        self.uids = list(uids)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.writes = self.reads = 0
        self.threads = [
            threading.Thread(target=self._run, args=(self._write,)),
            threading.Thread(target=self._run, args=(self._read,)),
        ]

    def _run(self, step: Callable[[random.Random], None]) -> None:
        chance = random.Random(7)
        try:
            while not self.stop.is_set():
                with self.app.app_context():
                    step(chance)
        except BaseException as exc:
            self.errors.append(exc)

    def _write(self, chance: random.Random) -> None:
        with self.lock:
            n = self.writes
            self.writes += 1
        if n % 3 == 0:
            body = f"新笔记 {n}"
            note = StudentNote(student_id=self.people[0], author_id=self.people[1])
            note.body = body
            uid = note.uid
            with self.lock:
                self.written[uid].add(body)

            def insert() -> None:
                db.session.add(note)
                db.session.commit()

            _retrying(insert)
            with self.lock:
                self.latest[uid] = body
                self.uids.append(uid)
            return
        with self.lock:
            uid = chance.choice(self.uids)
            body = f"改写 {n}"
            self.written[uid].add(body)

        def change() -> None:
            note = db.session.scalars(select(StudentNote).where(StudentNote.uid == uid)).one()
            note.body = body
            db.session.commit()

        _retrying(change)
        with self.lock:
            self.latest[uid] = body

    def _read(self, chance: random.Random) -> None:
        with self.lock:
            sample = chance.sample(self.uids, 40)
        rows = db.session.scalars(select(StudentNote).where(StudentNote.uid.in_(sample))).all()
        assert len(rows) == len(sample)
        for note in rows:
            body = note.body
            with self.lock:
                assert body in self.written[note.uid], f"{note.uid}: unexpected {body!r}"
        db.session.rollback()
        with self.lock:
            self.reads += 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not self.errors, self.errors


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_rotation_with_concurrent_readers_and_writers_loses_nothing(
    make_app, key_file, monkeypatch
):
    serving = make_app()  # the "web process": started before the rotation
    _ok(serving, "generate")
    old_key = primary(key_file)
    people = seed_people(serving)
    bodies = [f"笔记 {i} " + "内容" * 100 for i in range(600)]
    uids = add_notes(serving, people, bodies)
    rotating = make_app()

    from wellbeing.security import keys as key_service

    original, batches, during = key_service._rewrap_batch, [], {}

    def with_load_in_between(session, column, keyring, rows, result):
        # Halfway (and between two transactions): let the writer and the reader work
        # with some rows under the new key and most under the old one.
        batches.append(len(rows))
        if len(batches) == 5:
            writes, reads = load.writes, load.reads
            _wait_for(lambda: load.writes > writes + 2 and load.reads > reads + 2)
            during.update(writes=load.writes - writes, reads=load.reads - reads)
        return original(session, column, keyring, rows, result)

    monkeypatch.setattr(key_service, "_rewrap_batch", with_load_in_between)
    with Load(serving, people, uids, dict(zip(uids, bodies, strict=True))) as load:
        _wait_for(lambda: load.writes > 10 and load.reads > 2)  # before
        result = keys(rotating, "rotate", "--batch-size", "25")
        reads_after = load.reads
        _wait_for(lambda: load.reads > reads_after + 2)  # after
    assert result.code == 0, result.out
    assert during["writes"] > 2 and during["reads"] > 2

    new_key = primary(key_file)
    assert new_key != old_key
    assert open_all(serving) == load.latest  # every row opens, with its latest value
    assert open_all(rotating) == load.latest
    assert set(usage(serving)) == {(new_key, "AES-256-GCM")}
    status = _ok(rotating, "status")
    assert f"unused keys (can be retired): {old_key}" in status


def test_a_value_changed_between_read_and_update_is_never_overwritten(
    make_app, key_file, monkeypatch
):
    app = make_app()
    _ok(app, "generate")
    old_key = primary(key_file)
    uids = add_notes(app, seed_people(app), [f"原文 {i}" for i in range(10)])
    keys_in_file, _primary = read_key_file(key_file)
    # A process that has not noticed the rotation yet still seals under the old key.
    stale = make_app(KEYS=encode_key_setting(old_key, keys_in_file[old_key]))
    fresh = make_app()

    def change(writer: Flask, uid: str, body: str) -> None:
        with writer.app_context():
            note = db.session.scalars(select(StudentNote).where(StudentNote.uid == uid)).one()
            note.body = body
            db.session.commit()

    from wellbeing.security import keys as key_service

    original, calls = key_service._rewrap_batch, []

    def writers_in_between(session, column, keyring, rows, result):
        calls.append(len(rows))
        if len(calls) == 1:  # after the batch was read, before it is written
            change(stale, uids[0], "旧钥匙写的新内容")
            change(fresh, uids[1], "新钥匙写的新内容")
        return original(session, column, keyring, rows, result)

    monkeypatch.setattr(key_service, "_rewrap_batch", writers_in_between)
    out = _ok(app, "rotate")
    assert "re-wrapped 9 values" in out and "2 changed meanwhile" in out
    assert "in 3 pass(es)" in out  # the second pass moved the stale write; the third: none
    new_key = primary(key_file)
    assert usage(app) == {(new_key, "AES-256-GCM"): 10}
    values = open_all(app)
    assert values[uids[0]] == "旧钥匙写的新内容" and values[uids[1]] == "新钥匙写的新内容"
    assert [values[uid] for uid in uids[2:]] == [f"原文 {i}" for i in range(2, 10)]


CRASHING_ROTATION = """
import os, signal, sys
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.security import keys
from wellbeing.security.fields import encrypted_columns

app = create_app({"DATABASE_URL": sys.argv[1], "ENVIRONMENT": "test", "KEYS": "",
                  "KEY_FILE": sys.argv[2]})
original, calls = keys._rewrap_batch, []

def crash_in_third_batch(session, *args):
    calls.append(1)
    if len(calls) == 3:  # killed after its UPDATE, before its COMMIT
        session.commit = lambda: os.kill(os.getpid(), signal.SIGKILL)
    return original(session, *args)

keys._rewrap_batch = crash_in_third_batch
with app.app_context():
    source = app.extensions["wellbeing_keys"]
    keys.rotate_keys(db.session, encrypted_columns(db.metadata), source, batch_size=20)
print("not killed")
"""


def test_a_rotation_killed_mid_batch_resumes_and_loses_nothing(make_app, key_file, fresh_url):
    app = make_app()
    _ok(app, "generate")
    old_key = primary(key_file)
    people = seed_people(app)
    add_notes(app, people, [f"第 {i} 条" for i in range(150)])
    before = open_all(app)

    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_ROTATION, fresh_url, str(key_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    new_key = primary(key_file)
    assert new_key != old_key
    halfway = usage(app)
    assert halfway == {(new_key, "AES-256-GCM"): 40, (old_key, "AES-256-GCM"): 110}
    assert open_all(app) == before  # readable mid-rotation, under either key

    out = _ok(app, "rotate", "--resume")
    assert "new primary key" not in out and "re-wrapped 110 values" in out
    assert primary(key_file) == new_key and len(read_key_file(key_file)[0]) == 2
    assert usage(app) == {(new_key, "AES-256-GCM"): 150}
    assert open_all(app) == before
    phases = [detail["phase"] for detail in audit_details(app, "key_rotation")]
    assert phases == ["start", "resume", "done"]
    _ok(app, "retire", old_key)
    with app.app_context():
        from wellbeing.security.audit_verify import verify_chain

        assert verify_chain().intact  # the audit rows of a killed command keep the chain


# --- no plaintext at rest ---------------------------------------------------------------

CANARIES = ["CANARY-7f3a 她说最近夜里总想伤害自己", "CANARY-91c2 父母离异后与祖母同住"]
CONTROL = "CONTROL-学生乙丙"  # a plain (unsealed) column: proves the search finds plaintext


def test_canary_notes_are_absent_from_the_database_file_and_the_dump(make_app, fresh_url):
    app = make_app()
    _ok(app, "generate")
    add_notes(app, seed_people(app, student_name=CONTROL), CANARIES)
    assert set(open_all(app).values()) == set(CANARIES)
    with app.app_context():
        db.engine.dispose()  # nothing left in a connection's cache

    if fresh_url.startswith("sqlite"):
        path = Path(fresh_url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        stored = b"".join(p.read_bytes() for p in files)
    else:
        url = make_url(fresh_url).set(drivername="postgresql")
        dump = subprocess.run(
            ["/usr/bin/pg_dump", "--no-owner", url.render_as_string(hide_password=False)],
            capture_output=True,
            check=True,
            timeout=120,
        )
        stored = dump.stdout
        assert b"COPY public.student_note" in stored
    assert CONTROL.encode() in stored
    for canary in CANARIES:
        for fragment in (canary, canary[:11], canary[12:]):
            assert fragment.encode() not in stored
            assert fragment.encode().hex().encode() not in stored.lower()  # bytea as hex


def test_algorithms_in_the_header_match_the_setting(make_app):
    aes, sm4 = make_app(), make_app(ENCRYPTION_ALGORITHM="SM4-GCM")
    _ok(aes, "generate")
    people = seed_people(aes)
    [a] = add_notes(aes, people, ["a"])
    [s] = add_notes(sm4, people, ["s"])
    raw = raw_values(aes)
    assert parse_header(raw[a])[0].algorithm == AES_256_GCM
    assert parse_header(raw[s])[0].algorithm == SM4_GCM
    assert open_all(aes) == open_all(sm4) == {a: "a", s: "s"}


# --- what a screening leaves at rest ---------------------------------------------------

PURPOSE_CANARY = "CANARY-5d1e 学生离家出走，派出所请求核实既往访谈记录"
INBOX_CANARY = "对危机条目作了肯定回答"  # the crisis message's words (Chinese default)
ALERT_CANARY = "phq9@1.0: phq9_9"


def seed_screening(app: Flask) -> dict[str, object]:
    """A student who screened PHQ-9 moderately severe with item 9 endorsed (a crisis
    alert, an inbox message) and a break-glass grant; what the pages then show."""
    from tests.factories import build_world
    from wellbeing.campaigns import services
    from wellbeing.campaigns.battery import battery
    from wellbeing.campaigns.models import CampaignTarget, ScreeningResponse
    from wellbeing.clock import utcnow
    from wellbeing.notifications.models import Notification
    from wellbeing.review.models import CrisisAlert
    from wellbeing.security.breakglass import open_record
    from wellbeing.security.models import BreakGlassGrant

    with app.test_request_context():
        world = build_world(None)
        plan = services.CampaignPlan(
            name="封存检查",
            instrument_refs=["phq9", "gad7"],
            school_ids=[world.schools["A"].id],
            grades=[7],
            opens_at=utcnow() - timedelta(days=1),
            closes_at=utcnow() + timedelta(days=1),
            consent_mode="opt_out",
            legal_basis="statutory_duty",
            notice_version="1",
            show_results=False,
            languages=["zh"],
        )
        campaign = services.open_campaign(
            world.district, world.schools["A"], plan, world.users["counselor"]
        )
        student = world.students["A1-0"]
        target = db.session.scalar(
            select(CampaignTarget).where(CampaignTarget.student_id == student.id)
        )
        for instrument in battery(campaign):
            for item in instrument.items:
                services.autosave(target, instrument.id, item.id, 2, 3.0)
        services.submit(target, utcnow())
        open_record(world.users["admin"], student, PURPOSE_CANARY)
        db.session.commit()
        phq9 = db.session.scalar(
            select(ScreeningResponse).where(ScreeningResponse.instrument_id == "phq9")
        )
        alert = db.session.scalar(select(CrisisAlert))
        return {
            "student_id": student.id,
            "score": (phq9.total, phq9.band, phq9.critical),
            "alert": (alert.student_id, alert.response_id, alert.detail),
            "messages": sorted(n.message for n in db.session.scalars(select(Notification))),
            "purpose": db.session.scalar(select(BreakGlassGrant)).purpose,
        }


def read_screening(app: Flask) -> dict[str, object]:
    from wellbeing.campaigns.models import ScreeningResponse
    from wellbeing.notifications.models import Notification
    from wellbeing.review.models import CrisisAlert
    from wellbeing.security.models import BreakGlassGrant

    with app.app_context():
        phq9 = db.session.scalar(
            select(ScreeningResponse).where(ScreeningResponse.instrument_id == "phq9")
        )
        alert = db.session.scalar(select(CrisisAlert))
        return {
            "score": (phq9.total, phq9.band, phq9.critical),
            "alert": (alert.student_id, alert.response_id, alert.detail),
            "messages": sorted(n.message for n in db.session.scalars(select(Notification))),
            "purpose": db.session.scalar(select(BreakGlassGrant)).purpose,
        }


def stored_bytes(app: Flask, url: str) -> bytes:
    """Everything the database holds: the SQLite files, or a pg_dump."""
    with app.app_context():
        db.engine.dispose()  # nothing left in a connection's cache
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(
            p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
        )
    dump = subprocess.run(
        [
            "/usr/bin/pg_dump",
            "--no-owner",
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


def test_scores_alerts_inbox_and_purposes_are_absent_at_rest(make_app, fresh_url):
    app = make_app(INSTRUMENT_DIRS="")
    _ok(app, "generate")
    seen = seed_screening(app)
    assert seen["score"] == (18, "moderately_severe", True)
    assert seen["alert"][0] == seen["student_id"] and seen["alert"][2] == ALERT_CANARY
    assert any(INBOX_CANARY in message for message in seen["messages"])
    assert seen["purpose"] == PURPOSE_CANARY
    stored = stored_bytes(app, fresh_url)
    assert "测试学校A".encode() in stored  # a clear column: the search finds plaintext
    for canary in (
        "moderately_severe",
        '"critical": true',
        ALERT_CANARY,
        INBOX_CANARY,
        PURPOSE_CANARY,
        PURPOSE_CANARY[13:],
    ):
        assert canary.encode() not in stored, canary
        assert canary.encode().hex().encode() not in stored.lower(), canary  # bytea as hex


def test_the_migration_seals_existing_rows_and_its_downgrade_opens_them(make_app, fresh_url):
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade

    app = make_app(INSTRUMENT_DIRS="")
    _ok(app, "generate")
    seen = seed_screening(app)
    sealing = "c2d8f4a1e6b3"
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(sealing).down_revision
        downgrade(revision=before)
        clear = db.session.execute(
            text(
                "SELECT total, band, critical FROM screening_response WHERE instrument_id = 'phq9'"
            )
        ).one()
        alert = db.session.execute(text("SELECT student_id, detail FROM crisis_alert")).one()
        messages = db.session.scalars(text("SELECT message FROM notification")).all()
        purpose = db.session.scalar(text("SELECT purpose FROM break_glass_grant"))
        db.session.remove()
        upgrade()
    assert (clear.total, clear.band, bool(clear.critical)) == seen["score"]
    assert tuple(alert) == (seen["student_id"], ALERT_CANARY)
    assert sorted(messages) == seen["messages"] and purpose == PURPOSE_CANARY
    assert read_screening(make_app(INSTRUMENT_DIRS="")) == {
        key: value for key, value in seen.items() if key != "student_id"
    }
