"""The school leader (分管校领导) and the district's oversight of the SLA ladder: the role
imports from a staff file by its Chinese name and needs a second factor; the leader's
overdue list shows who waits and since when (oldest first, paged, audited), only for
their own school, and never an outcome or what raised an alert; the leader is refused
counseling content; the district's SLA rates per school match figures worked out by
hand, with the monitor's small cells suppressed by the coverage ledger's rule. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD, login
from tests.factories import make_user
from tests.wellbeing.test_roster_import import xlsx_bytes
from wellbeing import clock
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.review import oversight
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import RoleAssignment, User
from wellbeing.roster.services import import_roster
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

# Thursday 3 December 2026, 12:00 in Beijing: the clock of the SLA fixtures.
NOW = datetime(2026, 12, 3, 4, 0)
# Monday 30 November 2026, 09:00 in Beijing: the alerts' day (due at 10:00 local).
MONDAY_9 = datetime(2026, 11, 30, 1, 0)
OUTCOME = "谈话记录-不应出现"
ALERT_DETAIL = "phq9: phq9_9"


def make_follow_up(
    school,
    student,
    assignee,
    due_at: datetime,
    *,
    status: str = v.OPEN,
    kind: str = v.INTERVIEW,
    source: str = v.FROM_COUNSELOR,
    source_id: int | None = None,
    created_at: datetime | None = None,
    closed_at: datetime | None = None,
    escalation_level: int = 0,
    outcome: str | None = None,
) -> FollowUp:
    follow_up = FollowUp(
        school_id=school.id,
        source=source,
        kind=kind,
        priority=v.RED,
        assignee_id=assignee.id,
        due_at=due_at,
        status=status,
        created_at=created_at or due_at - timedelta(days=1),
        closed_at=closed_at,
        escalation_level=escalation_level,
        escalated_at=due_at + timedelta(hours=5) if escalation_level else None,
    )
    follow_up.subject = {"student_id": student.id, "source_id": source_id}
    if outcome is not None:
        follow_up.outcome = outcome
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def make_alert(
    school, student, raised_at: datetime, acknowledged_at: datetime | None = None
) -> CrisisAlert:
    alert = CrisisAlert(
        school_id=school.id,
        source="critical_item",
        raised_at=raised_at,
        acknowledged_at=acknowledged_at,
    )
    alert.subject = {"student_id": student.id, "response_id": None}
    alert.detail = ALERT_DETAIL
    db.session.add(alert)
    db.session.flush()
    return alert


@pytest.fixture
def at_noon():
    """The app's clock at NOW for the test."""
    clock.move(NOW - clock.utcnow())
    yield NOW
    clock.reset()


