"""Reads of the coverage ledger: counts by state for a campaign at district, school and
class level, coverage rates, who is missing and why, the retest queue, and the
consent-equity figures. Each level is one grouped query (GROUP BY place, state), never
one query per class or school.

Definitions (shown on every coverage page):
- every target is in exactly one state (vocabulary.STATES);
- enrolled = targets - transferred (the targets still in the population);
- coverage rate = screened_valid / enrolled; the plan's target is 100%;
- participation rate (equity view) is the same ratio for a subgroup.

Small cells: a monitor (district) sees any count from 1 to k - 1 (k = the SMALL_CELL_K
setting, 10 by default) as "<k", so is any cell that would give one away from its row,
column or totals, and every rate built on a hidden count: screening.suppression is the
rule, `hidden_cells` applies it with the configured k for every district table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from flask import current_app, has_app_context
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from screening import suppression
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.models import Campaign, CampaignTarget, ConsentRecord
from wellbeing.extensions import db
from wellbeing.roster.models import Role, School, SchoolClass, Student, User
from wellbeing.security.policy import scope_contains, scopes_for

# A subgroup whose participation is more than this many points below the whole
# campaign's (or school's) is highlighted.
EQUITY_GAP_POINTS = 10
WITHHELD_REASONS = (v.REASON_AWAITING_CONSENT, v.REASON_OPTED_OUT, v.REASON_WITHDRAWN)


# ----------------------------------------------------------------------------- tallies


@dataclass
class Tally:
    """Targets by state (every state present, zero or more), consent_withheld by reason."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(v.STATES, 0))
    withheld: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WITHHELD_REASONS, 0))

    def add(self, state: str, count: int, reason: str | None = None) -> None:
        self.counts[state] += count
        if state == v.CONSENT_WITHHELD and reason is not None:
            self.withheld[reason] = self.withheld.get(reason, 0) + count

    def merge(self, other: Tally) -> None:
        for state, count in other.counts.items():
            self.counts[state] += count
        for reason, count in other.withheld.items():
            self.withheld[reason] = self.withheld.get(reason, 0) + count

    @property
    def targets(self) -> int:
        return sum(self.counts.values())

    @property
    def enrolled(self) -> int:
        """The rate's denominator: targets still in the population."""
        return self.targets - self.counts[v.TRANSFERRED]

    @property
    def screened(self) -> int:
        return self.counts[v.SCREENED_VALID]

    @property
    def rate(self) -> float | None:
        return self.screened / self.enrolled if self.enrolled else None


def total(tallies: Iterable[Tally]) -> Tally:
    whole = Tally()
    for tally in tallies:
        whole.merge(tally)
    return whole


def tallies(key: Any, *where: Any) -> dict[Any, Tally]:
    """One grouped query: campaign targets by `key` and state. The conditions may use the
    target, its (current) class and its campaign."""
    query = (
        select(key, CampaignTarget.state, func.count())
        .select_from(CampaignTarget)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(*where)
        .group_by(key, CampaignTarget.state)
    )
    found: dict[Any, Tally] = defaultdict(Tally)
    for place, state, count in db.session.execute(query):
        found[place].add(state, count)
    return found


def _tallies(campaign: Campaign, key: Any, *where: Any) -> dict[Any, Tally]:
    return tallies(key, CampaignTarget.campaign_id == campaign.id, *where)


@dataclass(frozen=True)
class Level:
    """The rows of one ledger level (each a place and its tally) and their total."""

    rows: list[tuple[Any, Tally]]
    total: Tally


def district_level(campaign: Campaign) -> Level:
    """Per school of the campaign (every school, a school with no target too)."""
    tallies = _tallies(campaign, SchoolClass.school_id)
    rows = [(school, tallies.get(school.id, Tally())) for school in campaign.schools]
    return Level(rows, total(tally for _, tally in rows))


def school_level(campaign: Campaign, school: School) -> Level:
    """Per class of the school: the covered classes, and any class targets were drawn in."""
    tallies = _tallies(campaign, CampaignTarget.class_id, SchoolClass.school_id == school.id)
    classes = db.session.scalars(
        select(SchoolClass)
        .where(
            SchoolClass.school_id == school.id,
            or_(SchoolClass.grade.in_(campaign.grades), SchoolClass.id.in_(list(tallies))),
        )
        .order_by(*SchoolClass.ordering())
    )
    rows = [(school_class, tallies.get(school_class.id, Tally())) for school_class in classes]
    return Level(rows, total(tally for _, tally in rows))


def class_tally(campaign: Campaign, school_class: SchoolClass) -> Tally:
    return _tallies(campaign, CampaignTarget.class_id, CampaignTarget.class_id == school_class.id)[
        school_class.id
    ]


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class LedgerRow:
    """One target with its student, class, state and the latest consent decision."""

    target_id: int
    student_id: int
    student_number: str
    name: str
    sex: str
    class_id: int
    grade: int
    class_name: str
    state: str
    reason: str | None
    approver: str | None
    state_changed_at: datetime
    attempt: int
    submitted_at: datetime | None
    consent: ConsentRecord | None = None


