"""Reads behind the review queue (审核队列) and a case's page.

A school's assessments are sealed (tier, points, state, owner), so the queue opens each of
the school's rows once, from the few columns it needs and without building objects, then
filters, sorts and pages in memory: red first, then the longest waiting. A school screens
a few thousand students; opening one is microseconds. Only the page's students are
loaded. The case page opens one student's answers, explanation, history and decisions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from screening.errors import ScreeningError
from screening.risk import TIER_RANK, model_from_document
from wellbeing.campaigns.battery import catalog
from wellbeing.campaigns.models import (
    Campaign,
    CampaignInstrument,
    CampaignTarget,
    ScreeningResponse,
)
from wellbeing.campaigns.pages import instrument_title, students_by_id
from wellbeing.clock import local_text, utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.health import queries as health
from wellbeing.health.charts import Series, line_chart
from wellbeing.health.labels import (
    fitness_display,
    round_label,
    school_year_label,
    vision_display,
)
from wellbeing.paging import Page, paginate
from wellbeing.review import vocabulary as v
from wellbeing.review.assessments import active_model
from wellbeing.review.models import ReviewDecision, RiskAssessment, RiskModel
from wellbeing.roster.models import School, SchoolClass, Student, User
from wellbeing.roster.vocabulary import class_sort_key
from wellbeing.security.crypto import Context
from wellbeing.security.fields import current_keyring
from wellbeing.words import listed

# The state filter's choices: "" is the default, the open cases (waiting and following).
OPEN_STATES = (v.WAITING, v.FOLLOWING)
ALL_STATES = "all"
STATE_CHOICES = ("", v.WAITING, v.FOLLOWING, v.CLOSED, ALL_STATES)
PER_PAGE = 50


def open_sealed(model: Any, column: str, rows: Iterable[tuple]) -> Iterator[tuple[Any, ...]]:
    """(…, opened document) for rows of (…, uid, sealed): the sealed column of `model`
    opened without building an object (a queue opens a whole school's)."""
    keyring = current_keyring()
    table = model.__table__
    decode = table.c[column].type.decode
    for *head, uid, sealed in rows:
        plaintext = keyring.open(sealed, Context(table.name, uid, column))
        yield (*head, decode(plaintext))


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# ----------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class Case:
    """One assessment of the school as the queue sees it (its status opened)."""

    id: int
    campaign_id: int
    student_id: int
    class_id: int
    grade: int
    tier: str  # the current tier: the counselor's once reviewed, else the model's
    model_tier: str
    points: int
    state: str | None
    owner_id: int | None
    flagged_at: datetime | None
    decided_at: datetime | None


def _case(row: tuple) -> Case:
    assessment_id, campaign_id, student_id, class_id, grade, status = row
    return Case(
        id=assessment_id,
        campaign_id=campaign_id,
        student_id=student_id,
        class_id=class_id,
        grade=grade,
        tier=status.get("reviewed_tier") or status["tier"],
        model_tier=status["tier"],
        points=int(status.get("points") or 0),
        state=status.get("state"),
        owner_id=status.get("owner_id"),
        flagged_at=_time(status.get("flagged_at")),
        decided_at=_time(status.get("decided_at")),
    )


def school_cases(school: School) -> tuple[int, list[Case]]:
    """How many assessments the school has, and those with a case (any state), their
    status opened: one query, one open a row; a Case is built only for the flagged (a
    few hundred of a few thousand). The class and grade are the student's current ones
    (where to find them now)."""
    rows = db.session.execute(
        select(
            RiskAssessment.id,
            RiskAssessment.campaign_id,
            RiskAssessment.student_id,
            Student.class_id,
            SchoolClass.grade,
            RiskAssessment.uid,
            RiskAssessment.status_sealed,
        )
        .join(Student, Student.id == RiskAssessment.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(RiskAssessment.school_id == school.id)
    )
    assessed = 0
    cases = []
    for row in open_sealed(RiskAssessment, "status", rows):
        assessed += 1
        if row[-1].get("state") is not None:
            cases.append(_case(row))
    return assessed, cases


def waiting_count(school: School) -> int:
    """The school's cases no counselor has decided on yet (the home page's figure)."""
    return sum(1 for case in school_cases(school)[1] if case.state == v.WAITING)


@dataclass(frozen=True)
class Filters:
    """What the queue is narrowed to; anything unreadable in the query string is ignored
    (a stale or hand-edited link still shows a queue)."""

    class_id: int | None = None
    grade: int | None = None
    tier: str | None = None
    instrument: str | None = None
    state: str = ""
    mine: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        def number(name: str) -> int | None:
            raw = (args.get(name) or "").strip()
            return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None

        tier = args.get("tier") or None
        state = args.get("state") or ""
        return cls(
            class_id=number("class"),
            grade=number("grade"),
            tier=tier if tier in v.TIERS else None,
            instrument=(args.get("instrument") or "").strip()[:40] or None,
            state=state if state in STATE_CHOICES else "",
            mine=args.get("mine") == "1",
        )

    @property
    def states(self) -> tuple[str, ...]:
        if self.state == ALL_STATES:
            return v.STATES
        return (self.state,) if self.state else OPEN_STATES

    @property
    def narrowed(self) -> bool:
        """Whether anything but the default is chosen."""
        return self != Filters()


def _keep(case: Case, filters: Filters, user_id: int) -> bool:
    return (
        case.state in filters.states
        and (filters.class_id is None or case.class_id == filters.class_id)
        and (filters.grade is None or case.grade == filters.grade)
        and (not filters.mine or case.owner_id == user_id)
    )


def scoring_instruments(explanation: Mapping[str, Any]) -> set[str]:
    """The instruments whose score gave the case points: the features that read an
    instrument's band (<instrument>_band in the model's inputs) and scored."""
    inputs = explanation.get("inputs") or {}
    measured = {key[: -len("_band")] for key in inputs if key.endswith("_band")}
    return {
        c["feature"]
        for c in explanation.get("contributions") or []
        if c.get("points") and c.get("feature") in measured
    }


def _with_instrument(cases: list[Case], instrument: str) -> list[Case]:
    """The cases the instrument's score gave points to (their explanations opened: only
    when this filter is chosen, only for the cases still in the list)."""
    if not cases:
        return []
    kept: set[int] = set()
    ids = [case.id for case in cases]
    for start in range(0, len(ids), 900):
        rows = db.session.execute(
            select(RiskAssessment.id, RiskAssessment.uid, RiskAssessment.explanation_sealed).where(
                RiskAssessment.id.in_(ids[start : start + 900])
            )
        )
        for assessment_id, explanation in open_sealed(RiskAssessment, "explanation", rows):
            if instrument in scoring_instruments(explanation):
                kept.add(assessment_id)
    return [case for case in cases if case.id in kept]


def sort_key(case: Case) -> tuple:
    """Red first, then the longest waiting (the earliest flagged), then the oldest row."""
    flagged = case.flagged_at or datetime.max
    return (-TIER_RANK.get(case.tier, 0), flagged, case.id)


@dataclass(frozen=True)
class QueueRow:
    case: Case
    student: Student
    school_class: SchoolClass
    campaign_name: str
    owner_name: str | None
    waited: timedelta | None


@dataclass
class Queue:
    rows: Page[QueueRow]
    counts: dict[str, int]  # by tier, over the filtered list before the tier filter
    assessed: int  # the school's assessments (screened students, tiered)
    cases: int  # of them with a case (in any state)
    filters: Filters
    classes: list[SchoolClass] = field(default_factory=list)
    grades: list[int] = field(default_factory=list)
    instruments: list[tuple[str, str]] = field(default_factory=list)


def school_queue(school: School, filters: Filters, user: User, language: str) -> Queue:
    """The page of the school's queue the filters and the page number ask for."""
    assessed, cases = school_cases(school)
    kept = [case for case in cases if _keep(case, filters, user.id)]
    if filters.instrument:
        kept = _with_instrument(kept, filters.instrument)
    counts = dict.fromkeys(v.FLAGGED, 0)
    for case in kept:
        counts[case.tier] = counts.get(case.tier, 0) + 1
    if filters.tier:
        kept = [case for case in kept if case.tier == filters.tier]
    kept.sort(key=sort_key)
    page = paginate(kept, per_page=PER_PAGE, anchor="review-queue")
    classes = _classes(school)
    return Queue(
        rows=replace(page, items=_rows(page.items)),
        counts=counts,
        assessed=assessed,
        cases=len(cases),
        filters=filters,
        classes=classes,
        grades=sorted({c.grade for c in classes}),
        instruments=_instruments({case.campaign_id for case in cases}, language),
    )


def _rows(cases: Sequence[Case]) -> list[QueueRow]:
    """The page's cases with their students, classes, campaigns and owners (one query
    each)."""
    students = students_by_id({case.student_id for case in cases})
    campaign_ids = {case.campaign_id for case in cases}
    names = _pairs(select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids)))
    owner_ids = {case.owner_id for case in cases if case.owner_id}
    owners = _pairs(select(User.id, User.display_name).where(User.id.in_(owner_ids)))
    now = utcnow()
    rows = []
    for case in cases:
        student = students[case.student_id]
        rows.append(
            QueueRow(
                case,
                student,
                student.school_class,
                names.get(case.campaign_id, ""),
                owners.get(case.owner_id),
                now - case.flagged_at if case.flagged_at else None,
            )
        )
    return rows


