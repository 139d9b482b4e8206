"""Roster import against a real database (SQLite and PostgreSQL): the service, the
`wellbeing roster` commands and the upload page."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.conftest import login
from wellbeing.extensions import db
from wellbeing.roster.cli import roster_group
from wellbeing.roster.models import (
    Guardian,
    RoleAssignment,
    School,
    SchoolClass,
    Student,
    User,
)
from wellbeing.roster.services import ImportResult, import_roster
from wellbeing.security.passwords import verify_password

pytestmark = pytest.mark.app

STUDENTS_EN = ["student_number", "name", "sex", "birth_date", "school_code", "grade", "class_name"]
STUDENTS_ZH = ["学籍号", "姓名", "性别", "出生日期", "学校代码", "年级", "班级", "住校", "留守儿童"]
STAFF = [
    "username",
    "display_name",
    "role",
    "school_code",
    "grade",
    "class_name",
    "student_number",
    "initial_password",
]


def sn(i: int) -> str:
    """A well-formed 学籍号 outside the factories' range."""
    return f"G510502201309{i:05d}X"


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[object]]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(name)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(data: bytes, name: str = "roster.csv") -> ImportResult:
    return import_roster(data, name, password_min_length=10)


def where(result: ImportResult) -> list[tuple[str, int | None, str]]:
    return [(e.sheet, e.row, e.column) for e in result.errors]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def student(number: str) -> Student | None:
    return db.session.scalar(select(Student).where(Student.student_number == number))


def user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def roles_of(account: User) -> set[tuple[str, int | None, int | None, int | None]]:
    return {(a.role, a.district_id, a.school_id, a.class_id) for a in account.roles}


def table_sizes() -> dict[str, int]:
    models = (School, SchoolClass, Student, Guardian, User, RoleAssignment)
    return {m.__name__: count(m) for m in models}


def full_workbook(world: SimpleNamespace) -> bytes:
    """A new school with a class, two students, a guardian and staff of every kind."""
    a1_member = world.students["A1-2"].student_number
    return xlsx_bytes(
        {
            "schools": (["school_code", "school_name", "kind"], [["SN", "新学校", "初中"]]),
            "classes": (
                ["school_code", "grade", "class_name", "entry_year"],
                [["SN", 7, "1", 2026], ["SN", 8, "1", 2025]],
            ),
            "students": (
                STUDENTS_EN,
                [
                    [sn(1), "新生甲", "男", date(2013, 3, 1), "SN", 7, "1"],
                    [sn(2), "新生乙", "女", "2012/04/02", "SN", 8, "1"],
                ],
            ),
            "guardians": (
                ["student_number", "guardian_name", "relation", "phone"],
                [[sn(1), "新家长", "父亲", "13900000000"]],
            ),
            "staff": (
                STAFF,
                [
                    ["mon2", "区监测", "monitor", "", "", "", "", ""],
                    ["coun2", "心理老师", "counselor", "SN", "", "", "", "long-enough-1"],
                    ["coun2", "心理老师", "doctor", "SA", "", "", "", ""],
                    ["head2", "班主任", "head_teacher", "SN", 7, "1", "", ""],
                    ["kid2", "委员", "committee", "SN", 8, "1", sn(2), ""],
                    ["kid3", "委员", "committee", "SA", 7, "1", a1_member, ""],
                ],
            ),
        }
    )


# ----------------------------------------------------------------------------- all or nothing


def test_one_bad_row_imports_nothing_and_names_row_and_column(world: SimpleNamespace) -> None:
    before = table_sizes()
    data = csv_bytes(
        STUDENTS_EN,
        [
            [sn(1), "甲", "M", "2013-05-01", "SA", 7, "1"],
            [sn(2), "乙", "F", "2013-13-01", "SA", 7, "1"],
            [sn(3), "丙", "F", "2013-05-03", "SA", 7, "2"],
        ],
    )
    result = run(data)
    assert not result.ok
    assert where(result) == [("students", 2, "birth_date")]
    assert "Not a date" in result.errors[0].render()
    assert table_sizes() == before
    assert student(sn(1)) is None


