"""The paper fallback's writes: a counselor's entry of one student's paper form (once,
or twice with a second entry that must match the first), and the import of many forms
from CSV or XLSX in the `wellbeing score` columns (docs/batch-cli.md).

Both end in services.record_responses (scored, stored sealed with the version hash, a
crisis alert for a critical item, the ledger settled) and both check everything before
they write anything: a refused entry or file stores nothing.

Which targets take a paper form: those that could still answer (not_started,
in_progress, absent), also after the window closed (forms collected in the window are
often typed in days later), never before it opens. Refused: screened_valid (answers are
already recorded for this sitting), retest_pending (issue the retest first, then enter
the retest's form), consent_withheld, transferred and exempt.

Double entry: the first entry is kept sealed in PaperEntry (one row per instrument of
the battery, for the target's current attempt); the next entry of the same form, by
anyone allowed to enter it (the same person too, which the audit notes), is compared
item by item. Equal: the answers are recorded and the first entry deleted. Different:
nothing is recorded, the differing items are listed and the first entry stays (or is
discarded to start over).

Import of a battery of several instruments: one file holds the columns of EVERY
instrument (respondent_id, the student's 学籍号, then all item ids, e.g. phq9_1 …
phq9_9, gad7_1 … gad7_7) and each row records the student's whole battery, as a
submission does, so no target is left half-answered. A battery whose instruments share
an item id cannot be imported (its columns would be ambiguous): its forms are entered
one by one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from screening.errors import InputError
from screening.instruments import Instrument, Item
from screening.spreadsheets import open_bytes, text_rows
from wellbeing.campaigns import services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.battery import battery, item_key
from wellbeing.campaigns.models import (
    Campaign,
    CampaignTarget,
    PaperEntry,
    ScreeningResponse,
)
from wellbeing.extensions import db
from wellbeing.imports import ImportProblem, read_problem, text_problems, web_limits
from wellbeing.roster.models import School, SchoolClass, Student, User
from wellbeing.security.audit import record_event

ID_COLUMN = "respondent_id"
# The entry form's choice for an item the student left unanswered.
BLANK = "blank"
# A page listing 100,000 problems helps no one; the first ones show the pattern.
PROBLEMS_KEPT = 1000
# A whole number as typed in a cell: "2", " 2 ", "+2", "2.0" (full-width digits are
# folded first).
WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")

STATE_NAMES = {
    v.NOT_STARTED: _l("not started"),
    v.IN_PROGRESS: _l("in progress"),
    v.SCREENED_VALID: _l("screened"),
    v.RETEST_PENDING: _l("waiting for a retest"),
    v.ABSENT: _l("absent"),
    v.TRANSFERRED: _l("transferred"),
    v.EXEMPT: _l("exempt"),
    v.CONSENT_WITHHELD: _l("no consent"),
}

# The values of one form: instrument id -> item id -> option value, None = left blank.
Answers = dict[str, dict[str, int | None]]


def state_name(state: str) -> str:
    return str(STATE_NAMES.get(state, state))


def text_in(texts: Mapping[str, str], lang: str) -> str:
    """An instrument text in the language, else in the first language it has."""
    return texts.get(lang) or next(iter(texts.values()), "")


# ----------------------------------------------------------------------------- targets


def refusal(target: CampaignTarget, now: datetime) -> str | None:
    """Why the target's paper form cannot be recorded now; None when it can."""
    if now < target.campaign.opens_at:
        return _("The campaign has not opened yet: paper forms are entered from its first day.")
    state = target.state
    if state == v.SCREENED_VALID:
        return _("This student's answers are already recorded in this campaign.")
    if state == v.RETEST_PENDING or target.submitted_at is not None:
        return _(
            "This student's answers wait for a retest: issue the retest first, then enter "
            "the retest's paper form."
        )
    if state == v.CONSENT_WITHHELD:
        return _("There is no consent for this student in this campaign: nothing is recorded.")
    if state in (v.TRANSFERRED, v.EXEMPT):
        return _(
            "This student is marked %(state)s: undo the mark first if the form should count.",
            state=state_name(state),
        )
    return None


def after_window(target: CampaignTarget, now: datetime) -> bool:
    return now >= target.campaign.closes_at


def _lock(target: CampaignTarget) -> None:
    """Re-read the target under a row lock (PostgreSQL), so that two entries of one form
    at the same moment are taken one after the other."""
    db.session.refresh(target, with_for_update=True)


# ----------------------------------------------------------------------------- values