def ledger_rows(
    campaign: Campaign,
    *,
    school: School | None = None,
    school_class: SchoolClass | None = None,
    target: CampaignTarget | None = None,
    missing_only: bool = False,
    with_consent: bool = False,
) -> list[LedgerRow]:
    """Targets by class (grade, class number) then student number (学籍号);
    `missing_only` keeps every target not screened_valid, `target` one target. One
    query (two with the consent decisions)."""
    approver = aliased(User)
    query = (
        select(
            CampaignTarget.id,
            Student.id,
            Student.student_number,
            Student.name,
            Student.sex,
            SchoolClass.id,
            SchoolClass.grade,
            SchoolClass.name,
            CampaignTarget.state,
            CampaignTarget.reason,
            approver.display_name,
            CampaignTarget.state_changed_at,
            CampaignTarget.attempt,
            CampaignTarget.submitted_at,
        )
        .select_from(CampaignTarget)
        .join(Student, Student.id == CampaignTarget.student_id)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .outerjoin(approver, approver.id == CampaignTarget.approved_by_id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .order_by(*SchoolClass.ordering(), Student.student_number, Student.id)
    )
    if school is not None:
        query = query.where(SchoolClass.school_id == school.id)
    if school_class is not None:
        query = query.where(CampaignTarget.class_id == school_class.id)
    if target is not None:
        query = query.where(CampaignTarget.id == target.id)
    if missing_only:
        query = query.where(CampaignTarget.state != v.SCREENED_VALID)
    rows = [LedgerRow(*row) for row in db.session.execute(query)]
    if with_consent and rows:
        consents = latest_consents(campaign, [row.student_id for row in rows])
        rows = [
            LedgerRow(**{**row.__dict__, "consent": consents.get(row.student_id)}) for row in rows
        ]
    return rows


def latest_consents(campaign: Campaign, student_ids: list[int]) -> dict[int, ConsentRecord]:
    """Each student's latest recorded decision (the one in force), in one query."""
    latest: dict[int, ConsentRecord] = {}
    for chunk in _chunks(student_ids, 900):
        for record in db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.campaign_id == campaign.id, ConsentRecord.student_id.in_(chunk))
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        ):
            latest[record.student_id] = record
    return latest


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class Column:
    """A column an area above adds to a class's ledger: its heading and a cell per
    student id (a student without one shows a dash)."""

    heading: str
    cells: Mapping[int, Markup]


# The areas above add columns to a class's ledger (the review: each student's tier, for
# the school's counselors only): each gets the campaign, the class and its rows, and
# returns its Column, or None when the viewer sees nothing of it. The campaigns know no
# area above them.
LedgerColumn = Callable[[Campaign, SchoolClass, Sequence[LedgerRow]], Column | None]
LEDGER_COLUMNS: list[LedgerColumn] = []


def register_ledger_column(column: LedgerColumn) -> LedgerColumn:
    LEDGER_COLUMNS.append(column)
    return column


def added_columns(
    campaign: Campaign, school_class: SchoolClass, rows: Sequence[LedgerRow]
) -> list[Column]:
    """The registered columns this viewer sees, in the order registered."""
    return [found for column in LEDGER_COLUMNS if (found := column(campaign, school_class, rows))]


