"""The coverage pages: district (counts only, suppressed for monitors), school (classes,
who is missing and why, the retest queue), class (students, consent, actions), the
student actions with their refusals, the XLSX exports and the equity view. Pages are
read in English so the assertions hold before and after the Chinese catalogue merges."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import get_template_attribute
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from tests.conftest import login
from tests.factories import make_student
from tests.wellbeing.campaigns.conftest import answer_all, target_of
from tests.wellbeing.campaigns.test_ledger import decide, open_district_campaign, sit_wellbeing
from wellbeing.campaigns import codes, services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.models import ConsentRecord
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import SchoolClass
from wellbeing.security.compliance import local_midnight_utc
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


@pytest.fixture
def district_campaign(world, campaign_plan):
    """Schools A and B, every state reached (see test_ledger.open_district_campaign)."""
    return open_district_campaign(world, campaign_plan)


def sign_in(client, world, role: str) -> None:
    login(client, world.users[role].username)
    client.get("/language/en")


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def row_of(page: str, marker: str) -> str:
    match = re.search(rf"<tr {marker}[^>]*>(.*?)</tr>", page, re.S)
    assert match, f"no row {marker}"
    return match.group(1)


def count_in(row: str, key: str) -> str:
    return re.search(rf'data-count="{key}">([^<]*)<', row).group(1).strip()


def rate_in(row: str) -> str:
    return re.search(r'class="num rate">([^<]*)', row).group(1).strip()


def basis_html(app, campaign) -> str:
    """What the shared consent_basis macro renders for the campaign (English)."""
    with app.test_request_context():
        from flask import session

        session["language"] = "en"
        return str(get_template_attribute("campaigns/_macros.html", "consent_basis")(campaign))


def district_url(world, campaign, suffix: str = "") -> str:
    return f"/coverage/districts/{world.district.id}/campaigns/{campaign.id}{suffix}"


def school_url(school, campaign, suffix: str = "") -> str:
    return f"/coverage/schools/{school.id}/campaigns/{campaign.id}{suffix}"


def class_url(school_class, campaign) -> str:
    return f"/coverage/classes/{school_class.id}/campaigns/{campaign.id}"


def student_url(student, campaign, action: str) -> str:
    return f"/coverage/students/{student.id}/campaigns/{campaign.id}/{action}"


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def screen(campaign, world, *labels: str) -> None:
    for label in labels:
        target = target_of(campaign, world.students[label])
        answer_all(target, 0)
        services.submit(target, utcnow())
    db.session.flush()


# ----------------------------------------------------------------------------- district


def test_district_page_counts_and_rates_by_school(app, client, world, district_campaign):
    sign_in(client, world, "admin")
    page = page_of(client.get(district_url(world, district_campaign)))
    school_a = row_of(page, 'data-school="SA"')
    assert count_in(school_a, "targets") == "6"
    assert count_in(school_a, "transferred") == "1"
    assert count_in(school_a, "enrolled") == "5"
    assert count_in(school_a, "screened_valid") == "2"
    assert rate_in(school_a) == "40.0%"
    assert rate_in(row_of(page, 'data-school="SB"')) == "33.3%"
    total = row_of(page, 'class="total" id="coverage-total"')
    assert (count_in(total, "targets"), count_in(total, "enrolled")) == ("12", "11")
    assert rate_in(total) == "36.4%"
    # Administrators follow a school to its ledger; no student is named here.
    assert school_url(world.schools["A"], district_campaign) in page
    assert not any(student.name in page for student in world.students.values())
    assert basis_html(app, district_campaign) in page
    assert 'id="coverage-legend"' in page and "targets − transferred" in page


def test_monitors_see_small_counts_suppressed(app, client, world, campaign, small_cells_of_5):
    screen(campaign, world, "A1-0", "A1-1", "A1-2")
    sign_in(client, world, "monitor")
    page = page_of(client.get(district_url(world, campaign)))
    row = row_of(page, 'data-school="SA"')
    assert count_in(row, "screened_valid") == "&lt;5"  # 3
    assert count_in(row, "not_started") == "&lt;5"  # 3
    assert count_in(row, "transferred") == "0"
    assert count_in(row, "targets") == "6"
    assert rate_in(row) == "—"  # 3 of 6 would give the 3 away
    assert school_url(world.schools["A"], campaign) not in page  # no link for a monitor
    assert "counts from 1 to 4, and the cells that would reveal them" in page
    client.post("/logout")
    sign_in(client, world, "admin")
    row = row_of(page_of(client.get(district_url(world, campaign))), 'data-school="SA"')
    assert (count_in(row, "screened_valid"), rate_in(row)) == ("3", "50.0%")


def test_district_page_needs_the_districts_own_campaign(client, world, campaign_plan, campaign):
    plan = campaign_plan(world, school_ids=[world.schools["C"].id], grades=[10])
    elsewhere = services.open_campaign(world.other_district, world.schools["C"], plan, None)
    sign_in(client, world, "admin")
    assert client.get(district_url(world, campaign)).status_code == 200
    assert client.get(district_url(world, elsewhere)).status_code == 404
    assert client.get(district_url(world, elsewhere, "/equity")).status_code == 404
    other = f"/coverage/districts/{world.other_district.id}/campaigns/{elsewhere.id}"
    assert client.get(other).status_code == 403


def test_district_export_is_suppressed_for_monitors(client, world, campaign, small_cells_of_5):
    screen(campaign, world, "A1-0", "A1-1", "A1-2")
    for role, screened, rate in (("monitor", "<5", None), ("admin", 3, 0.5)):
        sign_in(client, world, role)
        response = client.get(district_url(world, campaign, "/export.xlsx"))
        assert response.status_code == 200
        assert response.mimetype.endswith("spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        header = next(row for row in rows if row and row[0] == "School")
        school = next(row for row in rows if row and row[0] == "测试学校A")
        values = dict(zip(header, school, strict=True))
        assert values["Screened"] == screened
        assert values["Transferred"] == 0
        assert values["Targets"] == 6
        assert values["Coverage rate"] == rate
        client.post("/logout")
    exports = audit_rows("export")
    assert [e.detail.count('"suppressed": true') for e in exports] == [1, 0]


# ----------------------------------------------------------------------------- school


def test_school_page_lists_classes_missing_students_and_retests(
    app, client, world, district_campaign
):
    sign_in(client, world, "counselor")
    page = page_of(client.get(school_url(world.schools["A"], district_campaign)))
    first = row_of(page, f'data-class="{world.classes["A1"].id}"')
    assert (count_in(first, "screened_valid"), count_in(first, "retest_pending")) == ("2", "1")
    assert rate_in(first) == "66.7%"
    assert rate_in(row_of(page, 'class="total" id="coverage-total"')) == "40.0%"
    missing = page.split('id="missing-list"')[1].split("</table>")[0]
    names = re.findall(r"<td>(学生[^<]+)</td>", missing)
    assert names == ["学生A1-2", "学生A2-0", "学生A2-1", "学生A2-2"]
    assert "School wellbeing questionnaire (test fixture): answered too fast" in missing
    assert "转学至外省" in missing and "在外地就医" in missing
    assert "counselor" in row_of(missing, f'data-student="{world.students["A2-2"].id}"')
    queue = page.split('id="retest-queue"')[1].split("</table>")[0]
    assert "学生A1-2" in queue
    assert student_url(world.students["A1-2"], district_campaign, "retest") in queue
    assert basis_html(app, district_campaign) in page


def test_school_page_needs_the_school_in_the_campaign(client, world, campaign):
    sign_in(client, world, "admin")
    assert client.get(school_url(world.schools["B"], campaign)).status_code == 404
    assert client.get(school_url(world.schools["A"], campaign)).status_code == 200
    client.post("/logout")
    sign_in(client, world, "counselor")
    assert client.get(school_url(world.schools["B"], campaign)).status_code == 403


def test_pages_take_one_query_per_level_not_one_per_class(client, world, campaign):
    """The school page's statement count does not grow with its classes."""
    sign_in(client, world, "counselor")
    url = school_url(world.schools["A"], campaign)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page_of(client.get(url))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    small = measure()
    for number in range(3, 9):
        school_class = SchoolClass(
            school=world.schools["A"], grade=7, name=str(number), entry_year=2026
        )
        for index in range(4):
            make_student(school_class, f"新生{number}-{index}")
    db.session.flush()
    services.refresh_population(campaign)
    db.session.flush()
    assert measure() == small


