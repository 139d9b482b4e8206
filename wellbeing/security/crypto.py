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
import binascii
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

MAGIC = b"W"
VERSION = 1
NONCE = 12
TAG = 16
KEK_BYTES = 32
# Byte offset of the key-id length in a sealed value: `key_id_marker` starts here.
KEY_ID_OFFSET = 3


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


class _SM4GCM:
    """SM4-GCM with the interface of `AESGCM` (cryptography has no SM4 AEAD class)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        encryptor = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        decryptor = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, data[-TAG:])).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(data[:-TAG]) + decryptor.finalize()


AEAD = AESGCM | _SM4GCM


@dataclass(frozen=True)
class Algorithm:
    code: int
    name: str
    key_bytes: int

    def aead(self, key: bytes) -> AEAD:
        # AES: the one-shot AEAD interface is the fastest path.
        return AESGCM(key) if self.code == 1 else _SM4GCM(key)

    def encrypt(self, key: bytes | AEAD, plaintext: bytes, aad: bytes) -> bytes:
        """nonce | ciphertext | tag."""
        cipher = self.aead(key) if isinstance(key, bytes) else key
        nonce = os.urandom(NONCE)
        return nonce + cipher.encrypt(nonce, plaintext, aad)

    def decrypt(self, key: bytes | AEAD, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE + TAG:
            raise MalformedCiphertext("sealed value is truncated")
        cipher = self.aead(key) if isinstance(key, bytes) else key
        try:
            return cipher.decrypt(sealed[:NONCE], sealed[NONCE:], aad)
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

    def describe(self) -> str:
        return f"{self.table}.{self.field} of row {self.row}"


@dataclass(frozen=True)
class Header:
    algorithm: Algorithm
    key_id: str

    def encode(self) -> bytes:
        kid = self.key_id.encode()
        return MAGIC + bytes([VERSION, self.algorithm.code, len(kid)]) + kid


def parse_header(sealed: bytes) -> tuple[Header, int]:
    """The header and the offset where the wrapped key starts."""
    if not isinstance(sealed, bytes | bytearray | memoryview):
        raise MalformedCiphertext(f"a sealed value is bytes, not {type(sealed).__name__}")
    sealed = bytes(sealed)
    if len(sealed) < 4 or sealed[:1] != MAGIC or sealed[1] != VERSION:
        raise MalformedCiphertext("not a sealed value of a known version")
    algorithm = BY_CODE.get(sealed[2])
    if algorithm is None:
        raise MalformedCiphertext(f"unknown algorithm code {sealed[2]}")
    end = 4 + sealed[3]
    if len(sealed) < end:
        raise MalformedCiphertext("sealed value is truncated")
    try:
        key_id = sealed[4:end].decode()
    except UnicodeDecodeError as exc:
        raise MalformedCiphertext("unreadable key id") from exc
    return Header(algorithm, key_id), end


def key_id_of(sealed: bytes) -> str:
    return parse_header(sealed)[0].key_id


def key_id_marker(key_id: str) -> bytes:
    """The bytes at KEY_ID_OFFSET of every value wrapped by `key_id` (length, then id):
    lets SQL find the rows under a key without reading whole values."""
    kid = key_id.encode()
    return bytes([len(kid)]) + kid


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys by id; new values are sealed under the primary one."""

    keys: Mapping[str, bytes]
    primary: str
    algorithm: Algorithm = AES_256_GCM
    # Wrapping ciphers by (key id, algorithm): HKDF once per key, not once per value.
    _derived: dict[tuple[str, int], AEAD] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.primary not in self.keys:
            raise KeyringError(f"the primary key {self.primary!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if len(key) != KEK_BYTES or not key_id or len(key_id.encode()) > 255:
                raise KeyringError(f"key {key_id!r} must be {KEK_BYTES} bytes with a short id")

    def _wrapping_key(self, key_id: str, algorithm: Algorithm) -> AEAD:
        derived = self._derived.get((key_id, algorithm.code))
        if derived is not None:
            return derived
        kek = self.keys.get(key_id)
        if kek is None:
            raise MissingKey(
                f"key {key_id!r} is not in the keyring: restore the key file from its backup "
                "(or add the key to WELLBEING_KEYS)"
            )
        # A KEK serves both algorithms; derive a separate wrapping key for each.
        derived = algorithm.aead(
            HKDF(
                algorithm=hashes.SHA256(),
                length=algorithm.key_bytes,
                salt=None,
                info=b"wellbeing key wrap " + algorithm.name.encode(),
            ).derive(kek)
        )
        self._derived[(key_id, algorithm.code)] = derived
        return derived

    def _wrap(self, header: Header, data_key: bytes, context: Context) -> bytes:
        wrapping = self._wrapping_key(header.key_id, header.algorithm)
        return header.algorithm.encrypt(wrapping, data_key, header.encode() + context.encode())

    def _unwrap(self, sealed: bytes, context: Context) -> tuple[Header, bytes, int]:
        header, start = parse_header(sealed)
        wrapped_len = NONCE + header.algorithm.key_bytes + TAG
        if len(sealed) < start + wrapped_len + NONCE + TAG:
            raise MalformedCiphertext(f"sealed value of {context.describe()} is truncated")
        wrapped = sealed[start : start + wrapped_len]
        wrapping = self._wrapping_key(header.key_id, header.algorithm)
        aad = header.encode() + context.encode()
        try:
            data_key = header.algorithm.decrypt(wrapping, wrapped, aad)
        except TamperedCiphertext as exc:
            raise TamperedCiphertext(
                f"sealed value of {context.describe()} failed authentication: it was altered, "
                "or copied from another row or field"
            ) from exc
        return header, data_key, start + wrapped_len

    @staticmethod
    def _body_aad(algorithm: Algorithm, context: Context) -> bytes:
        return b"body" + bytes([algorithm.code]) + context.encode()

    def seal(self, plaintext: bytes, context: Context) -> bytes:
        header = Header(self.algorithm, self.primary)
        data_key = secrets.token_bytes(self.algorithm.key_bytes)
        body = self.algorithm.encrypt(data_key, plaintext, self._body_aad(self.algorithm, context))
        return header.encode() + self._wrap(header, data_key, context) + body

    def open(self, sealed: bytes, context: Context) -> bytes:
        header, data_key, body_start = self._unwrap(sealed, context)
        aad = self._body_aad(header.algorithm, context)
        try:
            return header.algorithm.decrypt(data_key, bytes(sealed[body_start:]), aad)
        except TamperedCiphertext as exc:
            raise TamperedCiphertext(
                f"sealed value of {context.describe()} failed authentication: its content "
                "was altered"
            ) from exc

    def rewrap(self, sealed: bytes, context: Context) -> bytes:
        """The same value with its data key wrapped by the primary KEK (the body is kept)."""
        header, data_key, body_start = self._unwrap(sealed, context)
        if header.key_id == self.primary:
            return bytes(sealed)
        new_header = Header(header.algorithm, self.primary)
        wrapped = self._wrap(new_header, data_key, context)
        return new_header.encode() + wrapped + bytes(sealed[body_start:])


def generate_key() -> bytes:
    return secrets.token_bytes(KEK_BYTES)


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def encode_key_setting(key_id: str, key: bytes) -> str:
    """One `id:base64` entry of WELLBEING_KEYS."""
    return f"{key_id}:{base64.b64encode(key).decode()}"


def parse_keys_setting(value: str) -> tuple[dict[str, bytes], str]:
    """`id:base64;id:base64`: the first key is the primary one."""
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        key_id, _, encoded = part.partition(":")
        try:
            keys[key_id.strip()] = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise KeyringError(f"WELLBEING_KEYS: key {key_id.strip()!r} is not base64") from exc
    if not keys:
        raise KeyringError("WELLBEING_KEYS holds no key")
    return keys, next(iter(keys))


def read_key_file(path: Path) -> tuple[dict[str, bytes], str]:
    """The keys and the primary key id of a key file (see `write_key_file`)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        keys = {
            kid: base64.b64decode(value, validate=True) for kid, value in document["keys"].items()
        }
        return keys, document["primary"]
    except FileNotFoundError as exc:
        raise KeyringError(
            f"key file {path} does not exist: run `wellbeing keys generate` "
            "(or restore it from its backup)"
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise KeyringError(f"key file {path} is not a valid key file") from exc


def write_key_file(path: Path, keys: Mapping[str, bytes], primary: str) -> None:
    """Write atomically (a reader sees the old file or the new one, whole), durably, and
    readable by the owner only: `{"primary": id, "keys": {id: base64, ...}}`."""
    document = {
        "primary": primary,
        "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename itself must survive a crash: rows re-wrapped next depend on it.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


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
        self._stamp: tuple[int, int, int] | None = None

    @property
    def from_environment(self) -> bool:
        """Whether the keys come from WELLBEING_KEYS (then no key file is used)."""
        return bool(self.keys_setting)

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
                f"key file {self.key_file} does not exist: run `wellbeing keys generate` "
                "(or restore it from its backup)"
            ) from exc
        # The file is replaced, never edited in place: a new inode, size or time is a change.
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        keyring = self._keyring
        if keyring is None or stamp != self._stamp:
            keys, primary = read_key_file(self.key_file)
            keyring = Keyring(keys, primary, self.algorithm)
            self._keyring, self._stamp = keyring, stamp
        return keyring


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


class EncryptedBytes(EncryptedText):
    """A column holding sealed bytes (a file)."""

    cache_ok = True

    @staticmethod
    def encode(value: Any) -> bytes:
        return bytes(value)

    @staticmethod
    def decode(raw: bytes) -> Any:
        return raw


class EncryptedJSON(EncryptedText):
    """A column holding a sealed JSON document."""

    cache_ok = True

    @staticmethod
    def encode(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @staticmethod
    def decode(raw: bytes) -> Any:
        return json.loads(raw)
