"""The writes of a campaign's life: open it and draw its targets, let a code in, autosave
an answer, submit (score, store, alert), record consent, mark absent/exempt/transferred,
and issue retests. Functions flush; the request (or command) commits once, so a failed
submission leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
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
    CrisisAlert,
    DraftAnswer,
    ScreeningResponse,
)
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.services import counselors_of_school, notify
from wellbeing.roster.models import District, School, SchoolClass, Student, User
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


def refresh_population(campaign: Campaign) -> Drawn:
    """Draw targets for students now in the population (new arrivals get a code), and
    mark targets who left it as transferred unless they were already screened."""
    population = dict(db.session.execute(_population(campaign)).all())
    existing = dict(
        db.session.execute(
            select(CampaignTarget.student_id, CampaignTarget.id).where(
                CampaignTarget.campaign_id == campaign.id
            )
        ).all()
    )
    state, reason = _initial_state(campaign)
    added = 0
    for student_id, class_id in population.items():
        if student_id in existing:
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
    gone = [tid for sid, tid in existing.items() if sid not in population]
    transferred = 0
    if gone:
        transferred = db.session.execute(
            update(CampaignTarget)
            .where(
                CampaignTarget.id.in_(gone),
                CampaignTarget.state.not_in((v.SCREENED_VALID, v.TRANSFERRED)),
            )
            .values(state=v.TRANSFERRED, reason="left_population", state_changed_at=utcnow())
        ).rowcount
    db.session.flush()
    return Drawn(added, transferred)


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
    if target.submitted_at is not None and target.state in (v.SCREENED_VALID, v.RETEST_PENDING):
        raise CodeRefused("used", target)
    # An absent student who turns up later may still answer.
    if target.state not in (*v.ANSWERABLE, v.ABSENT):
        raise CodeRefused("not_answerable", target)


def start(target: CampaignTarget, language: str | None = None) -> None:
    if language in target.campaign.languages:
        target.language = language
    elif target.language is None:
        target.language = target.campaign.languages[0]


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


def autosave(
    target: CampaignTarget, instrument_id: str, item_id: str, value: Any, seconds: Any = None
) -> DraftAnswer:
    """Store one answer (replacing an earlier one to the same item)."""
    instrument = _find_item(target, instrument_id, item_id)
    item = instrument.items[instrument.positions[item_id]]
    if isinstance(value, bool) or not isinstance(value, int) or value not in item.values:
        raise AnswerRefused(_("That answer is not one of the question's options."))
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
    responses = record_responses(target, instruments, split, source="online", user=None)
    db.session.execute(
        delete(DraftAnswer).where(
            DraftAnswer.target_id == target.id, DraftAnswer.attempt == target.attempt
        )
    )
    return responses


def record_responses(
    target: CampaignTarget,
    instruments: Sequence[Instrument],
    split: Mapping[str, tuple[Mapping[str, int], Mapping[str, float]]],
    source: str,
    user: User | None,
) -> list[ScreeningResponse]:
    """Score each instrument's answers, store them sealed with the scores and the
    version hash, raise a crisis alert for a critical item, and settle the target's
    state: screened_valid, or retest_pending with the failed rules."""
    responses, reasons = [], []
    for instrument in instruments:
        answers, seconds = split[instrument.id]
        score = score_response(instrument, answers, seconds)
        response = _response(target, instrument, answers, seconds, score, source, user)
        responses.append(response)
        reasons += [f"{instrument.id}:{reason}" for reason in score.invalid_reasons]
        if score.critical:
            raise_crisis_alert(target, instrument, response, answers)
    target.submitted_at = utcnow()
    if target.started_at is None:
        target.started_at = target.submitted_at
    target.state = v.RETEST_PENDING if reasons else v.SCREENED_VALID
    target.reason = "; ".join(reasons)[:REASON_LENGTH] if reasons else None
    target.state_changed_at = target.submitted_at
    db.session.flush()
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
        total=score.total,
        band=score.band,
        critical=score.critical,
        valid=score.valid,
        missing=score.missing,
        subscales=dict(score.subscales),
        invalid_reasons=list(score.invalid_reasons),
        entered_by_id=user.id if user else None,
    )
    response.raw = {"answers": dict(answers), "seconds": dict(seconds)}
    db.session.add(response)
    db.session.flush()
    return response


def raise_crisis_alert(
    target: CampaignTarget,
    instrument: Instrument,
    response: ScreeningResponse,
    answers: Mapping[str, int],
) -> CrisisAlert:
    """Record the alert and tell the school's counselors at once (in the inbox)."""
    endorsed = [instrument.items[c.item].id for c in instrument.critical]
    items = [
        item_id
        for item_id, c in zip(endorsed, instrument.critical, strict=True)
        if answers.get(item_id) is not None and answers[item_id] >= c.min
    ]
    student = target.student
    school_id = student.school_class.school_id
    alert = CrisisAlert(
        student_id=student.id,
        school_id=school_id,
        campaign_id=target.campaign_id,
        response_id=response.id,
        source="critical_item",
        detail=f"{instrument.ref}: {', '.join(items)}"[:200],
    )
    db.session.add(alert)
    db.session.flush()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _(
            "Crisis alert: %(student)s (%(class)s) endorsed a critical item in %(campaign)s. "
            "Please see the student today.",
            student=student.name,
            **{"class": student.school_class.name},
            campaign=target.campaign.name,
        )
    for counselor in counselors_of_school(school_id):
        notify(counselor.id, "crisis_alert", message, link=_alert_link(alert))
    record_event("crisis_alert", target=student, detail={"alert": alert.id})
    return alert


