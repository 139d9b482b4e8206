"""Where the non-health indicators' counts come from: the campaigns' ledger, the review's
tiers and SLA figures, the plans and referrals, the roster's staffing and the
committee's health. The district sits above every area, so it reads their tables; where
an area already counts something (the SLA figures, the committee's coverage, a school's
staffing) its function is called rather than copied.

Each source returns Tally counts for one district and school year. A figure of the
present (staffing, open plans, the committee) is taken as it stands when refreshed: the
roster keeps no history, so a past school year keeps what its last refresh stored.

The mental-health lessons register in their own module (lesson_sources.py), after these."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from screening.indicators import AT_LEAST, AT_MOST, NO_TARGET, PER_1000, RATIO, Indicator, Tally
from wellbeing.campaigns import vocabulary as cv
from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.clock import local_midnight_utc, local_today, utcnow
from wellbeing.district.indicators import register_indicator, shared
from wellbeing.district.queries import school_staffing
from wellbeing.extensions import db
from wellbeing.health.rounds import SCHOOL_YEAR_FIRST_MONTH
from wellbeing.observations import committee
from wellbeing.plans import vocabulary as pv
from wellbeing.plans.models import GrowthPlan, Referral
from wellbeing.review import oversight
from wellbeing.review.models import RiskAssessment
from wellbeing.review.queue import open_sealed
from wellbeing.roster.models import School, SchoolClass, Student

SCREENING, CRISIS, PLANS, STAFFING, COMMITTEE = (
    "screening",
    "crisis",
    "plans",
    "staffing",
    "committee",
)
TIERS = ("red", "orange", "yellow")


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


# ----------------------------------------------------------------------------- the year


def year_days(school_year: int) -> tuple[date, date]:
    """The school year's first and last local days (August to July)."""
    first = date(school_year, SCHOOL_YEAR_FIRST_MONTH, 1)
    return first, date(school_year + 1, SCHOOL_YEAR_FIRST_MONTH, 1) - timedelta(days=1)


def year_bounds(school_year: int) -> tuple[datetime, datetime]:
    """The school year in UTC: from its first local midnight to the next year's."""
    first, last = year_days(school_year)
    return local_midnight_utc(first), local_midnight_utc(last + timedelta(days=1))


def year_end(school_year: int) -> datetime:
    """When the year's figures stand: its end, or now while it runs."""
    return min(year_bounds(school_year)[1], utcnow())


@shared
def _staffing(district_id: int) -> list:
    return school_staffing(district_id)


def _schools(district_id: int) -> list[School]:
    return list(
        db.session.scalars(
            select(School).where(School.district_id == district_id).order_by(School.code)
        )
    )


# ----------------------------------------------------------------------------- screening


def _year_targets(district_id: int, school_year: int, *where: Any) -> Iterator[tuple]:
    """(student, school, grade, sex, state) of every target of the district's campaigns
    opened in the school year; grade and school are the class the target was drawn in."""
    starts, ends = year_bounds(school_year)
    yield from db.session.execute(
        select(
            CampaignTarget.student_id,
            SchoolClass.school_id,
            SchoolClass.grade,
            Student.sex,
            CampaignTarget.state,
        )
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .join(Student, Student.id == CampaignTarget.student_id)
        .where(
            Campaign.district_id == district_id,
            Campaign.opens_at >= starts,
            Campaign.opens_at < ends,
            *where,
        )
    )


def _per_student(rows: Iterable[tuple], counted: set[str], base: set[str]) -> list[Tally]:
    """One count per student however many campaigns drew them: in the denominator when
    one of their targets is in a `base` state, in the numerator when one is `counted`."""
    students: dict[int, tuple[tuple, set[str]]] = {}
    for student_id, school_id, grade, sex, state in rows:
        cell, states = students.setdefault(student_id, ((school_id, grade, sex), set()))
        states.add(state)
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for cell, states in students.values():
        if states & base:
            cells[cell][0] += bool(states & counted)
            cells[cell][1] += 1
    return [Tally(*cell, n, d) for cell, (n, d) in cells.items()]


def new_student_coverage(district_id: int, school_year: int) -> list[Tally]:
    """First-year students of grades 7 and 10 screened (screened_valid) over those
    enrolled in the population (every target state but transferred)."""
    rows = _year_targets(district_id, school_year, SchoolClass.grade.in_(cv.NEW_FIRST_YEAR_GRADES))
    return _per_student(rows, {cv.SCREENED_VALID}, set(cv.STATES) - {cv.TRANSFERRED})


def valid_rate(district_id: int, school_year: int) -> list[Tally]:
    """Students whose answers were valid over those who submitted answers (screened_valid,
    or retest_pending when the validity rules failed)."""
    rows = _year_targets(district_id, school_year)
    return _per_student(rows, {cv.SCREENED_VALID}, {cv.SCREENED_VALID, cv.RETEST_PENDING})


