"""Envelope encryption on its own (no app, no database): sealed values open only in their
own row and field, under a key the keyring holds, and any changed byte is refused."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeing.security.crypto import (
    AES_256_GCM,
    KEY_ID_OFFSET,
    SM4_GCM,
    Context,
    CryptoError,
    EncryptedJSON,
    EncryptedText,
    Keyring,
    KeyringError,
    KeySource,
    MalformedCiphertext,
    MissingKey,
    TamperedCiphertext,
    encode_key_setting,
    generate_key,
    key_id_marker,
    key_id_of,
    parse_header,
    parse_keys_setting,
    read_key_file,
    write_key_file,
)

KEY_A, KEY_B = bytes(range(32)), bytes(range(32, 64))
HERE = Context("student_note", "3f2a9c", "body")
ALGORITHMS = [AES_256_GCM, SM4_GCM]


def ring(algorithm=AES_256_GCM, primary="ka", **keys: bytes) -> Keyring:
    return Keyring(keys or {"ka": KEY_A}, primary, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.name)
def test_seal_and_open_round_trip_with_the_algorithm_and_key_in_the_header(algorithm):
    keyring = ring(algorithm)
    sealed = keyring.seal("今天谈了家里的事".encode(), HERE)
    assert keyring.open(sealed, HERE).decode() == "今天谈了家里的事"
    header, _start = parse_header(sealed)
    assert (header.algorithm, header.key_id) == (algorithm, "ka")
    assert sealed[KEY_ID_OFFSET : KEY_ID_OFFSET + 3] == key_id_marker("ka")
    assert "今天".encode() not in sealed


def test_the_same_text_seals_differently_every_time():
    keyring = ring()
    assert keyring.seal(b"same", HERE) != keyring.seal(b"same", HERE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        Context("student_note", "77b1e0", "body"),  # another row of the same table
        Context("student_note", "3f2a9c", "summary"),  # another field of the same row
        Context("second_factor", "3f2a9c", "secret"),  # another table, same row uid
    ],
    ids=["row", "field", "table"],
)
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.name)
def test_a_ciphertext_moved_elsewhere_fails_to_open(algorithm, elsewhere):
    keyring = ring(algorithm)
    sealed = keyring.seal(b"only here", HERE)
    with pytest.raises(TamperedCiphertext, match="altered, or copied from another row"):
        keyring.open(sealed, elsewhere)
    with pytest.raises(TamperedCiphertext):
        keyring.rewrap(sealed, elsewhere)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.name)
def test_changing_any_byte_fails_and_never_returns_garbage(algorithm):
    keyring = ring(algorithm)
    sealed = keyring.seal(b"x" * 40, HERE)
    header_end = parse_header(sealed)[1]
    for index in range(len(sealed)):
        for flip in (0x01, 0x80):
            changed = bytearray(sealed)
            changed[index] ^= flip
            expected = CryptoError if index < header_end else TamperedCiphertext
            with pytest.raises(expected):
                keyring.open(bytes(changed), HERE)


def test_a_changed_header_names_what_is_wrong():
    keyring = ring()
    sealed = keyring.seal(b"x", HERE)
    with pytest.raises(MalformedCiphertext, match="known version"):
        keyring.open(b"X" + sealed[1:], HERE)
    with pytest.raises(MalformedCiphertext, match="unknown algorithm"):
        keyring.open(sealed[:2] + b"\x09" + sealed[3:], HERE)
    with pytest.raises(MissingKey, match="'kb' is not in the keyring"):
        keyring.open(sealed.replace(b"ka", b"kb", 1), HERE)


@pytest.mark.parametrize(
    "garbage", [b"", b"W", b"W\x01\x01\x02ka", b"plain text", b"W\x01\x01\x02ka" + b"\0" * 40]
)
def test_garbage_is_malformed(garbage):
    with pytest.raises(MalformedCiphertext):
        ring().open(garbage, HERE)


def test_a_text_is_not_a_sealed_value():
    with pytest.raises(MalformedCiphertext, match="bytes, not str"):
        ring().open("W\x01", HERE)  # type: ignore[arg-type]


def test_a_truncated_value_is_malformed():
    sealed = ring().seal(b"a longer value", HERE)
    with pytest.raises(MalformedCiphertext, match="truncated"):
        ring().open(sealed[:40], HERE)


def test_a_missing_key_is_named():
    sealed = ring(primary="ka", ka=KEY_A).seal(b"x", HERE)
    with pytest.raises(MissingKey, match="'ka' is not in the keyring: restore"):
        ring(primary="kb", kb=KEY_B).open(sealed, HERE)


def test_the_wrong_key_under_the_right_id_is_tampering_not_garbage():
    sealed = ring(primary="ka", ka=KEY_A).seal(b"x", HERE)
    with pytest.raises(TamperedCiphertext):
        ring(primary="ka", ka=KEY_B).open(sealed, HERE)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.name)
def test_rewrap_changes_only_the_wrapped_data_key(algorithm):
    old = ring(algorithm, primary="ka", ka=KEY_A)
    sealed = old.seal(b"counseling note", HERE)
    # The new primary seals new values with AES: old SM4 values keep their algorithm.
    new = Keyring({"ka": KEY_A, "kb": KEY_B}, "kb", AES_256_GCM)
    moved = new.rewrap(sealed, HERE)
    assert key_id_of(moved) == "kb"
    assert parse_header(moved)[0].algorithm == algorithm
    body = -(12 + len(b"counseling note") + 16)
    assert moved[body:] == sealed[body:]
    assert new.open(moved, HERE) == b"counseling note"
    assert new.rewrap(moved, HERE) == moved  # already under the primary: unchanged
    with pytest.raises(MissingKey):
        ring(primary="kb", kb=KEY_B).open(sealed, HERE)
    with pytest.raises(MissingKey):
        old.open(moved, HERE)


def test_sm4_gcm_is_the_standard_one():
    """RFC 8998, appendix A.1: the SM4-GCM test vector."""
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    ciphertext = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    tag = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
    assert SM4_GCM.decrypt(key, nonce + ciphertext + tag, aad) == plaintext
    with pytest.raises(TamperedCiphertext):
        SM4_GCM.decrypt(key, nonce + ciphertext + tag[:-1] + b"\0", aad)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(text=st.text(), algorithm=st.sampled_from(ALGORITHMS), row=st.text(min_size=1))
def test_any_text_round_trips(text, algorithm, row):
    context = Context("student_note", row, "body")
    sealed = ring(algorithm).seal(EncryptedText.encode(text), context)
    assert EncryptedText.decode(ring(algorithm).open(sealed, context)) == text


@SETTINGS
@given(document=JSON, algorithm=st.sampled_from(ALGORITHMS))
def test_any_json_round_trips(document, algorithm):
    sealed = ring(algorithm).seal(EncryptedJSON.encode(document), HERE)
    assert EncryptedJSON.decode(ring(algorithm).open(sealed, HERE)) == document


@SETTINGS
@given(text=st.text(min_size=1), other_row=st.text(min_size=1))
def test_any_value_fails_in_any_other_row(text, other_row):
    sealed = ring().seal(text.encode(), HERE)
    context = Context("student_note", other_row, "body")
    if context == HERE:
        return
    with pytest.raises(TamperedCiphertext):
        ring().open(sealed, context)


# --- keys from the settings and the key file -----------------------------------------


def test_the_keys_setting_lists_the_primary_first():
    setting = encode_key_setting("k2", KEY_B) + "; " + encode_key_setting("k1", KEY_A)
    keys, primary = parse_keys_setting(setting)
    assert (keys, primary) == ({"k2": KEY_B, "k1": KEY_A}, "k2")


@pytest.mark.parametrize(
    "setting, message",
    [
        (" ; ", "holds no key"),
        ("k1:not base64!", "'k1' is not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
    ],
)
def test_bad_keys_settings_are_refused(setting, message):
    with pytest.raises(KeyringError, match=message):
        KeySource(setting, "", "AES-256-GCM").keyring()


def test_an_unknown_algorithm_is_refused():
    with pytest.raises(KeyringError, match="unknown ENCRYPTION_ALGORITHM 'DES'"):
        KeySource("", "keys.json", "DES")


def test_the_key_file_is_the_owners_only_and_round_trips(tmp_path):
    path = tmp_path / "keys" / "keys.json"
    write_key_file(path, {"ka": KEY_A, "kb": KEY_B}, "kb")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == ({"ka": KEY_A, "kb": KEY_B}, "kb")
    assert json.loads(path.read_text())["primary"] == "kb"
    assert sorted(p.name for p in path.parent.iterdir()) == ["keys.json"]  # no temporary left


@pytest.mark.parametrize("content", ["", "{}", '{"primary": "ka", "keys": {"ka": "!!"}}', "[]"])
def test_a_damaged_key_file_is_refused(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(KeyringError, match="not a valid key file"):
        KeySource("", str(path), "AES-256-GCM").keyring()


def test_a_missing_key_file_says_how_to_make_one(tmp_path):
    with pytest.raises(KeyringError, match="does not exist: run `wellbeing keys generate`"):
        KeySource("", str(tmp_path / "keys.json"), "AES-256-GCM").keyring()


def test_no_keys_configured_is_an_error_not_a_fallback():
    with pytest.raises(KeyringError, match="no keys"):
        KeySource("", "", "AES-256-GCM").keyring()


def test_the_key_source_follows_a_replaced_key_file(tmp_path):
    path = tmp_path / "keys.json"
    write_key_file(path, {"ka": KEY_A}, "ka")
    source = KeySource("", str(path), "SM4-GCM")
    first = source.keyring()
    assert source.keyring() is first  # unchanged file: not re-read
    sealed = first.seal(b"x", HERE)
    write_key_file(path, {"ka": KEY_A, "kb": KEY_B}, "kb")
    after = source.keyring()
    assert after.primary == "kb" and after.algorithm == SM4_GCM
    assert after.open(sealed, HERE) == b"x"


def test_a_new_key_file_of_the_same_size_is_noticed(tmp_path):
    path = tmp_path / "keys.json"
    write_key_file(path, {"ka": KEY_A}, "ka")
    source = KeySource("", str(path), "AES-256-GCM")
    source.keyring()
    write_key_file(path, {"kb": KEY_B}, "kb")  # same size, maybe the same mtime tick
    assert source.keyring().primary == "kb"


def test_the_generated_key_is_random_and_the_right_size():
    assert len(generate_key()) == 32 and generate_key() != generate_key()
