"""The student's questionnaire runner: enter the code on the slip, answer one instrument
per section (every answer autosaved), submit, and a calm closing page.

Students do not log in. A valid code puts `session["runner"] = {"target": id, "digest":
code_digest, "version": session_version, "seen": time}` in Flask's signed session cookie,
and every later request checks it again: the target still exists, its code digest is
still the session's (a reissued or retest code ends the old session), its session
version too (pausing, or entering the code again, raises the target's version: every
older session ends on the server, a copied cookie included), the session was not left
idle, and the questionnaire can still be answered.

HTTP contract (the load benchmark relies on it): GET/POST /s/ (code entry), GET/POST
/s/run/<section>, POST /s/answer (JSON autosave), POST /s/submit, GET /s/done.
The autosave is the hot path: no audit row, and only the queries it needs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import refresh as refresh_babel
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from screening.instruments import Instrument
from wellbeing.campaigns import services
from wellbeing.campaigns.battery import battery, item_key
from wellbeing.campaigns.models import Campaign, CampaignTarget, DraftAnswer, ScreeningResponse
from wellbeing.campaigns.services import AnswerRefused, CodeRefused, MissingAnswers
from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.security.limits import check_code_ceiling, count_refused_code
from wellbeing.security.policy import public
from wellbeing.text_input import cleaned_or_empty

bp = Blueprint("runner", __name__, url_prefix="/s")

RUNNER = "runner"  # session key: the target being answered and its code digest
DONE = "runner_done"  # session key: the target just submitted, for the closing page only

# Why a runner session (or a typed code) does not open the questionnaire: the services'
# CodeRefused reasons, plus these.
NO_SESSION = "no_session"
REPLACED = "replaced"
ENDED = "ended"  # paused, or the code entered again (elsewhere)
IDLE = "idle"
# The autosave's JSON is a few dozen bytes; anything much larger is not an answer.
ANSWER_MAX_BYTES = 2048

# Status of a refused code on the entry page (the contract's).
REFUSAL_STATUS = {
    "malformed": 400,
    "unknown": 400,
    "used": 403,
    "not_answerable": 403,
    "not_yet_open": 403,
    "closed": 410,
}
# Languages are named in their own language on the switch.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


# ----------------------------------------------------------------------------- helpers


def _message(reason: str, campaign: Campaign | None = None) -> str:
    """What a student is told when a code or a runner session does not open the
    questionnaire."""
    window = (
        {"opens": local_text(campaign.opens_at), "closes": local_text(campaign.closes_at)}
        if campaign is not None
        else None
    )
    if reason in ("malformed", "unknown"):
        return _(
            "We could not find this code. Please check the code on your slip and type it again."
        )
    if reason == "used":
        return _(
            "This code has already been used: the answers were submitted. "
            "If you have not answered yet, please see your teacher."
        )
    if reason == "not_yet_open":
        if window:
            return _(
                "The questionnaire is not open yet. It is open from %(opens)s to %(closes)s.",
                **window,
            )
        return _("The questionnaire is not open yet.")
    if reason == "closed":
        if window:
            return _(
                "The questionnaire is closed. It was open from %(opens)s to %(closes)s.", **window
            )
        return _("The questionnaire is closed.")
    if reason == "not_answerable":
        return _("This code cannot be used to answer now. Please see your teacher.")
    if reason == IDLE:
        return _(
            "You were away for a while, so the questionnaire was closed to keep your answers "
            "private. They are saved: enter your code again to continue."
        )
    if reason == REPLACED:
        return _(
            "This code has been replaced by a new one. Please enter the code on your new slip."
        )
    if reason == ENDED:
        return _(
            "The questionnaire was paused, or opened again with your code. "
            "Your answers are saved: enter your code again to continue."
        )
    return _("Please enter the code on your slip to start or continue.")


def _session_target() -> tuple[CampaignTarget | None, str | None, Campaign | None]:
    """The target of this browser's runner session if it may still answer; otherwise
    None, the reason, and the campaign when known (for its window dates). An ended
    session is forgotten; so is one left idle (a shared computer's next user must not
    find the last student's answers). A write locks the target's row until it commits,
    so an autosave, a submit and a staff change of the target happen one after another."""
    held = session.get(RUNNER)
    if not isinstance(held, dict) or not isinstance(held.get("target"), int):
        return None, NO_SESSION, None
    now = time.time()
    idle = current_app.config["RUNNER_IDLE_MINUTES"] * 60
    if not isinstance(held.get("seen"), int | float) or now - held["seen"] > idle:
        session.pop(RUNNER, None)
        return None, IDLE, None
    query = (
        select(CampaignTarget)
        .where(CampaignTarget.id == held["target"])
        .options(joinedload(CampaignTarget.campaign).joinedload(Campaign.instruments))
    )
    if request.method == "POST":
        query = query.with_for_update(of=CampaignTarget)
    target = db.session.scalars(query).unique().one_or_none()
    if target is None or target.code_digest != held.get("digest"):
        session.pop(RUNNER, None)
        return None, REPLACED, None
    if target.session_version != held.get("version"):
        session.pop(RUNNER, None)
        return None, ENDED, None
    try:
        services.check_answerable(target, utcnow())
    except CodeRefused as refused:
        session.pop(RUNNER, None)
        if refused.reason == "used":  # a second click on Submit, or a reload after it
            session[DONE] = target.id
        return None, refused.reason, target.campaign
    session[RUNNER] = {**held, "seen": int(now)}
    return target, None, target.campaign


def help_lines(language: str) -> list[str]:
    """The district's help lines (HELP_LINES, by language) for the closing page."""
    lines = current_app.config.get("HELP_LINES") or {}
    if isinstance(lines, list):  # one list for every language
        return lines
    return lines.get(language) or next(iter(lines.values()), [])


def _ended_status(reason: str | None) -> int:
    return 401 if reason == NO_SESSION else 409


def _ended_page(reason: str | None, campaign: Campaign | None) -> tuple[str, int]:
    message = _message(reason or NO_SESSION, campaign)
    page = render_template("runner/ended.html", message=message, back=None)
    return page, _ended_status(reason)


def _use_language(language: str | None) -> None:
    """Show the runner's own words in the language of the questionnaire: the app's
    locale whose language matches the target's (e.g. "zh" -> zh_Hans_CN)."""
    for code in current_app.config["LANGUAGES"]:
        if language and code.split("_")[0].lower() == language.lower():
            if session.get("language") != code:
                session["language"] = code
                refresh_babel()
            return


def _text(texts: Mapping[str, str] | None, language: str) -> str:
    if not texts:
        return ""
    return texts.get(language) or next(iter(texts.values()))


def _language(target: CampaignTarget) -> str:
    return target.language or target.campaign.languages[0]


def _answered(target: CampaignTarget) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(DraftAnswer)
        .where(DraftAnswer.target_id == target.id, DraftAnswer.attempt == target.attempt)
    )