@shared
def _tier_counts(district_id: int, school_year: int) -> dict[tuple, Counter]:
    """Per (school, grade, sex), the tiers of the year's assessments: each current tier
    (the counselor's once reviewed, else the model's). Tiers are sealed: the statuses are
    opened here, a school's at a time, and only their counts leave."""
    starts, ends = year_bounds(school_year)
    found: dict[tuple, Counter] = defaultdict(Counter)
    for school in _schools(district_id):
        rows = db.session.execute(
            select(SchoolClass.grade, Student.sex, RiskAssessment.uid, RiskAssessment.status_sealed)
            .join(Campaign, Campaign.id == RiskAssessment.campaign_id)
            .join(CampaignTarget, CampaignTarget.id == RiskAssessment.target_id)
            .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
            .join(Student, Student.id == RiskAssessment.student_id)
            .where(
                RiskAssessment.school_id == school.id,
                Campaign.opens_at >= starts,
                Campaign.opens_at < ends,
            )
        )
        for grade, sex, status in open_sealed(RiskAssessment, "status", rows):
            found[(school.id, grade, sex)][status.get("reviewed_tier") or status["tier"]] += 1
    return found


def tier_share(tier: str) -> Any:
    """The source of one tier's share among the assessed."""

    def source(district_id: int, school_year: int) -> list[Tally]:
        return [
            Tally(*cell, tiers[tier], sum(tiers.values()))
            for cell, tiers in _tier_counts(district_id, school_year).items()
        ]

    return source


# ----------------------------------------------------------------------------- crisis


@shared
def _sla(district_id: int, school_year: int) -> list[tuple[School, oversight.SlaTally]]:
    """The review's SLA counts of each school over the school year (so far)."""
    first, last = year_days(school_year)
    period = oversight.Period(first, min(last, local_today()))
    rows, _total = oversight.district_sla(_schools(district_id), period, utcnow())
    return rows


def sla_source(numerator: str, base: str) -> Any:
    def source(district_id: int, school_year: int) -> list[Tally]:
        return [
            Tally(school.id, None, None, tally.counts[numerator], tally.counts[base])
            for school, tally in _sla(district_id, school_year)
        ]

    return source


# ----------------------------------------------------------------------------- plans


def plans_open(district_id: int, school_year: int) -> list[Tally]:
    """一生一策 files open when the year's figures stand, over the enrolled students."""
    at = year_end(school_year)
    open_counts = Counter(
        db.session.scalars(
            select(GrowthPlan.school_id)
            .join(School, School.id == GrowthPlan.school_id)
            .where(
                School.district_id == district_id,
                GrowthPlan.opened_at < at,
                (GrowthPlan.closed_at.is_(None)) | (GrowthPlan.closed_at >= at),
            )
        )
    )
    return [
        Tally(row.school.id, None, None, open_counts[row.school.id], row.enrolled)
        for row in _staffing(district_id)
    ]


def referrals_closed(district_id: int, school_year: int) -> list[Tally]:
    """Referrals sent in the school year, and those of them closed."""
    starts, ends = year_bounds(school_year)
    cells: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for school_id, state in db.session.execute(
        select(GrowthPlan.school_id, Referral.state)
        .join(GrowthPlan, GrowthPlan.id == Referral.plan_id)
        .join(School, School.id == GrowthPlan.school_id)
        .where(
            School.district_id == district_id,
            Referral.created_at >= starts,
            Referral.created_at < ends,
        )
    ):
        cells[school_id][0] += state == pv.REFERRAL_CLOSED
        cells[school_id][1] += 1
    return [Tally(school_id, None, None, n, d) for school_id, (n, d) in cells.items()]


# ----------------------------------------------------------------------------- staffing


def students_per_counselor(district_id: int, _school_year: int) -> list[Tally]:
    """Enrolled students over active counselors (the roster as it stands)."""
    return [
        Tally(row.school.id, None, None, row.enrolled, row.counselors)
        for row in _staffing(district_id)
    ]


def counselors_per_school(district_id: int, _school_year: int) -> list[Tally]:
    """Active counselors over schools: each school counts once in the denominator."""
    return [Tally(row.school.id, None, None, row.counselors, 1) for row in _staffing(district_id)]


def schools_with_counselor(district_id: int, _school_year: int) -> list[Tally]:
    """Each school counts once in the denominator, and in the numerator with a counselor."""
    return [
        Tally(row.school.id, None, None, int(row.counselors > 0), 1)
        for row in _staffing(district_id)
    ]


# ----------------------------------------------------------------------------- committee


@shared
def _committee(district_id: int, school_year: int) -> list:
    today = min(year_days(school_year)[1], local_today())
    return committee.school_counts(district_id, today)


