"""The access policy: one table of actions, the roles that may take them, and how far
each role's scope reaches. Every view declares its action with @requires (or @public);
a test checks every registered route against this table for every role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import District, Role, RoleAssignment, School, SchoolClass, Student

# A node of the organisation tree, or an area's object whose scope rule is registered.
Target = Any
# How far an area's own kind of target reaches: (assignment, target, action) -> inside.
ScopeRule = Callable[[RoleAssignment, Any, str], bool]
SCOPE_RULES: dict[type, ScopeRule] = {}


def register_scope(model: type, rule: ScopeRule) -> None:
    """An area tells the policy how its objects sit in the scope tree (a campaign covers
    schools and grades): the policy knows no area, areas register what they need."""
    SCOPE_RULES[model] = rule


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    # An action on a target is allowed only inside the scope of the role that grants it.
    # Actions without a target (a home page, a district overview) need only the role.
    description: str


def _rule(description: str, *roles: Role) -> Rule:
    return Rule(frozenset(roles), description)


R = Role
POLICY: dict[str, Rule] = {
    "home": _rule("See one's own home page", *Role),
    "profile": _rule(
        "One's own profile: the name shown and the e-mail address for notifications",
        R.admin,
        R.monitor,
        R.counselor,
        R.school_leader,
        R.doctor,
        R.head_teacher,
        R.committee,
    ),
    "notifications.outbox": _rule(
        "The outbox of mail and webhooks (recipients masked), and retrying a failed one",
        R.admin,
    ),
    "district.overview": _rule("District aggregates, never a student", R.monitor, R.admin),
    # The plan's indicators: precomputed counts by school, grade and sex (small cells
    # suppressed for monitors), their trends and exports; the targets are the admin's.
    "district.indicators": _rule(
        "The district's indicators against their targets, by school, grade and sex; exports",
        R.monitor,
        R.admin,
    ),
    "district.indicator_targets": _rule("Set the district's indicator targets", R.admin),
    # The DHIS2 files carry whole figures (a DHIS2 instance applies its own access rules):
    # the administrator who feeds the district's instance makes them, audited.
    "district.dhis2": _rule("The district's indicators as DHIS2 files", R.admin),
    "roster.list_schools": _rule("List the schools in one's scope", R.admin, R.counselor, R.doctor),
    "roster.view_school": _rule("A school's classes", R.admin, R.counselor, R.doctor),
    "roster.view_class": _rule(
        "A class list with student details", R.admin, R.counselor, R.doctor, R.head_teacher
    ),
    "roster.view_student": _rule(
        "A student's record", R.admin, R.counselor, R.doctor, R.head_teacher
    ),
    "roster.view_guardians": _rule(
        "A student's guardians and their phones", R.admin, R.counselor, R.head_teacher
    ),
    "roster.import": _rule("Import schools, classes, students, guardians, staff", R.admin),
    "committee.class_roster": _rule("Classmates' names, nothing more", R.committee),
    # Observations. A 心理委员 or a head teacher files them about their own class and sees
    # their own reports, never a classmate's scores, tiers, plans or others' reports; the
    # school's counselors (the district's administrators for a school without one, as for
    # crisis alerts) receive them, see who reported, acknowledge them and follow them up.
    "observations.report": _rule(
        "File the weekly report (or an urgent observation) about one's own class",
        R.committee,
        R.head_teacher,
    ),
    "observations.mine": _rule(
        "One's own reports of recent weeks, nothing else", R.committee, R.head_teacher
    ),
    "observations.training": _rule(
        "The 心理委员's training page: what to watch, what to do, what not to do",
        R.committee,
        R.head_teacher,
        R.counselor,
    ),
    "observations.incoming": _rule(
        "A school's incoming observations with their reporters and deadlines",
        R.counselor,
        R.admin,
    ),
    "observations.acknowledge": _rule(
        "Acknowledge an observation of one's school and open a follow-up from it",
        R.counselor,
        R.admin,
    ),
    "observations.view": _rule(
        "One observation of one's school: whom, what was seen, how sure, the note, who reported",
        R.counselor,
        R.admin,
    ),
    # Who reported: the pages above show it to their readers; other pages that list
    # observations (a student's page) ask this before naming the reporter.
    "observations.reporter": _rule(
        "Who reported an observation (never head teachers nor 心理委员)", R.counselor, R.admin
    ),
    # A student's page lists the student's observations to the school's counselors only:
    # head teachers must not learn of the 心理委员's reports, nor who made them.
    "observations.of_student": _rule(
        "A student's observations of recent weeks, on the student's page", R.counselor
    ),
    "committee.school": _rule(
        "A school's 心理委员 coverage and weekly report rates by class (no observation)",
        R.counselor,
        R.school_leader,
        R.admin,
    ),
    "committee.district": _rule(
        "Each school's 心理委员 coverage and report rates (small cells suppressed)",
        R.monitor,
        R.admin,
    ),
    # The mental-health lesson log: a class's lessons (date and topic, no student), kept
    # by its head teacher and the school's counselors; the school's leaders and the
    # district's administrators read the counts. A head teacher deletes only the lessons
    # they logged themselves (the lesson's scope rule, wellbeing/lessons/access.py).
    "lessons.school": _rule(
        "A school's classes with their mental-health lessons this semester (no student)",
        R.counselor,
        R.school_leader,
        R.admin,
    ),
    "lessons.class": _rule(
        "A class's mental-health lesson log: dates and topics (no student)",
        R.head_teacher,
        R.counselor,
        R.school_leader,
        R.admin,
    ),
    "lessons.log": _rule(
        "Log a class's mental-health lesson, or delete one logged by mistake",
        R.head_teacher,
        R.counselor,
    ),
    "audit.browse": _rule("Browse and export the audit trail", R.admin),
    "scheduler.view": _rule("The scheduler's lease, jobs and runs (no student)", R.admin),
    "notes.read": _rule("Counselors' confidential notes about a student", R.counselor),
    "notes.write": _rule("Add a confidential note about a student", R.counselor),
    # The district's one emergency path to counseling notes; monitors never see a student.
    "student.break_glass": _rule(
        "Open one student's record and notes in an emergency, stating a purpose", R.admin
    ),
    "health.enter": _rule(
        "Enter and import a class's vision and fitness records", R.admin, R.doctor
    ),
    "health.view_student": _rule(
        "A student's vision and fitness history",
        R.admin,
        R.counselor,
        R.doctor,
        R.head_teacher,
    ),
    "health.view_class": _rule(
        "A class's vision and fitness results and rates",
        R.admin,
        R.counselor,
        R.doctor,
        R.head_teacher,
    ),
    "health.letters": _rule(
        "Print a class's parent letters (logged)", R.admin, R.doctor, R.head_teacher
    ),
    "health.school_summary": _rule("A school's health rates by grade and sex", R.admin, R.doctor),
    "health.export": _rule("A school's national fitness upload file", R.admin, R.doctor),
    # Screening campaigns. A campaign is in a scope when one of its schools is (a class:
    # its school is covered and its grade is one of the campaign's).
    "campaign.list": _rule(
        "The campaigns covering one's scope", R.admin, R.monitor, R.counselor, R.head_teacher
    ),
    "campaign.open": _rule(
        "Open a campaign: a counselor for the school, an administrator for the district",
        R.admin,
        R.counselor,
    ),
    "campaign.view": _rule(
        "A campaign's battery, window, consent basis and coverage figures",
        R.admin,
        R.monitor,
        R.counselor,
        R.head_teacher,
    ),
    "campaign.edit": _rule(
        "Change a campaign's window or population (its owner only: the school or district)",
        R.admin,
        R.counselor,
    ),
    "campaign.codes": _rule(
        "Print a class's access-code slips and guardian notices; reissue a lost code",
        R.admin,
        R.counselor,
        R.head_teacher,
    ),
    "coverage.view_district": _rule(
        "A campaign's coverage by school (counts and rates only)", R.admin, R.monitor
    ),
    "coverage.view_school": _rule(
        "A school's coverage ledger, its missing students and why", R.admin, R.counselor
    ),
    "coverage.view_class": _rule(
        "A class's coverage ledger with names", R.admin, R.counselor, R.head_teacher
    ),
    "coverage.mark": _rule(
        "Mark a student absent, transferred or exempt; issue a retest", R.admin, R.counselor
    ),
    "coverage.equity": _rule(
        "Participation by school, grade, sex, boarding and left-behind status",
        R.admin,
        R.monitor,
        R.counselor,
    ),
    "consent.record": _rule(
        "Record a guardian's consent, opt-out or withdrawal",
        R.admin,
        R.counselor,
        R.head_teacher,
    ),
    # Administrators too: a school without a counselor has its alerts sent to them.
    "alerts.view": _rule("A school's crisis alerts; acknowledge them", R.counselor, R.admin),
    # The review: tiers, explanations, answers and decisions are the school's counselors'
    # alone (not the administrators, not the head teachers, not the leaders).
    "review.queue": _rule(
        "A school's review queue: flagged students by tier, points and waiting time",
        R.counselor,
    ),
    "review.case": _rule(
        "A flagged student's case: answers, scores, the explanation, history, decisions",
        R.counselor,
    ),
    "review.decide": _rule(
        "Record a decision on a case: confirm, change the tier, follow up, refer, close",
        R.counselor,
    ),
    # Risk models: the district's administrators read the card, preview and activate; the
    # counselors read the card (aggregates, small cells suppressed).
    "risk.card": _rule("The risk models and their cards", R.admin, R.counselor),
    "risk.activate": _rule("Preview a risk model's effect on the tiers and activate it", R.admin),
    # Follow-ups: the counselors of the school; the district's administrators too, who are
    # given them when a school has no counselor (as they receive its crisis alerts).
    "followups.mine": _rule(
        "One's own follow-ups: overdue, due today, upcoming, by week", R.counselor, R.admin
    ),
    "followups.view": _rule(
        "A follow-up of a student of one's school, its history and outcome",
        R.counselor,
        R.admin,
    ),
    "followups.manage": _rule(
        "Open, complete, reassign or cancel a follow-up of one's school", R.counselor, R.admin
    ),
    # Oversight of the SLA ladder. The school's leaders see who is waiting and since when
    # (names, classes, kinds, times), never what was said, answered, scored or planned;
    # the district sees rates per school only.
    "oversight.school": _rule(
        "A school's overdue follow-ups and late crisis alerts, without their content",
        R.school_leader,
        R.admin,
    ),
    "oversight.district": _rule(
        "Each school's SLA rates (small cells suppressed), never a student", R.monitor, R.admin
    ),
    # The 一生一策 file: the counselors of the student's school read and run it; a head
    # teacher sees only the care actions given to them; anyone else opens it only by
    # break-glass (an administrator, with a purpose; its counselors see who did).
    "plans.list": _rule("A school's 一生一策 files: whose, status, next review", R.counselor),
    "plans.read": _rule(
        "A student's whole 一生一策 file: versions, timeline, contacts, referrals, who viewed it",
        R.counselor,
    ),
    "plans.write": _rule(
        "Open, amend, sign, close a 一生一策 file; log contacts, file attachments, refer",
        R.counselor,
    ),
    "plans.export": _rule(
        "Print a 一生一策 file or a referral sheet, download an attachment or a leaving"
        " package (a fresh password first)",
        R.counselor,
    ),
    "plans.care": _rule(
        "The care actions of a 一生一策 file given to the student's head teacher", R.head_teacher
    ),
    "hospitals.manage": _rule("The district's list of partner hospitals", R.admin),
    "reauth": _rule("Confirm one's password again before an export or a print", *Role),
    "paper.print": _rule("Print a battery as a paper form", R.admin, R.counselor),
    "paper.enter": _rule(
        "Enter or import paper answers (with an optional second entry)", R.admin, R.counselor
    ),
}


def _school_id(target: Target) -> int | None:
    if isinstance(target, School):
        return target.id
    if isinstance(target, SchoolClass):
        return target.school_id
    if isinstance(target, Student):
        return target.school_class.school_id
    return None


def _class_id(target: Target) -> int | None:
    if isinstance(target, SchoolClass):
        return target.id
    if isinstance(target, Student):
        return target.class_id
    return None


def _district_id(target: Target) -> int | None:
    if isinstance(target, District):
        return target.id
    school_id = _school_id(target)
    if school_id is None:
        return None
    return db.session.get(School, school_id).district_id


def scope_contains(assignment: RoleAssignment, target: Target, action: str = "") -> bool:
    """Whether the assignment's scope node is the target or one of its ancestors."""
    if target is None:
        return True
    rule = SCOPE_RULES.get(type(target))
    if rule is not None:
        return rule(assignment, target, action)
    if assignment.class_id is not None:
        return _class_id(target) == assignment.class_id
    if assignment.school_id is not None:
        return _school_id(target) == assignment.school_id
    return _district_id(target) == assignment.district_id


