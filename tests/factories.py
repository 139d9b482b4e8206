"""Builders of small, explicit test data."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from wellbeing.extensions import db
from wellbeing.roster.models import (
    District,
    Guardian,
    RoleAssignment,
    School,
    SchoolClass,
    Student,
    User,
)

_serial = iter(range(1, 10**9))


def student_number() -> str:
    """A well-formed 学籍号: G followed by an 18-character identity number."""
    return f"G5105022012{next(_serial):07d}X"


def make_student(school_class: SchoolClass, name: str, sex: str = "F") -> Student:
    student = Student(
        student_number=student_number(),
        name=name,
        sex=sex,
        birth_date=date(2013, 5, 1),
        school_class=school_class,
    )
    db.session.add(student)
    return student


def make_user(username: str, password_hash: str | None, *scopes: tuple[str, object]) -> User:
    user = User(username=username, display_name=username, password_hash=password_hash)
    for role, node in scopes:
        assignment = RoleAssignment(role=role)
        if isinstance(node, District):
            assignment.district = node
        elif isinstance(node, School):
            assignment.school = node
        else:
            assignment.school_class = node
        user.roles.append(assignment)
    db.session.add(user)
    return user


def build_world(password_hash: str) -> SimpleNamespace:
    district = District(code="510502", name="江阳区")
    schools, classes, students = {}, {}, {}
    for key in ("A", "B"):
        school = School(district=district, code=f"S{key}", name=f"测试学校{key}", kind="junior")
        schools[key] = school
        for number in (1, 2):
            school_class = SchoolClass(school=school, grade=7, name=str(number), entry_year=2026)
            classes[f"{key}{number}"] = school_class
            for index in range(3):
                label = f"{key}{number}-{index}"
                students[label] = make_student(school_class, f"学生{label}", "MF"[index % 2])
    db.session.add(district)
    db.session.flush()
    students["A1-0"].guardians.append(Guardian(name="家长甲", relation="母亲", phone="13800000000"))
    committee_student = students["A1-1"]
    users = {
        "admin": make_user("admin", password_hash, ("admin", district)),
        "monitor": make_user("monitor", password_hash, ("monitor", district)),
        "school_leader": make_user("leader", password_hash, ("school_leader", schools["A"])),
        "counselor": make_user("counselor", password_hash, ("counselor", schools["A"])),
        "doctor": make_user("doctor", password_hash, ("doctor", schools["A"])),
        "head_teacher": make_user("teacher", password_hash, ("head_teacher", classes["A1"])),
        "committee": make_user("committee", password_hash, ("committee", classes["A1"])),
        "student": make_user("student", password_hash, ("student", classes["A1"])),
    }
    users["committee"].student = committee_student
    # A neighbouring district: outside the scope of every district-level role above.
    other = District(code="510503", name="纳溪区")
    schools["C"] = School(district=other, code="SC", name="测试学校C", kind="senior")
    classes["C1"] = SchoolClass(school=schools["C"], grade=10, name="1", entry_year=2026)
    students["C1-0"] = make_student(classes["C1"], "学生C1-0")
    db.session.add(other)
    db.session.flush()
    return SimpleNamespace(
        district=district,
        other_district=other,
        schools=schools,
        classes=classes,
        students=students,
        users=users,
    )


def add_campaigns(world: SimpleNamespace) -> SimpleNamespace:
    """Open campaigns "A" (school A's), "B" (school B's) and "C" (the other district's),
    each a PHQ-9 + GAD-7 battery over its school's grade, open for two weeks."""
    from datetime import timedelta

    from wellbeing.campaigns.services import CampaignPlan, open_campaign
    from wellbeing.clock import utcnow

    now = utcnow()
    world.campaigns = {}
    districts = {"A": world.district, "B": world.district, "C": world.other_district}
    for key, district in districts.items():
        school = world.schools[key]
        plan = CampaignPlan(
            name=f"测试筛查{key}",
            instrument_refs=["phq9", "gad7"],
            school_ids=[school.id],
            grades=[7 if key != "C" else 10],
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=14),
            consent_mode="opt_out",
            legal_basis="statutory_duty",
            notice_version="2026-秋-1",
            languages=["zh", "en"],
        )
        world.campaigns[key] = open_campaign(district, school, plan, None)
    db.session.flush()
    return world


