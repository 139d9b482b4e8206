"""The leaving package: when a plan's student has left the district, the whole file goes
with them as one AES-256 encrypted ZIP (WinZip AES, opened by 7-Zip, WinRAR, macOS and
most archive tools), for the school or family that takes over.

The ZIP holds the file as readable HTML (Chinese) and as JSON, and the attachments'
files. Its password is random (four groups of five from an alphabet without look-alike
characters, about 99 bits), shown once to the counselor who made it and never stored: it
is delivered separately (by phone, never with the file). The ZIP itself is kept sealed
in PlanPackage.content until its maker downloads it, once, within PLAN_PACKAGE_HOURS;
then the content is emptied. Making it closes the plan (reason: left the district)."""

from __future__ import annotations

import io
import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyzipper
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.plans import queries, transfers
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan, PlanPackage
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels

register_labels(
    actions={"plan_package": _l("Leaving package of a 一生一策 file made")},
    fields={
        "package": _l("Package"),
        "plan": _l("一生一策 file"),
        "bytes": _l("Size (bytes)"),
    },
    values={"plan_package": _l("Leaving package of a 一生一策 file")},
)

# No 0/O, 1/I/L: read aloud over the phone and typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 4, 5


class PackageRefused(Exception):
    """Why a package cannot be made or downloaded (a sentence for the page)."""


def new_password() -> str:
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )


def packages_of(plan: GrowthPlan) -> list[PlanPackage]:
    return list(
        db.session.scalars(
            select(PlanPackage)
            .where(PlanPackage.plan_id == plan.id)
            .order_by(PlanPackage.made_at.desc(), PlanPackage.id.desc())
        )
    )


def student_has_left(plan: GrowthPlan) -> bool:
    return transfers.has_left(db.session.get(Student, plan.student_id), plan.school.district_id)


def check_makeable(plan: GrowthPlan) -> None:
    if plan.status == v.CLOSED and packages_of(plan):
        raise PackageRefused(_("This file is closed: its leaving package was made already."))
    if plan.status == v.CLOSED:
        raise PackageRefused(
            _("This file is closed: a leaving package is made only of a file still open.")
        )
    if not student_has_left(plan):
        raise PackageRefused(
            _(
                "The student is still enrolled in the district: a leaving package is made "
                "only when the student has left the district (the roster says so)."
            )
        )


def make_package(plan: GrowthPlan, user: User) -> tuple[PlanPackage, str]:
    """Build the encrypted ZIP, keep it sealed, close the plan; the password (returned,
    never stored) is shown once."""
    check_makeable(plan)
    student = db.session.get(Student, plan.student_id)
    transfers.mark_left(plan, student)  # once: also when the roster said so by hand
    password = new_password()
    data, files = build_zip(plan, student, password)
    now = utcnow()
    package = PlanPackage(plan_id=plan.id, made_by_id=user.id, made_at=now)
    package.content = data
    db.session.add(package)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        reason = _("Closed when its leaving package was made: the student left the district.")
    plan.status, plan.closed_at, plan.close_reason = v.CLOSED, now, v.LEFT_DISTRICT
    plan.closing, plan.updated_at = {"text": reason}, now
    _cancel_follow_ups(plan, user, reason)
    db.session.flush()
    record_event(
        "plan_package",
        target=plan,
        user=user,
        detail={"package": package.id, "files": files, "bytes": len(data)},
    )
    return package, password


def _cancel_follow_ups(plan: GrowthPlan, user: User, reason: str) -> None:
    """Nobody at the school chases a student who has left: the plan's open follow-ups
    end with it (the same ones a transfer moves)."""
    from wellbeing.followups.services import cancel

    for follow_up in transfers.plan_follow_ups(plan, plan.school_id):
        if follow_up.status == fv.OPEN:
            cancel(follow_up, user, reason[:200])


def expires_at(package: PlanPackage) -> datetime:
    return package.made_at + timedelta(hours=current_app.config["PLAN_PACKAGE_HOURS"])