# What a break-glass grant opens, for its one student and its time; areas add theirs.
BREAK_GLASS_ACTIONS: set[str] = {"roster.view_student", "notes.read"}
# How a target names its student, for a grant to reach it (areas register their models).
STUDENT_OF: dict[type, Callable[[Any], Student | None]] = {Student: lambda student: student}


def register_break_glass(action: str, model: type, student_of: Callable[[Any], Any]) -> None:
    """An area lets a break-glass grant open one of its actions on its own kind of target
    (a plan names its student): the policy knows no area."""
    BREAK_GLASS_ACTIONS.add(action)
    STUDENT_OF[model] = student_of


def can(user: Any, action: str, target: Target = None) -> bool:
    """Whether the user may take the action on the target. Unknown actions are refused."""
    rule = POLICY.get(action)
    if rule is None or not getattr(user, "is_authenticated", False):
        return False
    if any(
        assignment.role in rule.roles and scope_contains(assignment, target, action)
        for assignment in user.roles
    ):
        return True
    return action in BREAK_GLASS_ACTIONS and break_glass_student(user, target) is not None


def break_glass_student(user: Any, target: Target) -> Student | None:
    """The target's student, if the user holds an unexpired grant for them."""
    student_of = STUDENT_OF.get(type(target))
    student = student_of(target) if student_of is not None else None
    if student is None or not has_break_glass_grant(user, student):
        return None
    return student