# ----------------------------------------------------------------------------- class


def test_class_page_shows_students_consent_and_the_allowed_actions(app, client, world, campaign):
    decide(target_of(campaign, world.students["A1-1"]), v.OPT_OUT_DECISION, world.users["admin"])
    sign_in(client, world, "head_teacher")
    page = page_of(client.get(class_url(world.classes["A1"], campaign)))
    for label in ("A1-0", "A1-1", "A1-2"):
        assert world.students[label].name in page
    assert "学生A2-0" not in page
    opted = row_of(page, f'data-student="{world.students["A1-1"].id}"')
    assert 'data-decision="opt_out"' in opted and "On paper" in opted and "家长（母亲）" in opted
    assert "Guardian opted out" in opted
    first = world.students["A1-0"]
    # One link a student to their actions; the forms are on that page, not hidden here.
    actions = f"/coverage/students/{first.id}/campaigns/{campaign.id}"
    assert f'href="{actions}"' in page and "<form" not in page.split("</header>")[1]
    assert basis_html(app, campaign) in page
    page = page_of(client.get(actions))
    assert student_url(first, campaign, "consent") in page
    assert student_url(first, campaign, "reissue") in page
    assert student_url(first, campaign, "mark") not in page  # a head teacher cannot mark
    client.post("/logout")
    sign_in(client, world, "counselor")
    page = page_of(client.get(actions))
    assert student_url(first, campaign, "mark") in page


