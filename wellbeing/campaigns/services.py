"""The writes of a campaign's life: open it and draw its targets, let a code in, autosave
an answer, submit (score, store, alert), record consent, mark absent/exempt/transferred,
and issue retests. Functions flush; the request (or command) commits once, so a failed
submission leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from screening.errors import ScreeningError
from screening.instruments import Instrument
from screening.scoring import Score, score_response
from wellbeing.campaigns import codes
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.battery import battery, catalog, item_key
from wellbeing.campaigns.models import (
    Campaign,
    CampaignInstrument,
    CampaignTarget,
    ConsentRecord,
    DraftAnswer,
    PaperEntry,
    ScreeningResponse,
)
from wellbeing.campaigns.signals import sitting_scored
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import (
    District,
    School,
    SchoolClass,
    Student,
    User,
)
from wellbeing.roster.signals import students_changed
from wellbeing.security.audit import record_event

NAME_LENGTH = 100
REASON_LENGTH = 200


class CampaignError(ValueError):
    """A campaign cannot be opened or changed as asked; `problems` says why."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class CodeRefused(Exception):
    """An access code that does not open the questionnaire. `reason` is one of:
    malformed, unknown, not_yet_open, closed, used, not_answerable."""

    def __init__(self, reason: str, target: CampaignTarget | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.target = target


class AnswerRefused(ValueError):
    """An answer the battery does not allow; nothing was stored."""


class MissingAnswers(ValueError):
    """Required items are unanswered: by instrument id, the item ids."""

    def __init__(self, missing: Mapping[str, list[str]]) -> None:
        super().__init__(", ".join(f"{k}: {', '.join(v)}" for k, v in missing.items()))
        self.missing = dict(missing)


# ----------------------------------------------------------------------------- keys


def delete_rows(model: type[db.Model], *where: Any) -> None:
    """Delete the matching rows. "fetch" forgets just the deleted objects; the default
    ("evaluate") scans every object the session holds, quadratic over a long batch."""
    statement = delete(model).where(*where).execution_options(synchronize_session="fetch")
    db.session.execute(statement)


def code_key() -> bytes:
    """The key of the access-code digest. Changing SECRET_KEY invalidates printed codes
    (the sealed copies let `reissue` print new slips)."""
    return ("access-code:" + current_app.config["SECRET_KEY"]).encode("utf-8")


def code_digest(code: str) -> str:
    return codes.digest(code, code_key())


def _assign_new_code(target: CampaignTarget) -> str:
    code = codes.new_code()
    target.code_digest = code_digest(code)
    target.code = code
    return code


# ----------------------------------------------------------------------------- opening


@dataclass(frozen=True)
class CampaignPlan:
    """What a campaign is opened with (the form's or the command's values)."""

    name: str
    instrument_refs: Sequence[str]
    school_ids: Sequence[int]
    grades: Sequence[int]
    opens_at: datetime
    closes_at: datetime
    consent_mode: str
    legal_basis: str
    notice_version: str
    show_results: bool = False
    languages: Sequence[str] = ("zh",)


def _plan_problems(plan: CampaignPlan, instruments: list[Instrument]) -> list[str]:
    problems = []
    if not plan.name.strip() or len(plan.name) > NAME_LENGTH:
        problems.append(_("A campaign needs a name of at most 100 characters."))
    if not plan.instrument_refs:
        problems.append(_("Choose at least one instrument."))
    if len(set(i.id for i in instruments)) != len(instruments):
        problems.append(_("An instrument appears twice in the battery."))
    if not plan.school_ids:
        problems.append(_("Choose at least one school."))
    if not plan.grades or any(not 1 <= g <= 12 for g in plan.grades):
        problems.append(_("Choose grades between 1 and 12."))
    if plan.closes_at <= plan.opens_at:
        problems.append(_("The window must close after it opens."))
    if plan.consent_mode not in v.CONSENT_MODES or plan.legal_basis not in v.LEGAL_BASES:
        problems.append(_("Choose a consent mode and a legal basis."))
    # PIPL art. 31: for a child under 14, consent means the guardian's explicit consent,
    # which a notice with opt-out is not.
    if plan.legal_basis == v.GUARDIAN_CONSENT and plan.consent_mode != v.OPT_IN:
        problems.append(_("When guardians' consent is the legal basis, consent must be opt-in."))
    if not plan.notice_version.strip():
        problems.append(_("Give the version of the notice guardians receive."))
    if not plan.languages:
        problems.append(_("Choose at least one language."))
    for instrument in instruments:
        missing = [lang for lang in plan.languages if lang not in instrument.languages]
        if missing:
            problems.append(
                _(
                    "%(instrument)s has no text in %(languages)s.",
                    instrument=instrument.ref,
                    languages=", ".join(missing),
                )
            )
    return problems


def open_campaign(
    district: District, owner_school: School | None, plan: CampaignPlan, user: User | None
) -> Campaign:
    """Create the campaign and draw its targets, each with an access code."""
    problems, instruments = [], []
    for ref in plan.instrument_refs:
        try:
            instruments.append(catalog().get(ref))
        except ScreeningError as error:
            problems.append(str(error))
    problems += _plan_problems(plan, instruments)
    schools = list(db.session.scalars(select(School).where(School.id.in_(plan.school_ids))))
    if any(school.district_id != district.id for school in schools) or len(schools) != len(
        set(plan.school_ids)
    ):
        problems.append(_("Every school must belong to the district."))
    if owner_school is not None and any(school.id != owner_school.id for school in schools):
        problems.append(_("A school's campaign covers that school only."))
    if problems:
        raise CampaignError(problems)
    campaign = Campaign(
        district=district,
        owner_school=owner_school,
        name=plan.name.strip(),
        grades=sorted(set(plan.grades)),
        opens_at=plan.opens_at,
        closes_at=plan.closes_at,
        consent_mode=plan.consent_mode,
        legal_basis=plan.legal_basis,
        notice_version=plan.notice_version.strip(),
        show_results=plan.show_results,
        languages=list(plan.languages),
        created_by_id=user.id if user else None,
        schools=schools,
        instruments=[
            CampaignInstrument(
                position=position,
                instrument_id=instrument.id,
                version=instrument.version,
                content_hash=instrument.content_hash,
            )
            for position, instrument in enumerate(instruments)
        ],
    )
    db.session.add(campaign)
    db.session.flush()
    drawn = refresh_population(campaign)
    record_event(
        "campaign_open",
        target=district if owner_school is None else owner_school,
        user=user,
        detail={"campaign": campaign.id, "targets": drawn.added},
    )
    return campaign


@dataclass(frozen=True)
class CampaignEdit:
    name: str
    opens_at: datetime
    closes_at: datetime
    notice_version: str


def edit_campaign(campaign: Campaign, edit: CampaignEdit, user: User) -> list[str]:
    """Change the name, the window or the notice version; audited with what changed.
    Returns the problems (nothing changed) or [] (changed and flushed)."""
    problems = []
    name, notice = edit.name.strip(), edit.notice_version.strip()
    if not name or len(name) > 100:
        problems.append(_("A campaign needs a name of at most 100 characters."))
    if edit.closes_at <= edit.opens_at:
        problems.append(_("The window must close after it opens."))
    if not notice or len(notice) > 40:
        problems.append(_("Give the version of the notice guardians receive."))
    if problems:
        return problems
    wanted = {
        "name": name,
        "opens_at": edit.opens_at,
        "closes_at": edit.closes_at,
        "notice_version": notice,
    }
    changed = {}
    for attribute, value in wanted.items():
        old = getattr(campaign, attribute)
        if old != value:
            changed[attribute] = [_plain(old), _plain(value)]
            setattr(campaign, attribute, value)
    if changed:
        record_event(
            "campaign_edit",
            target=campaign,
            user=user,
            detail={"campaign": campaign.id, "changed": changed},
        )
        db.session.flush()
    return []


def _plain(value: Any) -> Any:
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Drawn:
    added: int
    transferred: int


def _population(campaign: Campaign) -> Any:
    return (
        select(Student.id, Student.class_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            Student.status == "enrolled",
            SchoolClass.school_id.in_([school.id for school in campaign.schools]),
            SchoolClass.grade.in_(campaign.grades),
        )
    )


def _initial_state(campaign: Campaign) -> tuple[str, str | None]:
    if campaign.consent_mode == v.OPT_IN:
        return v.CONSENT_WITHHELD, v.REASON_AWAITING_CONSENT
    return v.NOT_STARTED, None


LEFT_POPULATION = "left_population"


def refresh_population(campaign: Campaign) -> Drawn:
    """Bring the targets in line with the roster: new arrivals get a code, students who
    moved class within the population follow to their new class, those who left it are
    marked transferred (unless already screened), and those who came back resume."""
    population = dict(db.session.execute(_population(campaign)).all())
    existing = {
        target.student_id: target
        for target in db.session.scalars(
            select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
        )
    }
    state, reason = _initial_state(campaign)
    added = 0
    for student_id, class_id in population.items():
        if student_id in existing:
            _follow(existing[student_id], class_id)
            continue
        target = CampaignTarget(
            campaign_id=campaign.id,
            student_id=student_id,
            class_id=class_id,
            state=state,
            reason=reason,
        )
        _assign_new_code(target)
        db.session.add(target)
        added += 1
    transferred = 0
    for student_id, target in existing.items():
        if student_id not in population and target.state not in (v.SCREENED_VALID, v.TRANSFERRED):
            target.state, target.reason, target.approved_by_id = (
                v.TRANSFERRED,
                LEFT_POPULATION,
                None,
            )
            target.state_changed_at = utcnow()
            transferred += 1
    db.session.flush()
    return Drawn(added, transferred)


def refresh_open_campaigns(now: datetime | None = None) -> dict[int, Drawn]:
    """Refresh every campaign whose window has not closed (after a roster change)."""
    now = now or utcnow()
    campaigns = db.session.scalars(select(Campaign).where(Campaign.closes_at > now))
    return {campaign.id: refresh_population(campaign) for campaign in campaigns}


@students_changed.connect
def _follow_the_roster(_sender: object) -> tuple[str, int]:
    """A roster import changed students: every open campaign draws arrivals and follows
    moves and departures at once."""
    return "campaigns", len(refresh_open_campaigns())


def _follow(target: CampaignTarget, class_id: int) -> None:
    """A target still (or again) in the population: in its current class, and resumed if
    the draw had marked it as gone."""
    if target.class_id != class_id:
        target.class_id = class_id
    if target.state == v.TRANSFERRED and target.reason == LEFT_POPULATION:
        _resume_state(target)


# ----------------------------------------------------------------------------- the runner


def target_for_code(typed: str, now: datetime) -> CampaignTarget:
    """The target whose code the student typed, if it may answer now; else CodeRefused."""
    code = codes.normalise(typed)
    if code is None:
        raise CodeRefused("malformed")
    target = db.session.scalar(
        select(CampaignTarget).where(CampaignTarget.code_digest == code_digest(code))
    )
    if target is None:
        raise CodeRefused("unknown")
    check_answerable(target, now)
    return target


def check_answerable(target: CampaignTarget, now: datetime) -> None:
    campaign = target.campaign
    if now < campaign.opens_at:
        raise CodeRefused("not_yet_open", target)
    if now >= campaign.closes_at:
        raise CodeRefused("closed", target)
    if target.submitted_at is not None:  # this sitting's answers are in: a retest has a new code
        raise CodeRefused("used", target)
    # An absent student who turns up later may still answer.
    if target.state not in (*v.ANSWERABLE, v.ABSENT):
        raise CodeRefused("not_answerable", target)


def start(target: CampaignTarget, language: str | None = None) -> None:
    if language in target.campaign.languages:
        target.language = language
    elif target.language is None:
        target.language = target.campaign.languages[0]


def end_runner_sessions(target: CampaignTarget) -> int:
    """End every runner session on the target's code: each holds the version it was
    opened with. Returns the new version, for a session opening now."""
    # An UPDATE of the expression, not a read-modify-write: two at once both count.
    target.session_version = CampaignTarget.session_version + 1
    db.session.flush()
    return target.session_version


def _mark_started(target: CampaignTarget) -> None:
    if target.state != v.IN_PROGRESS:
        target.state = v.IN_PROGRESS
        target.reason = None
        target.state_changed_at = utcnow()
    if target.started_at is None:
        target.started_at = utcnow()


def _find_item(target: CampaignTarget, instrument_id: str, item_id: str) -> Instrument:
    for instrument in battery(target.campaign):
        if instrument.id == instrument_id and item_id in instrument.positions:
            return instrument
    raise AnswerRefused(_("This question is not part of the questionnaire."))


def _checked_seconds(seconds: Any) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise AnswerRefused(_("The time on a question must be a number of seconds."))
    if not 0 <= seconds <= 86_400:
        raise AnswerRefused(_("The time on a question must be a number of seconds."))
    return round(float(seconds), 2)


def check_answer(
    target: CampaignTarget, instrument_id: str, item_id: str, value: Any
) -> Instrument:
    """The instrument the answer belongs to, if the answer is one of the item's options;
    else AnswerRefused."""
    instrument = _find_item(target, instrument_id, item_id)
    item = instrument.items[instrument.positions[item_id]]
    if isinstance(value, bool) or not isinstance(value, int) or value not in item.values:
        raise AnswerRefused(_("That answer is not one of the question's options."))
    return instrument


def autosave(
    target: CampaignTarget, instrument_id: str, item_id: str, value: Any, seconds: Any = None
) -> DraftAnswer:
    """Store one answer (replacing an earlier one to the same item)."""
    instrument = check_answer(target, instrument_id, item_id, value)
    answer = {"value": value, "seconds": _checked_seconds(seconds)}
    key = item_key(instrument, item_id)
    draft = _draft(target, key)
    if draft is None:
        draft = DraftAnswer(target_id=target.id, attempt=target.attempt, item_key=key)
        draft.answer = answer
        try:
            with db.session.begin_nested():
                db.session.add(draft)
        except IntegrityError:  # the same item saved at the same instant from two tabs
            draft = _draft(target, key)
            draft.answer = answer
    else:
        draft.answer = answer
        draft.saved_at = utcnow()
    _mark_started(target)
    db.session.flush()
    return draft


def _draft(target: CampaignTarget, key: str) -> DraftAnswer | None:
    return db.session.scalar(
        select(DraftAnswer).where(
            DraftAnswer.target_id == target.id,
            DraftAnswer.attempt == target.attempt,
            DraftAnswer.item_key == key,
        )
    )


def saved_answers(target: CampaignTarget) -> dict[str, dict[str, Any]]:
    """The autosaved answers of the current attempt, by "instrument:item"."""
    drafts = db.session.scalars(
        select(DraftAnswer).where(
            DraftAnswer.target_id == target.id, DraftAnswer.attempt == target.attempt
        )
    )
    return {draft.item_key: draft.answer for draft in drafts}


def _split(
    instruments: Iterable[Instrument], saved: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[dict[str, int], dict[str, float]]]:
    """Saved answers as (answers, seconds) per instrument id."""
    split: dict[str, tuple[dict[str, int], dict[str, float]]] = {}
    for instrument in instruments:
        answers, seconds = {}, {}
        for item in instrument.items:
            entry = saved.get(item_key(instrument, item.id))
            if entry is not None:
                answers[item.id] = entry["value"]
                if entry.get("seconds") is not None:
                    seconds[item.id] = entry["seconds"]
        split[instrument.id] = (answers, seconds)
    return split


def missing_required(
    instruments: Iterable[Instrument], answers: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[str]]:
    missing = {}
    for instrument in instruments:
        unanswered = [
            item.id
            for item in instrument.items
            if item.required and answers.get(instrument.id, {}).get(item.id) is None
        ]
        if unanswered:
            missing[instrument.id] = unanswered
    return missing


def submit(target: CampaignTarget, now: datetime) -> list[ScreeningResponse]:
    """Score and store the autosaved answers as the student's responses, in the
    request's one transaction; refuse (keeping every saved answer) if a required item
    is unanswered."""
    check_answerable(target, now)
    instruments = battery(target.campaign)
    split = _split(instruments, saved_answers(target))
    missing = missing_required(instruments, {k: a for k, (a, _) in split.items()})
    if missing:
        raise MissingAnswers(missing)
    return record_responses(target, instruments, split, source="online", user=None)


def submit_saved(target: CampaignTarget, user: User) -> list[ScreeningResponse]:
    """Submit, for a student who answered every required item but never pressed Submit
    (the bell rang, the window closed), the answers they saved. Refused while a required
    item is unanswered: the student finishes with the code, or sits a retest."""
    if target.state != v.IN_PROGRESS:
        raise CampaignError([_("Only a student with saved answers in progress can be submitted.")])
    instruments = battery(target.campaign)
    split = _split(instruments, saved_answers(target))
    missing = missing_required(instruments, {k: a for k, (a, _) in split.items()})
    if missing:
        count = sum(len(items) for items in missing.values())
        raise CampaignError(
            [
                _(
                    "%(count)d required question(s) are unanswered: the student must finish.",
                    count=count,
                )
            ]
        )
    detail = {"campaign": target.campaign_id, "stage": "submit_saved"}
    record_event("write_sensitive", target=target.student, user=user, detail=detail)
    return record_responses(target, instruments, split, source="online", user=user)


def record_responses(
    target: CampaignTarget,
    instruments: Sequence[Instrument],
    split: Mapping[str, tuple[Mapping[str, int], Mapping[str, float]]],
    source: str,
    user: User | None,
) -> list[ScreeningResponse]:
    """Score each instrument's answers, store them sealed with the scores and the
    version hash, raise a crisis alert for a critical item, and settle the target's
    state: screened_valid, or retest_pending with the failed rules. Then announce the
    sitting (the review tiers it and raises any crisis alert, in this transaction)."""
    responses, reasons = [], []
    for instrument in instruments:
        answers, seconds = split[instrument.id]
        score = score_response(instrument, answers, seconds)
        response = _response(target, instrument, answers, seconds, score, source, user)
        responses.append(response)
        reasons += [f"{instrument.id}:{reason}" for reason in score.invalid_reasons]
    # The sitting's answers are in: its autosaves and any paper first entry are done with.
    delete_rows(
        DraftAnswer, DraftAnswer.target_id == target.id, DraftAnswer.attempt == target.attempt
    )
    delete_rows(PaperEntry, PaperEntry.target_id == target.id, PaperEntry.attempt == target.attempt)
    target.submitted_at = utcnow()
    if target.started_at is None:
        target.started_at = target.submitted_at
    target.state = v.RETEST_PENDING if reasons else v.SCREENED_VALID
    target.reason = "; ".join(reasons)[:REASON_LENGTH] if reasons else None
    target.state_changed_at = target.submitted_at
    db.session.flush()
    sitting_scored.send(target, responses=responses, instruments=list(instruments))
    return responses


def _response(
    target: CampaignTarget,
    instrument: Instrument,
    answers: Mapping[str, int],
    seconds: Mapping[str, float],
    score: Score,
    source: str,
    user: User | None,
) -> ScreeningResponse:
    response = ScreeningResponse(
        target_id=target.id,
        student_id=target.student_id,
        attempt=target.attempt,
        instrument_id=instrument.id,
        version=instrument.version,
        content_hash=instrument.content_hash,
        source=source,
        valid=score.valid,
        missing=score.missing,
        entered_by_id=user.id if user else None,
    )
    response.score = {
        "total": score.total,
        "band": score.band,
        "critical": score.critical,
        "subscales": dict(score.subscales),
        "invalid_reasons": list(score.invalid_reasons),
    }
    response.raw = {"answers": dict(answers), "seconds": dict(seconds)}
    db.session.add(response)
    db.session.flush()
    return response


# ----------------------------------------------------------------------------- the ledger


def mark(target: CampaignTarget, state: str, reason: str, user: User) -> None:
    """Mark a target absent, transferred or exempt (exempt records the approver)."""
    reason = reason.strip()
    if state not in v.MARKABLE:
        raise CampaignError([_("That state cannot be set by hand.")])
    if not reason or len(reason) > REASON_LENGTH:
        raise CampaignError([_("Give a reason of at most 200 characters.")])
    if target.state in (v.SCREENED_VALID, v.CONSENT_WITHHELD):
        raise CampaignError([_("A screened student, or one without consent, keeps that state.")])
    if state == v.ABSENT and target.submitted_at is not None:
        raise CampaignError([_("This student's answers are in: issue a retest instead.")])
    approver = user.id if state == v.EXEMPT else None  # read first: it may autoflush
    target.state, target.reason, target.approved_by_id = state, reason, approver
    target.state_changed_at = utcnow()
    record_event("coverage_mark", target=target.student, user=user, detail={"state": state})
    db.session.flush()


def unmark(target: CampaignTarget, user: User) -> None:
    """Undo an absent, transferred or exempt mark: back to where the answers are."""
    if target.state not in v.MARKABLE:
        raise CampaignError([_("Only absent, transferred or exempt can be undone.")])
    _resume_state(target)
    record_event("coverage_mark", target=target.student, user=user, detail={"state": "undo"})
    db.session.flush()


def _resume_state(target: CampaignTarget) -> None:
    """Settle the state from the facts, once no hand mark holds it: the guardian's
    decision in force first, then this sitting's responses, then saved answers."""
    withheld = _withheld_reason(target)
    responses = _live_responses(target)
    if withheld:
        state, reason = v.CONSENT_WITHHELD, withheld
    elif responses:
        failed = [f"{r.instrument_id}:{why}" for r in responses for why in r.invalid_reasons]
        state = v.RETEST_PENDING if failed else v.SCREENED_VALID
        reason = "; ".join(failed)[:REASON_LENGTH] or None
    else:
        if target.submitted_at is not None:  # the answers were erased: a new sitting
            _new_sitting(target)
        state = v.IN_PROGRESS if saved_answers(target) else v.NOT_STARTED
        reason = None
    target.state, target.reason, target.approved_by_id = state, reason, None
    target.state_changed_at = utcnow()


def _live_responses(target: CampaignTarget) -> list[ScreeningResponse]:
    """This sitting's responses, unless erased by a withdrawal."""
    return list(
        db.session.scalars(
            select(ScreeningResponse).where(
                ScreeningResponse.target_id == target.id,
                ScreeningResponse.attempt == target.attempt,
                ScreeningResponse.withdrawn_at.is_(None),
            )
        )
    )


def _withheld_reason(target: CampaignTarget) -> str | None:
    """Why the guardian's decision in force keeps the student out, if it does."""
    decision = current_consent(target.campaign_id, target.student_id)
    if decision is not None and decision.decision == v.WITHDRAWAL:
        return v.REASON_WITHDRAWN
    if decision is not None and decision.decision == v.OPT_OUT_DECISION:
        erased = db.session.scalar(
            select(ScreeningResponse.id)
            .where(
                ScreeningResponse.target_id == target.id,
                ScreeningResponse.withdrawn_at.is_not(None),
            )
            .limit(1)
        )
        return v.REASON_WITHDRAWN if erased else v.REASON_OPTED_OUT
    if target.campaign.consent_mode == v.OPT_IN and decision is None:
        return v.REASON_AWAITING_CONSENT
    return None


def _new_sitting(target: CampaignTarget) -> str:
    """The next attempt, with a new code (the last one was used)."""
    target.attempt += 1
    target.submitted_at = None
    target.started_at = None
    return _assign_new_code(target)


def issue_retest(target: CampaignTarget, user: User) -> str:
    """A new sitting for a student whose answers failed a validity rule: a new code,
    the state back to not_started. The failed attempt's responses are kept."""
    if target.state != v.RETEST_PENDING:
        raise CampaignError([_("Only a student waiting for a retest can be given one.")])
    code = _new_sitting(target)
    target.state, target.reason = v.NOT_STARTED, None
    target.state_changed_at = utcnow()
    record_event("retest_issue", target=target.student, user=user)
    db.session.flush()
    return code


def reissue_code(target: CampaignTarget, user: User) -> str:
    """A new code for a lost slip; the old one stops working. Saved answers stay."""
    if target.state not in (*v.ANSWERABLE, v.ABSENT) or target.submitted_at is not None:
        raise CampaignError([_("This student cannot answer, so needs no new code.")])
    code = _assign_new_code(target)
    record_event("code_reissue", target=target.student, user=user)
    db.session.flush()
    return code


# ----------------------------------------------------------------------------- consent


@dataclass(frozen=True)
class ConsentDecision:
    decision: str
    method: str
    guardian: str
    decided_on: datetime
    note: str = ""


def record_consent(target: CampaignTarget, decision: ConsentDecision, user: User) -> ConsentRecord:
    """Record a guardian's decision and apply it: consent lets the student answer; an
    opt-out or a withdrawal stops it, erases answers not yet submitted and, for a
    withdrawal, the raw answers already submitted (their scores and any crisis alert
    stay: the school's duty of care does not end with the consent)."""
    problems = []
    if decision.decision not in v.CONSENT_DECISIONS:
        problems.append(_("Choose consent, opt-out or withdrawal."))
    if decision.method not in v.CONSENT_METHODS:
        problems.append(_("Say how the decision was given: paper, verbal or online."))
    if not decision.guardian.strip() or len(decision.guardian) > 60:
        problems.append(_("Name the guardian who decided (at most 60 characters)."))
    if len(decision.note) > REASON_LENGTH:
        problems.append(_("Give a reason of at most 200 characters."))
    if problems:
        raise CampaignError(problems)
    campaign = target.campaign
    record = ConsentRecord(
        campaign_id=campaign.id,
        student_id=target.student_id,
        decision=decision.decision,
        method=decision.method,
        guardian=decision.guardian.strip(),
        notice_version=campaign.notice_version,
        decided_on=decision.decided_on,
        recorded_by_id=user.id,
        note=decision.note.strip() or None,
    )
    db.session.add(record)
    db.session.flush()
    in_force = current_consent(campaign.id, target.student_id) is record
    if in_force and decision.decision != v.CONSENT:
        _erase(target, decision.decision)
    # Transferred and exempt stay (the decision is recorded); an absent student keeps
    # being absent when consent arrives.
    held = (v.TRANSFERRED, v.EXEMPT) + ((v.ABSENT,) if decision.decision == v.CONSENT else ())
    if target.state not in held:
        _resume_state(target)
    record_event(
        "consent_record",
        target=target.student,
        user=user,
        detail={"campaign": campaign.id, "decision": decision.decision},
    )
    db.session.flush()
    return record


def _erase(target: CampaignTarget, decision: str) -> None:
    """An opt-out or withdrawal: answers not submitted go; so do submitted raw answers
    after a withdrawal (or an opt-out that comes after submitting)."""
    delete_rows(DraftAnswer, DraftAnswer.target_id == target.id)
    delete_rows(PaperEntry, PaperEntry.target_id == target.id)
    if decision == v.WITHDRAWAL or target.submitted_at is not None:
        now = utcnow()
        for response in db.session.scalars(
            select(ScreeningResponse).where(
                ScreeningResponse.target_id == target.id,
                ScreeningResponse.withdrawn_at.is_(None),
            )
        ):
            response.raw = None
            response.withdrawn_at = now
    db.session.flush()


def current_consent(campaign_id: int, student_id: int) -> ConsentRecord | None:
    return db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.campaign_id == campaign_id, ConsentRecord.student_id == student_id)
        .order_by(
            ConsentRecord.decided_on.desc(),
            ConsentRecord.recorded_at.desc(),
            ConsentRecord.id.desc(),
        )
        .limit(1)
    )