def _pairs(query: Any) -> dict[Any, Any]:
    return {key: value for key, value in db.session.execute(query)}


def _classes(school: School) -> list[SchoolClass]:
    return sorted(school.classes, key=lambda c: class_sort_key(c.grade, c.name))


def _instruments(campaign_ids: set[int], language: str) -> list[tuple[str, str]]:
    """The instruments of the batteries of the campaigns the school's cases come from:
    (id, title), by title."""
    if not campaign_ids:
        return []
    ids = db.session.scalars(
        select(CampaignInstrument.instrument_id)
        .where(CampaignInstrument.campaign_id.in_(campaign_ids))
        .distinct()
    )
    found = []
    for instrument_id in ids:
        try:
            title = instrument_title(catalog().get(instrument_id), language)
        except ScreeningError:
            title = instrument_id
        found.append((instrument_id, title))
    return sorted(found, key=lambda pair: pair[1])


# ----------------------------------------------------------------------------- a case


@dataclass(frozen=True)
class AnswerRow:
    number: int
    text: str
    answer: str  # the option's label (or the value when the file has no label)
    value: int | None
    critical: bool


@dataclass(frozen=True)
class InstrumentResult:
    instrument_id: str
    title: str
    total: Any
    band: str
    valid: bool
    critical: bool
    answers: list[AnswerRow] | None  # None: the answers were erased (withdrawal)