def take(package: PlanPackage, user: User) -> bytes:
    """The package's bytes, once, for its maker, before it expires; then it is emptied.
    A late request empties an expired package too (and is refused)."""
    if package.made_by_id != user.id:
        raise PackageRefused(_("Only the counselor who made this package may download it."))
    if package.downloaded_at is not None:
        raise PackageRefused(
            _(
                "This package was downloaded already (%(at)s): it can be downloaded only once.",
                at=local_text(package.downloaded_at),
            )
        )
    if package.content_sealed is None or utcnow() > expires_at(package):
        package.content = None
        db.session.flush()
        raise PackageRefused(
            _(
                "This package has expired (it could be downloaded for %(n)d hours after it "
                "was made) and its content is deleted.",
                n=current_app.config["PLAN_PACKAGE_HOURS"],
            )
        )
    data = package.content
    package.content, package.downloaded_at = None, utcnow()
    db.session.flush()
    record_event(
        "export",
        target=package,
        user=user,
        detail={"kind": "plan_package", "plan": package.plan_id, "bytes": len(data)},
    )
    return data


def download_name(package: PlanPackage) -> str:
    # Nothing identifying in a file name that lands in a downloads folder.
    return f"growth-file-{package.uid[:8]}.zip"


# --------------------------------------------------------------------------- the ZIP


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name).strip(". ") or "file"
    return cleaned[:120]


def _user_name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def file_document(plan: GrowthPlan, student: Student | None) -> dict[str, Any]:
    """The whole file as one JSON document (the HTML shows the same)."""
    attachments = queries.attachments_of(plan)
    return {
        "format": "wellbeing-growth-file/1",
        "made_at": utcnow().isoformat(timespec="seconds"),
        "student": (
            {
                "name": student.name,
                "student_number": student.student_number,
                "birth_date": student.birth_date.isoformat(),
                "sex": student.sex,
            }
            if student is not None
            else None
        ),
        "plan": {
            "uid": plan.uid,
            "school": plan.school.name,
            "status": plan.status,
            "opened_at": plan.opened_at.isoformat(timespec="seconds"),
            "opened_by": _user_name(plan.opened_by_id),
            "source": plan.source,
            "versions": plan.version,
        },
        "versions": [
            {
                "number": version.number,
                "author": _user_name(version.author_id),
                "created_at": version.created_at.isoformat(timespec="seconds"),
                "signed_at": version.signed_at.isoformat(timespec="seconds")
                if version.signed_at
                else None,
                "signed_by": _user_name(version.signed_by_id),
                "meeting": version.meeting,
                "body": version.body,
            }
            for version in queries.versions_of(plan)
        ],
        "guardian_contacts": [
            {
                "author": _user_name(contact.author_id),
                "created_at": contact.created_at.isoformat(timespec="seconds"),
                **contact.body,
            }
            for contact in queries.contacts_of(plan)
        ],
        "referrals": [
            {
                "hospital": referral.hospital.name,
                "department": referral.hospital.department,
                "state": referral.state,
                "state_since": referral.state_since.isoformat(timespec="seconds"),
                "sheet": referral.sheet,
                "history": referral.history,
                "feedback": referral.feedback,
            }
            for referral in queries.referrals_of(plan)
        ],
        "transfers": [
            {
                "kind": transfer.kind,
                "at": transfer.at.isoformat(timespec="seconds"),
                "note": (transfer.note or {}).get("text", ""),
            }
            for transfer in queries.transfers_of(plan)
        ],
        "attachments": [
            {
                "path": _attachment_path(number, attachment.meta),
                "title": attachment.meta.get("title", ""),
                "filename": attachment.meta.get("filename", ""),
                "kind": attachment.kind,
                "size": attachment.size,
                "sha256": attachment.meta.get("sha256", ""),
            }
            for number, attachment in enumerate(attachments, start=1)
        ],
    }


def _attachment_path(number: int, meta: dict[str, Any]) -> str:
    return f"attachments/{number:02d}-{_safe_name(meta.get('filename', ''))}"


def build_zip(plan: GrowthPlan, student: Student | None, password: str) -> tuple[bytes, int]:
    """The AES-256 ZIP of the file, and how many files it holds."""
    document = file_document(plan, student)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        # The page stands alone (no request's context): also made outside a request.
        template = current_app.jinja_env.get_template("plans/package_file.html")
        html = template.render(doc=document)
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode("ascii"))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr("growth-file.html", html.encode("utf-8"))
        archive.writestr(
            "growth-file.json", json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        )
        attachments = queries.attachments_of(plan)
        for number, attachment in enumerate(attachments, start=1):
            archive.writestr(_attachment_path(number, attachment.meta), attachment.content)
    return buffer.getvalue(), 2 + len(attachments)
