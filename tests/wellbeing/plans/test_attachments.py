"""Attachments of a 一生一策 file, on SQLite and PostgreSQL: real PDF, PNG and JPEG files
(built here, byte by byte) are accepted by their content; a renamed program, HTML named
.png, a cut PNG and an oversized file are refused with clear words; the stored bytes are
sealed; a download asks for a fresh password, is audited as an export and never cached;
a changed byte in the database makes the file refuse to open (a clear page, not a 500)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zlib

import pyotp
import pytest
from flask import render_template
from sqlalchemy import select, text
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import TEST_PASSWORD, login
from tests.factories import add_plans
from wellbeing.extensions import db
from wellbeing.plans import attachments, queries
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import PlanAttachment
from wellbeing.roster.models import User
from wellbeing.security.models import AuditEvent, SecondFactor

pytestmark = pytest.mark.app


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (8-bit grey), chunk by chunk with their CRCs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        attachments.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    """A real one-page PDF with its cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    start = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    )
    return out.getvalue()


def jpeg_bytes() -> bytes:
    """A real baseline JPEG of one grey pixel: one quantisation table, one-code Huffman
    tables (DC category 0, AC end-of-block), one scan."""
    segment = lambda marker, body: b"\xff" + marker + struct.pack(">H", len(body) + 2) + body  # noqa: E731
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"
    return b"".join(
        [
            b"\xff\xd8",
            segment(b"\xe0", b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(b"\xdb", b"\x00" + b"\x01" * 64),
            segment(b"\xc0", b"\x08\x00\x01\x00\x01\x01\x01\x11\x00"),
            segment(b"\xc4", b"\x00" + one_code),
            segment(b"\xc4", b"\x10" + one_code),
            segment(b"\xda", b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",  # DC "0", EOB "0", padded with ones
            b"\xff\xd9",
        ]
    )


@pytest.fixture
def planned(world):
    add_plans(world)
    db.session.flush()
    return world


def upload(client, plan, data: bytes, filename: str, title: str = "医院来信", **kw):
    """A browser's multipart upload, encoded in memory (the test client would spool a big
    body to a temporary file that an unread request leaves open)."""
    fields = MultiDict(
        {
            "title": title,
            "file": FileStorage(
                io.BytesIO(data), filename, content_type=kw.get("type", "application/octet-stream")
            ),
        }
    )
    boundary, body = encode_multipart(fields)
    return client.post(
        f"/plans/{plan.id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def newest(plan) -> PlanAttachment:
    return queries.attachments_of(plan)[0]


@pytest.mark.parametrize(
    "make, name, kind",
    [(pdf_bytes, "信.pdf", v.PDF), (png_bytes, "画.png", v.PNG), (jpeg_bytes, "照片.jpeg", v.JPEG)],
)
def test_real_files_are_accepted_by_their_content_and_sealed(client, planned, make, name, kind):
    plan, data = planned.plans["A"], make()
    login(client, "counselor")
    # The declared type and the name say nothing: only the content counts.
    response = upload(client, plan, data, name, type="text/plain")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/plans/{plan.id}#attachments")
    item = newest(plan)
    assert (item.kind, item.size) == (kind, len(data))
    assert item.content == data
    assert item.meta == {
        "filename": name.rsplit(".", 1)[0] + attachments.EXTENSIONS[kind],
        "sha256": hashlib.sha256(data).hexdigest(),
        "title": "医院来信",
    }
    raw = db.session.execute(
        text("SELECT content, meta FROM plan_attachment WHERE id = :id"), {"id": item.id}
    ).one()
    assert data[:16] not in bytes(raw.content) and data[-16:] not in bytes(raw.content)
    assert "医院来信".encode() not in bytes(raw.meta)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan_attachment")).one()
    assert (row.target_type, row.target_id) == ("growth_plan", str(plan.id))


def test_the_sniffer_checks_structure_not_only_the_first_bytes():
    assert attachments.sniff(pdf_bytes()) == v.PDF
    assert attachments.sniff(pdf_bytes().replace(b"%%EOF", b"%%EOX")) is None
    assert attachments.sniff(jpeg_bytes()[:-2]) is None
    png = png_bytes()
    assert attachments.sniff(png) == v.PNG
    assert attachments.sniff(png[:-4]) is None  # IEND cut
    assert attachments.sniff(png + b"<script>") is None  # something after IEND
    bad_crc = bytearray(png)
    bad_crc[-20] ^= 0xFF
    assert attachments.sniff(bytes(bad_crc)) is None
    assert attachments.clean_filename("../../etc/x\x00.exe", v.PNG) == "x.png"
    assert attachments.clean_filename("", v.PDF).endswith(".pdf")


@pytest.mark.parametrize(
    "data, name, words",
    [
        (
            b"MZ\x90\x00\x03" + b"\x00" * 200 + b"This program cannot be run in DOS mode",
            "报告.pdf",
            "只能附加 PDF、PNG 或 JPEG",
        ),
        (b"<html><script>alert(1)</script></html>", "drawing.png", "只能附加 PDF、PNG 或 JPEG"),
        (png_bytes()[:-7], "cut.png", "文件不完整或已损坏"),
        (b"", "empty.pdf", "请选择要附加的文件"),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(client, planned, data, name, words):
    plan = planned.plans["A"]
    before = len(queries.attachments_of(plan))
    login(client, "counselor")
    response = upload(client, plan, data, name, type="image/png")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="error-file"' in page and words in page
    assert len(queries.attachments_of(plan)) == before


def test_a_missing_title_and_a_bad_file_are_both_told(client, planned):
    login(client, "counselor")
    response = upload(client, planned.plans["A"], b"GIF89a", "x.gif", title="")
    page = response.get_data(as_text=True)
    assert 'id="error-title"' in page and 'id="error-file"' in page


def test_an_oversized_file_is_refused(client, planned, monkeypatch):
    plan = planned.plans["A"]
    login(client, "counselor")
    big = b"%PDF-1.4\n" + b"0" * v.MAX_ATTACHMENT_BYTES + b"\n%%EOF\n"
    response = upload(client, plan, big, "big.pdf")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "文件大于 5 MB" in page and 'id="error-file"' in page
    # Just over the limit but within the form's room: read (bounded) and refused.
    monkeypatch.setattr(attachments, "max_bytes", lambda: 1000)
    response = upload(client, plan, pdf_bytes() + b" " * 1000, "big.pdf")
    assert response.status_code == 413 and "文件大于" in response.get_data(as_text=True)
    assert len(queries.attachments_of(plan)) == 1  # the factory's only


class CountingStream(io.BytesIO):
    """A request body that counts what the app read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.taken += len(chunk)
        return chunk


def test_a_body_larger_than_an_attachment_may_be_is_refused_unread(client, planned):
    login(client, "counselor")
    body = CountingStream(b"--x\r\n" + b"0" * (v.MAX_ATTACHMENT_BYTES + 100 * 1024))
    response = client.post(
        f"/plans/{planned.plans['A'].id}/attachments",
        input_stream=body,
        content_length=len(body.getvalue()),
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413 and "文件大于 5 MB" in response.get_data(as_text=True)
    assert body.taken == 0


def test_an_upload_is_parsed_in_memory_never_on_disk(client, planned, monkeypatch):
    """A file of 1.5 MB would be spooled to a temporary file by the default parser."""

    def no_disk(*_args, **_kwargs):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr("werkzeug.formparser.default_stream_factory", no_disk)
    monkeypatch.setattr("werkzeug.formparser.SpooledTemporaryFile", no_disk)
    monkeypatch.setattr("werkzeug.wrappers.request.default_stream_factory", no_disk)
    big = pdf_bytes().replace(b"%%EOF", b"%" + b"0" * (1536 * 1024) + b"\n%%EOF")
    login(client, "counselor")
    assert upload(client, planned.plans["A"], big, "scan.pdf").status_code == 303
    assert newest(planned.plans["A"]).size == len(big)


def test_the_upload_checks_its_csrf_token_itself(app, client, planned, monkeypatch):
    """The upload is exempt from the global check (which would parse the body before the
    size is known) and checks the token after the size."""
    plan = planned.plans["A"]
    login(client, "counselor")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    form = client.get(f"/plans/{plan.id}/referrals/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert upload(client, plan, png_bytes(), "a.png").status_code == 400
    fields = MultiDict(
        {"csrf_token": token, "title": "画", "file": FileStorage(io.BytesIO(png_bytes()), "a.png")}
    )
    boundary, body = encode_multipart(fields)
    response = client.post(
        f"/plans/{plan.id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 303
    # Other forms of the file keep the global check.
    assert client.post(f"/plans/{plan.id}/contacts", data={}).status_code == 400


def confirm_password(client, username: str = "counselor") -> None:
    """Confirm the password again (and the second factor, with a code of a step not yet
    used) before an export: security/reauth.py."""
    user = db.session.scalar(select(User).where(User.username == username))
    factor = db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))
    data = {"password": TEST_PASSWORD, "next": "/home"}
    if factor is not None and factor.enabled_at is not None:
        factor.last_step = None
        db.session.flush()
        data["code"] = pyotp.TOTP(factor.secret).now()
    assert client.post("/confirm", data=data).status_code == 302


def test_a_download_asks_for_a_fresh_password_and_is_an_audited_export(client, planned):
    plan = planned.plans["A"]
    login(client, "counselor")
    assert upload(client, plan, png_bytes(), "画.png").status_code == 303
    item = newest(plan)
    url = f"/attachments/{item.id}"
    first = client.get(url)
    assert first.status_code == 302 and first.headers["Location"].startswith("/confirm?next=")
    confirm_password(client)
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == png_bytes()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [(r.target_type, r.target_id) for r in rows] == [("growth_plan", str(plan.id))]
    assert json.loads(rows[0].detail)["attachment"] == item.id


def test_a_tampered_attachment_fails_to_open_with_a_clear_page(client, planned):
    plan = planned.plans["A"]
    login(client, "counselor")
    assert upload(client, plan, pdf_bytes(), "信.pdf").status_code == 303
    item = newest(plan)
    raw = bytearray(
        db.session.execute(
            text("SELECT content FROM plan_attachment WHERE id = :id"), {"id": item.id}
        ).scalar_one()
    )
    raw[-20] ^= 0x01  # one bit of the file's ciphertext
    db.session.execute(
        text("UPDATE plan_attachment SET content = :c WHERE id = :id"),
        {"c": bytes(raw), "id": item.id},
    )
    db.session.expire_all()
    confirm_password(client)
    response = client.get(f"/attachments/{item.id}")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="attachment-damaged"' in page and "已被改动或损坏" in page
    assert b"%PDF" not in response.data
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()


def test_bytes_that_no_longer_match_their_sha256_are_refused(client, planned):
    item = planned.attachments["A"]
    item.content = png_bytes()  # sealed properly, but not the file whose digest is kept
    db.session.flush()
    login(client, "counselor")
    confirm_password(client)
    assert client.get(f"/attachments/{item.id}").status_code == 409


def test_the_partial_lists_attachments_with_links_for_exporters(app, planned):
    plan = planned.plans["A"]
    with app.test_request_context():
        page = render_template(
            "plans/_attachments.html",
            plan=plan,
            attachments=queries.attachments_of(plan),
            can_write=True,
            can_export=True,
        )
        bare = render_template(
            "plans/_attachments.html",
            plan=plan,
            attachments=queries.attachments_of(plan),
            can_write=False,
            can_export=False,
        )
    assert "绘画" in page and f"/attachments/{planned.attachments['A'].id}" in page
    assert 'enctype="multipart/form-data"' in page
    assert "/attachments/" not in bare.replace(f"/plans/{plan.id}/attachments", "")