@pytest.fixture
def sla(world, at_noon):
    """School A: 12 alerts on Monday at 09:00 (7 acknowledged in time, 4 late, 1 never),
    one raised 10 minutes ago (not yet due) and one 40 days ago (outside the period);
    follow-ups from 9 of the 11 acknowledged alerts (6 done within 24 hours, 3 late), a
    second one missed, one open and overdue (escalated to the leaders), one cancelled,
    one not yet due; two escalations in the period, one before it, one reminder.
    School B: 2 alerts acknowledged in time and nothing else."""
    a, b = world.schools["A"], world.schools["B"]
    counselor = world.users["counselor"]
    pupils = [world.students[f"A{c}-{i}"] for c in (1, 2) for i in range(3)]
    alerts = []
    for n in range(12):
        acknowledged = None
        if n < 7:
            acknowledged = MONDAY_9 + timedelta(minutes=30)
        elif n < 11:
            acknowledged = MONDAY_9 + timedelta(hours=2)
        alerts.append(make_alert(a, pupils[n % 6], MONDAY_9, acknowledged))
    world.late_alert = alerts[11]
    make_alert(a, pupils[2], NOW - timedelta(minutes=10))
    make_alert(a, pupils[3], NOW - timedelta(days=40), NOW - timedelta(days=40))
    contact_due = MONDAY_9 + timedelta(hours=24)
    for n, alert in enumerate(alerts[:9]):
        in_time = n < 6
        make_follow_up(
            a,
            pupils[n % 6],
            counselor,
            contact_due,
            status=v.DONE,
            source=v.FROM_CRISIS_ALERT,
            source_id=alert.id,
            created_at=MONDAY_9 + timedelta(minutes=40),
            closed_at=MONDAY_9 + timedelta(hours=6 if in_time else 50),
            outcome=OUTCOME,
        )
    make_follow_up(
        a,
        pupils[0],
        counselor,
        contact_due + timedelta(hours=24),
        status=v.MISSED,
        source=v.FROM_CRISIS_ALERT,
        source_id=alerts[0].id,
        created_at=contact_due + timedelta(hours=1),
        closed_at=contact_due + timedelta(hours=25),
    )
    world.overdue = make_follow_up(
        a,
        pupils[1],
        counselor,
        contact_due + timedelta(hours=24),
        kind=v.GUARDIAN_CONTACT,
        escalation_level=1,
        outcome=OUTCOME,
    )
    make_follow_up(a, pupils[4], counselor, contact_due + timedelta(hours=2), status=v.CANCELLED)
    make_follow_up(a, pupils[5], counselor, NOW + timedelta(days=1))
    for step, at in (
        (v.ESCALATED_SCHOOL, NOW - timedelta(days=1)),
        (v.ESCALATED_DISTRICT, NOW - timedelta(hours=2)),
        (v.ESCALATED_SCHOOL, NOW - timedelta(days=45)),
        (v.REMINDED, NOW - timedelta(days=1)),
    ):
        db.session.add(
            SlaEvent(
                subject=v.SUBJECT_FOLLOW_UP,
                subject_id=world.overdue.id,
                school_id=a.id,
                step=step,
                due_at=at - timedelta(hours=1),
                at=at,
            )
        )
    b_pupils = [world.students["B1-0"], world.students["B1-1"]]
    for pupil in b_pupils:
        make_alert(b, pupil, MONDAY_9, MONDAY_9 + timedelta(minutes=10))
    db.session.flush()
    return world


# ----------------------------------------------------------------------------- the role


def test_the_role_imports_from_a_staff_file_by_its_chinese_name(world):
    data = xlsx_bytes(
        {
            "教职工": (
                ["用户名", "姓名", "角色", "学校代码"],
                [
                    ["lead-a", "王校长", "分管校领导", "SA"],
                    ["lead-b", "李副校长", "分管副校长", "SB"],
                    ["lead-c", "赵老师", "school_leader", "SA"],
                ],
            )
        }
    )
    result = import_roster(data, "staff.xlsx", password_min_length=10)
    assert result.ok, [e.render() for e in result.errors]
    for username, school in (("lead-a", "A"), ("lead-b", "B"), ("lead-c", "A")):
        user = db.session.scalar(select(User).where(User.username == username))
        assert [(r.role, r.school_id) for r in user.roles] == [
            ("school_leader", world.schools[school].id)
        ]


def test_a_leader_without_a_school_is_refused_with_row_and_column(world):
    data = xlsx_bytes({"教职工": (["用户名", "姓名", "角色"], [["lead-x", "钱校长", "校领导"]])})
    result = import_roster(data, "staff.xlsx", password_min_length=10)
    assert not result.ok
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("教职工", 1, "school_code")]


def test_the_leader_needs_a_second_factor(client, world):
    response = client.post("/login", data={"username": "leader", "password": TEST_PASSWORD})
    assert response.headers["Location"] in ("/login/code", "/login/enrol")


def test_the_role_is_named_in_chinese_on_the_home_page(client, world):
    login(client, "leader")
    page = client.get("/home").get_data(as_text=True)
    assert "分管校领导" in page and 'data-role="school_leader"' in page


def test_the_database_refuses_an_unknown_role(world):
    from sqlalchemy.exc import IntegrityError

    with db.session.begin_nested():
        leader = world.users["school_leader"]
        school = world.schools["A"]
        db.session.add(RoleAssignment(user_id=leader.id, role="principal", school_id=school.id))
        with pytest.raises(IntegrityError):
            db.session.flush()


# Counseling content and the pages that show it: the leader is refused every one.
COUNSELING = (
    "/schools/{school}/alerts",  # what raised each alert
    "/students/{student}",  # the record, with notes for counselors
    "/students/{student}/notes",  # confidential notes (POST)
    "/coverage/students/{student}/campaigns/{campaign}",  # a student's screening state
    "/paper/students/{student}/campaigns/{campaign}",  # paper answers
)