def _total(instruments: Sequence[Instrument]) -> int:
    return sum(len(instrument.items) for instrument in instruments)


def _save_posted(target: CampaignTarget, saved: dict[str, dict[str, Any]]) -> bool:
    """Save the answers a section form posted (fields "<instrument>:<item>"), skipping
    those already saved with the same value (an autosave's response time stays).
    Whether anything changed. Raises AnswerRefused for an answer not allowed."""
    posted = []
    for key in request.form:
        if ":" not in key:
            continue
        instrument_id, item_id = key.split(":", 1)
        raw = request.form.get(key, "")
        try:
            value: Any = int(raw)
        except ValueError:
            value = raw  # refused with the services' message
        if saved.get(key, {}).get("value") != value:
            services.check_answer(target, instrument_id, item_id, value)
            posted.append((key, instrument_id, item_id, value))
    for key, instrument_id, item_id, value in posted:  # all checked: none is refused now
        # A form post carries no response time.
        saved[key] = services.autosave(target, instrument_id, item_id, value, None).answer
    return bool(posted)


def _section_view(
    target: CampaignTarget,
    instruments: Sequence[Instrument],
    section: int,
    saved: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """What the section page shows, in the student's language."""
    language = _language(target)
    instrument = instruments[section]
    items = []
    for number, item in enumerate(instrument.items, start=1):
        key = item_key(instrument, item.id)
        items.append(
            {
                "id": item.id,
                "key": key,
                "number": number,
                "text": _text(item.text, language),
                "required": item.required,
                "chosen": saved.get(key, {}).get("value"),
                "options": [(o.value, _text(o.label, language)) for o in item.options],
            }
        )
    document = instrument.document
    return {
        "instrument": instrument,
        "title": _text(instrument.title, language),
        "instructions": _text(document.get("instructions"), language),
        "timeframe": _text(document.get("timeframe"), language),
        "attribution": (document.get("source") or {}).get("attribution", ""),
        "items": items,
        "section": section,
        "sections": len(instruments),
        "last": section == len(instruments) - 1,
        "answered": len(saved),
        "total": _total(instruments),
        "language": language,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in target.campaign.languages],
    }