def parse_cell(text: str, item: Item) -> int | None:
    """A cell as an option value of the item; None when empty. ValueError otherwise."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if not folded:
        return None
    if not WHOLE.fullmatch(folded):
        raise ValueError(folded)
    value = int(float(folded))
    if value not in item.values:
        raise ValueError(folded)
    return value


def allowed_values(item: Item) -> str:
    return ", ".join(str(value) for value in item.values)


# ----------------------------------------------------------------------------- entry


class EntryRefused(ValueError):
    """A paper form that cannot be recorded as entered; nothing was stored."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Mismatch:
    """An item whose second entry differs from the first (None = left blank)."""

    instrument: Instrument
    number: int
    item: Item
    first: int | None
    second: int | None


@dataclass
class EntryOutcome:
    # single: recorded at once; first: kept for a second entry; second: both entries
    # agreed and the answers are recorded; mismatch: they differ, nothing recorded.
    stage: str
    responses: list[ScreeningResponse] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    same_user: bool | None = None


def read_form(instruments: Sequence[Instrument], form: Mapping[str, str], lang: str) -> Answers:
    """The entry form's values: one field per item, named "<instrument>:<item>", holding
    an option value or "blank". Every item needs one of them (an item skipped by mistake
    would count as missing); a value outside the options, or a form left blank
    throughout, is refused."""
    answers: Answers = {}
    problems = []
    for instrument in instruments:
        title = text_in(instrument.title, lang)
        chosen: dict[str, int | None] = {}
        unchosen = []
        for number, item in enumerate(instrument.items, start=1):
            typed = (form.get(item_key(instrument, item.id)) or "").strip()
            if not typed:
                unchosen.append(str(number))
            elif typed == BLANK:
                chosen[item.id] = None
            else:
                try:
                    chosen[item.id] = parse_cell(typed, item)
                except ValueError:
                    problems.append(
                        _(
                            "%(instrument)s, item %(number)d: %(value)s is not one of its "
                            "options (%(allowed)s).",
                            instrument=title,
                            number=number,
                            value=typed[:20],
                            allowed=allowed_values(item),
                        )
                    )
        if unchosen:
            problems.append(
                _(
                    "%(instrument)s: choose an answer or “left blank” for item(s) %(items)s.",
                    instrument=title,
                    items=", ".join(unchosen),
                )
            )
        answers[instrument.id] = chosen
    if not problems and all(value is None for a in answers.values() for value in a.values()):
        problems.append(
            _(
                "Every item is blank: that is not a response. If the student did not "
                "answer, mark them absent instead."
            )
        )
    if problems:
        raise EntryRefused(problems)
    return answers


def pending_entries(target: CampaignTarget) -> dict[str, PaperEntry]:
    """The first entry waiting for its second, by instrument id (empty: none)."""
    rows = db.session.scalars(
        select(PaperEntry).where(
            PaperEntry.target_id == target.id, PaperEntry.attempt == target.attempt
        )
    )
    return {row.instrument_id: row for row in rows}


def first_entry_by(pending: Mapping[str, PaperEntry]) -> tuple[User | None, datetime | None]:
    """Who made the waiting first entry, and when."""
    if not pending:
        return None, None
    first = min(pending.values(), key=lambda row: row.entered_at)
    return db.session.get(User, first.entered_by_id), first.entered_at


def compare(
    instruments: Sequence[Instrument], pending: Mapping[str, PaperEntry], answers: Answers
) -> list[Mismatch]:
    mismatches = []
    for instrument in instruments:
        entry = pending.get(instrument.id)
        first = entry.answers if entry is not None else {}
        for number, item in enumerate(instrument.items, start=1):
            before = first.get(item.id)
            now = answers[instrument.id].get(item.id)
            if before != now:
                mismatches.append(Mismatch(instrument, number, item, before, now))
    return mismatches


