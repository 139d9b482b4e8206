"""Reads behind the review's pages: a school's crisis alerts (what raised each, in words;
whether it was acknowledged in time; how far its checklist is), and one alert's page
with its student, its checklist, its follow-ups and its assessment's explanation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from screening.errors import ScreeningError
from wellbeing.campaigns.battery import catalog
from wellbeing.campaigns.models import Campaign
from wellbeing.campaigns.pages import instrument_title, students_by_id
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.followups.queries import of_alerts
from wellbeing.paging import Page, paginate_query
from wellbeing.review import vocabulary as v
from wellbeing.review.alerts import acknowledge_due, alert_follow_ups, open_alert_counts
from wellbeing.review.models import AlertStep, CrisisAlert, RiskAssessment
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.words import colon


def alert_items_text(detail: str, language: str) -> str:
    """What raised a crisis alert, stored as "phq9@1.0: phq9_9", in words: the
    instrument's title and the items' numbers ("… 第 9 题")."""
    ref, sep, items = detail.partition(": ")
    try:
        instrument = catalog().get(ref)
    except ScreeningError:
        return detail
    positions = instrument.positions if sep else {}
    numbers = [str(positions[i] + 1) for i in items.split(", ") if i in positions]
    if not numbers:
        return instrument_title(instrument, language)
    return _(
        "%(instrument)s, item %(items)s",
        instrument=instrument_title(instrument, language),
        items=_(", ").join(numbers),
    )


def alert_reason(alert: CrisisAlert, language: str) -> str:
    """What raised the alert, in words: "关键题目：PHQ-9 第 9 题" or "一级（红色）等级，72 分"."""
    if alert.source == v.RED_TIER:
        return _("Red tier (level 1), %(points)s points", points=alert.detail)
    return _("Critical item") + colon() + alert_items_text(alert.detail, language)


# Where an alert stands against its acknowledgement deadline.
SLA_WAITING = "waiting"  # not acknowledged, its deadline still ahead
SLA_OVERDUE = "overdue"  # not acknowledged, its deadline passed (the sweep escalates it)
SLA_IN_TIME = "in_time"  # acknowledged by its deadline
SLA_LATE = "late"  # acknowledged after its deadline


@dataclass(frozen=True)
class Sla:
    state: str
    due: datetime
    waited: timedelta  # so far while it waits; until it was acknowledged after


def alert_sla(alert: CrisisAlert, now: datetime) -> Sla:
    due = acknowledge_due(alert)
    waited = (alert.acknowledged_at or now) - alert.raised_at
    if alert.acknowledged_at is None:
        return Sla(SLA_WAITING if now <= due else SLA_OVERDUE, due, waited)
    return Sla(SLA_IN_TIME if alert.acknowledged_at <= due else SLA_LATE, due, waited)


@dataclass(frozen=True)
class AlertRow:
    alert: CrisisAlert
    student: Student
    school_class: SchoolClass
    campaign_name: str | None
    waited: timedelta
    follow_up: FollowUp | None  # the latest of the follow-ups it began
    sla: Sla
    steps_done: int  # of the len(CHECKLIST) steps of the crisis checklist


def school_alerts(school: School) -> tuple[Page[AlertRow], int]:
    """A page of the school's crisis alerts, unacknowledged first, newest first within
    each, and how many are unacknowledged in all. Whose each alert is is sealed: the
    page's alerts are opened here, then their students loaded in one query."""
    alerts = paginate_query(
        select(CrisisAlert)
        .where(CrisisAlert.school_id == school.id)
        .options(selectinload(CrisisAlert.acknowledged_by), selectinload(CrisisAlert.steps))
        .order_by(
            CrisisAlert.acknowledged_at.is_not(None),
            CrisisAlert.raised_at.desc(),
            CrisisAlert.id.desc(),
        ),
        anchor="crisis-alerts",
    )
    open_count = open_alert_counts([school.id]).get(school.id, 0)
    names = _campaign_names({a.campaign_id for a in alerts if a.campaign_id is not None})
    students = students_by_id({a.student_id for a in alerts})
    since = min((a.raised_at for a in alerts), default=None)
    follow_ups = of_alerts(school.id, [a.id for a in alerts], since) if since else {}
    now = utcnow()
    rows = []
    for alert in alerts:
        student = students[alert.student_id]
        # Unacknowledged: how long it has waited so far; acknowledged: how long it took.
        waited = (alert.acknowledged_at or now) - alert.raised_at
        rows.append(
            AlertRow(
                alert,
                student,
                student.school_class,
                names.get(alert.campaign_id),
                waited,
                follow_ups.get(alert.id),
                alert_sla(alert, now),
                len(alert.steps),
            )
        )
    return replace(alerts, items=rows), open_count


