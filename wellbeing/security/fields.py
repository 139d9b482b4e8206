"""Encrypted model attributes: set plaintext, store a sealed value bound to its row.

    class StudentNote(db.Model):
        uid: Mapped[str] = record_uid()
        body_sealed: Mapped[bytes] = mapped_column("body", EncryptedText)
        body = Encrypted("body_sealed")

The row's `uid` (not its autoincrement id, unknown before INSERT) is the row binding.
"""

from __future__ import annotations

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
    """Descriptor over a sealed column: opens on read, seals on write."""

    def __init__(self, column_attribute: str) -> None:
        self.column_attribute = column_attribute

    def _column(self, owner: type) -> Column:
        return inspect(owner).attrs[self.column_attribute].columns[0]

    def _context(self, instance: Any) -> Context:
        if instance.uid is None:
            instance.uid = new_uid()
        column = self._column(type(instance))
        return Context(column.table.name, instance.uid, column.name)

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        sealed = getattr(instance, self.column_attribute)
        if sealed is None:
            return None
        plaintext = current_keyring().open(sealed, self._context(instance))
        return self._column(type(instance)).type.decode(plaintext)

    def __set__(self, instance: Any, value: Any) -> None:
        sealed = None
        if value is not None:
            encoded = self._column(type(instance)).type.encode(value)
            sealed = current_keyring().seal(encoded, self._context(instance))
        setattr(instance, self.column_attribute, sealed)


def encrypted_columns(metadata: MetaData) -> list[Column]:
    """Every sealed column of the schema (what `wellbeing keys` rotates and counts)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]