@dataclass(frozen=True)
class ContributionRow:
    label: str
    level: str
    detail: float | None
    points: int


@dataclass(frozen=True)
class HistoryRow:
    assessment_id: int
    school_id: int
    at: datetime | None
    campaign_name: str
    tier: str  # the current tier (the counselor's once reviewed)
    points: int
    state: str | None


def _text(labels: Mapping[str, str] | None, language: str, default: str = "") -> str:
    if not labels:
        return default
    return labels.get(language) or labels.get("zh") or next(iter(labels.values()), default)


def sitting_results(assessment: RiskAssessment, language: str) -> list[InstrumentResult]:
    """The sitting's scores, bands and item answers per instrument (the answers
    decrypted: the caller audits the read)."""
    responses = db.session.scalars(
        select(ScreeningResponse)
        .where(
            ScreeningResponse.target_id == assessment.target_id,
            ScreeningResponse.attempt == assessment.attempt,
        )
        .order_by(ScreeningResponse.id)
    )
    results = []
    for response in responses:
        try:
            instrument = catalog().get(f"{response.instrument_id}@{response.version}")
        except ScreeningError:
            instrument = None
        results.append(_result(response, instrument, language))
    return results


def _result(response: ScreeningResponse, instrument: Any, language: str) -> InstrumentResult:
    band = response.band or ""
    title = response.instrument_id
    if instrument is not None:
        title = instrument_title(instrument, language)
        for scale_band in instrument.total.bands if instrument.total else ():
            if scale_band.id == response.band:
                band = _text(scale_band.label, language, band)
    raw = response.raw
    answers = None
    if raw is not None:
        given = raw.get("answers", {})
        critical = {}
        if instrument is not None:
            critical = {instrument.items[c.item].id: c.min for c in instrument.critical}
        items = instrument.items if instrument is not None else ()
        answers = []
        for number, item in enumerate(items, start=1):
            value = given.get(item.id)
            label = next((o.label for o in item.options if o.value == value), None)
            answers.append(
                AnswerRow(
                    number,
                    _text(item.text, language, item.id),
                    _text(label, language, "" if value is None else str(value)),
                    value,
                    item.id in critical and value is not None and value >= critical[item.id],
                )
            )
        if instrument is None:  # the file is gone: the stored values by item id
            answers = [
                AnswerRow(n, item_id, str(value), value, False)
                for n, (item_id, value) in enumerate(sorted(given.items()), start=1)
            ]
    return InstrumentResult(
        response.instrument_id,
        title,
        response.total,
        band,
        bool(response.valid),
        bool(response.critical),
        answers,
    )