def _campaign_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all()
    )


@dataclass(frozen=True)
class ChecklistEntry:
    step: str
    done: AlertStep | None
    opened: FollowUp | None  # the follow-up the step opened (a referral check, the watch)


@dataclass(frozen=True)
class AlertPage:
    alert: CrisisAlert
    student: Student
    campaign_name: str | None
    sla: Sla
    checklist: list[ChecklistEntry]
    follow_ups: list[FollowUp]  # opened from the alert, first to last
    assessment: RiskAssessment | None

    @property
    def steps_done(self) -> int:
        return sum(1 for entry in self.checklist if entry.done is not None)


def alert_page(alert: CrisisAlert, now: datetime) -> AlertPage:
    """One alert with its student, its deadline, its checklist (in the usual order, each
    step recorded or not) and the follow-ups it opened."""
    student = db.session.get(Student, alert.student_id)
    follow_ups = alert_follow_ups(alert)
    by_id = {f.id: f for f in follow_ups}
    done = {s.step: s for s in alert.steps}
    checklist = [
        ChecklistEntry(
            step,
            done.get(step),
            by_id.get(done[step].follow_up_id) if step in done else None,
        )
        for step in v.CHECKLIST
    ]
    assessment = (
        db.session.get(RiskAssessment, alert.assessment_id) if alert.assessment_id else None
    )
    names = _campaign_names({alert.campaign_id} if alert.campaign_id else set())
    return AlertPage(
        alert,
        student,
        names.get(alert.campaign_id),
        alert_sla(alert, now),
        checklist,
        follow_ups,
        assessment,
    )


@dataclass(frozen=True)
class ExplanationRow:
    feature: str
    label: str  # the feature: "PHQ-9"
    level: str  # its bin, with the score behind it: "中重度（17 分）"
    points: int


@dataclass(frozen=True)
class Explanation:
    """An assessment's tier and points in words: the contributions that gave points
    (they add up to the total), the features that gave none, and the rule that fired."""

    tier: str
    reviewed_tier: str | None
    points: int
    rule: str | None
    rows: list[ExplanationRow]
    unscored: list[str]
    model_version: str
    computed_at: datetime

    @property
    def adds_up(self) -> bool:
        return sum(row.points for row in self.rows) == self.points


def _word(text: dict, language: str) -> str:
    return text.get(language) or text.get("zh") or next(iter(text.values()), "")


def explanation(assessment: RiskAssessment, language: str) -> Explanation:
    """The assessment's sealed explanation, opened for the page (counselors only)."""
    document = assessment.explanation or {}
    rows, unscored = [], []
    for c in document.get("contributions", []):
        label = _word(c.get("label") or {}, language)
        if not c.get("points"):
            unscored.append(label)
            continue
        level = _word(c.get("bin_label") or {}, language)
        if c.get("detail") is not None:
            level = _("%(level)s (%(score)s points)", level=level, score=f"{c['detail']:g}")
        rows.append(ExplanationRow(c.get("feature", ""), label, level, int(c["points"])))
    rule = document.get("rule")
    return Explanation(
        tier=assessment.tier,
        reviewed_tier=assessment.reviewed_tier,
        points=int(assessment.points or 0),
        rule=_word(rule.get("label") or {}, language) if rule else None,
        rows=rows,
        unscored=unscored,
        model_version=assessment.model_version,
        computed_at=assessment.computed_at,
    )
