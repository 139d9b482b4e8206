"""The paper fallback's pages: a battery printed as an A4 form, one student's paper form
entered by a counselor (once, or twice with a matching second entry), and a school's
forms imported from CSV or XLSX in the `wellbeing score` columns. The rules are in
paper_import; these views check access, call it and render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from screening import exports
from screening.instruments import Instrument, Item, Option
from wellbeing.campaigns import paper_import
from wellbeing.campaigns.battery import battery, item_key
from wellbeing.campaigns.lookups import campaign_of_school, target_of_student
from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.campaigns.paper_import import BLANK, EntryRefused, text_in
from wellbeing.clock import utcnow
from wellbeing.roster.models import School, Student
from wellbeing.security.audit import record_view
from wellbeing.security.policy import requires
from wellbeing.text_input import TextFields

bp = Blueprint("paper", __name__, url_prefix="/paper")


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {"text_in": text_in, "item_key": item_key, "BLANK": BLANK}


# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class ItemGroup:
    """Consecutive items that share their options: one table on paper."""

    options: tuple[Option, ...]
    items: tuple[tuple[int, Item], ...]  # (number, item)


def item_groups(instrument: Instrument) -> list[ItemGroup]:
    groups: list[ItemGroup] = []
    for number, item in enumerate(instrument.items, start=1):
        if groups and groups[-1].options == item.options:
            last = groups[-1]
            groups[-1] = ItemGroup(last.options, (*last.items, (number, item)))
        else:
            groups.append(ItemGroup(item.options, ((number, item),)))
    return groups


def attribution(instrument: Instrument) -> dict[str, str]:
    """The lines a form carrying the instrument must show: the attribution (or, without
    one, the licence statement), the reference, and a licence holder if named."""
    source = instrument.document.get("source") or {}
    licence = instrument.document.get("licence") or {}
    return {
        "attribution": source.get("attribution") or licence.get("statement") or "",
        "reference": source.get("reference") or "",
        "holder": licence.get("holder") or "",
    }


def _locale_for(lang: str) -> str:
    """The app's locale for an instrument language ("zh" -> "zh_Hans_CN")."""
    for code in current_app.config["LANGUAGES"]:
        if code.split("_")[0] == lang:
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _sheet_labels(lang: str) -> dict[str, str]:
    """The printed form's own words, in the form's language (not the screen's)."""
    with force_locale(_locale_for(lang)):
        return {
            "name": _("Name"),
            "class": _("Class"),
            "number": _("Student number (学籍号)"),
            "date": _("Date"),
            "tick": _("Tick one box for each question."),
            "no": _("No."),
            "question": _("Question"),
            "source": _("Source"),
            "licence_holder": _("Licence holder"),
        }


def _screen_language(campaign: Campaign) -> str:
    """The entry form's instrument language: the screen's, if the campaign has it."""
    language = get_locale().language if get_locale() else ""
    return language if language in campaign.languages else campaign.languages[0]


# ----------------------------------------------------------------------------- print


@bp.get("/campaigns/<int:campaign_id>/form")
@requires("paper.print", Campaign)
def print_form(campaign: Campaign) -> str:
    lang = request.args.get("lang", "")
    if lang not in campaign.languages:
        lang = campaign.languages[0]
    instruments = battery(campaign)
    return render_template(
        "paper/form.html",
        campaign=campaign,
        lang=lang,
        sheet=_sheet_labels(lang),
        instruments=[
            (instrument, item_groups(instrument), attribution(instrument))
            for instrument in instruments
        ],
    )


# ----------------------------------------------------------------------------- entry