def add_follow_ups(world: SimpleNamespace) -> SimpleNamespace:
    """A crisis alert (not yet acknowledged) and an open follow-up from it, due now, about
    the first student of schools A, B and C: school A's for its counselor, the others'
    for their district's administrator (schools without a counselor). world.alerts and
    world.followups by school key."""
    from wellbeing.clock import utcnow
    from wellbeing.followups.models import FollowUp
    from wellbeing.review.models import CrisisAlert

    now = utcnow()
    world.alerts, world.followups = {}, {}
    for key in ("A", "B", "C"):
        student = world.students[f"{key}1-0"]
        school = world.schools[key]
        alert = CrisisAlert(school_id=school.id, source="critical_item", raised_at=now)
        alert.subject = {"student_id": student.id, "response_id": None}
        alert.detail = "phq9@1.0: phq9_9"
        db.session.add(alert)
        db.session.flush()
        if key == "C":  # the other district's administrator, not in world.users
            assignee = make_user("admin-c", None, ("admin", world.other_district))
        else:
            assignee = world.users["counselor" if key == "A" else "admin"]
        follow_up = FollowUp(
            school_id=school.id,
            source="crisis_alert",
            kind="interview",
            priority="red",
            assignee=assignee,
            due_at=now,
            status="open",
            created_at=now,
        )
        follow_up.subject = {"student_id": student.id, "source_id": alert.id}
        db.session.add(follow_up)
        world.alerts[key], world.followups[key] = alert, follow_up
    db.session.flush()
    return world


# Answer profiles for screen(): PHQ-9 and GAD-7 item values (PHQ-9 item 9, the critical
# item, apart), and the tier the shipped default model gives them.
PROFILES = {
    "red": ([3] * 8, 0, [3] * 7),  # PHQ-9 24 severe (40) + GAD-7 21 severe (30) = 70
    "critical": ([0] * 8, 1, [0] * 7),  # item 9 endorsed: red by the rule, 0 points
    "orange": ([2] * 8, 0, [0] * 7),  # PHQ-9 16 moderately severe (30)
    "yellow": ([2] * 5 + [0] * 3, 0, [0] * 7),  # PHQ-9 10 moderate (20)
    "none": ([0] * 8, 0, [0] * 7),
}


def screen(campaign, student, profile: str):
    """The student sits the campaign's PHQ-9 + GAD-7 through the real services (autosave,
    submit): scored, tiered by the review, alerts raised. Returns the RiskAssessment."""
    from sqlalchemy import select

    from wellbeing.campaigns import services
    from wellbeing.campaigns.models import CampaignTarget
    from wellbeing.review.models import RiskAssessment

    target = db.session.scalar(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.student_id == student.id
        )
    )
    phq, item9, gad = PROFILES[profile]
    values = {"phq9": [*phq, item9], "gad7": gad}
    for instrument_id, answers in values.items():
        for number, value in enumerate(answers, start=1):
            services.autosave(target, instrument_id, f"{instrument_id}_{number}", value, 3.0)
    services.submit(target, campaign.opens_at)
    db.session.flush()
    return db.session.scalar(select(RiskAssessment).where(RiskAssessment.target_id == target.id))


def add_assessments(world: SimpleNamespace) -> SimpleNamespace:
    """An orange case at each of schools A, B and C (campaigns "A", "B", "C"; added when
    missing), of the second student of the first class (C's only student at C):
    world.assessments by school key."""
    if not hasattr(world, "campaigns"):
        add_campaigns(world)
    world.assessments = {}
    for key, student_key in (("A", "A1-1"), ("B", "B1-1"), ("C", "C1-0")):
        campaign = world.campaigns[key]
        world.assessments[key] = screen(campaign, world.students[student_key], "orange")
    return world


# A PNG of one pixel (a real, complete file: signature, IHDR, IDAT, IEND).
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a3d2e6a30000000049454e44ae426082"
)