def test_class_page_needs_a_covered_class(client, world, campaign):
    grade8 = SchoolClass(school=world.schools["A"], grade=8, name="1", entry_year=2025)
    db.session.add(grade8)
    db.session.flush()
    sign_in(client, world, "admin")
    assert client.get(class_url(grade8, campaign)).status_code == 404
    assert client.get(class_url(world.classes["B1"], campaign)).status_code == 404
    client.post("/logout")
    sign_in(client, world, "head_teacher")
    assert client.get(class_url(world.classes["A2"], campaign)).status_code == 403


# ----------------------------------------------------------------------------- actions


def test_marking_exempt_needs_a_reason_and_records_the_approver(client, world, campaign):
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    sign_in(client, world, "counselor")
    refused = client.post(
        student_url(student, campaign, "mark"), data={"state": "exempt", "reason": "  "}
    )
    assert refused.status_code == 302
    assert refused.headers["Location"] == class_url(world.classes["A1"], campaign)
    page = page_of(client.get(refused.headers["Location"]))
    assert "Give a reason of at most 200 characters." in page
    db.session.refresh(target)
    assert (target.state, target.approved_by_id) == (v.NOT_STARTED, None)
    assert audit_rows("coverage_mark") == []

    done = client.post(
        student_url(student, campaign, "mark"), data={"state": "exempt", "reason": "在外地就医"}
    )
    assert done.status_code == 302
    db.session.refresh(target)
    assert (target.state, target.reason) == (v.EXEMPT, "在外地就医")
    assert target.approved_by_id == world.users["counselor"].id
    row = row_of(page_of(client.get(done.headers["Location"])), f'data-student="{student.id}"')
    assert "在外地就医" in row and "approved by counselor" in row
    actions = page_of(client.get(f"/coverage/students/{student.id}/campaigns/{campaign.id}"))
    assert student_url(student, campaign, "unmark") in actions

    client.post(student_url(student, campaign, "unmark"))
    db.session.refresh(target)
    assert (target.state, target.reason, target.approved_by_id) == (v.NOT_STARTED, None, None)
    assert len(audit_rows("coverage_mark")) == 2


def test_a_state_that_is_not_markable_is_refused(client, world, campaign):
    student = world.students["A1-0"]
    sign_in(client, world, "counselor")
    response = client.post(
        student_url(student, campaign, "mark"),
        data={"state": "screened_valid", "reason": "x"},
        follow_redirects=True,
    )
    assert "That state cannot be set by hand." in page_of(response)
    assert target_of(campaign, student).state == v.NOT_STARTED


