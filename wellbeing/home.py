"""The figures on the home page: each role's work at a glance. Reads only, a few grouped
queries per panel and never one per student; the areas' own queries where they exist
(the ledger's tallies and small-cell suppression, the alerts' count), plain selects
otherwise. The template links every count to the list behind it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from wellbeing.campaigns import ledger
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.models import Campaign, CampaignSchool
from wellbeing.clock import to_local, utcnow
from wellbeing.district.queries import school_staffing
from wellbeing.extensions import db
from wellbeing.followups.queries import counts as follow_up_counts
from wellbeing.health import queries as health_queries
from wellbeing.health.models import FitnessRecord
from wellbeing.health.rounds import VisionRound, school_year_for, vision_round_for
from wellbeing.observations import committee as committee_health
from wellbeing.observations.incoming import waiting_counts as observations_waiting
from wellbeing.observations.reporting import filed_this_week
from wellbeing.plans.queries import open_plan_count
from wellbeing.review.alerts import open_alert_counts
from wellbeing.review.oversight import school_counts
from wellbeing.review.queue import waiting_count
from wellbeing.roster.models import District, RoleAssignment, School, SchoolClass, Student
from wellbeing.security.models import AuditEvent

# States that still need someone to act before the student counts as screened.
NOT_YET_SCREENED = (v.NOT_STARTED, v.IN_PROGRESS, v.ABSENT, v.RETEST_PENDING)
LATEST_IMPORTS = 5


@dataclass
class Coverage:
    """An open campaign's coverage of a place: the ledger's figures (suppressed for a
    monitor), and what is still missing."""

    campaign: Campaign
    figures: ledger.Figures
    not_yet: int | None  # None when a part of it is suppressed (the sum is not shown)
    consent_missing: Any  # count, or "<k" when suppressed


@dataclass
class RoundProgress:
    """How far a health round has got in a school: classes with every enrolled student
    recorded, classes begun, classes not begun."""

    done: int = 0
    in_progress: int = 0
    not_started: int = 0
    records: int = 0
    students: int = 0


@dataclass
class ImportRow:
    at: datetime
    username: str | None
    kind: str  # roster, vision, fitness, paper
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Panel:
    assignment: RoleAssignment
    figures: dict[str, Any] = field(default_factory=dict)


def panels(user: Any) -> list[Panel]:
    """One panel per role assignment of the user, with its figures."""
    now = utcnow()
    counselor_schools = [a.school_id for a in user.roles if a.role == "counselor" and a.school_id]
    alerts = open_alert_counts(counselor_schools)
    observations = observations_waiting(counselor_schools, now)
    result = []
    for assignment in user.roles:
        figures: dict[str, Any] = {}
        if assignment.role == "counselor" and assignment.school is not None:
            figures = counselor(
                assignment.school, alerts.get(assignment.school_id, 0), now, user.id
            )
            figures["observations"] = observations[assignment.school_id]
        elif assignment.role == "school_leader" and assignment.school is not None:
            figures = school_leader(assignment.school_id, now)
        elif assignment.role == "doctor" and assignment.school is not None:
            figures = doctor(assignment.school, now)
        elif assignment.role == "head_teacher" and assignment.school_class is not None:
            figures = head_teacher(assignment.school_class, now, user.id)
        elif assignment.role == "committee" and assignment.school_class is not None:
            figures = committee(assignment.school_class, user.id)
        elif assignment.role == "admin" and assignment.district is not None:
            figures = admin(assignment.district)
        elif assignment.role == "monitor" and assignment.district is not None:
            figures = monitor(user, assignment.district, now)
        result.append(Panel(assignment, figures))
    return result


# ----------------------------------------------------------------------------- campaigns


def open_campaign_of_school(school: School, now: datetime, grade: int | None = None):
    """The open campaign covering the school (and the grade, if given), the most
    recently opened first; None when none is open."""
    candidates = db.session.scalars(
        select(Campaign)
        .join(CampaignSchool, CampaignSchool.campaign_id == Campaign.id)
        .where(
            CampaignSchool.school_id == school.id,
            Campaign.opens_at <= now,
            Campaign.closes_at > now,
        )
        .order_by(Campaign.opens_at.desc(), Campaign.id.desc())
    )
    # grades is a JSON list: filtered here, among the few open campaigns of a school.
    return next((c for c in candidates if grade is None or grade in c.grades), None)


def open_campaign_of_district(district: District, now: datetime) -> Campaign | None:
    """The open district-wide campaign, else the latest open school campaign."""
    return db.session.scalar(
        select(Campaign)
        .where(
            Campaign.district_id == district.id,
            Campaign.opens_at <= now,
            Campaign.closes_at > now,
        )
        .order_by(
            Campaign.owner_school_id.is_not(None), Campaign.opens_at.desc(), Campaign.id.desc()
        )
        .limit(1)
    )


def _coverage(campaign: Campaign, figures: ledger.Figures) -> Coverage:
    cells = figures.cells
    parts = [cells[state] for state in NOT_YET_SCREENED]
    # A sum over suppressed cells could give one away: it is left out, not re-suppressed.
    not_yet = sum(parts) if all(isinstance(n, int) for n in parts) else None
    return Coverage(campaign, figures, not_yet, cells[v.CONSENT_WITHHELD])


def counselor(school: School, alerts: int, now: datetime, user_id: int) -> dict[str, Any]:
    campaign = open_campaign_of_school(school, now)
    coverage = None
    if campaign is not None:
        total = ledger.school_level(campaign, school).total
        coverage = _coverage(campaign, ledger.figures(total))
    # The counselor's own follow-ups at this school, beside the alerts that start them.
    overdue, today = follow_up_counts(user_id, now, school.id)
    return {
        "alerts": alerts,
        "review_waiting": waiting_count(school),
        "plans_open": open_plan_count(school.id),
        "coverage": coverage,
        "overdue": overdue,
        "due_today": today,
    }


def school_leader(school_id: int, now: datetime) -> dict[str, Any]:
    """The school's overdue follow-ups and its alerts waiting and late, and its classes
    short of 心理委员 or not reported this week: counts only."""
    classes = committee_health.school_classes(school_id, to_local(now).date())
    return {
        "counts": school_counts([school_id], now)[school_id],
        "committee_short": sum(1 for row in classes if not row.coverage.complete),
        "committee_unreported": sum(
            1 for row in classes if row.coverage.members and not row.this_week
        ),
    }


def head_teacher(school_class: SchoolClass, now: datetime, user_id: int) -> dict[str, Any]:
    campaign = open_campaign_of_school(school_class.school, now, school_class.grade)
    coverage = None
    if campaign is not None:
        coverage = _coverage(campaign, ledger.figures(ledger.class_tally(campaign, school_class)))
    vision_round = vision_round_for(now.date())
    progress = _vision_progress(SchoolClass.id == school_class.id, vision_round)
    return {
        "coverage": coverage,
        "vision_round": vision_round,
        "vision": progress,
        "report_filed": filed_this_week(user_id, school_class.id),
    }


def committee(school_class: SchoolClass, user_id: int) -> dict[str, Any]:
    """A 心理委员's own weekly report: filed this week or not (nothing about classmates)."""
    return {"report_filed": filed_this_week(user_id, school_class.id)}