def retest_queue(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """The missing rows waiting for a retest (their reason: the failed validity rules)."""
    return [row for row in rows if row.state == v.RETEST_PENDING]


# ----------------------------------------------------------------------------- equity

DIMENSIONS = ("school", "grade", "sex", "boarding", "left_behind")


@dataclass(frozen=True)
class Equity:
    """Participation by dimension: for each, (group value, tally) pairs; and the whole."""

    dimensions: dict[str, list[tuple[Any, Tally]]]
    overall: Tally
    schools: dict[int, School]


def equity(campaign: Campaign, school: School | None = None) -> Equity:
    """Targets, consent withheld by reason, screened and participation by school, grade,
    sex, boarding and left-behind status: one grouped query, folded here."""
    withheld_reason = case(
        (CampaignTarget.state == v.CONSENT_WITHHELD, CampaignTarget.reason), else_=None
    )
    keys = (
        SchoolClass.school_id,
        SchoolClass.grade,
        Student.sex,
        Student.boarding,
        Student.left_behind,
        CampaignTarget.state,
        withheld_reason,
    )
    query = (
        select(*keys, func.count())
        .select_from(CampaignTarget)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .join(Student, Student.id == CampaignTarget.student_id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .group_by(*keys)
    )
    if school is not None:
        query = query.where(SchoolClass.school_id == school.id)
    by: dict[str, dict[Any, Tally]] = {name: defaultdict(Tally) for name in DIMENSIONS}
    overall = Tally()
    for school_id, grade, sex, boarding, left_behind, state, reason, count in db.session.execute(
        query
    ):
        values = (school_id, grade, sex, bool(boarding), bool(left_behind))
        for name, value in zip(DIMENSIONS, values, strict=True):
            by[name][value].add(state, count, reason)
        overall.add(state, count, reason)
    schools = {s.id: s for s in ([school] if school is not None else campaign.schools)}
    dimensions = {
        "school": [(schools[sid], by["school"].get(sid, Tally())) for sid in schools],
        "grade": [(grade, by["grade"].get(grade, Tally())) for grade in campaign.grades],
        "sex": [(sex, by["sex"].get(sex, Tally())) for sex in ("F", "M")],
        "boarding": [(flag, by["boarding"].get(flag, Tally())) for flag in (True, False)],
        "left_behind": [(flag, by["left_behind"].get(flag, Tally())) for flag in (True, False)],
    }
    return Equity(dimensions, overall, schools)


# ----------------------------------------------------------------------------- display


@dataclass(frozen=True)
class Figures:
    """A tally as shown: each count an int, or suppressed_label(); the rate None when there is no
    denominator or it is hidden; `below` when it falls more than EQUITY_GAP_POINTS under
    the reference rate."""

    cells: dict[str, int | str]
    rate: float | None
    below: bool = False

    @property
    def rate_text(self) -> str:
        return "" if self.rate is None else f"{self.rate:.1%}"


def small_cell_k() -> int:
    """k of the suppression rule: the SMALL_CELL_K setting (the rule's default outside an
    application, e.g. in a shell)."""
    return current_app.config["SMALL_CELL_K"] if has_app_context() else suppression.DEFAULT_K


def suppressed_label() -> str:
    """What a hidden cell shows: "<10" with the default k."""
    return suppression.label(small_cell_k())


def is_small(count: int) -> bool:
    return suppression.is_small(count, small_cell_k())


def _cells(tally: Tally) -> dict[str, int]:
    return {
        "targets": tally.targets,
        "enrolled": tally.enrolled,
        "withheld_total": tally.counts[v.CONSENT_WITHHELD],
        **tally.counts,
        **{f"withheld_{reason}": tally.withheld.get(reason, 0) for reason in WITHHELD_REASONS},
    }


# Cells that add up to a cell shown beside them: hiding one alone would not hide it.
_PARTS = (
    (tuple(v.STATES), "targets"),
    (("enrolled", v.TRANSFERRED), "targets"),
    (tuple(f"withheld_{reason}" for reason in WITHHELD_REASONS), "withheld_total"),
    # The same count under two names: one hidden, the other must be too.
    ((v.CONSENT_WITHHELD,), "withheld_total"),
)


def hidden_cells(
    table: list[dict[str, int]], parts: Iterable[tuple[tuple[str, ...], str]] = _PARTS
) -> set[tuple[int, str]]:
    """The district's one suppression rule (screening.suppression, k = SMALL_CELL_K) for
    any table of counts whose `parts` add up to a total in the same row (the coverage
    ledger's, the SLA figures', the 心理委员 coverage's). The last row is the total."""
    return suppression.hidden_cells(table, parts, small_cell_k())


def table_figures(
    tallies: list[Tally], suppress: bool, reference: float | None = None
) -> list[Figures]:
    """Small-cell suppression applied to a table of tallies whose last row is its total.
    With `suppress`, a count from 1 to k - 1 becomes "<k", and so does any cell that
    would give it away (complementary suppression); a rate is hidden when its numerator
    or denominator is. A 0 stays 0: nobody can be singled out of nobody."""
    table = [_cells(tally) for tally in tallies]
    hidden = hidden_cells(table) if suppress else set()
    return [
        _shown(tally, row, r, hidden, reference)
        for r, (tally, row) in enumerate(zip(tallies, table, strict=True))
    ]


def breakdown_figures(
    overall: Tally, breakdowns: Mapping[str, list[Tally]], suppress: bool, reference: float | None
) -> tuple[Figures, dict[str, list[Figures]]]:
    """Several breakdowns of one overall tally (the equity view's by school, grade, sex...)
    suppressed together, so the overall row hides the same cells under each of them and
    no breakdown gives away a cell another hides."""
    named = {name: [_cells(t) for t in tallies] for name, tallies in breakdowns.items()}
    hidden: set = set()
    if suppress:
        hidden = suppression.suppress_breakdowns(_cells(overall), named, _PARTS, small_cell_k())
    whole = _shown(overall, _cells(overall), None, hidden, None)
    shown = {
        name: [
            _shown(tally, row, (name, i), hidden, reference)
            for i, (tally, row) in enumerate(zip(breakdowns[name], rows, strict=True))
        ]
        for name, rows in named.items()
    }
    return whole, shown


def _shown(
    tally: Tally, row: dict[str, int], key: Any, hidden: set, reference: float | None
) -> Figures:
    label = suppressed_label()
    cells = {column: label if (key, column) in hidden else n for column, n in row.items()}
    rate = tally.rate
    if suppression.rate_hidden(hidden, key, v.SCREENED_VALID, "enrolled", "targets"):
        rate = None
    gap = None if rate is None or reference is None else round((reference - rate) * 100, 6)
    return Figures(cells, rate, gap is not None and gap > EQUITY_GAP_POINTS)


def figures(tally: Tally, suppress: bool = False, reference: float | None = None) -> Figures:
    """One tally on its own (a table of one row that is its own total)."""
    return table_figures([tally], suppress, reference)[0]


def equity_figures(
    found: Equity, suppress: bool, reference: float | None
) -> tuple[Figures, dict[str, list[Figures]]]:
    """The equity view's breakdowns and whole as shown (`breakdown_figures`)."""
    breakdowns = {name: [tally for _, tally in groups] for name, groups in found.dimensions.items()}
    return breakdown_figures(found.overall, breakdowns, suppress, reference)


def district_table(campaign: Campaign, suppress: bool) -> tuple[Level, list[Figures]]:
    """The district's table of schools as shown, its last row the total. Suppressed, it
    is the equity view's school breakdown, decided together with the grade, sex and other
    breakdowns of the same whole: a monitor seeing both pages must not recover from one a
    cell the other hides."""
    level = district_level(campaign)
    if not suppress:
        return level, table_figures([t for _, t in level.rows] + [level.total], False)
    whole, shown = equity_figures(equity(campaign), True, None)
    return level, [*shown["school"], whole]


def campaign_figures(campaign: Campaign, tally: Tally, suppress: bool) -> Figures:
    """A campaign's coverage as a whole (`tally`, the viewer's scope). Suppressed, it is
    the district table's total row, as the coverage page, its export and the home page
    show it: a cell hidden there as a complement must not be shown whole here."""
    if not suppress:
        return figures(tally)
    return district_table(campaign, True)[1][-1]


@dataclass(frozen=True)
class ShownRow:
    """A row of a table of counts as shown: counts as ints or "<k"; rates None when there
    is no base, or a count behind them is hidden (then `hidden` names the rate)."""

    cells: dict[str, int | str]
    rates: dict[str, float | None]
    hidden: frozenset[str] = frozenset()
    decimals: ClassVar[int] = 0  # of a rate in percent

    def rate_text(self, key: str) -> str:
        rate = self.rates[key]
        if rate is None:
            return suppressed_label() if key in self.hidden else "—"
        return f"{rate:.{self.decimals}%}"


def shown_table(
    table: list[dict[str, int]],
    parts: Sequence[tuple[tuple[str, ...], str]],
    rates: Mapping[str, tuple[str, str]],
    suppress: bool,
    row: type[ShownRow] = ShownRow,
) -> list[ShownRow]:
    """A table of counts whose last row is its total (`parts` add up to a total in the
    same row; `rates` name each rate's numerator and base) through the district's one
    rule: with `suppress`, counts from 1 to k - 1 and the cells that would give them away
    by subtraction are hidden, and so is every rate built on a hidden count."""
    hidden = hidden_cells(table, parts) if suppress else set()
    label = suppressed_label()
    shown = []
    for r, counts in enumerate(table):
        cells = {key: label if (r, key) in hidden else n for key, n in counts.items()}
        values: dict[str, float | None] = {}
        hidden_rates = set()
        for name, (numerator, base) in rates.items():
            behind = {numerator, base, *next(p for p, total in parts if total == base)}
            if suppression.rate_hidden(hidden, r, *behind):
                values[name] = None
                hidden_rates.add(name)
            else:
                values[name] = counts[numerator] / counts[base] if counts[base] else None
        shown.append(row(cells, values, frozenset(hidden_rates)))
    return shown


def small_cells_row() -> list[str]:
    """The line a suppressed export carries before its table: what "<k" means there."""
    return [
        _("Small cells"),
        _(
            "Counts from 1 to %(top)d, and the cells that would reveal them by "
            "subtraction, are shown as %(shown)s; rates built on them are left out.",
            top=small_cell_k() - 1,
            shown=suppressed_label(),
        ),
    ]


def suppressed_for(user: Any, action: str, target: Any) -> bool:
    """Whether the user sees this target's figures only through the monitor role (so
    small cells are suppressed). A user who also holds another role granting the action
    over the target sees them whole."""
    return not any(
        assignment.role != Role.monitor and scope_contains(assignment, target, action)
        for assignment in scopes_for(user, action)
    )