def test_actions_on_a_student_outside_the_campaign_or_scope(
    client, world, campaign, district_campaign
):
    sign_in(client, world, "admin")
    outsider = world.students["B1-0"]  # school B: not a target of campaign A
    for action in ("mark", "unmark", "consent", "retest", "reissue"):
        assert client.post(student_url(outsider, campaign, action)).status_code == 404, action
    client.post("/logout")
    sign_in(client, world, "counselor")  # school A's counselor, school B's student
    data = {"state": "absent", "reason": "病假"}
    response = client.post(student_url(outsider, district_campaign, "mark"), data=data)
    assert response.status_code == 403
    assert target_of(district_campaign, outsider).state == v.SCREENED_VALID
    client.post("/logout")
    sign_in(client, world, "head_teacher")  # may record consent, may not mark
    inside = world.students["A1-0"]
    assert client.post(student_url(inside, campaign, "mark"), data=data).status_code == 403
    assert client.post(student_url(inside, campaign, "retest")).status_code == 403


def test_recording_a_guardians_decision_through_the_class_page(client, world, campaign):
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    sign_in(client, world, "head_teacher")
    today = (utcnow() + timedelta(hours=8)).date()
    form = {
        "decision": "opt_out",
        "method": "verbal",
        "guardian": "家长甲（母亲）",
        "decided_on": today.isoformat(),
        "note": "电话告知",
    }
    for bad in (
        {"decided_on": "2026-13-01"},
        {"decided_on": (today + timedelta(days=1)).isoformat()},
        {"guardian": " "},
        {"method": "fax"},
    ):
        response = client.post(student_url(student, campaign, "consent"), data=form | bad)
        assert response.status_code == 302
        assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 0
    page = page_of(client.get(class_url(world.classes["A1"], campaign)))
    for message in (
        "Give the date of the decision (year-month-day).",
        "The date of the decision is after today.",
        "Name the guardian who decided (at most 60 characters).",
        "Say how the decision was given: paper, verbal or online.",
    ):
        assert message in page

    response = client.post(student_url(student, campaign, "consent"), data=form)
    assert response.status_code == 302
    db.session.refresh(target)
    assert (target.state, target.reason) == (v.CONSENT_WITHHELD, v.REASON_OPTED_OUT)
    record = db.session.scalar(select(ConsentRecord))
    assert (record.decision, record.method, record.guardian) == (
        "opt_out",
        "verbal",
        "家长甲（母亲）",
    )
    assert record.recorded_by_id == world.users["head_teacher"].id
    assert record.decided_on == local_midnight_utc(today)
    assert record.notice_version == campaign.notice_version
    row = row_of(
        page_of(client.get(class_url(world.classes["A1"], campaign))),
        f'data-student="{student.id}"',
    )
    assert "Opt-out" in row and "Verbally" in row and today.isoformat() in row

    client.post(student_url(student, campaign, "consent"), data=form | {"decision": "consent"})
    db.session.refresh(target)
    assert target.state == v.NOT_STARTED


def test_issuing_a_retest_shows_the_new_code_once(app, client, world, campaign_plan):
    plan = campaign_plan(world, instrument_refs=["school_wellbeing"])
    campaign = services.open_campaign(world.district, world.schools["A"], plan, None)
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    sit_wellbeing(target, 0.4)
    first_code = target.code
    assert target.state == v.RETEST_PENDING
    sign_in(client, world, "counselor")
    refused = client.post(
        student_url(world.students["A1-1"], campaign, "retest"), follow_redirects=True
    )
    assert "Only a student waiting for a retest can be given one." in page_of(refused)

    response = client.post(student_url(student, campaign, "retest"), data={"back": "school"})
    page = page_of(response)
    db.session.refresh(target)
    assert (target.state, target.attempt) == (v.NOT_STARTED, 2)
    assert codes.display(target.code) in page
    assert "shown only this once" in page
    assert basis_html(app, campaign) in page
    with pytest.raises(services.CodeRefused):
        services.target_for_code(first_code, utcnow())
    assert services.target_for_code(target.code, utcnow()) is target
    assert len(audit_rows("retest_issue")) == 1
    school_page = page_of(client.get(school_url(world.schools["A"], campaign)))
    assert "Nobody is waiting for a retest." in school_page