def test_the_leader_is_refused_counseling_content(app, client, world):
    from tests.factories import add_campaigns

    add_campaigns(world)
    login(client, "leader")
    values = {
        "school": world.schools["A"].id,
        "student": world.students["A1-0"].id,
        "campaign": world.campaigns["A"].id,
    }
    adapter = app.url_map.bind("localhost")
    for pattern in COUNSELING:
        url = pattern.format(**values)
        method = "POST" if url.endswith("/notes") else "GET"
        endpoint, _ = adapter.match(url, method=method)
        response = client.open(url, method=method)
        assert response.status_code == 403, f"{endpoint}: {response.status_code}"


# ----------------------------------------------------------------------------- the overdue list


def _rows(page: str, table: str) -> list[str]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return re.findall(r"<tr data-[^>]*>(.*?)</tr>", body, re.S)


def test_the_overdue_list_shows_who_waits_and_since_when(client, sla):
    school = sla.schools["A"]
    login(client, "leader")
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    response = client.get(f"/schools/{school.id}/overdue")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    overdue = _rows(page, "overdue-table")
    assert len(overdue) == 1
    row = overdue[0]
    student = sla.students["A1-1"]
    # Due Tuesday 09:00 + 24 h = Wednesday 09:00 local; late by 1 day 3 hours at NOW.
    for words in (
        student.name,
        "七年级1班",
        "联系家长",
        "counselor",
        "1 天 3 小时",
        "已升级至校领导",
    ):
        assert words in row, words
    assert "2026-12-02 09:00" in row
    alerts = _rows(page, "late-alerts-table")
    assert len(alerts) == 1  # the one never acknowledged; the recent one is not yet late
    late_student = sla.students["A2-2"]  # alert 11 is pupil 11 % 6 = 5
    assert late_student.name in alerts[0] and "七年级2班" in alerts[0]
    assert "2026-11-30 09:00" in alerts[0] and "2026-11-30 10:00" in alerts[0]
    assert "3 天 2 小时" in alerts[0]  # from Monday 10:00 to Thursday 12:00
    counts = dict(re.findall(r'data-figure="(\w+)">[^<]*：(\d+)</li>', page))
    assert counts == {"overdue": "1", "late_alerts": "1", "waiting_alerts": "2"}
    # No outcome, no note, nothing of what raised an alert.
    assert OUTCOME not in page and "phq9" not in page and "PHQ" not in page
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > (before or 0))).all()
    assert [(r.action, r.target_type, r.target_id) for r in rows] == [
        ("view_list", "school", str(school.id))
    ]
    detail = json.loads(rows[0].detail)
    assert detail == {
        "page": "oversight.overdue",
        "students": 2,
        "overdue": 1,
        "late_alerts": 1,
    }


def test_another_schools_leader_gets_nothing(client, sla, password_hash):
    make_user("leader-b", password_hash, ("school_leader", sla.schools["B"]))
    login(client, "leader-b")
    assert client.get(f"/schools/{sla.schools['A'].id}/overdue").status_code == 403
    own = client.get(f"/schools/{sla.schools['B'].id}/overdue").get_data(as_text=True)
    assert not _rows(own, "overdue-table") and not _rows(own, "late-alerts-table")
    assert all(s.name not in own for key, s in sla.students.items() if key.startswith("A"))


def test_the_overdue_list_is_paged_oldest_first(client, world, at_noon):
    school, counselor = world.schools["A"], world.users["counselor"]
    pupils = [world.students[f"A1-{i}"] for i in range(3)]
    made = [
        make_follow_up(school, pupils[n % 3], counselor, NOW - timedelta(hours=n + 1))
        for n in range(52)
    ]
    login(client, "leader")
    url = f"/schools/{school.id}/overdue"
    first = client.get(url).get_data(as_text=True)
    ids = re.findall(r'data-follow-up="(\d+)"', first)
    assert ids == [str(f.id) for f in reversed(made)][:50]  # the longest overdue first
    assert "第 1–50 条，共 52 条" in first
    second = client.get(f"{url}?overdue_page=2").get_data(as_text=True)
    assert re.findall(r'data-follow-up="(\d+)"', second) == [str(made[1].id), str(made[0].id)]