def explanation_rows(
    assessment: RiskAssessment, language: str
) -> tuple[list[ContributionRow], str | None]:
    """Each feature's points (they add up to the total) and the rule that fired, in the
    viewer's language."""
    explanation = assessment.explanation or {}
    rows = [
        ContributionRow(
            _text(c.get("label"), language, c.get("feature", "")),
            _text(c.get("bin_label"), language, c.get("bin") or ""),
            c.get("detail"),
            int(c.get("points") or 0),
        )
        for c in explanation.get("contributions") or []
    ]
    rule = explanation.get("rule")
    return rows, (_text(rule.get("label"), language, rule.get("id", "")) if rule else None)


def history(student_id: int, may_review: Callable[[School], bool]) -> list[HistoryRow]:
    """The student's assessments at the schools whose cases the viewer may review (a
    student who moved schools: the earlier school's too, if theirs), oldest first,
    dated by their sitting."""
    school_ids = set(
        db.session.scalars(
            select(RiskAssessment.school_id).where(RiskAssessment.student_id == student_id)
        )
    )
    if not school_ids:
        return []
    schools = db.session.scalars(select(School).where(School.id.in_(school_ids)))
    allowed = [school.id for school in schools if may_review(school)]
    rows = db.session.execute(
        select(
            RiskAssessment.id,
            RiskAssessment.school_id,
            CampaignTarget.submitted_at,
            Campaign.name,
            RiskAssessment.uid,
            RiskAssessment.status_sealed,
        )
        .join(CampaignTarget, CampaignTarget.id == RiskAssessment.target_id)
        .join(Campaign, Campaign.id == RiskAssessment.campaign_id)
        .where(RiskAssessment.student_id == student_id, RiskAssessment.school_id.in_(allowed))
    )
    found = [
        HistoryRow(
            assessment_id,
            school_id,
            at,
            name,
            status.get("reviewed_tier") or status["tier"],
            int(status.get("points") or 0),
            status.get("state"),
        )
        for assessment_id, school_id, at, name, status in open_sealed(
            RiskAssessment, "status", rows
        )
    ]
    return sorted(found, key=lambda row: (row.at or datetime.min, row.assessment_id))


