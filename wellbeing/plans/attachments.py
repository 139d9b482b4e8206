"""Attachments of a 一生一策 file: a PDF, PNG or JPEG, recognised by its content (its
magic bytes and its structure), never by its name or the type the browser declared; at
most MAX_ATTACHMENT_BYTES. The bytes are sealed in the database (EncryptedBytes: a
changed byte fails the AEAD tag), with the cleaned file name, a title and the SHA-256
sealed beside them. Nothing is written to disk or served from a public path: the file
is opened only by the plan's audited download route, which compares the SHA-256 again."""

from __future__ import annotations

import hashlib
import struct
import unicodedata
import zlib
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans.contacts import PartError, require_open, required_text
from wellbeing.plans.models import GrowthPlan, PlanAttachment
from wellbeing.roster.models import User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.crypto import MalformedCiphertext, TamperedCiphertext

TITLE_LENGTH = 100
FILENAME_LENGTH = 120
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Where a PDF's %%EOF may sit: near the end (a few bytes of trailing newlines and, from
# some writers, padding).
PDF_EOF_WINDOW = 1024
EXTENSIONS = {v.PDF: ".pdf", v.PNG: ".png", v.JPEG: ".jpg"}


class AttachmentDamaged(Exception):
    """The sealed bytes fail to open (changed in the database) or no longer match their
    SHA-256."""


def max_bytes() -> int:
    return v.MAX_ATTACHMENT_BYTES


def read_bounded(stream: BinaryIO, limit: int) -> bytes:
    """At most limit + 1 bytes of the stream: enough to know it is too big, no more."""
    chunks, left = [], limit + 1
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _png_is_whole(data: bytes) -> bool:
    """Signature, then chunks (length, type, data, CRC) end to end: IHDR first, IEND last
    and at the very end, every CRC right. A cut or padded file is not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    at, first = len(PNG_SIGNATURE), True
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            return False
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[at + 4 : end - 4]) != crc:
            return False
        if first and (kind != b"IHDR" or length != 13):
            return False
        first = False
        if kind == b"IEND":
            return end == len(data)
        at = end
    return False


def sniff(data: bytes) -> str | None:
    """The attachment type (vocabulary.PDF, PNG, JPEG) that the bytes are, or None."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-PDF_EOF_WINDOW:]:
        return v.PDF
    if _png_is_whole(data):
        return v.PNG
    if len(data) >= 6 and data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9"):
        return v.JPEG
    return None


def _why_not(data: bytes) -> str:
    """What to tell about bytes that are none of the accepted types."""
    if data.startswith((b"%PDF-", PNG_SIGNATURE, b"\xff\xd8\xff")):
        return _("The file is incomplete or damaged: save it again and upload it.")
    return _("Only PDF, PNG or JPEG files can be attached (checked by their content).")


def clean_filename(name: str, kind: str) -> str:
    """The file name as kept: its last path part, without control characters, shortened,
    and ending in the extension of what it is (a PNG named .exe is kept as .png)."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = name.strip().strip(".") or _("attachment")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    extension = EXTENSIONS[kind]
    return stem[: FILENAME_LENGTH - len(extension)] + extension


def file_attachment(
    plan: GrowthPlan, user: User, *, title: str, filename: str, data: bytes | None
) -> PlanAttachment:
    """File an uploaded file in the plan, sealed; audited by the plan. `data` is what was
    read (at most max_bytes() + 1 bytes); None when no file was sent."""
    require_open(plan)
    problems: dict[str, str] = {}
    title = required_text(title, TITLE_LENGTH, problems, "title")
    kind = None
    if not data:
        problems["file"] = _("Choose a file to attach.")
    elif len(data) > max_bytes():
        problems["file"] = too_big_message()
    else:
        kind = sniff(data)
        if kind is None:
            problems["file"] = _why_not(data)
    if problems:
        raise PartError(problems)
    now = utcnow()
    attachment = PlanAttachment(
        plan_id=plan.id, uploaded_by_id=user.id, uploaded_at=now, kind=kind, size=len(data)
    )
    attachment.meta = {
        "filename": clean_filename(filename, kind),
        "sha256": hashlib.sha256(data).hexdigest(),
        "title": title,
    }
    attachment.content = data
    db.session.add(attachment)
    plan.updated_at = now
    db.session.flush()
    record_event(
        "plan_attachment",
        target=plan,
        user=user,
        detail={"attachment": attachment.id, "kind": kind, "size": len(data)},
    )
    return attachment


def too_big_message() -> str:
    megabytes = f"{max_bytes() / 1024 / 1024:g}"  # outside the call: babel reads no f-string
    return _(
        "The file is larger than %(mb)s MB: make it smaller (scan at a lower resolution) "
        "and upload it again.",
        mb=megabytes,
    )


def open_attachment(attachment: PlanAttachment) -> tuple[bytes, dict]:
    """(bytes, meta) of the attachment; AttachmentDamaged if either fails to open or the
    bytes no longer match their SHA-256."""
    try:
        meta = attachment.meta
        data = attachment.content
    except (TamperedCiphertext, MalformedCiphertext) as exc:
        raise AttachmentDamaged(str(exc)) from exc
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise AttachmentDamaged("sha256 mismatch")
    return data, meta


register_labels(
    actions={"plan_attachment": _l("Attachment filed")},
    targets={"plan_attachment": _l("Attachment")},
    fields={"attachment": _l("Attachment"), "size": _l("Size (bytes)")},
)
