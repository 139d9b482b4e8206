"""Envelope encryption for sensitive fields.

Every value gets a fresh data key; the data key is wrapped by a key-encryption key (KEK)
named by a key id. KEKs come from WELLBEING_KEYS or a key file, never from SECRET_KEY.
Associated data binds each ciphertext to its table, row and field, so a ciphertext copied
into another row or column fails to open.

Layout of a sealed value (all lengths in bytes):
    magic b"W" | version 1 | algorithm 1 | key-id length 1 | key id
    | wrap nonce 12 | wrapped data key (key length + 16)
    | data nonce 12 | ciphertext + 16-byte tag
The header names the algorithm and the key id, so either can change without a migration.
Rotation re-wraps only the data key: the body's associated data leaves out the key id.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

MAGIC = b"W"
VERSION = 1
NONCE = 12
TAG = 16
KEK_BYTES = 32


class CryptoError(Exception):
    """Base of every encryption failure: never returns garbage instead."""


class MissingKey(CryptoError):
    """The key id a ciphertext names is not in the keyring."""


class TamperedCiphertext(CryptoError):
    """Authentication failed: the bytes, or the row/field they are bound to, changed."""


class MalformedCiphertext(CryptoError):
    """The bytes are not a sealed value of a known version and algorithm."""


class KeyringError(CryptoError):
    """Keys are missing or badly written in the settings or the key file."""


@dataclass(frozen=True)
class Algorithm:
    code: int
    name: str
    key_bytes: int

    def _cipher(self, key: bytes, nonce: bytes, tag: bytes | None = None) -> Cipher:
        block = algorithms.AES(key) if self.code == 1 else algorithms.SM4(key)
        return Cipher(block, modes.GCM(nonce, tag))

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        encryptor = self._cipher(key, nonce).encryptor()
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return nonce + body + encryptor.tag

    def decrypt(self, key: bytes, sealed: bytes, aad: bytes) -> bytes:
        nonce, body, tag = sealed[:NONCE], sealed[NONCE:-TAG], sealed[-TAG:]
        decryptor = self._cipher(key, nonce, tag).decryptor()
        decryptor.authenticate_additional_data(aad)
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag as exc:
            raise TamperedCiphertext("ciphertext failed authentication") from exc


AES_256_GCM = Algorithm(1, "AES-256-GCM", 32)
SM4_GCM = Algorithm(2, "SM4-GCM", 16)
ALGORITHMS = {a.name: a for a in (AES_256_GCM, SM4_GCM)}
BY_CODE = {a.code: a for a in (AES_256_GCM, SM4_GCM)}


@dataclass(frozen=True)
class Context:
    """Where a value lives: its binding as associated data."""

    table: str
    row: str
    field: str

    def encode(self) -> bytes:
        return "\x1f".join((self.table, self.row, self.field)).encode()


@dataclass(frozen=True)
class Header:
    algorithm: Algorithm
    key_id: str

    def encode(self) -> bytes:
        kid = self.key_id.encode()
        return MAGIC + bytes([VERSION, self.algorithm.code, len(kid)]) + kid


def parse_header(sealed: bytes) -> tuple[Header, int]:
    """The header and the offset where the wrapped key starts."""
    if len(sealed) < 4 or sealed[:1] != MAGIC or sealed[1] != VERSION:
        raise MalformedCiphertext("not a sealed value of a known version")
    algorithm = BY_CODE.get(sealed[2])
    if algorithm is None:
        raise MalformedCiphertext(f"unknown algorithm code {sealed[2]}")
    end = 4 + sealed[3]
    try:
        key_id = sealed[4:end].decode()
    except UnicodeDecodeError as exc:
        raise MalformedCiphertext("unreadable key id") from exc
    return Header(algorithm, key_id), end


def key_id_of(sealed: bytes) -> str:
    return parse_header(sealed)[0].key_id


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys by id; new values are sealed under the primary one."""

    keys: Mapping[str, bytes]
    primary: str
    algorithm: Algorithm = AES_256_GCM

    def __post_init__(self) -> None:
        if self.primary not in self.keys:
            raise KeyringError(f"the primary key {self.primary!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if len(key) != KEK_BYTES or not key_id or len(key_id.encode()) > 255:
                raise KeyringError(f"key {key_id!r} must be {KEK_BYTES} bytes with a short id")

    def _wrapping_key(self, key_id: str, algorithm: Algorithm) -> bytes:
        kek = self.keys.get(key_id)
        if kek is None:
            raise MissingKey(f"key {key_id!r} is not available: add it to the keyring")
        # A KEK serves both algorithms; derive a separate wrapping key for each.
        return HKDF(
            algorithm=hashes.SHA256(),
            length=algorithm.key_bytes,
            salt=None,
            info=b"wellbeing key wrap " + algorithm.name.encode(),
        ).derive(kek)

    def _wrap(self, header: Header, data_key: bytes, context: Context) -> bytes:
        wrapping = self._wrapping_key(header.key_id, header.algorithm)
        return header.algorithm.encrypt(wrapping, data_key, header.encode() + context.encode())

    def _unwrap(self, sealed: bytes, context: Context) -> tuple[Header, bytes, int]:
        header, start = parse_header(sealed)
        wrapped_len = NONCE + header.algorithm.key_bytes + TAG
        wrapped = sealed[start : start + wrapped_len]
        if len(sealed) < start + wrapped_len + NONCE + TAG:
            raise MalformedCiphertext("sealed value is truncated")
        wrapping = self._wrapping_key(header.key_id, header.algorithm)
        aad = header.encode() + context.encode()
        data_key = header.algorithm.decrypt(wrapping, wrapped, aad)
        return header, data_key, start + wrapped_len

    def seal(self, plaintext: bytes, context: Context) -> bytes:
        header = Header(self.algorithm, self.primary)
        data_key = secrets.token_bytes(self.algorithm.key_bytes)
        body_aad = b"body" + bytes([self.algorithm.code]) + context.encode()
        body = self.algorithm.encrypt(data_key, plaintext, body_aad)
        return header.encode() + self._wrap(header, data_key, context) + body

    def open(self, sealed: bytes, context: Context) -> bytes:
        header, data_key, body_start = self._unwrap(sealed, context)
        body_aad = b"body" + bytes([header.algorithm.code]) + context.encode()
        return header.algorithm.decrypt(data_key, sealed[body_start:], body_aad)

    def rewrap(self, sealed: bytes, context: Context) -> bytes:
        """The same value with its data key wrapped by the primary KEK (the body is kept)."""
        header, data_key, body_start = self._unwrap(sealed, context)
        if header.key_id == self.primary:
            return sealed
        new_header = Header(header.algorithm, self.primary)
        return new_header.encode() + self._wrap(new_header, data_key, context) + sealed[body_start:]


def generate_key() -> bytes:
    return secrets.token_bytes(KEK_BYTES)


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def parse_keys_setting(value: str) -> tuple[dict[str, bytes], str]:
    """`id:base64;id:base64`: the first key is the primary one."""
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        key_id, _, encoded = part.partition(":")
        try:
            keys[key_id.strip()] = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise KeyringError(f"WELLBEING_KEYS: key {key_id!r} is not base64") from exc
    if not keys:
        raise KeyringError("WELLBEING_KEYS holds no key")
    return keys, next(iter(keys))


def read_key_file(path: Path) -> tuple[dict[str, bytes], str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        keys = {kid: base64.b64decode(value) for kid, value in document["keys"].items()}
        return keys, document["primary"]
    except FileNotFoundError as exc:
        raise KeyringError(
            f"key file {path} does not exist: run `wellbeing keys generate`"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"key file {path} is not a valid key file") from exc


def write_key_file(path: Path, keys: Mapping[str, bytes], primary: str) -> None:
    """Write atomically, readable by the owner only."""
    document = {
        "primary": primary,
        "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, stat.S_IRUSR | stat.S_IWUSR)
    os.replace(temporary, path)


class KeySource:
    """The app's keyring, from WELLBEING_KEYS or the key file. A key file changed by
    `wellbeing keys rotate` is re-read, so serving processes follow a rotation."""

    def __init__(self, keys_setting: str, key_file: str, algorithm: str) -> None:
        if algorithm not in ALGORITHMS:
            raise KeyringError(f"unknown ENCRYPTION_ALGORITHM {algorithm!r}: {sorted(ALGORITHMS)}")
        self.keys_setting = keys_setting
        self.key_file = Path(key_file) if key_file else None
        self.algorithm = ALGORITHMS[algorithm]
        self._keyring: Keyring | None = None
        self._stamp: tuple[int, int] | None = None

    def keyring(self) -> Keyring:
        if self.keys_setting:
            if self._keyring is None:
                keys, primary = parse_keys_setting(self.keys_setting)
                self._keyring = Keyring(keys, primary, self.algorithm)
            return self._keyring
        if self.key_file is None:
            raise KeyringError("no keys: set WELLBEING_KEYS or WELLBEING_KEY_FILE")
        try:
            info = self.key_file.stat()
        except FileNotFoundError as exc:
            raise KeyringError(
                f"key file {self.key_file} does not exist: run `wellbeing keys generate`"
            ) from exc
        stamp = (info.st_mtime_ns, info.st_size)
        if self._keyring is None or stamp != self._stamp:
            keys, primary = read_key_file(self.key_file)
            self._keyring, self._stamp = Keyring(keys, primary, self.algorithm), stamp
        return self._keyring


class EncryptedText(TypeDecorator):
    """A column holding a sealed UTF-8 text (see `Encrypted` for the model side)."""

    impl = LargeBinary
    cache_ok = True

    @staticmethod
    def encode(value: Any) -> bytes:
        return str(value).encode("utf-8")

    @staticmethod
    def decode(raw: bytes) -> Any:
        return raw.decode("utf-8")


class EncryptedJSON(EncryptedText):
    """A column holding a sealed JSON document."""

    cache_ok = True

    @staticmethod
    def encode(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @staticmethod
    def decode(raw: bytes) -> Any:
        return json.loads(raw)