def enter_form(
    target: CampaignTarget,
    instruments: Sequence[Instrument],
    answers: Answers,
    double: bool,
    user: User,
    now: datetime,
) -> EntryOutcome:
    """Record one paper form (see the module's notes on double entry). Raises
    EntryRefused when the target cannot take a paper form."""
    _lock(target)
    refused = refusal(target, now)
    if refused:
        raise EntryRefused([refused])
    pending = pending_entries(target)
    detail = {"campaign": target.campaign_id, "source": "paper"}
    if pending:
        same_user = all(row.entered_by_id == user.id for row in pending.values())
        mismatches = compare(instruments, pending, answers)
        if mismatches:
            outcome = EntryOutcome("mismatch", mismatches=mismatches, same_user=same_user)
            # The page shows the first entry's values of the differing items.
            record_event(
                "view_sensitive",
                target=target.student,
                user=user,
                detail={**detail, "page": "paper_mismatch", "items": len(mismatches)},
            )
        else:
            outcome = EntryOutcome(
                "second", _record(target, instruments, answers, "paper", user), same_user=same_user
            )
            services.delete_rows(PaperEntry, PaperEntry.id.in_([r.id for r in pending.values()]))
        detail |= {"stage": outcome.stage, "same_user": same_user}
    elif double:
        try:
            with db.session.begin_nested():
                for instrument in instruments:
                    row = PaperEntry(
                        target_id=target.id,
                        attempt=target.attempt,
                        instrument_id=instrument.id,
                        entered_by_id=user.id,
                    )
                    row.answers = dict(answers[instrument.id])
                    db.session.add(row)
        except IntegrityError:  # another first entry of the same form, at the same moment
            raise EntryRefused(
                [_("Someone entered this form at the same moment: reload the page.")]
            ) from None
        outcome = EntryOutcome("first")
        detail["stage"] = "first"
    else:
        outcome = EntryOutcome("single", _record(target, instruments, answers, "paper", user))
        detail["stage"] = "single"
    record_event("write_sensitive", target=target.student, user=user, detail=detail)
    db.session.flush()
    return outcome


def discard_first_entry(target: CampaignTarget, user: User) -> int:
    """Delete the waiting first entry (to start the double entry over)."""
    _lock(target)
    pending = pending_entries(target)
    if pending:
        services.delete_rows(PaperEntry, PaperEntry.id.in_([r.id for r in pending.values()]))
        record_event(
            "write_sensitive",
            target=target.student,
            user=user,
            detail={"campaign": target.campaign_id, "source": "paper", "stage": "discard"},
        )
        db.session.flush()
    return len(pending)


def _record(
    target: CampaignTarget,
    instruments: Sequence[Instrument],
    answers: Answers,
    source: str,
    user: User,
) -> list[ScreeningResponse]:
    """Score and store the form; answers autosaved online for this sitting are dropped
    (the paper form replaces them)."""
    split = {
        instrument.id: (
            {item: value for item, value in answers[instrument.id].items() if value is not None},
            {},
        )
        for instrument in instruments
    }
    # record_responses also deletes the sitting's autosaved answers.
    return services.record_responses(target, instruments, split, source=source, user=user)


# ----------------------------------------------------------------------------- import


@dataclass
class ImportOutcome:
    problems: list[ImportProblem] = field(default_factory=list)
    total_problems: int = 0
    rows: int = 0
    screened: int = 0
    retests: int = 0
    alerts: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def template_columns(instruments: Sequence[Instrument]) -> list[str]:
    """The import file's columns: respondent_id, then every item of the battery."""
    return [ID_COLUMN, *(item.id for instrument in instruments for item in instrument.items)]


def shared_item_ids(instruments: Sequence[Instrument]) -> list[str]:
    """Item ids that appear in more than one instrument of the battery."""
    seen: set[str] = set()
    shared = []
    for item_id in template_columns(instruments)[1:]:
        if item_id in seen and item_id not in shared:
            shared.append(item_id)
        seen.add(item_id)
    return shared


def _school_students(school: School) -> dict[str, Student]:
    students = db.session.scalars(
        select(Student).join(SchoolClass).where(SchoolClass.school_id == school.id)
    )
    return {student.student_number: student for student in students}


def _campaign_targets(campaign: Campaign, student_ids: list[int]) -> dict[int, CampaignTarget]:
    targets = db.session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.campaign_id == campaign.id)
        .where(CampaignTarget.student_id.in_(student_ids))
        .with_for_update()
    )
    return {target.student_id: target for target in targets}


def _waiting_first_entries(campaign: Campaign) -> set[int]:
    """Targets with a first paper entry waiting for its second."""
    return set(
        db.session.scalars(
            select(PaperEntry.target_id)
            .join(CampaignTarget, CampaignTarget.id == PaperEntry.target_id)
            .where(
                CampaignTarget.campaign_id == campaign.id,
                PaperEntry.attempt == CampaignTarget.attempt,
            )
        )
    )


