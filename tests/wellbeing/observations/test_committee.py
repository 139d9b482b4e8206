"""The committee's health: coverage (two 心理委员 per class from grade 4, a boy and a
girl), the weekly report rate per class (nil reports count; head teachers' do not), the
school page (members' names only, audited) and the district page (small cells suppressed
for a monitor by the ledger's one rule). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import make_student, make_user
from wellbeing.clock import local_today, utcnow
from wellbeing.district.queries import school_staffing
from wellbeing.extensions import db
from wellbeing.observations import committee
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport
from wellbeing.roster.models import SchoolClass
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _class(world, grade: int, name: str, school: str = "A") -> SchoolClass:
    school_class = SchoolClass(
        school=world.schools[school], grade=grade, name=name, entry_year=2026
    )
    db.session.add(school_class)
    for index, sex in enumerate("MFMF"):
        make_student(school_class, f"学生{grade}-{name}-{index}", sex)
    db.session.flush()
    return school_class


def _member(school_class: SchoolClass, index: int, username: str):
    user = make_user(username, None, ("committee", school_class))
    user.display_name = f"委员{username}"
    user.student = school_class.students[index]
    db.session.flush()
    return user


def _report(user, school_class, week, *, role="committee", nil=True) -> WeeklyReport:
    report = WeeklyReport(
        school_id=school_class.school_id,
        class_id=school_class.id,
        reporter_id=user.id,
        reporter_role=role,
        week_start=week,
        nil=nil,
        submitted_at=utcnow(),
    )
    db.session.add(report)
    db.session.flush()
    return report


@pytest.fixture
def classes(world):
    """Grade 3 (no committee needed), grade 4 complete (a boy and a girl), grade 7 with
    two boys (not complete), grade 7 class 2 with none; A1 (grade 7) has the world's one
    committee member."""
    third = _class(world, 3, "1")
    fourth = _class(world, 4, "1")
    seventh = _class(world, 7, "3")
    empty = _class(world, 7, "4")
    _member(third, 0, "m3")
    boy, girl = _member(fourth, 0, "m4b"), _member(fourth, 1, "m4g")
    _member(seventh, 0, "m7a"), _member(seventh, 2, "m7b")
    return {
        "third": third,
        "fourth": fourth,
        "seventh": seventh,
        "empty": empty,
        "boy": boy,
        "girl": girl,
    }


def test_coverage_counts_members_boys_and_girls_from_grade_four(world, classes):
    coverage = committee.coverage_by_class()
    fourth, seventh = coverage[classes["fourth"].id], coverage[classes["seventh"].id]
    assert (fourth.members, fourth.boys, fourth.girls, fourth.complete) == (2, 1, 1, True)
    assert (seventh.members, seventh.boys, seventh.girls, seventh.complete) == (2, 2, 0, False)
    assert classes["empty"].id not in coverage
    rows = committee.school_classes(world.schools["A"].id, local_today())
    grades = [(row.school_class.grade, row.school_class.name) for row in rows]
    # From grade 4 up, in grade and number order; grade 3 is left out.
    assert grades == [(4, "1"), (7, "1"), (7, "2"), (7, "3"), (7, "4")]
    # An inactive member does not count.
    classes["girl"].active = False
    db.session.flush()
    assert not committee.coverage_by_class()[classes["fourth"].id].complete


def test_report_rate_counts_nil_reports_and_not_head_teachers(world, classes):
    today = local_today()
    this_week = week_start(today)
    weeks = committee.recent_weeks(today)
    assert len(weeks) == committee.REPORT_RATE_WEEKS and weeks[-1] == this_week - timedelta(7)
    fourth, seventh = classes["fourth"], classes["seventh"]
    # Grade 4: three of the four weeks by either member (twice in one week counts once),
    # and this week's; a week before the window does not count.
    _report(classes["boy"], fourth, weeks[0])
    _report(classes["girl"], fourth, weeks[0], nil=False)
    _report(classes["boy"], fourth, weeks[1])
    _report(classes["girl"], fourth, weeks[3])
    _report(classes["boy"], fourth, weeks[0] - timedelta(7))
    _report(classes["boy"], fourth, this_week)
    # Grade 7 class 3: only its head teacher reported.
    teacher = make_user("t73", None, ("head_teacher", seventh))
    db.session.flush()
    _report(teacher, seventh, weeks[2], role="head_teacher")
    rows = {r.school_class.id: r for r in committee.school_classes(world.schools["A"].id, today)}
    assert (rows[fourth.id].reported_weeks, rows[fourth.id].this_week) == (3, True)
    assert rows[fourth.id].rate == 0.75
    assert (rows[seventh.id].reported_weeks, rows[seventh.id].rate) == (0, 0.0)
    assert rows[classes["empty"].id].rate is None  # no member: no rate


def test_district_overview_shares_the_coverage_query(world, classes):
    a = next(row for row in school_staffing(world.district.id) if row.school.code == "SA")
    # A1 and A2, and the four new classes: those from grade 4 need a committee.
    assert a.classes == 6 and a.classes_needing_committee == 5
    assert a.classes_with_two_committee == 2


def test_school_page_names_members_says_what_to_do_and_is_audited(client, world, classes):
    _report(classes["boy"], classes["fourth"], week_start(local_today()))
    login(client, "leader")
    response = client.get(f"/schools/{world.schools['A'].id}/committee")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "委员m4b" in page and "委员m4g" in page
    assert "学生4-1-0" not in page  # a member's name is their own display name, nothing more
    # A class short of members says what to do.
    empty = page.split(f'data-class="{classes["empty"].id}"')[1].split("</tr>")[0]
    assert 'class="gap"' in page and 'data-todo="members"' in empty
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_list").order_by(AuditEvent.id.desc())
    ).first()
    assert event.target_type == "school" and '"students": 5' in event.detail
    # Another school's leader is refused.
    assert client.get(f"/schools/{world.schools['B'].id}/committee").status_code == 403


def test_school_page_is_paged(client, world, monkeypatch):
    from wellbeing.observations import committee_views

    monkeypatch.setattr(committee_views, "PER_PAGE", 1)
    login(client, "counselor")
    first = client.get(f"/schools/{world.schools['A'].id}/committee").get_data(as_text=True)
    second = client.get(f"/schools/{world.schools['A'].id}/committee?page=2")
    assert 'rel="next"' in first and second.status_code == 200


def test_district_page_suppresses_small_cells_for_a_monitor_only(client, world, classes):
    today = local_today()
    for week in committee.recent_weeks(today):
        _report(classes["boy"], classes["fourth"], week)
    # School A: 5 classes from grade 4 (1 complete, 4 not); school B: 2 (none complete).
    login(client, "monitor")
    page = client.get(f"/districts/{world.district.id}/committee").get_data(as_text=True)
    assert 'id="small-cells"' in page
    row_a = page.split('data-row="1"')[1].split("</tr>")[0]
    # 1 complete class is a small cell: hidden, and so are the cells that give it away.
    assert 'data-cell="complete">&lt;10' in row_a and 'data-cell="coverage">&lt;10' in row_a
    client.post("/logout")
    login(client, "admin")
    page = client.get(f"/districts/{world.district.id}/committee").get_data(as_text=True)
    assert 'id="small-cells"' not in page
    row_a = page.split('data-row="1"')[1].split("</tr>")[0]
    assert 'data-cell="complete">1<' in row_a and 'data-cell="coverage">20%' in row_a
    # Class-weeks: the members of grade 4 (4 of 4 weeks), grade 7 class 3 (0 of 4) and A1
    # (0 of 4): 4 of 12 reported.
    assert 'data-cell="class_weeks">12<' in row_a and 'data-cell="report_rate">33%' in row_a
    # The other district is another admin's.
    assert client.get(f"/districts/{world.other_district.id}/committee").status_code == 403


def test_suppression_follows_the_ledger_rule():
    table = [
        {
            "classes": 6,
            "complete": 1,
            "incomplete": 5,
            "class_weeks": 12,
            "reported": 4,
            "unreported": 8,
        },
        {
            "classes": 10,
            "complete": 10,
            "incomplete": 0,
            "class_weeks": 40,
            "reported": 40,
            "unreported": 0,
        },
    ]
    table.append(committee.total(table))
    shown = committee.shown_rows(table, suppress=True)
    assert shown[0].cells["complete"] == "<10" and shown[0].rates["coverage"] is None
    assert shown[0].rate_text("coverage") == "<10"
    # The school's other part is hidden too, or 6 - 5 would give the 1 away.
    assert shown[0].cells["incomplete"] == "<10" or shown[0].cells["classes"] == "<10"
    assert committee.shown_rows(table, suppress=False)[0].cells["complete"] == 1


def test_compliance_sheet_counts_per_school(world, classes):
    from wellbeing.observations.compliance import committee_sheet
    from wellbeing.security.compliance import year_bounds

    today = local_today()
    _report(classes["boy"], classes["fourth"], committee.recent_weeks(today)[0])
    _report(classes["girl"], classes["fourth"], committee.recent_weeks(today)[0])
    _report(classes["boy"], classes["fourth"], week_start(today))
    sheet = committee_sheet(year_bounds(committee.recent_weeks(today)[0].year))
    rows = {row[0]: row for row in sheet.rows}
    # School A: five classes from grade 4, one complete; two distinct class-weeks (or one
    # when the weeks fall in different years).
    assert rows["SA"][2:4] == [5, 1] and rows["SA"][4] in (1, 2)
    assert rows["SB"][2:] == [2, 0, 0]
    assert all(name not in str(sheet.rows) for name in ("委员m4b", "学生4-1-0"))


def test_home_pages_link_the_committee_pages(client, world, classes):
    login(client, "leader")
    page = client.get("/home").get_data(as_text=True)
    short = page.split('data-figure="committee_short"')[1].split("</li>")[0]
    # Grade 4 class 1 is complete; A1, A2, 7-3 and 7-4 are not.
    assert '<span class="count">4</span>' in short
    assert f"/schools/{world.schools['A'].id}/committee" in page
    client.post("/logout")
    login(client, "monitor")
    page = client.get("/home").get_data(as_text=True)
    assert f"/districts/{world.district.id}/committee" in page
    overview = client.get("/district/").get_data(as_text=True)
    assert f"/districts/{world.district.id}/committee" in overview