def _missing_view(
    target: CampaignTarget, instruments: Sequence[Instrument], missing: Mapping[str, list[str]]
) -> list[dict[str, Any]]:
    """The unanswered required items by section, numbered as the pages number them."""
    language = _language(target)
    sections = []
    for section, instrument in enumerate(instruments):
        if instrument.id not in missing:
            continue
        items = [
            {
                "id": item_id,
                "number": instrument.positions[item_id] + 1,
                "text": _text(instrument.items[instrument.positions[item_id]].text, language),
            }
            for item_id in missing[instrument.id]
        ]
        sections.append(
            {"section": section, "title": _text(instrument.title, language), "questions": items}
        )
    return sections


def _results(target: CampaignTarget) -> list[dict[str, str]]:
    """Each instrument's band label, in the student's language, where there is one."""
    language = _language(target)
    by_id = {instrument.id: instrument for instrument in battery(target.campaign)}
    results = []
    responses = db.session.scalars(
        select(ScreeningResponse)
        .where(
            ScreeningResponse.target_id == target.id,
            ScreeningResponse.attempt == target.attempt,
        )
        .order_by(ScreeningResponse.id)
    )
    for response in responses:
        instrument = by_id.get(response.instrument_id)
        if instrument is None or instrument.total is None or not response.valid:
            continue
        band = next((b for b in instrument.total.bands if b.id == response.band), None)
        if band is not None:
            results.append(
                {"title": _text(instrument.title, language), "band": _text(band.label, language)}
            )
    return results


# ----------------------------------------------------------------------------- views


@bp.errorhandler(429)
def too_many_codes(error: Exception) -> tuple[str, int]:
    message = _(
        "Too many codes were tried from this computer. "
        "Please wait a minute and try again, or ask your teacher."
    )
    return render_template("runner/enter.html", message=message, typed=""), 429


@bp.route("/", methods=["GET", "POST"])
@public
def enter() -> Any:
    """The code entry page. Only refused codes count toward the rate limit, and a valid
    code passes even when the address has spent it (a computer room shares one); the
    code opens a new runner session and ends any other on it."""
    if request.method == "GET":
        return render_template("runner/enter.html", message=None, typed="")
    check_code_ceiling()
    typed = cleaned_or_empty(request.form.get("code", ""))  # NUL, ESC...: no code, not found
    try:
        target = services.target_for_code(typed, utcnow())
    except CodeRefused as refused:
        count_refused_code()
        campaign = refused.target.campaign if refused.target is not None else None
        page = render_template(
            "runner/enter.html", message=_message(refused.reason, campaign), typed=typed[:40]
        )
        return page, REFUSAL_STATUS.get(refused.reason, 400)
    services.start(target)
    version = services.end_runner_sessions(target)
    session.pop(DONE, None)
    session[RUNNER] = {
        "target": target.id,
        "digest": target.code_digest,
        "version": version,
        "seen": int(time.time()),
    }
    _use_language(target.language)
    return redirect(url_for("runner.section", section=0), 303)


@bp.route("/run/<int:section>", methods=["GET", "POST"])
@public
def section(section: int) -> Any:
    """One instrument. The form's POST (no JavaScript) saves its answers and moves on
    to the section its button names."""
    target, ended, campaign = _session_target()
    if target is None:
        return _ended_page(ended, campaign)
    instruments = battery(target.campaign)
    if not 0 <= section < len(instruments):
        abort(404)
    saved = services.saved_answers(target)
    if request.method == "POST":
        try:
            _save_posted(target, saved)
        except AnswerRefused as refused:
            view = _section_view(target, instruments, section, saved)
            return render_template("runner/section.html", error=str(refused), **view), 400
        go = request.form.get("go", type=int)
        if go is None or not 0 <= go < len(instruments):
            go = section
        return redirect(url_for("runner.section", section=go), 303)
    view = _section_view(target, instruments, section, saved)
    return render_template("runner/section.html", error=None, **view)


