"""The risk models' pages: the list, a model's card, the preview of its effect on the tiers
(with the capacity check) and its audited activation.

A model is the installation's (one district), so the pages need only the role: the
counselors read the cards (aggregates, small cells suppressed by the training), the
administrators also preview and activate. The preview shows counts per school and per
change of tier, never a student: administrators do not see individual tiers."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from screening.risk import FLAGGED, TIERS
from wellbeing.extensions import db
from wellbeing.health.charts import Series, line_chart
from wellbeing.paging import paginate
from wellbeing.review import models_service as service
from wellbeing.review.blueprint import _language, bp
from wellbeing.review.words import tier_name
from wellbeing.roster.labels import grade_name
from wellbeing.roster.models import School
from wellbeing.security.policy import can, requires, scopes_for

__all__ = ["bp"]

NOTHING = "—"


def text(value: Any) -> str:
    """A model's text ({"zh": ..., "en": ...}) in the page's language; a plain string as
    it is; "—" for nothing."""
    if isinstance(value, Mapping):
        return str(value.get(_language()) or value.get("zh") or next(iter(value.values()), NOTHING))
    return NOTHING if value in (None, "") else str(value)


def foreign(value: Any) -> Markup:
    """A text that may be in English only (a source's citation, a training note): marked
    as such when it has no Chinese, so a reader (and a screen reader) knows it."""
    shown = text(value)
    if any("\u3400" <= c <= "\u9fff" for c in shown) or not any(c.isalpha() for c in shown):
        return Markup("{}").format(shown)
    return Markup('<span lang="en">{}</span>').format(shown)


def number(value: Any, digits: int = 2) -> str:
    if isinstance(value, bool) or not isinstance(value, Real):
        return NOTHING
    return f"{value:.{digits}f}"


def percent(value: Any) -> str:
    """A share (0..1) as a percentage; "—" when missing."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return NOTHING
    return f"{value * 100:.1f}%"


def group_name(kind: str, value: Any) -> str:
    """A fairness group's name: sexes and grades in words, a school by its name."""
    if value in (None, "", "unknown"):
        return _("Not recorded")
    if kind == "sex":
        return {"M": _("Boys"), "F": _("Girls")}.get(str(value), text(value))
    if kind == "grade" and str(value).isdigit():
        return grade_name(int(value))
    if kind == "school" and str(value).isdigit():
        school = db.session.get(School, int(value))
        return school.name if school else text(value)
    return text(value)


# Why the training used a context feature or left it out (screening.risk_fit's codes).
CONTEXT_REASONS = {
    "improves": _l("It improves calibration and passes the fairness check."),
    "no_gain": _l("Left out: it does not improve calibration."),
    "widens_gap": _l("Left out: it would widen the gap in true-positive rate between the sexes."),
    "no_variation": _l("Left out: every student has the same value."),
    "no_groups": _l("Left out: without the students' sex the fairness check cannot be made."),
}


def context_reason(why: Any) -> Markup:
    if isinstance(why, str) and why in CONTEXT_REASONS:
        return Markup("{}").format(CONTEXT_REASONS[why])
    return foreign(why)


@bp.context_processor
def risk_helpers() -> dict[str, Any]:
    return {
        "risk_text": text,
        "risk_foreign": foreign,
        "risk_context_reason": context_reason,
        "risk_number": number,
        "risk_percent": percent,
        "risk_group": group_name,
        "tier_name": tier_name,
        "TIERS": TIERS,
        "FLAGGED": FLAGGED,
        "NOTHING": NOTHING,
    }


def calibration_chart(rows: Any) -> Markup | None:
    """Predicted against observed share of each calibration bin, in percent."""
    if not isinstance(rows, list):
        return None
    points = [r for r in rows if isinstance(r, Mapping)]
    if not points:
        return None

    def share(row: Mapping, key: str) -> float | None:
        value = row.get(key)
        return None if isinstance(value, bool) or not isinstance(value, Real) else value * 100

    labels = [text(row.get("bin")) for row in points]
    return line_chart(
        _("Calibration: predicted and observed"),
        labels,
        [
            Series(_("Predicted"), "series-d", [share(row, "predicted") for row in points]),
            Series(_("Observed"), "series-a", [share(row, "observed") for row in points]),
        ],
        y_min=0,
        y_max=100,
        ticks=(0, 25, 50, 75, 100),
        unit="%",
        x_label=_("Bin of predicted probability (fewest to most)"),
        y_label=_("Students with a confirmed need (%)"),
    )


def labels(entry: service.Entry) -> tuple[Any, Any]:
    """The card's names of features and bins (ids in the card's tables): the model's
    labels, an unknown id as code."""
    features = {f.id: f for f in entry.model.features} if entry.model else {}

    def feature_label(feature_id: Any) -> Markup:
        if feature_id == "thresholds":  # a change of a tier's least points
            return Markup("{}").format(_("Tier threshold"))
        found = features.get(feature_id)
        return Markup("{}").format(text(found.label)) if found else _code(feature_id)

    def bin_label(feature_id: Any, bin_id: Any) -> Markup:
        if feature_id == "thresholds" and bin_id in TIERS:
            return Markup("{}").format(tier_name(bin_id))
        found = features.get(feature_id)
        chosen = next((b for b in found.bins if b.id == bin_id), None) if found else None
        if chosen is None and found is not None and bin_id in (None, "missing"):
            return Markup("{}").format(text(found.missing_label))
        return Markup("{}").format(text(chosen.label)) if chosen else _code(bin_id)

    return feature_label, bin_label


def _code(value: Any) -> Markup:
    return Markup("<code>{}</code>").format(value) if value not in (None, "") else Markup(NOTHING)


def _groups(groups: Any) -> list[tuple[str, list]]:
    """The fairness tables by sex, grade and school (each a list of rows; empty when
    the card lacks it)."""
    found = groups if isinstance(groups, Mapping) else {}
    return [
        (kind, rows if isinstance(rows := found.get(kind), list) else [])
        for kind in ("sex", "grade", "school")
    ]


def _entry_or_404(version: str) -> service.Entry:
    entry = service.find(version)
    if entry is None:
        abort(404)
    return entry


def _schools() -> list[int]:
    """The schools of the administrator's districts (the preview's scope)."""
    districts = {a.district_id for a in scopes_for(current_user, "risk.activate") if a.district_id}
    return list(db.session.scalars(select(School.id).where(School.district_id.in_(districts))))


@bp.get("/district/risk")
@requires("risk.card")
def risk_models() -> str:
    active, drafts, retired = service.entries()
    return render_template(
        "review/risk_models.html",
        active=active,
        drafts=drafts,
        retired=retired,
        can_activate=can(current_user, "risk.activate"),
    )


@bp.get("/district/risk/<version>")
@requires("risk.card")
def risk_card(version: str) -> str:
    entry = _entry_or_404(version)
    card = entry.card
    feature_label, bin_label = labels(entry)
    return render_template(
        "review/risk_card.html",
        entry=entry,
        card=card,
        chart=calibration_chart(card.get("calibration")),
        feature_label=feature_label,
        bin_label=bin_label,
        can_activate=can(current_user, "risk.activate"),
        groups=_groups(card.get("groups")),
    )


def _preview_page(entry: service.Entry, problems: Mapping[str, str] | None = None) -> str:
    active = service.active_entry()
    shown = service.preview(entry.model, _schools()) if entry.model else None
    changes = (
        service.points_changes(entry.model, active.model)
        if entry.model and active.model and active.version != entry.version
        else []
    )
    # Schools over capacity first, then by code; a large district's list is paged.
    schools = (
        sorted(shown.schools, key=lambda s: (not s.over_capacity, s.school.code)) if shown else []
    )
    return render_template(
        "review/risk_preview.html",
        entry=entry,
        active=active,
        preview=shown,
        schools=paginate(schools, anchor="capacity"),
        changes=changes,
        problems=problems or {},
        capacity=service.CAPACITY_PER_COUNSELOR,
    )


@bp.get("/district/risk/<version>/preview")
@requires("risk.activate")
def risk_preview(version: str) -> str:
    return _preview_page(_entry_or_404(version))


@bp.post("/district/risk/<version>/activate")
@requires("risk.activate")
def risk_activate(version: str) -> Any:
    entry = _entry_or_404(version)
    try:
        done = service.activate(entry, current_user, request.form.get("confirm") == "yes")
    except service.ActivationError as error:
        return _preview_page(entry, error.problems)
    flash(
        _(
            "“%(name)s” is now the active model: %(changed)d of %(assessed)d tiers changed, "
            "%(alerts)d new red-tier crisis alert(s).",
            name=text(entry.document.get("name")),
            changed=done.changed,
            assessed=done.assessed,
            alerts=done.alerts,
        )
    )
    return redirect(url_for("review.risk_models"))
