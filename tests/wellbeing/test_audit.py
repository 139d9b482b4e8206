"""The audit trail: the append-only table, `wellbeing audit verify` against each kind of
tampering (played by dropping the append-only trigger inside the test transaction, as an
attacker with file or superuser access would), and the admin audit browser and export.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.conftest import TEST_KEYS, login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security import audit
from wellbeing.security.audit import GENESIS, HASHED_FIELDS, record_event, row_hash
from wellbeing.security.audit_cli import audit_group, verify_command
from wellbeing.security.audit_verify import retention_cutoff, verify_chain
from wellbeing.security.models import AuditEvent, AuditHead

pytestmark = pytest.mark.app


# --- helpers shared with the other audit tests ---------------------------------------


def write_events(count: int, **kwargs) -> list[AuditEvent]:
    return [
        record_event("view_student", target=("student", index), detail={"n": index}, **kwargs)
        for index in range(count)
    ]


def disable_append_only() -> None:
    """Play the attacker with file or superuser access: lift the append-only trigger
    (inside the test transaction, which is rolled back)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))


def delete_rows(*ids: int) -> None:
    disable_append_only()
    db.session.execute(delete(AuditEvent.__table__).where(AuditEvent.id.in_(ids)))


def _row_fields(row_id: int) -> dict:
    row = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.id == row_id)).one()
    return dict(row._mapping)


def _insert(fields: dict, prev_hash: str, digest: str | None = None) -> None:
    values = {**fields, "prev_hash": prev_hash, "hash": digest or row_hash(fields, prev_hash)}
    db.session.execute(AuditEvent.__table__.insert().values(**values))


def _break(result):
    assert not result.intact
    return result.failure.row_id, result.failure.problem


def rewrite_chain_wholesale() -> None:
    """Play the attacker with full database access: change row 2, then recompute every
    hash after it and the head, so the chain alone still looks intact."""
    disable_append_only()
    last = db.session.scalar(select(AuditHead.last_id).where(AuditHead.id == 1))
    previous = GENESIS
    for row_id in range(1, last + 1):
        fields = {name: _row_fields(row_id)[name] for name in HASHED_FIELDS}
        if row_id == 2:
            fields["purpose"] = "rewritten"
        digest = row_hash(fields, previous)
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == row_id)
            .values(purpose=fields["purpose"], prev_hash=previous, hash=digest)
        )
        previous = digest
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=previous))


def _written(moment: datetime, monkeypatch) -> None:
    """Rows recorded from now on carry this time."""
    monkeypatch.setattr(audit, "utcnow", lambda: moment)


# --- the append-only table -----------------------------------------------------------


def test_the_application_cannot_update_or_delete_an_audit_row(db_session):
    write_events(2)
    statements = [
        update(AuditEvent).where(AuditEvent.id == 1).values(purpose="changed"),
        text("DELETE FROM audit_event WHERE id = 2"),
    ]
    if db.session.get_bind().dialect.name == "postgresql":
        statements.append(text("TRUNCATE audit_event"))
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(statement)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2
    assert verify_chain().intact


def test_each_row_carries_the_hash_of_the_one_before(db_session, world):
    first, second = write_events(2, user=world.users["counselor"])
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert second.role == "counselor" and second.username == "counselor"
    head = db.session.get(AuditHead, 1)
    assert (head.last_id, head.last_hash) == (second.id, second.hash)


# --- verification --------------------------------------------------------------------


def test_an_intact_chain_verifies(app, db_session, world):
    write_events(5, user=world.users["admin"])
    result = verify_chain(batch_size=2)  # batches end mid-chain: the walk carries on
    assert result.intact and result.from_genesis
    assert (result.rows, result.first_id, result.last_id) == (5, 1, 5)
    outcome = app.test_cli_runner().invoke(audit_group, ["verify"])
    assert outcome.exit_code == 0, outcome.output
    assert "INTACT" in outcome.output and "checked 5 row(s)" in outcome.output


def test_an_empty_chain_is_intact(db_session):
    assert verify_chain().intact


