"""The 心理委员's and head teacher's phone-first pages on their class: this week's report
(本周无异常 in one tap, or one classmate at a time, "save and add another"), the urgent
report and the safety guidance after it, and their own reports of recent weeks. Every
page works without JavaScript. A reporter sees only their own reports: never another
reporter's, never a counselor's name, an outcome or a follow-up."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.campaigns.runner import help_lines
from wellbeing.observations import (
    report_words,  # noqa: F401  (the audit browser's words)
    reporting,
)
from wellbeing.observations import vocabulary as v
from wellbeing.observations.blueprint import bp
from wellbeing.observations.words import CERTAINTY_LABELS, SIGN_LABELS
from wellbeing.paging import paginate
from wellbeing.roster.models import SchoolClass
from wellbeing.security.audit import record_view
from wellbeing.security.policy import requires
from wellbeing.text_input import TextFields

MINE_WEEKS = 8  # weeks of one's own reports, one page
MINE_PAGES = 6  # pages of them back (about a school year)


def _entry() -> tuple[reporting.Entry, dict[str, str]]:
    """The typed observation and the refusals of its text."""
    fields = TextFields(request.form)
    student = fields.get("student").strip()
    entry = reporting.Entry(
        student_id=int(student) if student.isdigit() else None,
        signs=[s for s in request.form.getlist("signs") if s in v.SIGNS],
        certainty=fields.get("certainty").strip(),
        note=fields.get("note", multiline=True).strip(),
    )
    if "note" in fields.errors:
        entry.note = ""
    return entry, fields.errors


def _form_page(template: str, school_class: SchoolClass, **context: object) -> str:
    students = reporting.enrolled(school_class)
    # The names list only: a 心理委员 may see classmates' names, nothing more.
    record_view(school_class, len(students))
    return render_template(
        template,
        school_class=school_class,
        students=[s for s in students if s.id != current_user.student_id],
        sign_labels=SIGN_LABELS,
        certainty_labels=CERTAINTY_LABELS,
        name_of={s.id: s.name for s in school_class.students},
        note_max=v.NOTE_MAX,
        **context,
    )


@bp.route("/classes/<int:class_id>/report", methods=["GET", "POST"])
@requires("observations.report", SchoolClass)
def report(school_class: SchoolClass) -> str | Response:
    entry, errors = reporting.Entry(), {}
    if request.method == "POST" and request.form.get("nil"):
        filed = reporting.file_nil(current_user, school_class)[1]
        flash(
            _("Thank you. This week's report is filed: nothing to report.")
            if filed
            else _("This week's report was already filed. Nothing was changed.")
        )
        return redirect(url_for("observations.report", class_id=school_class.id))
    if request.method == "POST":
        entry, errors = _entry()
        if not errors:
            observation, errors = reporting.add_observation(entry, current_user, school_class)
            if observation is not None:
                if observation.urgent:
                    return redirect(url_for("observations.urgent_sent", class_id=school_class.id))
                flash(_("Saved. You can add another classmate, or stop here."))
                return redirect(url_for("observations.report", class_id=school_class.id))
    week = reporting.this_week()
    current = reporting.report_of(current_user.id, school_class.id, week)
    return _form_page(
        "observations/report.html",
        school_class,
        entry=entry,
        errors=errors,
        current=current,
        week=week,
        signs=v.SIGNS,
        full=current is not None and len(current.observations) >= v.OBSERVATIONS_PER_REPORT,
    )


@bp.route("/classes/<int:class_id>/urgent", methods=["GET", "POST"])
@requires("observations.report", SchoolClass)
def urgent(school_class: SchoolClass) -> str | Response:
    entry, errors = reporting.Entry(), {}
    if request.method == "POST":
        entry, errors = _entry()
        if not errors:
            observation, errors = reporting.file_urgent(entry, current_user, school_class)
            if observation is not None:
                return redirect(url_for("observations.urgent_sent", class_id=school_class.id))
    return _form_page(
        "observations/urgent.html",
        school_class,
        entry=entry,
        errors=errors,
        signs=v.DANGER_SIGNS,
    )


@bp.get("/classes/<int:class_id>/urgent/sent")
@requires("observations.report", SchoolClass)
def urgent_sent(school_class: SchoolClass) -> str:
    """What to do now: tell a teacher in person, the help lines; the counselor knows."""
    return render_template(
        "observations/urgent_sent.html",
        school_class=school_class,
        help_lines=help_lines(get_locale().language),
    )


@bp.get("/classes/<int:class_id>/my-reports")
@requires("observations.mine", SchoolClass)
def mine(school_class: SchoolClass) -> str:
    """The user's own reports on the class, week by week, newest first."""
    this_week = reporting.this_week()
    all_weeks = [this_week - timedelta(weeks=n) for n in range(MINE_WEEKS * MINE_PAGES)]
    weeks = paginate(all_weeks, per_page=MINE_WEEKS)
    found = reporting.my_reports(current_user.id, school_class.id, list(weeks))
    observations = [
        o
        for week in found.values()
        for o in (week["report"].observations if week["report"] else []) + week["urgent"]
    ]
    names = {s.id: s.name for s in school_class.students}
    record_view(school_class, len({o.student_id for o in observations}))
    return render_template(
        "observations/mine.html",
        school_class=school_class,
        weeks=weeks,
        found=found,
        names=names,
        sign_labels=SIGN_LABELS,
        certainty_labels=CERTAINTY_LABELS,
        this_week=this_week,
    )
