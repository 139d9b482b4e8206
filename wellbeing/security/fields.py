"""Encrypted model attributes: set plaintext, store a sealed value bound to its row.

    class StudentNote(db.Model):
        uid: Mapped[str] = record_uid()
        body_sealed: Mapped[bytes] = mapped_column("body", EncryptedText)
        body = Encrypted("body_sealed")

The row's `uid` (not its autoincrement id, unknown before INSERT) is the row binding.
A value is opened once per loaded object (a page reading several fields of one sealed
document, or one field in a template loop, unwraps its key once).
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from flask import current_app
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.security.crypto import Context, EncryptedText, Keyring


def new_uid() -> str:
    return secrets.token_hex(16)


def record_uid() -> Mapped[str]:
    return mapped_column(String(32), unique=True, default=new_uid)


def current_keyring() -> Keyring:
    return current_app.extensions["wellbeing_keys"].keyring()


class Encrypted:
    """Descriptor over a sealed column: opens on read, seals on write.

    A value is opened once per loaded object and kept beside the sealed bytes it came
    from; each read decodes it again (cheap), so every reader gets its own copy of a
    JSON document to change."""

    def __init__(self, column_attribute: str) -> None:
        self.column_attribute = column_attribute
        self._columns: dict[type, Column] = {}

    def _column(self, owner: type) -> Column:
        column = self._columns.get(owner)
        if column is None:
            column = inspect(owner).attrs[self.column_attribute].columns[0]
            self._columns[owner] = column
        return column

    def _context(self, instance: Any, column: Column) -> Context:
        if instance.uid is None:
            instance.uid = new_uid()
        return Context(column.table.name, instance.uid, column.name)

    def _opened(self, instance: Any) -> tuple[bytes, bytes, Any] | None:
        """(sealed, plaintext, decoded) of the instance's value; None when it has none."""
        sealed = getattr(instance, self.column_attribute)
        if sealed is None:
            return None
        opened = instance.__dict__.setdefault("_wellbeing_opened", {})
        cached = opened.get(self.column_attribute)
        if cached is None or cached[0] is not sealed:
            column = self._column(type(instance))
            plaintext = current_keyring().open(sealed, self._context(instance, column))
            cached = (sealed, plaintext, column.type.decode(plaintext))
            opened[self.column_attribute] = cached
        return cached

    def document(self, instance: Any) -> Any:
        """The opened value itself, shared: for readers that change nothing (SealedField)."""
        opened = self._opened(instance)
        return None if opened is None else opened[2]

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        opened = self._opened(instance)
        return None if opened is None else self._column(owner).type.decode(opened[1])

    def __set__(self, instance: Any, value: Any) -> None:
        sealed = None
        if value is not None:
            column = self._column(type(instance))
            sealed = current_keyring().seal(
                column.type.encode(value), self._context(instance, column)
            )
        setattr(instance, self.column_attribute, sealed)


class SealedField:
    """One field of a sealed JSON document, read like an attribute:

        score = Encrypted("score_sealed")
        band = SealedField("score", "band")

    It is no column: using it in a query (`Model.band == "severe"`) raises at once
    instead of silently matching nothing. Open a school's rows and filter in Python."""

    def __init__(self, document: str, key: str, default: Any = None) -> None:
        self.document, self.key, self.default = document, key, default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = f"{owner.__name__}.{name}"
        self.sealed = owner.__dict__[self.document]

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            raise TypeError(f"{self.name} is sealed: it cannot be used in a query")
        value = (self.sealed.document(instance) or {}).get(self.key)
        # A list or a dict is copied: the shared document must not change under a reader.
        return copy.copy(self.default if value is None else value)


def encrypted_columns(metadata: MetaData) -> list[Column]:
    """Every sealed column of the schema (what `wellbeing keys` rotates and counts)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def sealed_value(model: type, attribute: str, uid: str, value: Any) -> bytes:
    """What `row.<attribute> = value` stores on the row of `model` with this uid: the
    same sealing for bulk inserts (Core executemany) that build no objects."""
    descriptor: Encrypted = model.__dict__[attribute]
    column = descriptor._column(model)
    context = Context(column.table.name, uid, column.name)
    return current_keyring().seal(column.type.encode(value), context)