def test_rows_written_during_the_walk_are_followed_not_flagged(db_session):
    write_events(5)
    written = []

    def append_meanwhile(_count: int) -> None:
        if len(written) < 3:  # another request commits while the walk reads
            written.append(record_event("login"))

    result = verify_chain(batch_size=2, progress=append_meanwhile)
    assert result.intact, result.summary()
    assert result.last_id == 8


def test_a_deleted_middle_row_is_named(app, db_session):
    write_events(5)
    delete_rows(3)
    result = verify_chain()
    assert _break(result) == (3, "deleted")
    assert "row 4 follows row 2" in result.failure.message
    outcome = app.test_cli_runner().invoke(verify_command)
    assert outcome.exit_code == 1
    assert "BROKEN at row 3 (deleted)" in outcome.output


def test_several_deleted_rows_are_named_as_a_range(db_session):
    write_events(6)
    delete_rows(2, 3, 4)
    result = verify_chain(batch_size=2)
    assert _break(result) == (2, "deleted")
    assert "2–4 are missing" in result.failure.message


def test_a_deleted_last_row_is_named_by_the_head(db_session):
    write_events(5)
    delete_rows(5)
    result = verify_chain()
    assert _break(result) == (5, "deleted")
    assert "head records row 5" in result.failure.message


def test_an_edited_field_is_named(app, db_session):
    write_events(5)
    disable_append_only()
    db.session.execute(update(AuditEvent).where(AuditEvent.id == 3).values(target_id="999"))
    assert _break(verify_chain()) == (3, "edited")
    outcome = app.test_cli_runner().invoke(verify_command)
    assert outcome.exit_code == 1 and "BROKEN at row 3 (edited)" in outcome.output


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(db_session):
    write_events(5)
    disable_append_only()
    fields = {**_row_fields(3), "action": "login"}
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == 3)
        .values(action="login", hash=row_hash(fields, fields["prev_hash"]))
    )
    result = verify_chain()
    assert _break(result) == (4, "inserted")
    assert "row 3 was rewritten" in result.failure.message


def test_a_forged_row_after_the_end_is_named(db_session):
    write_events(5)
    last = _row_fields(5)
    forged = {**last, "id": 6, "action": "login", "detail": None}
    _insert({name: forged[name] for name in HASHED_FIELDS}, last["hash"])
    result = verify_chain()
    assert _break(result) == (6, "inserted")
    assert "not recorded in the head" in result.failure.message


def test_a_forged_row_with_a_made_up_hash_is_named(db_session):
    write_events(3)
    fields = {name: _row_fields(3)[name] for name in HASHED_FIELDS}
    _insert({**fields, "id": 4}, _row_fields(3)["hash"], digest="f" * 64)
    assert _break(verify_chain()) == (4, "edited")


def test_a_forged_row_replacing_a_deleted_one_is_named(db_session):
    write_events(5)
    original = _row_fields(3)
    delete_rows(3)
    forged = {name: original[name] for name in HASHED_FIELDS}
    forged["purpose"] = "nothing to see"
    _insert(forged, original["prev_hash"])  # consistent with row 2, not with row 4
    result = verify_chain()
    assert _break(result) == (4, "inserted")


def test_a_chain_rewritten_wholesale_is_caught_by_an_anchor(app, db_session):
    write_events(4)
    anchor = _row_fields(4)["hash"]
    rewrite_chain_wholesale()
    assert verify_chain().intact  # a hash chain alone cannot see this
    assert _break(verify_chain(anchors={4: anchor})) == (4, "anchor")
    outcome = app.test_cli_runner().invoke(verify_command, ["--expect", f"4:{anchor}"])
    assert outcome.exit_code == 1 and "(anchor)" in outcome.output
    assert app.test_cli_runner().invoke(verify_command, ["--expect", "4:nothex"]).exit_code == 2


def test_an_anchor_that_still_matches_passes(db_session):
    events = write_events(3)
    result = verify_chain(anchors={2: events[1].hash})
    assert result.intact and result.anchors_checked == 1


# What README ("Retention") tells a DBA to run, with the trigger lifted: delete the rows
# before the newest row older than the period, which stays as the chain's first row.
DBA_PURGE = (
    "DELETE FROM audit_event WHERE id < (SELECT max(id) FROM audit_event WHERE at < :cutoff)"
)