def statuses(campaign_id: int, school_id: int, student_ids: Sequence[int]) -> dict[int, HistoryRow]:
    """The campaign's assessments of these students at the school, by student (a class's
    ledger)."""
    found: dict[int, HistoryRow] = {}
    for start in range(0, len(student_ids), 900):
        rows = db.session.execute(
            select(
                RiskAssessment.student_id,
                RiskAssessment.id,
                RiskAssessment.uid,
                RiskAssessment.status_sealed,
            ).where(
                RiskAssessment.campaign_id == campaign_id,
                RiskAssessment.school_id == school_id,
                RiskAssessment.student_id.in_(student_ids[start : start + 900]),
            )
        )
        for student_id, assessment_id, status in open_sealed(RiskAssessment, "status", rows):
            found[student_id] = HistoryRow(
                assessment_id,
                school_id,
                None,
                "",
                status.get("reviewed_tier") or status["tier"],
                int(status.get("points") or 0),
                status.get("state"),
            )
    return found


def trend_chart(rows: Sequence[HistoryRow]) -> Markup:
    """The points of each sitting over time, the active model's red threshold dashed;
    drawn on the server (health.charts), fitting a 390 px phone."""
    limits = active_model().thresholds
    top = max([100, *(row.points for row in rows)])
    top = -(-top // 20) * 20
    ticks = sorted({0, top, *(int(limits[t]) for t in v.FLAGGED if t in limits)})
    return line_chart(
        _("Points at each screening"),
        [local_text(row.at, "%Y-%m") if row.at else "—" for row in rows],
        [Series(_("Points"), "series-a", [row.points for row in rows])],
        y_min=0.0,
        y_max=float(top),
        ticks=ticks,
        reference=float(limits["red"]) if "red" in limits else None,
        x_label=_("Screening (month)"),
        y_label=_("Points"),
    )


@dataclass(frozen=True)
class DecisionRow:
    decision: ReviewDecision
    body: dict[str, Any]


def decisions_of(assessment: RiskAssessment) -> list[DecisionRow]:
    """The case's decisions, oldest first: the school's decisions opened, this case's
    kept (whose case a decision is about is sealed)."""
    rows = db.session.scalars(
        select(ReviewDecision)
        .where(ReviewDecision.school_id == assessment.school_id)
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    return [
        DecisionRow(row, row.body) for row in rows if row.body.get("assessment_id") == assessment.id
    ]


def follow_ups_of(decisions: Sequence[DecisionRow]) -> list[FollowUp]:
    """The follow-ups the case's decisions opened."""
    ids = [d.body["follow_up_id"] for d in decisions if d.body.get("follow_up_id")]
    if not ids:
        return []
    return list(
        db.session.scalars(select(FollowUp).where(FollowUp.id.in_(ids)).order_by(FollowUp.id))
    )


@dataclass(frozen=True)
class HealthSummary:
    """The latest vision and fitness results, in words (None where none is recorded)."""

    vision_round: str | None
    vision: str
    fitness_year: str | None
    fitness: str


def health_summary(student: Student) -> HealthSummary | None:
    """None when nothing is recorded."""
    vision = health.vision_history(student)
    fitness = health.fitness_history(student)
    if not vision and not fitness:
        return None
    vision_text = fitness_text = ""
    if vision:
        shown = vision_display(vision[-1])
        vision_text = shown.get("status") or listed(
            text for text in (shown.get("va_grade"), shown.get("myopia_degree")) if text
        )
    if fitness:
        shown = fitness_display(fitness[-1])
        fitness_text = shown.get("status") or listed(
            text
            for text in (
                shown.get("rating"),
                _("%(points)s points", points=shown["total"]) if shown.get("total") else "",
            )
            if text
        )
    return HealthSummary(
        round_label(vision[-1].round) if vision else None,
        vision_text or "—",
        school_year_label(fitness[-1].school_year) if fitness else None,
        fitness_text or "—",
    )


def model_thresholds(version: str) -> Mapping[str, int]:
    """The thresholds of the model an assessment was tiered with (the active one's when
    that version is not stored: the shipped default)."""
    row = db.session.scalar(select(RiskModel).where(RiskModel.version == version))
    if row is not None:
        return model_from_document(row.document).thresholds
    return active_model().thresholds
