"""seal scores, alerts, inbox text and break-glass purposes

Every value that says something about a student's mental health is sealed with the
envelope encryption (bound to its row's uid), existing rows included:
- screening_response: total, band, critical, subscales and invalid_reasons become one
  sealed `score` document;
- crisis_alert: its student and response become a sealed `subject`, its `detail` sealed
  (and the row gets a uid);
- notification: `message` and `link` sealed (uid added);
- break_glass_grant: `purpose` sealed (uid added).
Sealing existing rows needs the keys (WELLBEING_KEYS or the key file); an empty database
needs none. The downgrade opens them again into clear columns.

Revision ID: c2d8f4a1e6b3
Revises: b7e1c0a95d42
Create Date: 2026-12-03 10:00:00

"""

import secrets
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from alembic import op
from flask import current_app

from wellbeing.security.crypto import Context, EncryptedJSON, EncryptedText

# revision identifiers, used by Alembic.
revision = "c2d8f4a1e6b3"
down_revision = "b7e1c0a95d42"
branch_labels = None
depends_on = None

SCORE_FIELDS = ("total", "band", "critical", "subscales", "invalid_reasons")


def _keyring():
    return current_app.extensions["wellbeing_keys"].keyring()


def _seal(table: str, uid: str, column: str, value, codec=EncryptedText) -> bytes | None:
    if value is None:
        return None
    return _keyring().seal(codec.encode(value), Context(table, uid, column))


def _open(table: str, uid: str, column: str, sealed, codec=EncryptedText):
    if sealed is None:
        return None
    return codec.decode(_keyring().open(bytes(sealed), Context(table, uid, column)))


def _rows(table: sa.Table) -> list:
    return op.get_bind().execute(sa.select(table).order_by(table.c.id)).all()


def _update(table: sa.Table, rows: Iterable[dict]) -> None:
    """UPDATE by id, many rows at once; each dict holds "row_id" and the new values."""
    rows = list(rows)
    if not rows:
        return
    names = [name for name in rows[0] if name != "row_id"]
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(name) for name in names})
    )
    op.get_bind().execute(statement, rows)


def _add_uid(batch_op) -> None:
    batch_op.add_column(sa.Column("uid", sa.String(length=32), nullable=True))


def _require_uid(batch_op, table: str) -> None:
    batch_op.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
    batch_op.create_unique_constraint(op.f(f"uq_{table}_uid"), ["uid"])


def _reseal_text(table: str, columns: dict[str, bool], build: Callable | None = None) -> None:
    """Give a table without uid its uid, and seal the named text columns in place of their
    clear ones (column name -> nullable)."""
    clear = sa.table(table, sa.column("id"), *(sa.column(name) for name in columns))
    rows = _rows(clear)
    with op.batch_alter_table(table) as batch_op:
        _add_uid(batch_op)
        for name in columns:
            batch_op.add_column(sa.Column(f"{name}_sealed", sa.LargeBinary(), nullable=True))
    sealed = sa.table(
        table, sa.column("id"), sa.column("uid"), *(sa.column(f"{n}_sealed") for n in columns)
    )
    updates = []
    for row in rows:
        uid = secrets.token_hex(16)
        values = {"row_id": row.id, "uid": uid}
        for name in columns:
            values[f"{name}_sealed"] = _seal(table, uid, name, getattr(row, name))
        updates.append(values)
    _update(sealed, updates)
    with op.batch_alter_table(table) as batch_op:
        for name in columns:
            batch_op.drop_column(name)
        _require_uid(batch_op, table)
        for name, nullable in columns.items():
            batch_op.alter_column(
                f"{name}_sealed",
                new_column_name=name,
                existing_type=sa.LargeBinary(),
                nullable=nullable,
            )


def _open_text(table: str, columns: dict[str, tuple[sa.types.TypeEngine, bool]]) -> None:
    """The downgrade of _reseal_text: clear columns again (name -> type, nullable), and
    no uid."""
    sealed = sa.table(table, sa.column("id"), sa.column("uid"), *(sa.column(n) for n in columns))
    rows = _rows(sealed)
    with op.batch_alter_table(table) as batch_op:
        for name, (type_, _) in columns.items():
            batch_op.add_column(sa.Column(f"{name}_clear", type_, nullable=True))
    clear = sa.table(table, sa.column("id"), *(sa.column(f"{n}_clear") for n in columns))
    _update(
        clear,
        (
            {"row_id": row.id}
            | {f"{n}_clear": _open(table, row.uid, n, getattr(row, n)) for n in columns}
            for row in rows
        ),
    )
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(op.f(f"uq_{table}_uid"), type_="unique")
        batch_op.drop_column("uid")
        for name in columns:
            batch_op.drop_column(name)
        for name, (type_, nullable) in columns.items():
            batch_op.alter_column(
                f"{name}_clear", new_column_name=name, existing_type=type_, nullable=nullable
            )


def upgrade():
    # Alerts first: on SQLite the batch recreates screening_response, which cannot be
    # dropped while an alert row still refers to it by a foreign key.
    _seal_alerts()
    _seal_scores()
    _reseal_text("notification", {"message": False, "link": True})
    _reseal_text("break_glass_grant", {"purpose": False})