@bp.route("/students/<int:student_id>/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@requires("paper.enter", Student)
def enter(student: Student, campaign_id: int) -> Any:
    target = target_of_student(student, campaign_id)
    campaign = target.campaign
    instruments = battery(campaign)
    lang = _screen_language(campaign)
    now = utcnow()
    here = url_for(".enter", student_id=student.id, campaign_id=campaign.id)
    refused = paper_import.refusal(target, now)
    problems: list[str] = []
    outcome = None
    status = 200
    chosen: dict[str, str] = {}
    if request.method == "POST":
        fields = TextFields(request.form)
        labels = _item_labels(instruments, lang)
        chosen = {key: fields.get(key, labels.get(key, key)) for key in request.form if ":" in key}
        if refused is not None:
            problems, status = [refused], 409
        elif fields.errors:
            problems, status = fields.messages, 422
        elif request.form.get("action") == "discard":
            if paper_import.discard_first_entry(target, current_user):
                flash(_("The first entry was discarded: enter the form again."), "info")
            return redirect(here)
        elif not chosen:
            flash(_("Nothing was entered."), "error")
            return redirect(here)
        else:
            try:
                answers = paper_import.read_form(instruments, chosen, lang)
                outcome = paper_import.enter_form(
                    target,
                    instruments,
                    answers,
                    double=bool(request.form.get("double_entry")),
                    user=current_user,
                    now=now,
                )
            except EntryRefused as error:
                problems, status = error.problems, 422
            if outcome is not None and outcome.stage != "mismatch":
                flash(_entry_message(target, outcome), "info")
                return redirect(here)
    pending = paper_import.pending_entries(target)
    first_by, first_at = paper_import.first_entry_by(pending)
    record_view(student, 1, campaign=campaign.id)
    page = render_template(
        "paper/enter.html",
        student=student,
        campaign=campaign,
        target=target,
        forms=[(instrument, item_groups(instrument)) for instrument in instruments],
        lang=lang,
        refused=refused if request.method == "GET" or status == 409 else None,
        closed=paper_import.after_window(target, now),
        state=paper_import.state_name(target.state),
        pending=bool(pending),
        first_by=first_by,
        first_at=first_at,
        problems=problems,
        outcome=outcome,
        chosen=chosen,
    )
    return make_response(page, status)


def _item_labels(instruments: list[Instrument], lang: str) -> dict[str, str]:
    """Each item's field name -> the instrument and item number people see."""
    return {
        item_key(instrument, item.id): _(
            "%(instrument)s, item %(number)d",
            instrument=text_in(instrument.title, lang),
            number=number,
        )
        for instrument in instruments
        for number, item in enumerate(instrument.items, start=1)
    }


def _entry_message(target: CampaignTarget, outcome: paper_import.EntryOutcome) -> str:
    if outcome.stage == "first":
        return _(
            "First entry saved. Nothing is recorded until a second entry of the same paper "
            "form, by any counselor, matches it."
        )
    parts = []
    if outcome.stage == "second":
        parts.append(_("The second entry matches the first."))
        if outcome.same_user:
            parts.append(_("Both entries were made by the same person."))
    parts.append(
        _("The paper form is recorded: %(state)s.", state=paper_import.state_name(target.state))
    )
    if any(response.critical for response in outcome.responses):
        parts.append(_("A critical item was endorsed: a crisis alert went to the counselors."))
    return " ".join(parts)


# ----------------------------------------------------------------------------- import


@bp.route("/schools/<int:school_id>/campaigns/<int:campaign_id>/import", methods=["GET", "POST"])
@requires("paper.enter", School)
def import_file(school: School, campaign_id: int) -> Any:
    campaign = campaign_of_school(school, campaign_id)
    instruments = battery(campaign)
    outcome = None
    error = None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a file.")
        else:
            outcome = paper_import.import_file(
                upload.read(), upload.filename, school, campaign, current_user, utcnow()
            )
            status = 200 if outcome.ok else 422
    page = render_template(
        "paper/import.html",
        school=school,
        campaign=campaign,
        instruments=instruments,
        columns=paper_import.template_columns(instruments),
        shared=paper_import.shared_item_ids(instruments),
        outcome=outcome,
        error=error,
    )
    return make_response(page, status)


@bp.get("/schools/<int:school_id>/campaigns/<int:campaign_id>/import/template.csv")
@requires("paper.enter", School)
def import_template(school: School, campaign_id: int) -> Response:
    campaign = campaign_of_school(school, campaign_id)
    header = paper_import.template_columns(battery(campaign))
    response = make_response(exports.csv_bytes([header], bom=False, lineterminator="\n"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="paper-import-campaign-{campaign.id}.csv"'
    )
    return response
