"""The synthetic demo district: the generator alone (no database), then `build_demo` and
the `wellbeing demo` command inside the test transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from screening.indicators import PERCENT, roll_up, value
from wellbeing.campaigns.demo import build_demo_campaign
from wellbeing.campaigns.models import Campaign, CampaignTarget, ScreeningResponse
from wellbeing.campaigns.services import CodeRefused, target_for_code
from wellbeing.clock import utcnow
from wellbeing.demo import build_demo, demo_command
from wellbeing.district.indicators import INDICATORS
from wellbeing.district.models import IndicatorValue
from wellbeing.district.queries import school_staffing
from wellbeing.extensions import db
from wellbeing.health import export
from wellbeing.health.demo import build_demo_health
from wellbeing.health.entry import check_fitness_row, check_vision_row
from wellbeing.health.models import FITNESS_MEASURES, VISION_MEASURES, FitnessRecord, VisionRecord
from wellbeing.health.rounds import VisionRound
from wellbeing.notifications.models import Notification
from wellbeing.review.models import CrisisAlert, RiskAssessment
from wellbeing.roster.models import (
    GRADES_BY_KIND,
    District,
    Guardian,
    RoleAssignment,
    School,
    SchoolClass,
    SchoolKind,
    Student,
    User,
)
from wellbeing.roster.synthetic import (
    DEMO_PASSWORD,
    FIXED_LOGINS,
    current_school_year,
    generate_district,
)
from wellbeing.roster.vocabulary import ETHNICITIES

SEED = 11
SIZE = 1_500
YEAR = 2026
NUMBER = re.compile(r"^G\d{17}[\dX]$")
PHONE = re.compile(r"^1[3-9]\d{9}$")
RELATIONS = {"父亲", "母亲", "祖父", "祖母", "外祖父", "外祖母"}


def _digest(seed: int) -> str:
    tables = generate_district(YEAR, seed=seed, students=SIZE).tables
    digest = hashlib.sha256()
    for name in ("school", "school_class", "student", "guardian", "user_account"):
        for row in tables[name]:
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


def _check_character(body: str) -> str:
    # GB 11643 / ISO 7064 MOD 11-2, written out independently of the generator.
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


# --- the generator -------------------------------------------------------------------


def test_same_seed_same_district_other_seed_another():
    assert _digest(SEED) == _digest(SEED)
    assert _digest(SEED) != _digest(SEED + 1)


def test_default_size_has_about_thirty_schools_of_every_kind():
    tables = generate_district(YEAR).tables
    kinds = Counter(school["kind"] for school in tables["school"])
    assert set(kinds) == set(SchoolKind) and 25 <= sum(kinds.values()) <= 35
    assert len(tables["student"]) == 40_000
    names = [school["name"] for school in tables["school"]]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("size", [1_000, 100_000])
def test_size_scales_schools_and_keeps_the_fixed_logins(size):
    district = generate_district(YEAR, students=size, password_hash="hash")
    assert len(district.tables["student"]) == size
    assert {s["kind"] for s in district.tables["school"]} == set(SchoolKind)
    with_password = {u["username"] for u in district.tables["user_account"] if u["password_hash"]}
    assert with_password == {login.username for login in FIXED_LOGINS}
    usernames = [u["username"] for u in district.tables["user_account"]]
    assert len(set(usernames)) == len(usernames)


def test_student_numbers_are_national_form_unique_and_checked():
    students = generate_district(YEAR, seed=SEED, students=SIZE).tables["student"]
    numbers = [s["student_number"] for s in students]
    assert len(set(numbers)) == len(numbers)
    for student in students:
        number = student["student_number"]
        assert NUMBER.match(number)
        assert number[1:7] == "510502"
        assert number[7:15] == student["birth_date"].strftime("%Y%m%d")
        assert int(number[17]) % 2 == (1 if student["sex"] == "M" else 0)
        assert number[18] == _check_character(number[1:18])


def test_birth_dates_fit_the_grade_and_sexes_are_balanced():
    tables = generate_district(YEAR, seed=SEED, students=SIZE).tables
    grade = {c["id"]: c["grade"] for c in tables["school_class"]}
    cut_off = date(YEAR, 8, 31)
    offsets = Counter()
    for student in tables["student"]:
        born = student["birth_date"]
        age = cut_off.year - born.year - ((cut_off.month, cut_off.day) < (born.month, born.day))
        offsets[age - grade[student["class_id"]]] += 1
    # Six years old by 31 August in grade 1; a few are a year older.
    assert set(offsets) == {5, 6} and offsets[6] < 0.1 * SIZE
    boys = sum(s["sex"] == "M" for s in tables["student"]) / SIZE
    assert 0.45 < boys < 0.6


def test_guardians_boarding_and_left_behind_are_plausible():
    tables = generate_district(YEAR).tables
    students = tables["student"]
    per_student = Counter(g["student_id"] for g in tables["guardian"])
    assert set(per_student.values()) == {1, 2} and len(per_student) == len(students)
    assert {g["relation"] for g in tables["guardian"]} == RELATIONS
    assert all(PHONE.match(g["phone"]) for g in tables["guardian"])
    assert 0.10 <= sum(s["left_behind"] for s in students) / len(students) <= 0.20
    grade = {c["id"]: c["grade"] for c in tables["school_class"]}
    boarding = defaultdict(list)
    for student in students:
        boarding[grade[student["class_id"]] > 6].append(student["boarding"])
    assert sum(boarding[True]) / len(boarding[True]) > 2 * sum(boarding[False]) / len(
        boarding[False]
    )


def test_ethnicities_are_national_codes_mostly_han():
    students = generate_district(YEAR).tables["student"]
    codes = Counter(s["ethnicity"] for s in students)
    assert set(codes) <= set(ETHNICITIES) and len(codes) > 1
    assert 0.94 <= codes["01"] / len(students) <= 0.99


# --- in the database -----------------------------------------------------------------


@pytest.fixture
def demo(db_session):
    return build_demo(db.session, seed=SEED, students=SIZE, school_year=YEAR)


def test_classes_fit_their_school_and_size_limits(demo):
    sizes = db.session.execute(
        select(SchoolClass.grade, func.count(Student.id))
        .join(Student, Student.class_id == SchoolClass.id)
        .group_by(SchoolClass.id, SchoolClass.grade)
    ).all()
    assert sum(count for _, count in sizes) == SIZE
    assert all(count <= (45 if grade <= 6 else 50) for grade, count in sizes)
    for school in db.session.scalars(select(School)):
        grades = {c.grade for c in school.classes}
        assert grades == set(GRADES_BY_KIND[SchoolKind(school.kind)])
        for item in school.classes:
            stage_start = 1 if item.grade <= 6 else 7 if item.grade <= 9 else 10
            assert item.entry_year == YEAR - (item.grade - stage_start)
    names = defaultdict(list)
    for school_id, grade, name in db.session.execute(
        select(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
    ):
        names[(school_id, grade)].append(int(name))
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in names.values())


def test_two_committee_members_per_class_from_grade_four(demo):
    members = defaultdict(list)
    rows = db.session.execute(
        select(RoleAssignment.class_id, Student.sex, Student.class_id)
        .join(User, User.id == RoleAssignment.user_id)
        .join(Student, Student.id == User.student_id)
        .where(RoleAssignment.role == "committee")
    ).all()
    for class_id, sex, student_class_id in rows:
        assert student_class_id == class_id
        members[class_id].append(sex)
    for item in db.session.scalars(select(SchoolClass)):
        expected = ["F", "M"] if item.grade >= 4 else []
        assert sorted(members[item.id]) == expected, (item.grade, item.name)


def test_every_class_has_a_head_teacher_and_some_schools_lack_a_counselor(demo):
    teachers = Counter(
        db.session.scalars(
            select(RoleAssignment.class_id).where(RoleAssignment.role == "head_teacher")
        )
    )
    class_ids = set(db.session.scalars(select(SchoolClass.id)))
    assert set(teachers) == class_ids and set(teachers.values()) == {1}
    doctors = set(
        db.session.scalars(select(RoleAssignment.school_id).where(RoleAssignment.role == "doctor"))
    )
    assert doctors == set(db.session.scalars(select(School.id)))
    district = db.session.scalar(select(District))
    staffing = school_staffing(district.id)
    without = [row.school.name for row in staffing if row.counselors == 0]
    assert without == demo.schools_without_counselor and 1 <= len(without) < len(staffing)
    assert all(row.classes_with_two_committee == row.classes_needing_committee for row in staffing)


def test_only_the_six_fixed_logins_have_a_password(demo):
    with_password = set(
        db.session.scalars(select(User.username).where(User.password_hash.is_not(None)))
    )
    assert with_password == {login.username for login in FIXED_LOGINS}
    assert db.session.scalar(select(func.count()).where(User.must_change_password)) == 0


def _assignment(username: str) -> RoleAssignment:
    user = db.session.scalar(select(User).where(User.username == username))
    (assignment,) = user.roles
    return assignment


def test_fixed_logins_meet_in_one_school_and_class(demo):
    for username in ("admin", "monitor"):
        assert _assignment(username).role == username and _assignment(username).district_id
    counselor, doctor = _assignment("counselor"), _assignment("doctor")
    assert (counselor.role, doctor.role) == ("counselor", "doctor")
    assert counselor.school_id == doctor.school_id
    assert counselor.school.kind in {"junior", "complete_secondary", "nine_year"}
    teacher, committee = _assignment("teacher"), _assignment("committee")
    assert (teacher.role, committee.role) == ("head_teacher", "committee")
    assert teacher.class_id == committee.class_id
    assert teacher.school_class.grade == 7
    assert teacher.school_class.school_id == counselor.school_id
    assert committee.user.student.class_id == committee.class_id


def test_fixed_logins_log_in_with_the_demo_password(demo, client):
    for login in FIXED_LOGINS:
        response = client.post(
            "/login", data={"username": login.username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, login.username
        client.post("/logout")


def test_guardian_rows_are_stored(demo):
    count = db.session.scalar(select(func.count()).select_from(Guardian))
    assert count == len(demo.tables["guardian"])


# --- the command ---------------------------------------------------------------------


def test_refuses_production_without_touching_the_database(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "ENVIRONMENT", "production")
    statements = []

    def record(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = app.test_cli_runner().invoke(demo_command, ["--students", "1000"])
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert result.exit_code == 2
    assert "production" in result.output
    assert statements == []
    assert db.session.scalar(select(func.count()).select_from(District)) == 0


def test_refuses_a_database_with_a_roster_unless_told(app, world):
    schools = db.session.scalar(select(func.count()).select_from(School))
    runner = app.test_cli_runner()
    refused = runner.invoke(demo_command, ["--students", "1000"])
    assert refused.exit_code == 2 and "--replace" in refused.output
    skipped = runner.invoke(demo_command, ["--if-empty"])
    assert skipped.exit_code == 0 and DEMO_PASSWORD in skipped.output
    assert "http://127.0.0.1:5000/login" in skipped.output
    assert db.session.scalar(select(func.count()).select_from(School)) == schools


def _run_demo(app, *extra):
    result = app.test_cli_runner().invoke(
        demo_command,
        ["--replace", "--students", "1000", "--seed", "3", "--school-year", "2025", *extra],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_command_replaces_the_roster_and_prints_the_logins_once(app, world):
    output = _run_demo(app)
    assert db.session.scalar(select(func.count()).select_from(Student)) == 1000
    assert db.session.scalar(select(func.count()).where(School.name.like("测试学校%"))) == 0
    table = [line for line in output.splitlines() if DEMO_PASSWORD in line]
    assert [line.split()[1] for line in table] == [login.username for login in FIXED_LOGINS]
    # Where each works, in the pages' words: the demo class is 七年级1班.
    by_login = {line.split()[1]: line for line in table}
    assert "七年级1班" in by_login["teacher"] and "班主任" in by_login["teacher"]
    assert "心理委员" in by_login["committee"]
    assert "分管校领导" in by_login["leader"] and "泸州市第三十一中学" in by_login["leader"]
    code = re.search(r"访问码 (\w{5}-\w{5})", output).group(1)
    target = target_for_code(code, utcnow())
    assert target.state == "not_started" and target.campaign.grades == [7, 10]


def _district_values(indicator_id: str, *where) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        select(IndicatorValue.school_year, IndicatorValue.numerator, IndicatorValue.denominator)
        .join(District, District.id == IndicatorValue.district_id)
        .where(
            District.code == "510502",
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.school_id.is_(None),
            *where,
        )
    ).all()
    return {year: (n, d) for year, n, d in rows}


def test_three_school_years_of_screenings_are_stored_and_refreshed(app, world):
    year = current_school_year(utcnow().date())
    args = ["--replace", "--students", "1000", "--seed", "3", "--school-year", str(year)]
    output = app.test_cli_runner().invoke(demo_command, args).output
    assert "往年新生筛查" in output
    district_only = (IndicatorValue.grade.is_(None), IndicatorValue.sex.is_(None))
    coverage = _district_values("new_student_screening_coverage", *district_only)
    assert set(coverage) == {year - 2, year - 1, year}
    assert all(d > 0 for _n, d in coverage.values())
    rate = {y: n / d for y, (n, d) in coverage.items()}
    # Closed campaigns: most screened, rising; the current one is a week in.
    assert 0.75 < rate[year - 2] < rate[year - 1] < 0.99 and rate[year] < rate[year - 1]
    for tier in ("tier_red_share", "tier_orange_share", "tier_yellow_share"):
        shares = _district_values(tier, *district_only)
        assert set(shares) == {year - 2, year - 1, year} and all(d for _n, d in shares.values())
    # Earlier years count first-years only, in the grade they had then.
    by_grade = _district_values(
        "new_student_screening_coverage",
        IndicatorValue.grade.is_not(None),
        IndicatorValue.sex.is_(None),
    )
    assert by_grade  # the grades of every year
    grades = db.session.execute(
        select(IndicatorValue.school_year, IndicatorValue.grade).where(
            IndicatorValue.indicator_id == "new_student_screening_coverage",
            IndicatorValue.grade.is_not(None),
        )
    ).all()
    assert {grade for _y, grade in grades} <= {7, 10}
    # Each past target sits in a class of its school at the grade the student had then.
    past = db.session.execute(
        select(Campaign.opens_at, SchoolClass.school_id, SchoolClass.grade, Student.class_id)
        .join(CampaignTarget, CampaignTarget.campaign_id == Campaign.id)
        .join(SchoolClass, SchoolClass.id == CampaignTarget.class_id)
        .join(Student, Student.id == CampaignTarget.student_id)
        .where(Campaign.closes_at < utcnow())
    ).all()
    now_class = {c.id: c for c in db.session.scalars(select(SchoolClass))}
    assert len(past) > 100
    for opens_at, school_id, grade, class_id in past:
        back = year - opens_at.year
        assert back in (1, 2) and grade in (7, 10)
        assert now_class[class_id].school_id == school_id
        assert now_class[class_id].grade == grade + back
    # Past cases are closed: nobody's queue holds last year's students.
    states = {
        a.state
        for a in db.session.scalars(
            select(RiskAssessment).join(Campaign).where(Campaign.closes_at < utcnow())
        )
    }
    assert "waiting" not in states and "closed" in states
    # Sealed as the models seal: a past response opens with its score and answers, and
    # a past code (sealed and digested) is found and refused as closed.
    response = db.session.scalar(
        select(ScreeningResponse)
        .join(CampaignTarget, CampaignTarget.id == ScreeningResponse.target_id)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(Campaign.closes_at < utcnow(), ScreeningResponse.valid.is_(True))
        .limit(1)
    )
    assert response.band and len(response.raw["answers"]) in (7, 9)
    with pytest.raises(CodeRefused, match="closed"):
        target_for_code(db.session.get(CampaignTarget, response.target_id).code, utcnow())
    # --replace deletes the history with the rest.
    again = app.test_cli_runner().invoke(demo_command, args)
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 3


def test_summary_speaks_the_interface_s_words(app, world):
    output = _run_demo(app)
    campaign = next(line for line in output.splitlines() if "筛查「" in line)
    # States as the ledger names them; grades as the pages name them.
    assert "已筛查" in campaign and "待重测" in campaign and "未获同意" in campaign
    assert "七年级、高一" in campaign
    for internal in ("paper_incomplete", "opted_out", "screened", "not_started", "nine_year"):
        assert internal not in output
    assert "7年级" not in output and "10年级" not in output


@pytest.mark.parametrize("port", [5000, 5050])
def test_printed_addresses_follow_the_port(app, world, port):
    output = _run_demo(app, "--port", str(port), "--host", "0.0.0.0")
    addresses = re.findall(r"https?://\S+", output)
    assert {f"http://127.0.0.1:{port}/login", f"http://127.0.0.1:{port}/s/"} <= set(addresses)
    assert all(address.startswith(f"http://127.0.0.1:{port}/") for address in addresses)
    skipped = app.test_cli_runner().invoke(demo_command, ["--if-empty", "--port", str(port)])
    assert f"http://127.0.0.1:{port}/login" in skipped.output
    assert skipped.output.count(DEMO_PASSWORD) == len(FIXED_LOGINS)
    # Both say where the demo's mail and webhooks show (`make demo` starts the mailbox).
    for said in (output, skipped.output):
        assert "都发往演示邮箱：每一条到达时都显示在此控制台" in said
        assert "demo-mailbox.log" in said


def test_demo_campaign_plays_a_plausible_first_week(demo):
    screening = build_demo_campaign(SEED)
    campaign = screening.campaign
    states = dict(
        db.session.execute(
            select(CampaignTarget.state, func.count())
            .where(CampaignTarget.campaign_id == campaign.id)
            .group_by(CampaignTarget.state)
        ).all()
    )
    enrolled_first_years = db.session.scalar(
        select(func.count())
        .select_from(Student)
        .join(SchoolClass)
        .where(SchoolClass.grade.in_([7, 10]), Student.status == "enrolled")
    )
    assert sum(states.values()) == enrolled_first_years
    assert {"screened_valid", "in_progress", "not_started", "absent", "exempt"} <= set(states)
    assert {"consent_withheld", "retest_pending"} <= set(states)
    assert 0.6 < states["screened_valid"] / enrolled_first_years < 0.9
    alerts = db.session.scalar(select(func.count()).select_from(CrisisAlert))
    assert 0 < alerts < states["screened_valid"] * 0.2
    told = db.session.scalars(select(Notification).where(Notification.kind == "crisis_alert"))
    links = {n.link for n in told}
    assert links and all(link.startswith("/schools/") for link in links)
    assert target_for_code(screening.trial_code, utcnow()).state == "not_started"


# --- the health rounds ----------------------------------------------------------------


@pytest.fixture
def health(demo):
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    demo_class = teacher.roles[0].class_id
    return build_demo_health(SEED, YEAR, demo_class), demo_class


def _per_class(model, *where):
    enrolled = dict(
        db.session.execute(
            select(Student.class_id, func.count())
            .where(Student.status == "enrolled")
            .group_by(Student.class_id)
        ).all()
    )
    recorded = dict(
        db.session.execute(
            select(Student.class_id, func.count())
            .join(model, model.student_id == Student.id)
            .where(*where)
            .group_by(Student.class_id)
        ).all()
    )
    return enrolled, recorded


def test_autumn_vision_round_most_classes_done_a_few_in_progress(health):
    played, demo_class = health
    assert played.vision_round == VisionRound(YEAR, 1)
    enrolled, recorded = _per_class(
        VisionRecord, VisionRecord.year == YEAR, VisionRecord.season == "autumn"
    )
    done = [c for c, n in enrolled.items() if recorded.get(c, 0) == n]
    partial = [c for c, n in enrolled.items() if 0 < recorded.get(c, 0) < n]
    assert len(done) > 3 * len(partial) > 0
    assert demo_class in partial  # its head teacher sees who is still missing
    assert (len(done), len(partial)) == (
        played.vision.complete_classes,
        played.vision.in_progress_classes,
    )
    assert played.vision.records == sum(recorded.values()) and played.vision.refused == 0
    statuses = Counter(
        db.session.scalars(select(VisionRecord.status).where(VisionRecord.year == YEAR))
    )
    assert statuses["measured"] > 0.95 * played.vision.records
    assert statuses["absent"] > 0 and statuses["exempt"] > 0
    doctors = {
        (a.school_id, a.user_id)
        for a in db.session.scalars(select(RoleAssignment).where(RoleAssignment.role == "doctor"))
    }
    for record in db.session.scalars(select(VisionRecord).limit(50)):
        assert (record.student.school_class.school_id, record.measured_by_id) in doctors


def test_last_year_s_rounds_are_closed_in_the_grade_below(health):
    played, _ = health
    assert played.fitness_year == YEAR - 1
    for model, round_match in (
        (FitnessRecord, FitnessRecord.school_year == YEAR - 1),
        (VisionRecord, VisionRecord.year == YEAR - 1),
    ):
        rows = db.session.execute(
            select(model.measured_on, SchoolClass.grade)
            .join(Student, Student.id == model.student_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(round_match)
        ).all()
        # Grade 1 was not at school yet; the others were in the grade below.
        assert rows and all(grade > 1 for _, grade in rows)
        enrolled, recorded = _per_class(model, round_match)
        assert all(recorded.get(c, 0) == n for c, n in enrolled.items() if c in recorded)
    grades = db.session.execute(
        select(FitnessRecord.grade, SchoolClass.grade, FitnessRecord.measured_on)
        .join(Student, Student.id == FitnessRecord.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(FitnessRecord.school_year == YEAR - 1)
    ).all()
    assert len(grades) == played.fitness.records and played.fitness.in_progress_classes == 0
    assert all(then == now - 1 for then, now, _ in grades)
    assert all(day.year == YEAR and 4 <= day.month <= 5 for _, _, day in grades)
    ratings = Counter(db.session.scalars(select(FitnessRecord.rating)))
    assert ratings["pass"] > ratings["fail"] > 0 and ratings["excellent"] > 0
    assert played.last_vision.records > 0 and played.last_vision.in_progress_classes == 0


def _myopia(district_id: int, school_year: int) -> tuple[float, dict[int, float]]:
    """The district's and each school's screening-myopia rate, as the indicator counts."""
    tallies = list(INDICATORS["health_myopia"].source(district_id, school_year))
    ((n, d),) = roll_up(tallies, lambda t: None).values()
    schools = {k: value(PERCENT, *c) for k, c in roll_up(tallies, lambda t: t.school_id).items()}
    return value(PERCENT, n, d), schools


def test_three_school_years_of_rounds_each_cohort_in_its_grade_then(health):
    played, _ = health
    assert set(played.earlier_vision) == {VisionRound(YEAR - 2, 1)}
    assert set(played.earlier_fitness) == {YEAR - 2, YEAR - 3}
    autumns = Counter(
        db.session.scalars(select(VisionRecord.year).where(VisionRecord.season == "autumn"))
    )
    assert set(autumns) == {YEAR - 2, YEAR - 1, YEAR}
    assert autumns[YEAR - 2] == played.earlier_vision[VisionRound(YEAR - 2, 1)].records
    for back in (2, 3):
        rows = db.session.execute(
            select(FitnessRecord.grade, SchoolClass.grade, FitnessRecord.measured_on)
            .join(Student, Student.id == FitnessRecord.student_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(FitnessRecord.school_year == YEAR - back)
        ).all()
        assert len(rows) == played.earlier_fitness[YEAR - back].records > 0
        # Each cohort in the grade it was then; the youngest were not at school yet.
        assert all(then == now - back >= 1 for then, now, _ in rows)
        assert all(day.year == YEAR - back + 1 and 4 <= day.month <= 5 for _, _, day in rows)


def test_district_myopia_falls_while_the_schools_off_target_rise(health):
    played, _ = health
    district_id = db.session.scalar(select(District.id))
    rates = {year: _myopia(district_id, year) for year in (YEAR - 2, YEAR - 1, YEAR)}
    district = [rates[year][0] for year in sorted(rates)]
    # Falling year on year, by about one to two points a year (wellbeing/health/demo.py
    # says why more than each school's half point; a small demo is noisier).
    assert district[0] > district[1] > district[2]
    assert 0.5 <= (district[0] - district[2]) / 2 <= 3.0
    assert played.rising_schools
    for school_id in played.rising_schools:
        school = [rates[year][1][school_id] for year in sorted(rates)]
        assert school[0] < school[1] < school[2], school_id


def test_last_year_s_national_file_lists_only_what_the_demo_left_incomplete(health):
    played, _ = health
    assert played.last_vision.incomplete > 0 and played.fitness.incomplete > 0
    fitness_columns = {column for column, _ in export.FITNESS_COLUMNS}
    seen = Counter()
    for school in db.session.scalars(select(School)):
        for problem in export.build(school, YEAR - 1).problems:
            if problem.student.grade == 1:
                continue  # not at school last year: no record, rightly listed
            if problem.column is None:  # absent or exempt, with the reason
                seen["not tested"] += 1
            elif problem.column in ("右眼屈光", "左眼屈光"):
                seen["refraction"] += 1
            else:
                assert problem.column in fitness_columns, problem
                seen["fitness item"] += 1
    assert seen["refraction"] == played.last_vision.incomplete
    assert seen["fitness item"] == played.fitness.incomplete
    assert seen["not tested"] == played.last_vision.not_measured + played.fitness.not_measured


def test_records_are_what_the_grid_would_store(health):
    """The demo's bulk path stores the values the grid's one-row save derives."""
    derived = ("se_right", "se_left", "myopia", "myopia_degree", "va_grade")
    for record in db.session.scalars(
        select(VisionRecord).where(VisionRecord.status == "measured").limit(40)
    ):
        payload = {name: getattr(record, name) for name in VISION_MEASURES}
        payload["measured_on"] = record.measured_on.isoformat()
        fields, errors = check_vision_row(record.student, record.round, payload)
        assert errors == []
        assert {k: fields[k] for k in derived} == {k: getattr(record, k) for k in derived}
    for record in db.session.scalars(
        select(FitnessRecord).where(FitnessRecord.status == "measured").limit(40)
    ):
        payload = {name: getattr(record, name) for name in FITNESS_MEASURES}
        payload["measured_on"] = record.measured_on.isoformat()
        fields, errors = check_fitness_row(
            record.student, record.grade, record.school_year, payload
        )
        assert errors == []
        for name in ("bmi_class", "total", "rating", "item_scores"):
            assert fields[name] == getattr(record, name), name


def test_home_panels_show_the_demo_rounds(health, client):
    for username in ("doctor", "teacher"):
        client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        page = client.get("/home").get_data(as_text=True)
        assert 'data-figure="vision_done"' in page or 'data-figure="vision_records"' in page
        client.post("/logout")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_serves_and_prints_on_the_given_port():
    root = Path(__file__).resolve().parents[2]
    planned = subprocess.run(
        ["make", "-n", "demo", "PORT=5050", "HOST=0.0.0.0", "MAILBOX_SMTP_PORT=2525"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    demo = next(line for line in planned if "wellbeing demo" in line)
    serve = next(line for line in planned if "wellbeing serve" in line)
    assert demo.endswith("--host 0.0.0.0 --port 5050") and serve.endswith(
        "--host 0.0.0.0 --port 5050"
    )
    assert "--with-scheduler" in serve  # the scheduler runs beside the web server
    # ... and the demo mailbox, on the ports given (or its defaults).
    assert "--demo-mailbox --mailbox-smtp-port 2525 --mailbox-http-port 8026" in serve