def _row_answers(
    instruments: Sequence[Instrument], number: int, cells: Mapping[str, str]
) -> tuple[Answers, list[ImportProblem]]:
    answers: Answers = {}
    problems = []
    for instrument in instruments:
        answers[instrument.id] = {}
        for item in instrument.items:
            text = cells[item.id]
            try:
                answers[instrument.id][item.id] = parse_cell(text, item)
            except ValueError:
                message = _(
                    "Not one of the item's options (%(allowed)s).", allowed=allowed_values(item)
                )
                problems.append(ImportProblem(number, item.id, text, message))
    if not problems and all(value is None for a in answers.values() for value in a.values()):
        message = _("The row has no answers.")
        problems.append(ImportProblem(number, None, "", message))
    return answers, problems


def import_file(
    data: bytes,
    filename: str,
    school: School,
    campaign: Campaign,
    user: User,
    now: datetime,
) -> ImportOutcome:
    """Check every row of a file of paper answers for the school's targets in the
    campaign; record them all only if every row is good (all or nothing)."""
    outcome = ImportOutcome()
    instruments = battery(campaign)
    shared = shared_item_ids(instruments)
    if shared:
        message = _(
            "Instruments of this battery share item ids (%(items)s), so a file cannot tell "
            "them apart: enter these forms one by one.",
            items=", ".join(shared),
        )
        outcome.problems.append(ImportProblem(None, None, "", message))
        return outcome
    if now < campaign.opens_at:
        message = _("The campaign has not opened yet: paper forms are entered from its first day.")
        outcome.problems.append(ImportProblem(None, None, "", message))
        return outcome
    columns = template_columns(instruments)
    try:
        table = open_bytes(data, filename, web_limits(current_app.config))
        table.require(columns)
        rows, refused = text_rows(table, columns)
    except InputError as error:
        outcome.problems.append(read_problem(error))
        return outcome
    outcome.ignored_columns = [name for name in table.header if name and name not in columns]
    outcome.rows = len(rows)
    if not rows:
        outcome.problems.append(ImportProblem(None, None, "", _("The file has no data rows.")))
        return outcome
    # A row with a refused character is reported for it alone, and checked no further.
    outcome.problems += text_problems(refused)
    bad = {error.row for error in refused}
    good = _check_rows(
        [(number, cells) for number, cells in rows if number not in bad],
        instruments,
        school,
        campaign,
        now,
        outcome,
    )
    if outcome.problems:
        return _trim(outcome)
    for target, answers in good:
        responses = _record(target, instruments, answers, "import", user)
        outcome.alerts += any(response.critical for response in responses)
        if target.state == v.SCREENED_VALID:
            outcome.screened += 1
        else:
            outcome.retests += 1
    record_event(
        "import", target=school, user=user, detail={"campaign": campaign.id, "rows": len(good)}
    )
    db.session.flush()
    return outcome


def _check_rows(
    rows: list[tuple[int, dict[str, str]]],
    instruments: Sequence[Instrument],
    school: School,
    campaign: Campaign,
    now: datetime,
    outcome: ImportOutcome,
) -> list[tuple[CampaignTarget, Answers]]:
    students = _school_students(school)
    targets = _campaign_targets(campaign, [student.id for student in students.values()])
    waiting = _waiting_first_entries(campaign)
    seen: dict[str, int] = {}
    good = []
    for number, cells in rows:
        answers, problems = _row_answers(instruments, number, cells)
        typed = cells[ID_COLUMN]
        # The roster import's folding: full-width letters and digits match too.
        key = unicodedata.normalize("NFKC", typed).strip().upper()
        student = students.get(key)
        target = targets.get(student.id) if student is not None else None
        message = None
        if not key:
            message = _("The student number (学籍号) is empty.")
        elif key in seen:
            message = _("The same student appears again (first in row %(row)d).", row=seen[key])
        elif student is None:
            # Said the same way for an unknown number and another school's student: the
            # page does not tell whether a number exists elsewhere.
            message = _("No student of this school has this student number.")
        elif target is None:
            message = _("This student is not a target of this campaign.")
        else:
            message = refusal(target, now)
            if message is None and target.id in waiting:
                message = _(
                    "A first paper entry of this student waits for its second entry: "
                    "finish or discard it first."
                )
        if key and key not in seen:
            seen[key] = number
        if message is not None:
            problems.insert(0, ImportProblem(number, ID_COLUMN, typed, message))
        outcome.problems += problems
        if not problems:
            good.append((target, answers))
    return good


def _trim(outcome: ImportOutcome) -> ImportOutcome:
    outcome.problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    outcome.total_problems = len(outcome.problems)
    outcome.problems = outcome.problems[:PROBLEMS_KEPT]
    return outcome