def _seal_scores() -> None:
    clear = sa.table(
        "screening_response",
        sa.column("id"),
        sa.column("uid"),
        sa.column("total", sa.Float),
        sa.column("band", sa.String),
        sa.column("critical", sa.Boolean),
        sa.column("subscales", sa.JSON),
        sa.column("invalid_reasons", sa.JSON),
    )
    rows = _rows(clear)
    with op.batch_alter_table("screening_response") as batch_op:
        batch_op.add_column(sa.Column("score", sa.LargeBinary(), nullable=True))
    sealed = sa.table("screening_response", sa.column("id"), sa.column("score"))
    _update(
        sealed,
        (
            {
                "row_id": row.id,
                "score": _seal(
                    "screening_response",
                    row.uid,
                    "score",
                    {name: getattr(row, name) for name in SCORE_FIELDS},
                    EncryptedJSON,
                ),
            }
            for row in rows
        ),
    )
    with op.batch_alter_table("screening_response") as batch_op:
        for name in SCORE_FIELDS:
            batch_op.drop_column(name)
        batch_op.alter_column("score", existing_type=sa.LargeBinary(), nullable=False)


def _seal_alerts() -> None:
    clear = sa.table(
        "crisis_alert",
        sa.column("id"),
        sa.column("student_id"),
        sa.column("response_id"),
        sa.column("detail"),
    )
    rows = _rows(clear)
    with op.batch_alter_table("crisis_alert") as batch_op:
        _add_uid(batch_op)
        batch_op.add_column(sa.Column("subject", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("detail_sealed", sa.LargeBinary(), nullable=True))
    sealed = sa.table(
        "crisis_alert",
        sa.column("id"),
        sa.column("uid"),
        sa.column("subject"),
        sa.column("detail_sealed"),
    )
    updates = []
    for row in rows:
        uid = secrets.token_hex(16)
        subject = {"student_id": row.student_id, "response_id": row.response_id}
        updates.append(
            {
                "row_id": row.id,
                "uid": uid,
                "subject": _seal("crisis_alert", uid, "subject", subject, EncryptedJSON),
                "detail_sealed": _seal("crisis_alert", uid, "detail", row.detail),
            }
        )
    _update(sealed, updates)
    with op.batch_alter_table("crisis_alert") as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_alert_student_id"))
        batch_op.drop_constraint(op.f("fk_crisis_alert_student_id_student"), type_="foreignkey")
        batch_op.drop_constraint(
            op.f("fk_crisis_alert_response_id_screening_response"), type_="foreignkey"
        )
        batch_op.drop_column("student_id")
        batch_op.drop_column("response_id")
        batch_op.drop_column("detail")
        _require_uid(batch_op, "crisis_alert")
        batch_op.alter_column("subject", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column(
            "detail_sealed",
            new_column_name="detail",
            existing_type=sa.LargeBinary(),
            nullable=False,
        )


def downgrade():
    _open_text("break_glass_grant", {"purpose": (sa.Text(), False)})
    _open_text(
        "notification",
        {"message": (sa.String(length=500), False), "link": (sa.String(length=200), True)},
    )
    _open_scores()  # before the alerts refer to responses again (see upgrade)
    _open_alerts()


def _open_alerts() -> None:
    sealed = sa.table(
        "crisis_alert", sa.column("id"), sa.column("uid"), sa.column("subject"), sa.column("detail")
    )
    rows = _rows(sealed)
    with op.batch_alter_table("crisis_alert") as batch_op:
        batch_op.add_column(sa.Column("student_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("response_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("detail_clear", sa.String(length=200), nullable=True))
    clear = sa.table(
        "crisis_alert",
        sa.column("id"),
        sa.column("student_id"),
        sa.column("response_id"),
        sa.column("detail_clear"),
    )
    updates = []
    for row in rows:
        subject = _open("crisis_alert", row.uid, "subject", row.subject, EncryptedJSON)
        updates.append(
            {
                "row_id": row.id,
                "student_id": subject["student_id"],
                "response_id": subject.get("response_id"),
                "detail_clear": _open("crisis_alert", row.uid, "detail", row.detail)[:200],
            }
        )
    _update(clear, updates)
    with op.batch_alter_table("crisis_alert") as batch_op:
        batch_op.drop_constraint(op.f("uq_crisis_alert_uid"), type_="unique")
        batch_op.drop_column("uid")
        batch_op.drop_column("subject")
        batch_op.drop_column("detail")
        batch_op.alter_column(
            "detail_clear",
            new_column_name="detail",
            existing_type=sa.String(length=200),
            nullable=False,
        )
        batch_op.alter_column("student_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_crisis_alert_student_id_student"), "student", ["student_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_crisis_alert_response_id_screening_response"),
            "screening_response",
            ["response_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_crisis_alert_student_id"), ["student_id"])


def _open_scores() -> None:
    sealed = sa.table("screening_response", sa.column("id"), sa.column("uid"), sa.column("score"))
    rows = _rows(sealed)
    with op.batch_alter_table("screening_response") as batch_op:
        batch_op.add_column(sa.Column("total", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("band", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("critical", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("subscales", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("invalid_reasons", sa.JSON(), nullable=True))
    clear = sa.table(
        "screening_response",
        sa.column("id"),
        sa.column("total", sa.Float),
        sa.column("band", sa.String),
        sa.column("critical", sa.Boolean),
        sa.column("subscales", sa.JSON),
        sa.column("invalid_reasons", sa.JSON),
    )
    updates = []
    for row in rows:
        score = _open("screening_response", row.uid, "score", row.score, EncryptedJSON)
        updates.append(
            {"row_id": row.id, **{name: score.get(name) for name in SCORE_FIELDS}}
            | {"critical": bool(score.get("critical"))}
            | {"subscales": score.get("subscales") or {}}
            | {"invalid_reasons": score.get("invalid_reasons") or []}
        )
    _update(clear, updates)
    with op.batch_alter_table("screening_response") as batch_op:
        batch_op.drop_column("score")
        batch_op.alter_column("critical", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("subscales", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("invalid_reasons", existing_type=sa.JSON(), nullable=False)