def committee_source(numerator: str, base: str) -> Any:
    """The committee's own counts per school (observations.committee), as they stand
    at the year's last day, or today while it runs."""

    def source(district_id: int, school_year: int) -> list[Tally]:
        return [
            Tally(school.id, None, None, counts[numerator], counts[base])
            for school, counts in _committee(district_id, school_year)
        ]

    return source


# ----------------------------------------------------------------------------- registry

register_indicator(
    Indicator(
        id="new_student_screening_coverage",
        name=_text("新生心理筛查覆盖率", "New-student screening coverage"),
        definition=_text(
            "七年级和十年级新生中完成有效心理筛查的比例。",
            "Share of first-year students of grades 7 and 10 with a valid screening.",
        ),
        numerator=_text(
            "本学年筛查中状态为“有效完成”的七、十年级学生数",
            "Students of grades 7 and 10 screened (screened_valid) in the school year",
        ),
        denominator=_text(
            "本学年筛查对象中的七、十年级学生数（转出者除外）",
            "Students of grades 7 and 10 drawn for a screening, less those transferred",
        ),
        source=_text("筛查台账（各筛查对象的状态）", "The campaigns' coverage ledger"),
        direction=AT_LEAST,
        target=100.0,
        group=SCREENING,
    ),
    new_student_coverage,
)
register_indicator(
    Indicator(
        id="screening_valid_rate",
        name=_text("筛查有效率", "Screening valid rate"),
        definition=_text(
            "提交答卷的学生中，答卷通过效度检验的比例。",
            "Share of students who submitted answers whose answers passed the validity rules.",
        ),
        numerator=_text("有效完成的学生数", "Students screened_valid"),
        denominator=_text(
            "提交答卷的学生数（有效完成或待重测）",
            "Students who submitted (screened_valid or retest_pending)",
        ),
        source=_text("筛查台账", "The campaigns' coverage ledger"),
        direction=AT_LEAST,
        group=SCREENING,
    ),
    valid_rate,
)
for _tier, _zh, _en in (
    ("red", "一级（红色）预警", "red"),
    ("orange", "二级（橙色）预警", "orange"),
    ("yellow", "三级（黄色）预警", "yellow"),
):
    register_indicator(
        Indicator(
            id=f"tier_{_tier}_share",
            name=_text(f"{_zh}比例", f"Share {_en}"),
            definition=_text(
                f"本学年完成评估的筛查中，当前预警等级为{_zh}的比例。",
                f"Share of the school year's risk assessments whose current tier is {_en}.",
            ),
            numerator=_text(
                f"当前等级为{_zh}的评估数（经复核者以复核等级为准）",
                f"Assessments whose current tier (the counselor's once reviewed) is {_en}",
            ),
            denominator=_text("本学年的风险评估数", "Risk assessments of the school year"),
            source=_text(
                "风险评估（等级加密，按校解密计数）",
                "Risk assessments (sealed; counted per school)",
            ),
            direction=NO_TARGET,
            group=SCREENING,
        ),
        tier_share(_tier),
    )