def test_reissuing_a_lost_code(client, world, campaign):
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    old = target.code
    sign_in(client, world, "head_teacher")
    page = page_of(client.post(student_url(student, campaign, "reissue")))
    db.session.refresh(target)
    assert target.code != old
    assert codes.display(target.code) in page
    with pytest.raises(services.CodeRefused) as refused:
        services.target_for_code(old, utcnow())
    assert refused.value.reason == "unknown"

    screen(campaign, world, "A1-1")
    screened = target_of(campaign, world.students["A1-1"])
    kept = screened.code
    response = client.post(
        student_url(world.students["A1-1"], campaign, "reissue"), follow_redirects=True
    )
    assert "cannot answer, so needs no new code" in page_of(response)
    db.session.refresh(screened)
    assert screened.code == kept


# ----------------------------------------------------------------------------- exports


def test_school_export_has_one_row_per_target_and_a_summary(client, world, district_campaign):
    sign_in(client, world, "counselor")
    response = client.get(school_url(world.schools["A"], district_campaign, "/export.xlsx"))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Ledger", "Summary"]
    rows = list(workbook["Ledger"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:6] == ("Class", "Student number", "Name", "Sex", "State", "State code")
    assert len(body) == 6
    by_name = {row[2]: dict(zip(header, row, strict=True)) for row in body}
    exempt = by_name["学生A2-2"]
    assert (exempt["State code"], exempt["Reason"]) == ("exempt", "在外地就医")
    assert exempt["Approver"] == "counselor"
    assert exempt["Student number"] == world.students["A2-2"].student_number
    screened = by_name["学生A1-0"]
    assert screened["State"] == "Screened" and screened["Submitted at (China time)"]
    assert (
        by_name["学生A1-2"]["Reason"]
        == "School wellbeing questionnaire (test fixture): answered too fast"
    )
    summary = [list(row) for row in workbook["Summary"].iter_rows(values_only=True)]
    assert ["Legal basis", "The school's statutory duty"] in [row[:2] for row in summary]
    assert ["Notice version", district_campaign.notice_version] in [row[:2] for row in summary]
    heads = next(row for row in summary if row and row[0] == "Class")
    total = dict(zip(heads, next(row for row in summary if row[0] == "School total"), strict=True))
    assert (total["Targets"], total["Transferred"], total["Screened"]) == (6, 1, 2)
    assert total["Coverage rate"] == pytest.approx(0.4)
    (audit,) = audit_rows("export")
    assert '"coverage_xlsx"' in audit.detail and '"rows": 6' in audit.detail
    assert audit.target_type == "school"


def test_school_export_carries_the_consent_decision(client, world, campaign):
    decide(target_of(campaign, world.students["A1-0"]), v.WITHDRAWAL, world.users["counselor"])
    sign_in(client, world, "admin")
    response = client.get(school_url(world.schools["A"], campaign, "/export.xlsx"))
    sheet = load_workbook(io.BytesIO(response.data))["Ledger"]
    rows = list(sheet.iter_rows(values_only=True))
    row = dict(zip(rows[0], next(r for r in rows if r[2] == "学生A1-0"), strict=True))
    assert row["Consent decision"] == "Withdrawal"
    assert row["Consent method"] == "On paper"
    assert row["Reason"] == "Consent withdrawn"
    assert row["Consent date"]


# ----------------------------------------------------------------------------- equity


@pytest.fixture
def falling_away(world, campaign):
    """Class A1 gains six left-behind students; three of them opt out."""
    for index in range(6):
        make_student(world.classes["A1"], f"留守{index}").left_behind = True
    db.session.flush()
    services.refresh_population(campaign)
    screen(campaign, world, "A1-0", "A1-1", "A1-2", "A2-0", "A2-1", "A2-2")
    left = [target_of(campaign, s) for s in world.classes["A1"].students if s.left_behind]
    for target in left[:3]:
        decide(target, v.OPT_OUT_DECISION, world.users["counselor"])
    for target in left[3:]:
        answer_all(target, 0)
        services.submit(target, utcnow())
    db.session.flush()
    return campaign


def test_equity_view_highlights_a_group_falling_away(app, client, world, falling_away):
    sign_in(client, world, "admin")
    page = page_of(client.get(district_url(world, falling_away, "/equity")))
    assert basis_html(app, falling_away) in page
    left = page.split('id="equity-left_behind"')[1].split("</table>")[0]
    behind = row_of(left, 'data-group="True"')
    assert count_in(behind, "withheld_opted_out") == "3"
    assert rate_in(behind) == "50.0%"
    assert 'data-group="True" class="gap below"' in left
    assert 'data-group="False" class="gap below"' not in left
    assert rate_in(row_of(page, 'class="total" id="equity-total"')) == "75.0%"


def test_equity_view_is_suppressed_for_monitors(client, world, falling_away):
    sign_in(client, world, "monitor")
    page = page_of(client.get(district_url(world, falling_away, "/equity")))
    left = page.split('id="equity-left_behind"')[1].split("</table>")[0]
    behind = row_of(left, 'data-group="True"')
    assert count_in(behind, "withheld_opted_out") == "&lt;10"
    assert count_in(behind, "withheld_withdrawn") == "0"
    assert rate_in(behind) == "—"
    assert "gap below" not in left  # a hidden rate is not flagged either


def test_counselors_see_their_schools_equity_only(app, client, world, falling_away):
    sign_in(client, world, "counselor")
    page = page_of(client.get(school_url(world.schools["A"], falling_away, "/equity")))
    assert basis_html(app, falling_away) in page
    behind = row_of(page.split('id="equity-left_behind"')[1], 'data-group="True"')
    assert count_in(behind, "withheld_opted_out") == "3"  # not suppressed for counselors
    assert client.get(district_url(world, falling_away, "/equity")).status_code == 403
    assert client.get(school_url(world.schools["B"], falling_away, "/equity")).status_code == 403


def test_the_class_ledger_holds_no_form_and_each_student_has_an_action_page(
    client, world, campaign
):
    """The class ledger was slow in a browser with ~6 hidden forms a student: now one
    link a student, the forms on the student's own page, posting to the same actions."""
    student = world.students["A1-2"]
    sign_in(client, world, "counselor")
    ledger_page = page_of(client.get(class_url(world.classes["A1"], campaign)))
    assert "<form" not in ledger_page.split("</header>")[1]
    actions = f"/coverage/students/{student.id}/campaigns/{campaign.id}"
    assert ledger_page.count('<td class="actions"><a href="/coverage/students/') == 3
    page = page_of(client.get(actions))
    assert student.name in page and 'data-state="not_started"' in page
    for action in ("mark", "consent", "reissue"):
        assert student_url(student, campaign, action) in page
    assert page.count('name="back" value="student"') == 3

    # A refusal comes back to the student's page with its message beside the forms.
    refused = client.post(
        student_url(student, campaign, "mark"),
        data={"state": "absent", "reason": " ", "back": "student"},
    )
    assert refused.headers["Location"] == actions
    assert "Give a reason of at most 200 characters." in page_of(client.get(actions))
    # Done: back to the class's ledger, the row showing the new state.
    done = client.post(
        student_url(student, campaign, "mark"),
        data={"state": "absent", "reason": "病假", "back": "student"},
    )
    assert done.headers["Location"] == class_url(world.classes["A1"], campaign)
    row = row_of(page_of(client.get(done.headers["Location"])), f'data-student="{student.id}"')
    assert '<td class="state">Absent</td>' in row
    page = page_of(client.get(actions))
    assert student_url(student, campaign, "unmark") in page
    client.post(student_url(student, campaign, "unmark"), data={"back": "student"})
    assert 'data-state="not_started"' in page_of(client.get(actions))


def test_a_student_the_campaign_did_not_draw_has_no_action_page(client, world, campaign):
    sign_in(client, world, "admin")
    other = world.students["B1-0"]  # school B: not in school A's campaign
    assert client.get(f"/coverage/students/{other.id}/campaigns/{campaign.id}").status_code == 404
    client.post("/logout")
    sign_in(client, world, "head_teacher")
    outside = world.students["A2-0"]
    assert client.get(f"/coverage/students/{outside.id}/campaigns/{campaign.id}").status_code == 403