def active_break_glass_grant(user: Any, student: Student) -> Any:
    """The user's newest unexpired break-glass grant for the student, if any."""
    from wellbeing.security.models import BreakGlassGrant

    return db.session.scalar(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == user.id,
            BreakGlassGrant.student_id == student.id,
            BreakGlassGrant.expires_at > utcnow(),
        )
        .order_by(BreakGlassGrant.granted_at.desc())
        .limit(1)
    )


def has_break_glass_grant(user: Any, student: Student) -> bool:
    return active_break_glass_grant(user, student) is not None


def scopes_for(user: Any, action: str) -> list[RoleAssignment]:
    """The user's role assignments that grant the action: the places it may be taken."""
    rule = POLICY.get(action)
    if rule is None:
        return []
    return [assignment for assignment in user.roles if assignment.role in rule.roles]


def requires(action: str, model: type[db.Model] | None = None) -> Callable:
    """Guard a view: login, then the policy. With a model, the view's first URL
    parameter is the target's id; the view receives the loaded target instead."""
    if action not in POLICY:
        raise KeyError(f"no policy entry for action {action!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(**kwargs: Any) -> Any:
            if model is None:
                if not can(current_user, action):
                    abort(403)
                return view(**kwargs)
            (_, target_id), *rest = kwargs.items()
            target = db.get_or_404(model, target_id)
            if not can(current_user, action, target):
                abort(403)
            return view(target, **dict(rest))

        guarded.access_action = action  # read by the role-by-route test
        return login_required(guarded)

    return decorate


def public(view: Callable) -> Callable:
    """Mark a view open to anyone (login page, language switch)."""
    view.access_action = "public"
    return view
