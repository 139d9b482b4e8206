"""Retention: how long each kind of record is kept, and what happens when it expires.

Each kind is one entry of RULES: the model, what has expired (a WHERE clause given the
cutoff), the period setting, and whether expired rows are purged (deleted), anonymised
(identifying columns overwritten) or only reported. Adding a kind is adding one entry: this
layer's own here, an area's with register_rule (counselors' notes: wellbeing.notes; the
inbox and the outbox: wellbeing.notifications).

`plan()` counts what has expired and changes nothing (the dry run); `apply()` does it in
the caller's transaction and writes one audit row "retention_run" with the counts.

Audit rows are never removed here: the table is append-only (a trigger refuses UPDATE
and DELETE). Purging audit rows older than RETENTION_AUDIT_DAYS is a DBA task that
disables the trigger for the purge; `wellbeing audit verify` then starts from the first
remaining row. The "audit_events" rule only reports how many rows a DBA may purge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import StudentStatus
from wellbeing.security.audit import record_event
from wellbeing.security.models import AccountLock, AuditEvent, LoginAttempt

# Students who are no longer enrolled: their records start their after-leaving period.
LEFT_STATUSES = (StudentStatus.transferred, StudentStatus.graduated, StudentStatus.withdrawn)
# The Cybersecurity Law (art. 21) requires network logs to be kept at least six months;
# the issue requires the audit trail for at least 180 days. Config cannot go lower.
LOG_FLOOR_DAYS = 180
# A dry run lists the ids of expired rows up to this many; beyond, only the count.
IDS_SHOWN = 20

PURGE, ANONYMISE, REPORT = "purge", "anonymise", "report"


@dataclass(frozen=True)
class Period:
    """A retention period read from a setting, in days or calendar years, never below
    its floor (in days, for periods in days). No setting: the record expires at once
    (e.g. a lock past its end)."""

    setting: str | None = None
    default: int = 0
    unit: str = "days"  # or "years"
    floor_days: int = 0

    def length(self, config: Mapping[str, Any]) -> int:
        configured = int(config.get(self.setting, self.default)) if self.setting else 0
        floor = self.floor_days if self.unit == "days" else 0
        return max(configured, floor, 0)

    def cutoff(self, config: Mapping[str, Any], now: datetime) -> datetime:
        length = self.length(config)
        if self.unit == "years":
            return _years_before(now, length)
        return now - timedelta(days=length)

    def describe(self, config: Mapping[str, Any]) -> str:
        if self.setting is None:
            return "none (expires at its own end)"
        text = f"{self.length(config)} {self.unit} ({self.setting})"
        configured = int(config.get(self.setting, self.default))
        if configured < self.length(config):
            text += f"; {configured} configured, raised to the floor"
        return text


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year - years, day=28)


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    model: type
    action: str  # PURGE, ANONYMISE or REPORT
    period: Period
    # Given the cutoff (and now), the rows that have expired. For ANONYMISE it must also
    # exclude rows already anonymised, so a second run finds nothing.
    expired: Callable[[datetime, datetime], ColumnElement[bool]]
    description: str
    # ANONYMISE: the column values that replace identifying ones.
    anonymise: Mapping[str, Any] = field(default_factory=dict)
    # Whether a dry run may list row ids (not for keys that are names people typed).
    list_ids: bool = True


# The kinds this layer owns; areas add theirs with register_rule (it knows no area).
RULES: list[RetentionRule] = [
    RetentionRule(
        kind="login_attempts",
        model=LoginAttempt,
        action=PURGE,
        period=Period("RETENTION_LOGIN_ATTEMPTS_DAYS", 180, floor_days=LOG_FLOOR_DAYS),
        expired=lambda cutoff, _now: LoginAttempt.at < cutoff,
        description="login attempts older than the period",
    ),
    RetentionRule(
        kind="account_locks",
        model=AccountLock,
        action=PURGE,
        period=Period(),
        expired=lambda _cutoff, now: AccountLock.locked_until < now,
        description="account locks that have ended",
        list_ids=False,  # keyed by the name typed, which may be a mistyped password
    ),
    RetentionRule(
        kind="audit_events",
        model=AuditEvent,
        action=REPORT,
        period=Period("RETENTION_AUDIT_DAYS", 1095, floor_days=LOG_FLOOR_DAYS),
        expired=lambda cutoff, _now: AuditEvent.at < cutoff,
        description=(
            "audit rows older than the period: never removed by the application "
            "(append-only); a DBA may purge them (see README)"
        ),
        list_ids=False,
    ),
]


def register_rule(rule: RetentionRule) -> None:
    """An area's kind of record (e.g. counselors' notes), kept before the rules that
    only report, so a run lists what it removes first."""
    reporting = [i for i, known in enumerate(RULES) if known.action == REPORT]
    RULES.insert(reporting[0] if reporting else len(RULES), rule)


@dataclass(frozen=True)
class Outcome:
    """What one rule found (and, when applied, changed)."""

    kind: str
    action: str
    period: str
    cutoff: datetime
    count: int
    ids: list[Any]
    description: str

    def render(self) -> str:
        verb = {PURGE: "purge", ANONYMISE: "anonymise", REPORT: "keep"}[self.action]
        line = f"{self.kind}: {verb} {self.count} — {self.description}; period: {self.period}"
        if self.ids:
            line += "\n    ids: " + " ".join(str(ident) for ident in self.ids)
        return line


def _primary_key(model: type) -> Any:
    return model.__mapper__.primary_key[0]


def _outcome(rule: RetentionRule, config: Mapping[str, Any], now: datetime) -> Outcome:
    cutoff = rule.period.cutoff(config, now)
    where = rule.expired(cutoff, now)
    count = db.session.scalar(select(func.count()).select_from(rule.model).where(where))
    ids: list[Any] = []
    if rule.list_ids and 0 < count <= IDS_SHOWN:
        key = _primary_key(rule.model)
        ids = list(db.session.scalars(select(key).where(where).order_by(key)))
    return Outcome(
        rule.kind, rule.action, rule.period.describe(config), cutoff, count, ids, rule.description
    )


def plan(
    config: Mapping[str, Any],
    now: datetime | None = None,
    rules: Sequence[RetentionRule] | None = None,
) -> list[Outcome]:
    """The dry run: what each rule would purge or anonymise now. Changes nothing."""
    now = now or utcnow()
    return [_outcome(rule, config, now) for rule in (RULES if rules is None else rules)]


def _carry_out(rule: RetentionRule, cutoff: datetime, now: datetime) -> int:
    where = rule.expired(cutoff, now)
    if rule.action == PURGE:
        statement = delete(rule.model).where(where)
    elif rule.action == ANONYMISE:
        statement = update(rule.model).where(where).values(**rule.anonymise)
    else:
        return 0
    options = {"synchronize_session": False}
    return db.session.execute(statement, execution_options=options).rowcount


def apply(
    config: Mapping[str, Any],
    *,
    actor: str | None = None,
    now: datetime | None = None,
    rules: Sequence[RetentionRule] | None = None,
) -> list[Outcome]:
    """Purge and anonymise what has expired, in the current transaction (the caller
    commits), and audit the run with the counts."""
    now = now or utcnow()
    outcomes = []
    for rule in RULES if rules is None else rules:
        found = _outcome(rule, config, now)
        if rule.action != REPORT:
            found = replace(found, count=_carry_out(rule, found.cutoff, now))
        outcomes.append(found)
    db.session.expire_all()  # loaded objects may describe rows that are gone
    record_event(
        "retention_run",
        username=actor,
        detail={
            "counts": {o.kind: o.count for o in outcomes if o.action != REPORT},
            "actions": {o.kind: o.action for o in outcomes if o.action != REPORT},
            "audit_rows_past_retention": sum(o.count for o in outcomes if o.action == REPORT),
        },
    )
    return outcomes