def add_plans(world: SimpleNamespace) -> SimpleNamespace:
    """A 一生一策 file about the first student of schools A, B and C (opened by school A's
    counselor; the others' by hand, as their schools have none), each with its first
    version, a guardian contact, an attachment, a referral to its district's partner
    hospital (sent today) and a leaving package not yet downloaded. world.plans,
    world.referrals, world.attachments, world.packages by school key; world.hospitals
    by district key ("A", "C")."""
    from wellbeing.clock import utcnow
    from wellbeing.plans.models import (
        GrowthPlan,
        GuardianContact,
        Hospital,
        PlanAttachment,
        PlanPackage,
        PlanVersion,
        Referral,
    )

    now = utcnow()
    world.hospitals = {
        key: Hospital(district=district, name=f"合作医院{key}", department="心理科", contact="")
        for key, district in (("A", world.district), ("C", world.other_district))
    }
    db.session.add_all(world.hospitals.values())
    author = world.users["counselor"]
    world.plans, world.referrals, world.attachments, world.packages = {}, {}, {}, {}
    for key in ("A", "B", "C"):
        student = world.students[f"{key}1-0"]
        plan = GrowthPlan(school_id=world.schools[key].id, opened_by=author, opened_at=now)
        plan.subject = {"student_id": student.id, "source": "counselor", "source_id": None}
        db.session.add(plan)
        db.session.flush()
        version = PlanVersion(plan_id=plan.id, number=1, author_id=author.id, created_at=now)
        version.body = {
            "summary": f"情况概述{key}",
            "strengths": "喜欢画画",
            "risk_factors": "睡眠差",
            "goals": ["按时睡觉"],
            "measures": [
                {"owner": "head_teacher", "who": "班主任", "what": "每天问候", "how_often": "每天"},
                {"owner": "counselor", "who": "心理老师", "what": "每周面谈", "how_often": "每周"},
            ],
            "responsible": {
                "counselor_id": author.id,
                "head_teacher_id": world.users["head_teacher"].id,
                "guardian": "母亲",
            },
            "review_dates": [],
            "change": "",
        }
        contact = GuardianContact(plan_id=plan.id, author_id=author.id, created_at=now)
        contact.body = {
            "contacted_on": now.date().isoformat(),
            "who": "母亲",
            "method": "phone",
            "agreed": "周末多陪伴",
        }
        attachment = PlanAttachment(
            plan_id=plan.id, uploaded_by_id=author.id, kind="png", size=len(TINY_PNG)
        )
        attachment.meta = {"filename": "drawing.png", "sha256": "", "title": "绘画"}
        attachment.content = TINY_PNG
        hospital = world.hospitals["C" if key == "C" else "A"]
        referral = Referral(
            plan_id=plan.id,
            hospital=hospital,
            created_by_id=author.id,
            state="sent",
            state_since=now,
        )
        referral.sheet = {"reason": "持续情绪低落", "urgency": "routine", "observations": ""}
        referral.history = [{"state": "sent", "on": now.date().isoformat(), "by": author.id}]
        package = PlanPackage(plan_id=plan.id, made_by_id=author.id, made_at=now)
        package.content = b"PK"
        db.session.add_all([version, contact, attachment, referral, package])
        world.plans[key], world.referrals[key] = plan, referral
        world.attachments[key], world.packages[key] = attachment, package
    db.session.flush()
    import hashlib

    for attachment in world.attachments.values():
        meta = attachment.meta
        meta["sha256"] = hashlib.sha256(TINY_PNG).hexdigest()
        attachment.meta = meta
    db.session.flush()
    return world


def add_observations(world: SimpleNamespace) -> SimpleNamespace:
    """This week's report on classes A1, A2, B1 and C1, each with one routine observation
    about the class's first student, not yet acknowledged: A1's by the 心理委员, the others'
    by a head teacher of their own (not in world.users). world.reports and
    world.observations by class key ("A" is class A1; "B" B1, "C" C1)."""
    from wellbeing.clock import local_today, utcnow
    from wellbeing.observations.deadlines import week_start
    from wellbeing.observations.models import Observation, WeeklyReport

    now = utcnow()
    monday = week_start(local_today())
    world.reports, world.observations = {}, {}
    for key, class_key in (("A", "A1"), ("A2", "A2"), ("B", "B1"), ("C", "C1")):
        school_class = world.classes[class_key]
        if key == "A":
            reporter, role = world.users["committee"], "committee"
        else:
            reporter = make_user(f"teacher-{class_key}", None, ("head_teacher", school_class))
            role = "head_teacher"
        db.session.flush()
        report = WeeklyReport(
            school_id=school_class.school_id,
            class_id=school_class.id,
            reporter_id=reporter.id,
            reporter_role=role,
            week_start=monday,
            nil=False,
            submitted_at=now,
        )
        db.session.add(report)
        db.session.flush()
        observation = Observation(
            report_id=report.id,
            school_id=school_class.school_id,
            class_id=school_class.id,
            reporter_id=reporter.id,
            reporter_role=role,
            submitted_at=now,
            urgent=False,
            due_at=now,
        )
        observation.body = {
            "student_id": world.students[f"{class_key}-0"].id,
            "signs": ["withdrawn"],
            "certainty": "saw_myself",
            "note": f"最近不爱说话{key}",
        }
        db.session.add(observation)
        world.reports[key], world.observations[key] = report, observation
    db.session.flush()
    return world


def add_lessons(world: SimpleNamespace) -> SimpleNamespace:
    """Today's mental-health lesson at classes A1, A2, B1 and C1: A1's logged by the head
    teacher (world.users), the others' by the district's administrator account (any
    logger will do: only A1's must be the head teacher's own). world.lessons by class
    key ("A" is class A1; "A2"; "B" B1, "C" C1)."""
    from wellbeing.clock import local_today
    from wellbeing.lessons.models import Lesson

    world.lessons = {}
    for key, class_key in (("A", "A1"), ("A2", "A2"), ("B", "B1"), ("C", "C1")):
        logger = world.users["head_teacher" if key == "A" else "admin"]
        lesson = Lesson(
            class_id=world.classes[class_key].id,
            held_on=local_today(),
            topic=f"认识情绪{key}",
            logged_by_id=logger.id,
        )
        db.session.add(lesson)
        world.lessons[key] = lesson
    db.session.flush()
    return world