def monitor(user: Any, district: District, now: datetime) -> dict[str, Any]:
    """The district's headline: the open campaign's total, through the ledger's one
    suppression (the table of schools and its total, as the coverage page shows it)."""
    campaign = open_campaign_of_district(district, now)
    if campaign is None:
        return {"coverage": None}
    suppress = ledger.suppressed_for(user, "coverage.view_district", district)
    level, (*_, whole) = ledger.district_table(campaign, suppress)
    return {"coverage": _coverage(campaign, whole), "schools": len(level.rows)}


# ----------------------------------------------------------------------------- health


def _progress(enrolled: dict[int, int], recorded: dict[int, int]) -> RoundProgress:
    progress = RoundProgress()
    for class_id, students in enrolled.items():
        records = recorded.get(class_id, 0)
        progress.students += students
        progress.records += records
        if records >= students:
            progress.done += 1
        elif records:
            progress.in_progress += 1
        else:
            progress.not_started += 1
    return progress


def _vision_progress(where: Any, vision_round: VisionRound) -> RoundProgress:
    return _progress(
        health_queries.enrolled_by_class(where),
        health_queries.vision_records_by_class(where, vision_round),
    )


def _fitness_progress(where: Any, school_year: int) -> RoundProgress:
    return _progress(
        health_queries.enrolled_by_class(where),
        health_queries.fitness_records_by_class(where, school_year),
    )


def latest_fitness_year(school: School, now: datetime) -> int:
    """The current school year, or the last one with fitness records at the school when
    this year's tests have not begun (they are usually held in the spring)."""
    current = school_year_for(now.date())
    latest = db.session.scalar(
        select(func.max(FitnessRecord.school_year))
        .join(Student, Student.id == FitnessRecord.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(SchoolClass.school_id == school.id, FitnessRecord.school_year <= current)
    )
    return latest if latest is not None else current


def doctor(school: School, now: datetime) -> dict[str, Any]:
    vision_round = vision_round_for(now.date())
    school_year = latest_fitness_year(school, now)
    in_school = SchoolClass.school_id == school.id
    return {
        "vision_round": vision_round,
        "vision": _vision_progress(in_school, vision_round),
        "school_year": school_year,
        "fitness": _fitness_progress(in_school, school_year),
    }


# ----------------------------------------------------------------------------- admin


def latest_imports(limit: int = LATEST_IMPORTS) -> list[ImportRow]:
    """The newest imports of any kind (roster, health rounds, paper answers), from the
    audit trail."""
    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.username, AuditEvent.target_type, AuditEvent.detail)
        .where(AuditEvent.action == "import")
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    result = []
    for at, username, target_type, detail_text in rows:
        try:
            detail = json.loads(detail_text or "{}")
        except ValueError:
            detail = {}
        if target_type == "roster":
            kind, counts = "roster", _roster_counts(detail.get("counts", {}))
        elif detail.get("kind") in ("vision", "fitness"):
            kind = detail["kind"]
            counts = {key: detail.get(key, 0) for key in ("rows", "created", "updated")}
        else:
            kind, counts = "paper", {"rows": detail.get("rows", 0)}
        result.append(ImportRow(at, username, kind, counts))
    return result


def _roster_counts(counts: dict[str, Any]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for kind_counts in counts.values():
        if isinstance(kind_counts, dict):
            total.update(
                {k: n for k, n in kind_counts.items() if isinstance(n, int) and k != "unchanged"}
            )
    return dict(total)


def admin(district: District) -> dict[str, Any]:
    staffing = school_staffing(district.id)
    return {
        "imports": latest_imports(),
        "without_counselor": sum(1 for row in staffing if row.counselors == 0),
        "committee_gaps": sum(
            1 for row in staffing if row.classes_with_two_committee < row.classes_needing_committee
        ),
        "schools": len(staffing),
    }