def _alert_link(alert: CrisisAlert) -> str | None:
    try:
        return url_for("campaigns.alerts", school_id=alert.school_id)
    except Exception:  # outside a request (a command): no URL to build
        return None


def acknowledge_alert(alert: CrisisAlert, user: User) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = user.id
        record_event("alert_acknowledge", target=alert.student, user=user)
        db.session.flush()


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
    """The state a target returns to when nothing blocks it any more."""
    if target.submitted_at is not None and db.session.scalar(
        select(ScreeningResponse.id).where(
            ScreeningResponse.target_id == target.id,
            ScreeningResponse.attempt == target.attempt,
            ScreeningResponse.withdrawn_at.is_(None),
        )
    ):
        valid = all(
            db.session.scalars(
                select(ScreeningResponse.valid).where(
                    ScreeningResponse.target_id == target.id,
                    ScreeningResponse.attempt == target.attempt,
                )
            )
        )
        target.state = v.SCREENED_VALID if valid else v.RETEST_PENDING
    elif saved_answers(target):
        target.state = v.IN_PROGRESS
    else:
        target.state = v.NOT_STARTED
    target.reason = None
    target.approved_by_id = None
    target.state_changed_at = utcnow()


def issue_retest(target: CampaignTarget, user: User) -> str:
    """A new sitting for a student whose answers failed a validity rule: a new code,
    the state back to not_started. The failed attempt's responses are kept."""
    if target.state != v.RETEST_PENDING:
        raise CampaignError([_("Only a student waiting for a retest can be given one.")])
    target.attempt += 1
    target.submitted_at = None
    target.started_at = None
    target.state = v.NOT_STARTED
    target.reason = None
    target.state_changed_at = utcnow()
    code = _assign_new_code(target)
    record_event("retest_issue", target=target.student, user=user)
    db.session.flush()
    return code


def reissue_code(target: CampaignTarget, user: User) -> str:
    """A new code for a lost slip; the old one stops working. Saved answers stay."""
    if target.state not in (*v.ANSWERABLE, v.ABSENT):
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
    if decision.decision == v.CONSENT:
        if target.state == v.CONSENT_WITHHELD:
            _resume_state(target)
    else:
        _withhold(target, decision.decision)
    record_event(
        "consent_record",
        target=target.student,
        user=user,
        detail={"campaign": campaign.id, "decision": decision.decision},
    )
    db.session.flush()
    return record


def _withhold(target: CampaignTarget, decision: str) -> None:
    db.session.execute(delete(DraftAnswer).where(DraftAnswer.target_id == target.id))
    now = utcnow()
    erased = 0
    if decision == v.WITHDRAWAL or target.submitted_at is not None:
        for response in db.session.scalars(
            select(ScreeningResponse).where(
                ScreeningResponse.target_id == target.id,
                ScreeningResponse.withdrawn_at.is_(None),
            )
        ):
            response.raw = None
            response.withdrawn_at = now
            erased += 1
    target.state = v.CONSENT_WITHHELD
    withdrawn = erased or decision == v.WITHDRAWAL
    target.reason = v.REASON_WITHDRAWN if withdrawn else v.REASON_OPTED_OUT
    target.approved_by_id = None
    target.state_changed_at = now


def current_consent(campaign_id: int, student_id: int) -> ConsentRecord | None:
    return db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.campaign_id == campaign_id, ConsentRecord.student_id == student_id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    )