def test_every_bad_row_is_listed(db_session: object) -> None:
    data = xlsx_bytes(
        {
            "schools": (
                ["school_code", "school_name", "kind"],
                [["S1", "一中", "junior"], ["S2", "二中", "university"]],
            ),
            "classes": (
                ["school_code", "grade", "class_name", "entry_year"],
                [["S1", 0, "1", 2026], ["S1", 7, "1", 2026]],
            ),
            "students": (
                STUDENTS_EN,
                [
                    [sn(1), "甲", "X", "2013-05-01", "S1", 7, "1"],
                    [sn(2), "乙", "F", "2013-05-01", "S1", 7, "1"],
                    ["G123", "丙", "F", "2013-05-01", "S1", 7, "2"],
                ],
            ),
            "staff": (STAFF[:4], [["ok1", "甲", "admin", ""], ["bad", "乙", "janitor", ""]]),
        }
    )
    result = run(data, "roster.xlsx")
    assert where(result) == [
        ("schools", 2, "kind"),
        ("classes", 1, "grade"),
        ("students", 1, "sex"),
        ("students", 3, "student_number"),
        ("students", 3, "class_name"),
        ("staff", 2, "role"),
    ]
    assert count(School) == 0 and count(User) == 0


def test_duplicates_within_the_file_are_refused(world: SimpleNamespace) -> None:
    before = table_sizes()
    data = xlsx_bytes(
        {
            "students": (
                STUDENTS_EN,
                [
                    [sn(1), "甲", "M", "2013-05-01", "SA", 7, "1"],
                    [sn(1), "甲二", "M", "2013-05-01", "SA", 7, "2"],
                ],
            ),
            "staff": (
                STAFF[:4],
                [["dup", "某", "counselor", "SA"], ["dup", "某", "counselor", "SA"]],
            ),
        }
    )
    result = run(data, "roster.xlsx")
    assert where(result) == [("students", 2, "student_number"), ("staff", 2, "role")]
    assert table_sizes() == before


# ----------------------------------------------------------------------------- formats

EXPECTED_STUDENTS = [
    (sn(11), "张小明", "M", date(2013, 5, 1), "SA", 7, "1", True, False),
    (sn(12), "李小红", "F", date(2012, 12, 31), "SA", 7, "2", False, True),
    (sn(13), "王小吉", "F", date(2013, 1, 9), "SB", 7, "1", False, False),
]


def _students_file(kind: str) -> tuple[bytes, str]:
    rows = [
        [sn(11).lower(), "张小明", "男", "2013-05-01", "SA", "7", "1", "是", ""],
        [sn(12), "李小红", "女", "2012/12/31", "SA", "初一", "2", "否", "1"],
        [sn(13), "王小吉", "F", "2013-01-09", "SB", "7", "1", "", "否"],
    ]
    if kind == "xlsx":
        rows[0][3] = date(2013, 5, 1)  # a real Excel date cell
        return xlsx_bytes({"学生": (STUDENTS_ZH, rows)}), "roster.xlsx"
    return csv_bytes(STUDENTS_ZH, rows, kind), "roster.csv"


