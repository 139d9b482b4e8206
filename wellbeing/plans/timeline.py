"""A file's timeline: everything that happened to it, newest first. Versions (each
amendment, each signature), the student's counseling notes since the file was opened
(read through notes.services.read_notes, which audits the read), guardian contacts,
attachments filed, referral states and the hospitals' feedback, transfers, and the
follow-ups of the file. Each entry is opened here, for the plan page only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _

from wellbeing.clock import local_midnight_utc, local_text
from wellbeing.extensions import db
from wellbeing.followups.audit_words import KIND_LABELS, STATUS_LABELS
from wellbeing.followups.vocabulary import OPEN
from wellbeing.notes.services import read_notes
from wellbeing.plans import queries
from wellbeing.plans import words as w
from wellbeing.plans.models import GrowthPlan, plan_day
from wellbeing.plans.services import follow_ups_of
from wellbeing.roster.models import School, Student, User


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. `day_only`: the source holds a date, not a time."""

    at: datetime
    kind: str  # version, signature, note, contact, attachment, referral, feedback, ...
    title: str
    text: str = ""
    who: str = ""
    day_only: bool = False


def _name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def _day(value: str | None, fallback: datetime) -> tuple[datetime, bool]:
    try:
        return local_midnight_utc(plan_day(value)), True
    except (TypeError, ValueError):
        return fallback, False


def _school(school_id: int | None) -> str:
    school = db.session.get(School, school_id) if school_id else None
    return school.name if school else ""


def timeline(
    plan: GrowthPlan, student: Student, parts: queries.FileParts, grant_id: int | None = None
) -> list[Entry]:
    """Every entry of the file, newest first."""
    entries: list[Entry] = [
        Entry(
            plan.opened_at,
            "opened",
            _("File opened from %(source)s", source=w.label(w.SOURCE_LABELS, plan.source)),
            who=_name(plan.opened_by_id),
        )
    ]
    for version in queries.versions_of(plan):
        body = version.body
        if version.number > 1:
            entries.append(
                Entry(
                    version.created_at,
                    "version",
                    _("Version %(n)d: amendment", n=version.number),
                    body.get("change", ""),
                    _name(version.author_id),
                )
            )
        if version.signed_at is not None:
            meeting = version.meeting or {}
            entries.append(
                Entry(
                    version.signed_at,
                    "signature",
                    _(
                        "Version %(n)d signed at the review meeting of %(date)s",
                        n=version.number,
                        date=meeting.get("date", ""),
                    ),
                    _("Attended: %(who)s", who=meeting.get("attendees", "")),
                    _name(version.signed_by_id),
                )
            )
    for note, body in read_notes(student, grant_id=grant_id):
        if note.created_at >= plan.opened_at:
            entries.append(
                Entry(note.created_at, "note", _("Counseling note"), body, _name(note.author_id))
            )
    for contact in parts.contacts:
        body = contact.body
        at, day_only = _day(body.get("contacted_on"), contact.created_at)
        entries.append(
            Entry(
                at,
                "contact",
                _(
                    "Guardian contact (%(method)s): %(who)s",
                    method=w.label(w.CONTACT_METHOD_LABELS, body.get("method")),
                    who=body.get("who", ""),
                ),
                body.get("agreed", ""),
                _name(contact.author_id),
                day_only,
            )
        )
    for attachment in parts.attachments:
        meta = attachment.meta or {}
        entries.append(
            Entry(
                attachment.uploaded_at,
                "attachment",
                _("Attachment filed: %(title)s", title=meta.get("title") or meta.get("filename")),
                _(
                    "%(kind)s, %(kb)d KB",
                    kind=w.label(w.ATTACHMENT_LABELS, attachment.kind),
                    kb=max(1, attachment.size // 1024),
                ),
                _name(attachment.uploaded_by_id),
            )
        )
    for referral in parts.referrals:
        hospital = referral.hospital
        where = f"{hospital.name} {hospital.department}".strip()
        for step in referral.history or []:
            at, day_only = _day(step.get("on"), referral.created_at)
            entries.append(
                Entry(
                    at,
                    "referral",
                    _(
                        "Referral to %(hospital)s: %(state)s",
                        hospital=where,
                        state=w.label(w.REFERRAL_STATE_LABELS, step.get("state")),
                    ),
                    step.get("note", ""),
                    _name(step.get("by")),
                    day_only,
                )
            )
        feedback = referral.feedback
        if feedback:
            at, day_only = _day(feedback.get("on"), referral.state_since)
            entries.append(
                Entry(
                    at,
                    "feedback",
                    _("Feedback from %(hospital)s", hospital=where),
                    feedback.get("text", ""),
                    day_only=day_only,
                )
            )
    for transfer in parts.transfers:
        entries.append(
            Entry(
                transfer.at,
                "transfer",
                _(
                    "%(kind)s: from %(from)s",
                    kind=w.label(w.TRANSFER_LABELS, transfer.kind),
                    **{"from": _school(transfer.from_school_id)},
                )
                + (f" → {_school(transfer.to_school_id)}" if transfer.to_school_id else ""),
                (transfer.note or {}).get("text", ""),
            )
        )
    for follow_up in follow_ups_of(plan):
        what = w.label(KIND_LABELS, follow_up.kind)
        entries.append(
            Entry(
                follow_up.created_at,
                "follow_up",
                _("Follow-up opened: %(what)s", what=what),
                _("Due %(due)s", due=local_text(follow_up.due_at)),
                follow_up.assignee.display_name,
            )
        )
        if follow_up.status != OPEN and follow_up.closed_at is not None:
            entries.append(
                Entry(
                    follow_up.closed_at,
                    "follow_up",
                    _(
                        "Follow-up %(status)s: %(what)s",
                        status=w.label(STATUS_LABELS, follow_up.status),
                        what=what,
                    ),
                    follow_up.outcome or "",
                    _name(follow_up.closed_by_id),
                )
            )
    if plan.closed_at is not None:
        entries.append(
            Entry(
                plan.closed_at,
                "closed",
                _(
                    "File closed: %(reason)s",
                    reason=w.label(w.CLOSE_REASON_LABELS, plan.close_reason),
                ),
                (plan.closing or {}).get("text", ""),
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def next_review(body: dict, today: date) -> str | None:
    """The version's next review date from today on, if any."""
    return next((day for day in body.get("review_dates") or [] if day >= today.isoformat()), None)