register_indicator(
    Indicator(
        id="alerts_acknowledged_in_time",
        name=_text("危机预警按时确认率", "Alerts acknowledged in time"),
        definition=_text(
            "本学年发出的危机预警中，在时限内被确认的比例。",
            "Share of the school year's crisis alerts acknowledged within the SLA.",
        ),
        numerator=_text("时限内确认的预警数", "Alerts acknowledged within their deadline"),
        denominator=_text("已确认或已超时的预警数", "Alerts acknowledged, or past their deadline"),
        source=_text("危机预警与时限（督办）", "Crisis alerts and the SLA ladder (oversight)"),
        direction=AT_LEAST,
        target=100.0,
        by_sex=False,
        by_grade=False,
        group=CRISIS,
    ),
    sla_source("acknowledged_in_time", "alerts"),
)
register_indicator(
    Indicator(
        id="followups_on_time",
        name=_text("随访按时完成率", "Follow-ups on time"),
        definition=_text(
            "本学年到期的随访中按时完成的比例。",
            "Share of the follow-ups due in the school year done by their due time.",
        ),
        numerator=_text("按时完成的随访数", "Follow-ups done by their due time"),
        denominator=_text("到期的随访数（取消者除外）", "Follow-ups due, less those cancelled"),
        source=_text("随访与时限（督办）", "Follow-ups and the SLA ladder (oversight)"),
        direction=AT_LEAST,
        by_sex=False,
        by_grade=False,
        group=CRISIS,
    ),
    sla_source("done_on_time", "due"),
)
register_indicator(
    Indicator(
        id="plans_open_per_1000",
        name=_text("在案“一生一策”（每千名学生）", "Open 一生一策 files per 1,000 students"),
        definition=_text(
            "学年末（或当前）仍在进行的“一生一策”档案数，每千名在籍学生。",
            "一生一策 files open at the year's end (or now), per 1,000 enrolled students.",
        ),
        numerator=_text("在案的档案数", "Files open"),
        denominator=_text("在籍学生数（当前名册）", "Enrolled students (the roster now)"),
        source=_text("“一生一策”档案（状态为明文）", "The 一生一策 files' clear status"),
        unit=PER_1000,
        direction=NO_TARGET,
        by_sex=False,
        by_grade=False,
        group=PLANS,
        as_it_stands=True,
    ),
    plans_open,
)
register_indicator(
    Indicator(
        id="referrals_closed",
        name=_text("转介闭环率", "Referrals closed"),
        definition=_text(
            "本学年发出的转介中已闭环的比例。",
            "Share of the referrals sent in the school year that are closed.",
        ),
        numerator=_text("已闭环的转介数", "Referrals closed"),
        denominator=_text("本学年发出的转介数", "Referrals sent in the school year"),
        source=_text("转介（状态为明文）", "Referrals' clear state"),
        direction=AT_LEAST,
        by_sex=False,
        by_grade=False,
        group=PLANS,
    ),
    referrals_closed,
)
register_indicator(
    Indicator(
        id="students_per_counselor",
        name=_text("生师比（每名心理教师）", "Students per counselor"),
        definition=_text(
            "在籍学生数与在职心理教师数之比。",
            "Enrolled students for each active counselor.",
        ),
        numerator=_text("在籍学生数", "Enrolled students"),
        denominator=_text(
            "在职心理教师数（账号角色）", "Active counselors (accounts with the role)"
        ),
        source=_text("名册与账号", "The roster and the accounts"),
        unit=RATIO,
        direction=AT_MOST,
        by_sex=False,
        by_grade=False,
        group=STAFFING,
        as_it_stands=True,
        suppress=False,
    ),
    students_per_counselor,
)
register_indicator(
    Indicator(
        id="schools_with_counselor",
        name=_text("配备心理教师的学校比例", "Schools with a counselor"),
        definition=_text(
            "至少配备一名专职心理健康教师的学校比例。",
            "Share of schools with at least one full-time mental-health teacher.",
        ),
        numerator=_text("有在职心理教师的学校数", "Schools with an active counselor"),
        denominator=_text("学校数", "Schools"),
        source=_text("名册与账号", "The roster and the accounts"),
        direction=AT_LEAST,
        target=100.0,
        by_sex=False,
        by_grade=False,
        group=STAFFING,
        as_it_stands=True,
        suppress=False,
    ),
    schools_with_counselor,
)
register_indicator(
    Indicator(
        id="counselors_per_school",
        name=_text("校均心理教师数", "Counselors per school"),
        definition=_text(
            "在职心理教师数与学校数之比（规划要求每校至少一名专职心理健康教师）。",
            "Active counselors for each school (the plan: at least one full-time "
            "mental-health teacher in every school).",
        ),
        numerator=_text("在职心理教师数（账号角色）", "Active counselors (accounts with the role)"),
        denominator=_text("学校数", "Schools"),
        source=_text("名册与账号", "The roster and the accounts"),
        unit=RATIO,
        direction=AT_LEAST,
        target=1.0,
        by_sex=False,
        by_grade=False,
        group=STAFFING,
        as_it_stands=True,
        suppress=False,
    ),
    counselors_per_school,
)
register_indicator(
    Indicator(
        id="committee_coverage",
        name=_text("心理委员配备率", "心理委员 coverage"),
        definition=_text(
            "四年级及以上班级中，配齐两名（男女各一）心理委员的比例。",
            "Share of classes from grade 4 up with two 心理委员, a boy and a girl.",
        ),
        numerator=_text("配齐心理委员的班级数", "Classes with a complete committee"),
        denominator=_text("四年级及以上班级数", "Classes from grade 4 up"),
        source=_text("心理委员账号", "The 心理委员's accounts"),
        direction=AT_LEAST,
        target=100.0,
        by_sex=False,
        by_grade=False,
        group=COMMITTEE,
        as_it_stands=True,
    ),
    committee_source("complete", "classes"),
)
register_indicator(
    Indicator(
        id="committee_report_rate",
        name=_text("心理委员周报率", "Weekly report rate"),
        definition=_text(
            "有心理委员的班级在最近四个完整周中按周上报的比例。",
            "Share of the last four complete weeks in which classes with 心理委员 reported.",
        ),
        numerator=_text("已上报的班级周数", "Class-weeks reported"),
        denominator=_text("有心理委员班级的班级周数", "Class-weeks of classes with members"),
        source=_text("周报（明文日期）", "The weekly reports' clear dates"),
        direction=AT_LEAST,
        by_sex=False,
        by_grade=False,
        group=COMMITTEE,
        as_it_stands=True,
    ),
    committee_source("reported", "class_weeks"),
)