def _snapshot(numbers: list[str]) -> list[tuple]:
    rows = db.session.execute(
        select(
            Student.student_number,
            Student.name,
            Student.sex,
            Student.birth_date,
            School.code,
            SchoolClass.grade,
            SchoolClass.name,
            Student.boarding,
            Student.left_behind,
        )
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .join(School, SchoolClass.school_id == School.id)
        .where(Student.student_number.in_(numbers))
        .order_by(Student.student_number)
    ).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("kind", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
def test_utf8_bom_gbk_and_xlsx_import_the_same(world: SimpleNamespace, kind: str) -> None:
    data, name = _students_file(kind)
    result = run(data, name)
    assert result.ok, [e.render() for e in result.errors]
    assert result.counts["students"].created == 3
    assert _snapshot([s[0] for s in EXPECTED_STUDENTS]) == EXPECTED_STUDENTS


# ----------------------------------------------------------------------------- idempotence


def test_reimport_is_idempotent(world: SimpleNamespace) -> None:
    data = full_workbook(world)
    first = run(data, "roster.xlsx")
    assert first.ok, [e.render() for e in first.errors]
    assert {k: c.created for k, c in first.counts.items()} == {
        "schools": 1,
        "classes": 2,
        "students": 2,
        "guardians": 1,
        "staff": 5,
    }
    sizes = table_sizes()
    hashes = {u.username: u.password_hash for u in db.session.scalars(select(User))}

    second = run(data, "roster.xlsx")
    assert second.ok
    assert all(c.created == 0 and c.updated == 0 for c in second.counts.values())
    assert (second.roles_added, second.roles_removed, second.credentials) == (0, 0, [])
    assert table_sizes() == sizes
    assert {u.username: u.password_hash for u in db.session.scalars(select(User))} == hashes


def test_student_moved_to_another_class(world: SimpleNamespace) -> None:
    moving = world.students["A1-0"]
    data = csv_bytes(
        STUDENTS_EN,
        [[moving.student_number, moving.name, moving.sex, "2013-05-01", "SA", 7, "2"]],
    )
    result = run(data)
    assert result.ok
    assert result.moved == [moving.student_number]
    assert (result.counts["students"].updated, result.counts["students"].created) == (1, 0)
    assert student(moving.student_number).class_id == world.classes["A2"].id
    assert student(moving.student_number).guardians[0].name == "家长甲"


def test_an_import_brings_open_campaigns_in_line(world: SimpleNamespace) -> None:
    from tests.factories import add_campaigns
    from wellbeing.campaigns.models import CampaignTarget

    add_campaigns(world)
    moving = world.students["A1-0"]
    data = csv_bytes(
        STUDENTS_EN,
        [
            [moving.student_number, moving.name, moving.sex, "2013-05-01", "SA", 7, "2"],
            ["G510502201301019999", "新同学", "F", "2013-01-01", "SA", 7, "1"],
        ],
    )
    result = run(data)
    assert result.ok and result.refreshed["campaigns"] == 3
    targets = dict(
        db.session.execute(
            select(CampaignTarget.student_id, CampaignTarget.class_id).where(
                CampaignTarget.campaign_id == world.campaigns["A"].id
            )
        ).all()
    )
    assert targets[moving.id] == world.classes["A2"].id  # followed to the new class
    assert targets[student("G510502201301019999").id] == world.classes["A1"].id  # drawn


def test_ethnicity_is_stored_kept_when_absent_and_checked(world: SimpleNamespace) -> None:
    header = [*STUDENTS_EN, "民族代码"]
    rows = [
        [sn(1), "甲", "M", "2013-05-01", "SA", 7, "1", "1"],
        [sn(2), "乙", "F", "2013-05-02", "SA", 7, "1", "彝族"],
    ]
    assert run(csv_bytes(header, rows)).ok
    assert (student(sn(1)).ethnicity, student(sn(2)).ethnicity) == ("01", "07")
    # Without the column the stored codes stay, even when the row changes.
    renamed = [[*row[:1], row[1] + "二", *row[2:7]] for row in rows]
    result = run(csv_bytes(STUDENTS_EN, renamed))
    assert result.ok and result.counts["students"].updated == 2
    assert (student(sn(1)).ethnicity, student(sn(2)).ethnicity) == ("01", "07")
    bad = run(csv_bytes(header, [[*rows[0][:7], "01"], [*rows[1][:7], "99"]]))
    assert where(bad) == [("students", 2, "民族代码")]
    assert "Unknown ethnicity" in bad.errors[0].render()
    assert student(sn(2)).ethnicity == "07"


def test_students_missing_from_a_new_file_are_reported_and_untouched(
    world: SimpleNamespace,
) -> None:
    kept = [world.students["A1-0"], world.students["A2-0"]]
    data = csv_bytes(
        STUDENTS_EN,
        [
            [s.student_number, s.name, s.sex, "2013-05-01", "SA", 7, s.school_class.name]
            for s in kept
        ],
    )
    school_a = [s for label, s in world.students.items() if label.startswith("A")]
    before = {s.student_number: (s.class_id, s.status, s.name) for s in school_a}
    before_total = count(Student)
    result = run(data)
    assert result.ok
    assert result.missing == sorted(
        s.student_number
        for s in school_a
        if s.student_number not in {k.student_number for k in kept}
    )
    assert len(result.missing) == 4  # school B is not in the file: its students are not missing
    after = {n: (student(n).class_id, student(n).status, student(n).name) for n in before}
    assert after == before
    assert count(Student) == before_total


# ----------------------------------------------------------------------------- staff


def test_committee_rows_link_the_account_to_a_student_of_the_class(
    world: SimpleNamespace,
) -> None:
    a1 = world.classes["A1"]
    old_member, new_member = world.students["A1-1"], world.students["A1-2"]
    # The existing 心理委员 hands the role to a classmate; a second member joins class A2.
    data = csv_bytes(
        STAFF[:7],
        [
            ["committee", "原委员", "committee", "SA", 7, "1", new_member.student_number],
            ["newkid", "新委员", "心理委员", "SA", 7, "1", old_member.student_number],
            ["a2kid", "二班委员", "committee", "SA", 7, "2", world.students["A2-1"].student_number],
        ],
    )
    result = run(data)
    assert result.ok, [e.render() for e in result.errors]
    assert user("committee").student_id == new_member.id
    assert user("newkid").student_id == old_member.id
    assert roles_of(user("newkid")) == {("committee", None, None, a1.id)}
    assert roles_of(user("a2kid")) == {("committee", None, None, world.classes["A2"].id)}


def test_committee_member_must_be_a_student_of_their_class(world: SimpleNamespace) -> None:
    data = csv_bytes(
        STAFF[:7],
        [["kid", "委员", "committee", "SA", 7, "2", world.students["A1-0"].student_number]],
    )
    assert where(run(data)) == [("staff", 1, "student_number")]
    assert user("kid") is None


def test_imported_staff_must_change_their_password(world: SimpleNamespace) -> None:
    data = csv_bytes(
        STAFF,
        [
            ["coun2", "心理老师", "counselor", "SA", "", "", "", "long-enough-pw"],
            ["doc2", "校医", "doctor", "SB", "", "", "", ""],
        ],
    )
    result = run(data)
    assert result.ok
    given, generated = user("coun2"), user("doc2")
    assert given.must_change_password and generated.must_change_password
    assert verify_password(given.password_hash, "long-enough-pw")
    (credential,) = result.credentials
    assert credential.username == "doc2" and len(credential.password) >= 10
    assert verify_password(generated.password_hash, credential.password)
    assert credential.password not in repr(result)

    # Re-import: existing accounts keep their password, even with a new one in the file.
    again = csv_bytes(STAFF, [["coun2", "心理老师", "counselor", "SA", "", "", "", "other-pw-123"]])
    assert run(again).credentials == []
    assert verify_password(user("coun2").password_hash, "long-enough-pw")


def test_staff_email_addresses_are_checked_set_and_kept(world: SimpleNamespace) -> None:
    header = [*STAFF[:4], "电子邮箱"]
    bad = csv_bytes(
        header,
        [
            ["coun2", "心理老师", "counselor", "SA", "not-an-address"],
            ["doc2", "校医", "doctor", "SB", "doc2@school.cn"],
            ["doc2", "校医", "counselor", "SB", "other@school.cn"],
        ],
    )
    result = run(bad)
    assert not result.ok
    problems = [(e.row, e.column, e.reason.msgid) for e in result.errors]
    assert (1, "电子邮箱", "Not an e-mail address: check the @ and the part after it.") in problems
    assert (
        3,
        "电子邮箱",
        "Another row gives this user name a different e-mail address.",
    ) in problems
    assert user("coun2") is None

    good = csv_bytes(
        header,
        [
            ["coun2", "心理老师", "counselor", "SA", "coun2@school.cn"],
            ["doc2", "校医", "doctor", "SB", ""],
            ["counselor", "counselor", "counselor", "SA", "Ｃ@ＳＣＨＯＯＬ.cn"],  # full-width
        ],
    )
    assert run(good).ok
    assert user("coun2").email == "coun2@school.cn"
    assert user("doc2").email is None
    assert user("counselor").email == "C@SCHOOL.cn"
    # An empty cell, or a file without the column, leaves an address as it is.
    assert run(csv_bytes(header, [["coun2", "心理老师", "counselor", "SA", ""]])).ok
    assert run(csv_bytes(STAFF[:4], [["coun2", "心理老师", "counselor", "SA"]])).ok
    assert user("coun2").email == "coun2@school.cn"
    changed = run(csv_bytes(header, [["coun2", "心理老师", "counselor", "SA", "new@school.cn"]]))
    assert changed.counts["staff"].updated == 1
    assert user("coun2").email == "new@school.cn"


def test_role_assignments_are_replaced_for_listed_users_only(world: SimpleNamespace) -> None:
    doctor_roles = roles_of(world.users["doctor"])
    data = csv_bytes(
        STAFF[:4],
        [["counselor", "counselor", "counselor", "SB"], ["counselor", "counselor", "doctor", "SA"]],
    )
    result = run(data)
    assert result.ok
    assert (result.roles_added, result.roles_removed) == (2, 1)
    assert roles_of(user("counselor")) == {
        ("counselor", None, world.schools["B"].id, None),
        ("doctor", None, world.schools["A"].id, None),
    }
    assert roles_of(user("doctor")) == doctor_roles


def test_district_is_created_for_the_first_schools(db_session: object) -> None:
    data = csv_bytes(["school_code", "school_name", "kind"], [["S1", "一中", "完全中学"]])
    result = run(data)
    assert result.ok and result.district_created
    school = db.session.scalar(select(School))
    assert (school.district.code, school.kind) == ("510502", "complete_secondary")


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_runner(app: Flask) -> object:
    if "roster" not in app.cli.commands:
        app.cli.add_command(roster_group)
    return app.test_cli_runner()


def test_cli_exits_2_on_a_bad_file_and_0_on_a_good_one(
    cli_runner: object, world: SimpleNamespace, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_bytes(
            STUDENTS_EN,
            [[sn(1), "甲", "M", "2013-05-01", "SA", 7, "1"], [sn(2), "乙", "M", "x", "SA", 7, "9"]],
        )
    )
    result = cli_runner.invoke(args=["roster", "import", str(bad)])
    assert result.exit_code == 2
    assert "students row 2 [birth_date]: Not a date" in result.stderr
    assert "students row 2 [class_name]" in result.stderr
    assert student(sn(1)) is None

    good = tmp_path / "staff.csv"
    good.write_bytes(csv_bytes(STAFF[:4], [["doc2", "校医", "doctor", "SA"]]))
    credentials = tmp_path / "credentials.csv"
    result = cli_runner.invoke(
        args=["roster", "import", str(good), "--credentials-out", str(credentials)]
    )
    assert result.exit_code == 0, result.output
    assert "staff: 1 created" in result.stdout
    rows = list(csv.DictReader(credentials.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["username"] for r in rows] == ["doc2"]
    assert verify_password(user("doc2").password_hash, rows[0]["password"])
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600


def test_cli_template_round_trip(
    cli_runner: object, world: SimpleNamespace, tmp_path: Path
) -> None:
    template = tmp_path / "template.xlsx"
    assert cli_runner.invoke(args=["roster", "template", str(template)]).exit_code == 0
    result = cli_runner.invoke(args=["roster", "import", str(template)])
    assert result.exit_code == 0, result.output
    assert "generated passwords" in result.stderr  # and not saved: no --credentials-out
    assert user("example.committee").student.student_number == "G000000201301010001"


def test_installed_command_imports_into_a_migrated_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The real console script: its own app from WELLBEING_* settings (SQLite file)."""
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("uses its own SQLite file; once is enough")
    command = Path(sys.executable).parent / "wellbeing"
    env = {
        **os.environ,
        "WELLBEING_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
        "WELLBEING_ENVIRONMENT": "test",
    }

    def wellbeing(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(command), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert wellbeing("db", "upgrade").returncode == 0
    template = tmp_path / "template.xlsx"
    assert wellbeing("roster", "template", str(template)).returncode == 0
    imported = wellbeing(
        "roster", "import", str(template), "--credentials-out", str(tmp_path / "credentials.csv")
    )
    assert imported.returncode == 0, imported.stderr
    assert "students: 1 created" in imported.stdout
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(STUDENTS_EN, [["G1", "甲", "M", "2013-05-01", "S9001", 7, "1"]]))
    refused = wellbeing("roster", "import", str(bad))
    assert refused.returncode == 2
    assert "students row 1 [student_number]" in refused.stderr


# ----------------------------------------------------------------------------- page


def _post(client: FlaskClient, data: bytes, name: str) -> object:
    return client.post(
        "/admin/roster/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_page_imports_and_shows_the_summary(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "admin")
    page = client.get("/admin/roster/import")
    assert page.status_code == 200
    assert 'type="file"' in page.get_data(as_text=True)
    response = _post(client, full_workbook(world), "roster.xlsx")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'id="import-summary"' in html and 'data-kind="students"' in html
    assert 'id="import-credentials"' in html and "kid2" in html
    assert student(sn(1)).name == "新生甲"


def test_upload_page_lists_errors_and_imports_nothing(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "admin")
    before = table_sizes()
    data = csv_bytes(
        STUDENTS_EN,
        [
            [sn(1), "甲", "M", "2013-05-01", "SA", 7, "1"],
            [sn(2), "乙", "M", "2013-05-01", "SA", 7, "9"],
        ],
    )
    response = _post(client, data, "students.csv")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="import-errors"' in html and 'id="import-summary"' not in html
    assert "文件和系统中都没有该班级：7年级9班。" in html  # Chinese by default
    assert table_sizes() == before


def test_upload_page_refuses_other_roles(client: FlaskClient, world: SimpleNamespace) -> None:
    login(client, "counselor")
    assert client.get("/admin/roster/import").status_code == 403
    assert _post(client, b"a,b\n", "x.csv").status_code == 403
    assert client.get("/admin/roster/template.xlsx").status_code == 403


def test_template_downloads_and_imports_cleanly(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "admin")
    response = client.get("/admin/roster/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    imported = _post(client, response.data, "roster-template.xlsx")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert db.session.scalar(select(School).where(School.code == "S9001")).name == "示例实验中学"
    csv_template = client.get("/admin/roster/template/students.csv")
    assert csv_template.status_code == 200 and csv_template.mimetype == "text/csv"
    assert csv_template.data.decode("utf-8-sig").startswith("学籍号,")
    assert client.get("/admin/roster/template/teachers.csv").status_code == 404