@bp.post("/language")
@public
def language() -> Any:
    """The language switch of the runner pages (when the campaign offers several)."""
    target, ended, campaign = _session_target()
    if target is None:
        return _ended_page(ended, campaign)
    services.start(target, request.form.get("language"))
    _use_language(target.language)
    section = request.form.get("section", type=int, default=0)
    if not 0 <= section < len(target.campaign.instruments):
        section = 0
    return redirect(url_for("runner.section", section=section), 303)


@bp.post("/answer")
@public
def answer() -> Any:
    """Autosave one answer: JSON {"instrument", "item", "value", "seconds"}."""
    target, ended, campaign = _session_target()
    if target is None:
        body = {"error": _message(ended or NO_SESSION, campaign), "reason": ended}
        return jsonify(body), _ended_status(ended)
    if (request.content_length or 0) > ANSWER_MAX_BYTES:
        return jsonify({"error": _("The answer could not be read. Reload the page.")}), 413
    data = request.get_json(silent=True)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("instrument"), str)
        or not isinstance(data.get("item"), str)
    ):
        return jsonify({"error": _("The answer could not be read. Reload the page.")}), 400
    try:
        services.autosave(
            target, data["instrument"], data["item"], data.get("value"), data.get("seconds")
        )
    except AnswerRefused as refused:
        return jsonify({"error": str(refused)}), 400
    total = _total(battery(target.campaign))
    return jsonify({"saved": True, "answered": _answered(target), "total": total})


@bp.post("/submit")
@public
def submit() -> Any:
    """Submit the saved answers (and any the form posted with the button)."""
    target, ended, campaign = _session_target()
    if target is None:
        if ended in (NO_SESSION, "used") and session.get(DONE) is not None:
            return redirect(url_for("runner.done"), 303)  # a second click on Submit
        return _ended_page(ended, campaign)
    instruments = battery(target.campaign)
    saved = services.saved_answers(target)
    try:
        changed = _save_posted(target, saved)
    except AnswerRefused as refused:
        back = url_for("runner.section", section=0)
        return render_template("runner/ended.html", message=str(refused), back=back), 400
    try:
        services.submit(target, utcnow())
    except MissingAnswers as missing:
        if changed:
            # The answers posted with the Submit button (a browser without JavaScript)
            # are saved like every autosave, although the submission itself is refused
            # with 422 (whose request would otherwise roll back): nothing answered is lost.
            db.session.commit()
        sections = _missing_view(target, instruments, missing.missing)
        return render_template("runner/missing.html", sections=sections), 422
    except CodeRefused as refused:
        session.pop(RUNNER, None)
        return _ended_page(refused.reason, target.campaign)
    session.pop(RUNNER, None)
    session[DONE] = target.id
    return redirect(url_for("runner.done"), 303)


@bp.post("/leave")
@public
def leave() -> Any:
    """Pause: end the runner session on the server, so no copy of this browser's cookie
    goes on (the answers stay saved for the code). Even an idle session is ended: a
    copy may have been used since."""
    held = session.pop(RUNNER, None)
    session.pop(DONE, None)
    if isinstance(held, dict) and isinstance(held.get("target"), int):
        target = db.session.get(CampaignTarget, held["target"])
        if (
            target is not None
            and target.code_digest == held.get("digest")
            and target.session_version == held.get("version")
        ):
            services.end_runner_sessions(target)
    message = _("Your answers are saved. Enter your code again to continue.")
    return render_template("runner/enter.html", message=message, typed="", paused=True)


@bp.get("/done")
@public
def done() -> str:
    """The closing page: thanks, the district's help lines, and the student's own
    results only when the campaign allows (shown once: a shared computer's next user
    does not find them)."""
    target_id = session.pop(DONE, None)
    results, show_results = [], False
    if isinstance(target_id, int):
        target = db.session.get(CampaignTarget, target_id)
        if target is not None and target.campaign.show_results and target.submitted_at:
            show_results = True
            results = _results(target)
    return render_template(
        "runner/done.html",
        help_lines=help_lines(get_locale().language),
        show_results=show_results,
        results=results,
    )