def test_the_leaders_home_panel_counts_and_links(client, sla):
    login(client, "leader")
    page = client.get("/home").get_data(as_text=True)
    url = f"/schools/{sla.schools['A'].id}/overdue"
    figures = dict(re.findall(r'data-figure="(\w+)"><a href="([^"]+)">', page))
    counts = dict(re.findall(r'data-figure="(\w+)">.*?<span class="count">(\d+)</span>', page))
    # School A's two classes of grade 7: A1 has one 心理委员 (who has not reported this
    # week), A2 none; both are short of the two a class needs.
    assert counts == {
        "overdue": "1",
        "late_alerts": "1",
        "waiting_alerts": "2",
        "committee_short": "2",
        "committee_unreported": "1",
    }
    committee = f"/schools/{sla.schools['A'].id}/committee"
    assert figures == {
        "overdue": f"{url}#overdue",
        "late_alerts": f"{url}#late-alerts",
        "waiting_alerts": f"{url}#late-alerts",
        "committee_short": committee,
        "committee_unreported": committee,
    }
    assert sla.students["A1-1"].name not in page  # counts only: no audit row, no name


def test_an_alert_raised_on_friday_night_is_due_on_monday_morning(app):
    with app.app_context():
        friday_22 = datetime(2026, 12, 4, 14, 0)  # 22:00 in Beijing
        assert oversight.alert_deadline(friday_22) == datetime(2026, 12, 7, 0, 30)  # 08:30


# ----------------------------------------------------------------------------- the district


def _sla_cells(page: str) -> dict[str, dict[str, str]]:
    rows = {}
    for key, body in re.findall(r'<tr data-row="(\w+)">(.*?)</tr>', page, re.S):
        cells = re.findall(r'data-cell="(\w+)">([^<]*)</td>', body)
        rows[key] = {name: html.unescape(text) for name, text in cells}
    return rows


ADMIN_SEES = {
    # Alerts 12 (7 in time); 11 acknowledged, 6 first contacts in time; follow-ups due
    # 9 + the missed second + the overdue one = 11, 6 on time; 1 overdue; 2 escalations.
    "1": {
        "alerts": "12",
        "acknowledged": "58.3%",
        "contacts": "11",
        "contacted": "54.5%",
        "due": "11",
        "on_time": "54.5%",
        "overdue": "1",
        "escalations": "2",
    },
    # 2 alerts acknowledged in time; no follow-up, so their first contacts are late.
    "2": {
        "alerts": "2",
        "acknowledged": "100.0%",
        "contacts": "2",
        "contacted": "0.0%",
        "due": "0",
        "on_time": "—",
        "overdue": "0",
        "escalations": "0",
    },
    "total": {
        "alerts": "14",
        "acknowledged": "64.3%",
        "contacts": "13",
        "contacted": "46.2%",
        "due": "11",
        "on_time": "54.5%",
        "overdue": "1",
        "escalations": "2",
    },
}
# The monitor: school B's 2 alerts are a small cell, so school A's alerts are hidden too
# (the district total would give B's away), and every rate on them; A's single overdue
# follow-up and its 2 escalations, and the totals equal to them.
MONITOR_SEES = {
    "1": ADMIN_SEES["1"]
    | {
        "alerts": "<5",
        "acknowledged": "<5",
        "contacts": "<5",
        "contacted": "<5",
        "overdue": "<5",
        "escalations": "<5",
    },
    "2": ADMIN_SEES["2"]
    | {"alerts": "<5", "acknowledged": "<5", "contacts": "<5", "contacted": "<5"},
    "total": ADMIN_SEES["total"] | {"overdue": "<5", "escalations": "<5"},
}


@pytest.mark.parametrize("role, expected", [("admin", ADMIN_SEES), ("monitor", MONITOR_SEES)])
def test_the_district_sla_figures_match_the_hand_count(
    client, sla, role, expected, small_cells_of_5
):
    login(client, sla.users[role].username)
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    response = client.get("/district/sla")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _sla_cells(page) == expected
    assert "2026-11-04 – 2026-12-03" in page  # the last 30 days, today included
    assert 'value="2026-11-04"' in page and 'value="2026-12-03"' in page  # in the fields
    assert ('id="small-cells"' in page) is (role == "monitor")
    # The administrator may open each school's overdue list; the monitor sees no student.
    link = f'href="/schools/{sla.schools["A"].id}/overdue"'
    assert (link in page) is (role == "admin")
    assert all(student.name not in page for student in sla.students.values())
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == (
        before
    )