def test_a_chain_purged_under_retention_starts_at_its_first_row(app, db_session, monkeypatch):
    now = utcnow()
    _written(now - timedelta(days=1200), monkeypatch)  # past the default 1095 days
    write_events(3)
    monkeypatch.undo()
    write_events(2)
    disable_append_only()
    db.session.execute(text(DBA_PURGE), {"cutoff": retention_cutoff(app.config, now)})
    result = verify_chain()
    assert result.intact, result.summary()
    assert not result.from_genesis and result.first_id == 3
    outcome = app.test_cli_runner().invoke(verify_command)
    assert outcome.exit_code == 0, outcome.output
    assert "chain starts at row 3" in outcome.output


def test_a_purge_of_rows_still_under_retention_is_a_break(app, db_session):
    write_events(5)
    assert verify_chain().intact  # a young chain from row 1 is whole, however young
    delete_rows(1, 2)  # rows just written: well within the 1095 days of retention
    result = verify_chain()
    assert _break(result) == (2, "deleted")
    assert "within the retention period" in result.failure.message
    outcome = app.test_cli_runner().invoke(verify_command)
    assert outcome.exit_code == 1
    assert "BROKEN at row 2 (deleted): row(s) 1–2 are missing" in outcome.output


def test_the_chain_start_is_checked_against_the_180_day_floor(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_AUDIT_DAYS", 30)  # raised to 180
    now = utcnow()
    for age in (400, 100, 1):  # rows 1, 2 and 3
        _written(now - timedelta(days=age), monkeypatch)
        write_events(1)
    monkeypatch.setattr(audit, "utcnow", utcnow)
    delete_rows(1)  # row 2, 100 days old, now starts the chain: too young for 180 days
    assert _break(verify_chain()) == (1, "deleted")
    assert app.test_cli_runner().invoke(verify_command).exit_code == 1
    assert verify_chain(retained_since=now - timedelta(days=99)).intact


def test_an_old_first_row_after_a_purge_passes_however_recent_the_rest(app, db_session):
    write_events(3)
    delete_rows(1)
    later = utcnow() + timedelta(days=1096)  # three years on: row 2 is past retention
    assert verify_chain(retained_since=retention_cutoff(app.config, later)).intact


def test_a_missing_head_row_is_reported(db_session):
    write_events(1)
    db.session.execute(text("DELETE FROM audit_head"))
    assert _break(verify_chain()) == (None, "head")


# --- the audit browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_app(app: Flask) -> Iterator[Flask]:
    """The app with the audit blueprint: the shared one once create_app registers it,
    until then a second app on the same database (tests share the fixture connection)."""
    if "audit" in app.blueprints:
        yield app
        return
    from wellbeing import create_app
    from wellbeing.security.audit_blueprint import bp

    other = create_app(
        {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "ENVIRONMENT": "test",
            "SECRET_KEY": "test-secret",
            "KEYS": TEST_KEYS,
            "WTF_CSRF_ENABLED": False,
            "TESTING": True,
        }
    )
    other.register_blueprint(bp)
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def admin(browser_app, db_session, world):
    client = browser_app.test_client()
    login(client, "admin")
    return client


def _page_rows(page: str) -> list[int]:
    return [int(part.split('"')[0]) for part in page.split('data-row="')[1:]]


def _at(moment: datetime):
    return lambda: moment


def test_only_admins_may_browse_or_export(browser_app, db_session, world):
    client = browser_app.test_client()
    assert client.get("/admin/audit/").status_code == 302  # to the login page
    login(client, "counselor")
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_the_browser_shows_readable_rows_newest_first(admin, world, monkeypatch):
    monkeypatch.setattr(audit, "utcnow", _at(datetime(2026, 3, 1, 17, 30)))
    record_event(
        "break_glass",
        user=world.users["monitor"],
        target=world.students["B1-0"],
        scope="district:510502",
        purpose="紧急联系监护人",
    )
    monkeypatch.undo()
    newest = record_event("export", user=world.users["admin"], detail={"kind": "test"})
    page = admin.get("/admin/audit/").get_data(as_text=True)
    rows = _page_rows(page)
    assert rows[0] >= newest.id and rows == sorted(rows, reverse=True)
    assert "2026-03-02 01:30:00" in page  # 17:30 UTC is 01:30 the next day in Beijing
    assert "紧急联系监护人" in page and "区（县） 510502" in page
    assert f"学生 {world.students['B1-0'].id}" in page


def test_the_browser_filters(admin, world, monkeypatch):
    for day, action, user in [
        (datetime(2026, 1, 10, 3), "login", "counselor"),
        (datetime(2026, 1, 11, 3), "view_student", "counselor"),
        (datetime(2026, 1, 12, 3), "view_student", "doctor"),
    ]:
        monkeypatch.setattr(audit, "utcnow", _at(day))
        record_event(action, user=world.users[user], target=("student", "7"))
    monkeypatch.undo()
    record_event("login", username="someone", target=("student", "8"))
    request_id = admin.get("/admin/audit/export.csv").headers["X-Request-Id"]

    def shown(query: str) -> list[str]:
        page = admin.get(f"/admin/audit/?{query}").get_data(as_text=True)
        return [part.split('"')[0] for part in page.split('data-action="')[1:]]

    assert shown("action=view_student") == ["view_student", "view_student"]
    assert shown("user=couns&action=view_student") == ["view_student"]
    assert shown("since=2026-01-11&until=2026-01-11") == ["view_student"]
    assert shown("since=2026-01-11&until=2026-01-12") == ["view_student", "view_student"]
    assert shown("target_type=student&target_id=8") == ["login"]
    assert shown("user=%25") == []  # a LIKE wildcard is taken literally
    assert shown(f"request_id={request_id}") == ["export"]
    page = admin.get("/admin/audit/?since=not-a-date").get_data(as_text=True)
    assert 'class="error"' in page and "data-row=" not in page


def test_the_browser_pages_by_keyset(admin, world):
    write_events(120)
    first = admin.get("/admin/audit/").get_data(as_text=True)
    first_rows = _page_rows(first)
    assert len(first_rows) == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    second = admin.get(f"/admin/audit/?before={first_rows[-1]}").get_data(as_text=True)
    second_rows = _page_rows(second)
    assert second_rows[0] == first_rows[-1] - 1 and 'rel="prev"' in second
    back = admin.get(f"/admin/audit/?after={second_rows[0]}").get_data(as_text=True)
    assert _page_rows(back) == first_rows
    assert admin.get("/admin/audit/?before=1").status_code == 200


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_is_the_filtered_rows_and_is_itself_audited(admin, world):
    record_event("break_glass", user=world.users["monitor"], purpose="家访前核实情况")
    record_event("break_glass", username='=HYPERLINK("http://x")', purpose="x")
    write_events(3)
    response = admin.get("/admin/audit/export.csv?action=break_glass")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 1 + 2
    assert any("家访前核实情况" in row for row in rows)
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    exported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id.desc())
    ).first()
    assert exported.username == "admin" and exported.request_id
    assert exported.request_id == response.headers["X-Request-Id"]
    detail = json.loads(exported.detail)
    assert detail["kind"] == "audit_csv"
    assert detail["filter"] == {"action": "break_glass"} and detail["rows"] == 2
    assert verify_chain().intact


def test_the_export_holds_every_matching_row_not_only_one_page(admin, world, monkeypatch):
    from wellbeing.security import audit_blueprint

    write_events(130)
    monkeypatch.setattr(audit_blueprint, "SPOOL_BYTES", 1_000)  # a large export: on disk
    with admin.get("/admin/audit/export.csv?action=view_student") as response:
        rows = _csv(response)
    assert len(rows) == 1 + 130
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids)
    # Each exported row can be checked against its hash: the stored UTC time is exported.
    header = rows[0]
    assert len(header) == 16


def test_an_export_with_a_bad_filter_goes_back_to_the_page(admin):
    response = admin.get("/admin/audit/export.csv?since=yesterday")
    assert response.status_code == 302
    assert "/admin/audit/" in response.headers["Location"]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "export")) == 0