def test_a_period_before_the_alerts_counts_nothing(client, sla):
    login(client, "admin")
    page = client.get("/district/sla?since=2026-11-01&until=2026-11-29").get_data(as_text=True)
    cells = _sla_cells(page)
    assert cells["1"]["alerts"] == "0" and cells["1"]["acknowledged"] == "—"
    assert cells["1"]["overdue"] == "1"  # overdue now, whatever the period


def test_a_wrong_period_is_told_beside_its_field(client, sla):
    login(client, "monitor")
    for query, message in (
        ("since=2026-12-03&until=2026-11-01", "结束日期不能早于开始日期。"),
        ("since=2024-01-01&until=2026-12-03", "请选择不超过 366 天的时间段。"),
        ("since=not-a-date", "日期"),
    ):
        response = client.get(f"/district/sla?{query}")
        assert response.status_code == 200, query
        page = response.get_data(as_text=True)
        assert message in page, query
        assert "2026-11-04 – 2026-12-03" in page  # the default period meanwhile


def test_the_export_has_the_pages_figures_and_is_audited(client, sla, small_cells_of_5):
    login(client, "monitor")
    response = client.get("/district/sla.xlsx?since=2026-11-04&until=2026-12-03")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(rows) if row[0] == "学校")
    assert rows[header][2] == "按时确认率（%）"
    school_a, school_b, total = rows[header + 1 : header + 4]
    assert school_a[0] == sla.schools["A"].name and school_b[0] == sla.schools["B"].name
    assert school_a[1:3] == ["<5", "<5"] and school_a[5] == 11
    assert abs(school_a[6] - 6 / 11) < 1e-9  # a number formatted as a percentage
    assert total[0] == "全区合计" and total[1] == 14
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event.action == "export" and event.target_type == "district"
    assert json.loads(event.detail) == {
        "kind": "sla_xlsx",
        "period": "2026-11-04/2026-12-03",
        "schools": 2,
        "suppressed": True,
    }


# ----------------------------------------------------------------------------- the migration


def test_the_migration_adds_and_removes_the_role(scratch_url):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from wellbeing import create_app

    app = create_app({"DATABASE_URL": scratch_url, "ENVIRONMENT": "test"})

    def add_leader(connection) -> None:
        connection.execute(
            text(
                "INSERT INTO role_assignment (user_id, role, district_id)"
                " VALUES (1, 'school_leader', 1)"
            )
        )

    with app.app_context():
        upgrade(revision="d4e6f8a0b2c1")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO district (id, code, name) VALUES (1, 'X', 'X')"))
            connection.execute(
                text(
                    "INSERT INTO user_account (id, username, display_name, active,"
                    " must_change_password, created_at)"
                    " VALUES (1, 'lead', 'lead', true, false, '2026-12-01')"
                )
            )
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            add_leader(connection)
        upgrade()
        with db.engine.begin() as connection:
            add_leader(connection)
        downgrade(revision="d4e6f8a0b2c1")  # the role's assignments go with it
        with db.engine.connect() as connection:
            roles = connection.execute(text("SELECT role FROM role_assignment")).all()
        assert roles == []
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            add_leader(connection)
        upgrade()
        with db.engine.begin() as connection:
            add_leader(connection)
        db.engine.dispose()


def test_the_demo_district_has_one_leader_per_school():
    from collections import Counter

    from wellbeing.roster.synthetic import generate_district

    tables = generate_district(2026, students=2000, password_hash="hash").tables
    leaders = [row for row in tables["role_assignment"] if row["role"] == "school_leader"]
    assert Counter(row["school_id"] for row in leaders) == Counter(
        {school["id"]: 1 for school in tables["school"]}
    )
    fixed = {user["username"]: user for user in tables["user_account"] if user["password_hash"]}
    assert "leader" in fixed
