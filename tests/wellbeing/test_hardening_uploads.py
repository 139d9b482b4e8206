"""Uploads after the outside review (issue 10), on SQLite and PostgreSQL: hostile
workbooks (a far cell, zip bombs) and over-large files are refused quickly by every
import, on the web and on the command line, in bounded memory; text with control
characters is refused with its sheet, row, column and code point; a roster import
killed with SIGKILL leaves the database as it was."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from screening import vision
from tests.conftest import login
from tests.screening.test_spreadsheet_limits import (
    far_cell_xlsx,
    rows_xlsx,
    run_limited,
    workbook_bytes,
    zip_bomb_xlsx,
)
from tests.wellbeing.test_roster_import import STUDENTS_EN, csv_bytes, sn, table_sizes
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health.models import VisionRecord
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.roster.cli import roster_group
from wellbeing.roster.models import Student

pytestmark = pytest.mark.app

REPO = Path(__file__).resolve().parents[2]
VISION = list(vision.INPUT_COLUMNS)
PAPER = ["respondent_id", *(f"phq9_{n}" for n in range(1, 10)), *(f"gad7_{n}" for n in range(1, 8))]
# What the pages say (Chinese by default), by the kind of refusal.
SAYS = {
    "rows": "行有数据；此处最多只能读取",
    "columns": "列有单元格；最多只能读取",
    "ratio": "这是压缩炸弹，不是电子表格",
    "xlsx": "无法作为 XLSX 工作簿读取该文件",
    "text": "控制字符或不可见字符",
}


def hostile_files(header: list[str]) -> dict[str, bytes]:
    """The review's files, with a header the import accepts, so that reading goes on
    to the far cell or the bomb: what each is refused for, and its bytes."""
    return {
        "rows": far_cell_xlsx([header, ["1"] * len(header)]),  # the web's row ceiling first
        "ratio": zip_bomb_xlsx(header),
        "xlsx": zip_bomb_xlsx(header, honest=False),  # declares 64 KB: damaged
    }


@pytest.fixture
def campaign(world: SimpleNamespace) -> object:
    from tests.factories import add_campaigns

    add_campaigns(world)
    db.session.commit()
    return world.campaigns["A"]


def _upload(client: FlaskClient, url: str, fields: dict[str, object]) -> TestResponse:
    """A multipart POST encoded in memory: the test client would spool a body over
    500 KB to a temporary file that it never closes."""
    values = {
        key: FileStorage(*value) if isinstance(value, tuple) else value
        for key, value in fields.items()
    }
    boundary, body = encode_multipart(MultiDict(values))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _roster_post(client: FlaskClient, data: bytes, name: str) -> tuple[int, str, float]:
    start = time.perf_counter()
    response = _upload(client, "/admin/roster/import", {"file": (io.BytesIO(data), name)})
    return response.status_code, response.get_data(as_text=True), time.perf_counter() - start


def _health_form(data: bytes, name: str = "round.xlsx") -> dict[str, object]:
    today = utcnow().date()
    return {
        "kind": "vision",
        "vision_round": vision_round_for(today).key,
        "school_year": str(school_year_for(today)),
        "measured_on": today.isoformat(),
        "file": (io.BytesIO(data), name),
    }


def _student_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


# ----------------------------------------------------------------------------- web


def test_the_roster_page_refuses_hostile_workbooks_at_once(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "admin")
    before = table_sizes()
    for code, data in hostile_files(STUDENTS_EN).items():
        status, html, seconds = _roster_post(client, data, "roster.xlsx")
        assert status == 200 and 'id="import-errors"' in html, code
        assert SAYS[code] in html, (code, html[html.find("import-errors") :][:800])
        assert seconds < 2, (code, seconds)
    assert table_sizes() == before


def test_the_roster_page_has_a_row_ceiling_and_names_the_command(
    app: Flask, client: FlaskClient, world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_WEB_MAX_ROWS", 3)
    login(client, "admin")
    page = client.get("/admin/roster/import").get_data(as_text=True)
    assert 'id="import-limits"' in page and "wellbeing roster import FILE" in page
    rows = [[sn(i), f"学生{i}", "M", "2013-05-01", "SA", 7, "1"] for i in range(4)]
    before = _student_count()
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows), "s.csv")
    assert status == 200 and "文件第 4 行有数据；此处最多只能读取 3 行。" in html
    assert _student_count() == before
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows[:3]), "s.csv")
    assert 'id="import-summary"' in html and _student_count() == before + 3


def test_the_roster_page_refuses_a_file_over_the_size_ceiling(
    app: Flask, client: FlaskClient, world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_WEB_MAX_FILE_MB", 1)
    login(client, "admin")
    rows = [[sn(i), f"学生{i}", "M", "2013-05-01", "SA", 7, "1"] for i in range(20_000)]
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows), "s.csv")
    assert status == 200 and "文件大于 1 MB，超出此处可读取的范围。" in html


def test_the_roster_page_has_a_time_ceiling(
    app: Flask, client: FlaskClient, world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_WEB_MAX_SECONDS", 1e-9)
    login(client, "admin")
    rows = [[sn(1), "学生", "M", "2013-05-01", "SA", 7, "1"]]
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows), "s.csv")
    assert status == 200 and "读取和检查该文件的时间超过了 1e-09 秒。" in html
    assert 'id="import-summary"' not in html


def test_the_health_import_refuses_hostile_workbooks(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "doctor")
    url = f"/health/schools/{world.schools['A'].id}/import"
    for code, data in hostile_files(VISION).items():
        start = time.perf_counter()
        html = _upload(client, url, _health_form(data)).get_data(as_text=True)
        assert 'id="import-errors"' in html and SAYS[code] in html, code
        assert time.perf_counter() - start < 2
    assert db.session.scalar(select(func.count()).select_from(VisionRecord)) == 0


def test_the_paper_import_refuses_hostile_workbooks(
    client: FlaskClient, world: SimpleNamespace, campaign: object
) -> None:
    login(client, "counselor")
    url = f"/paper/schools/{world.schools['A'].id}/campaigns/{campaign.id}/import"
    for code, data in hostile_files(PAPER).items():
        start = time.perf_counter()
        response = _upload(client, url, {"file": (io.BytesIO(data), "forms.xlsx")})
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and SAYS[code] in html, code
        assert time.perf_counter() - start < 2


# ----------------------------------------------------------------------------- command


def roster_command(app: Flask, *args: str) -> Result:
    """`wellbeing roster ...` in this process, on the test's database."""
    if "roster" not in app.cli.commands:
        app.cli.add_command(roster_group)
    return app.test_cli_runner().invoke(args=["roster", *args])


def test_the_roster_command_refuses_hostile_workbooks(
    app: Flask, world: SimpleNamespace, tmp_path: Path
) -> None:
    says = {"rows": "column XFD", "ratio": "zip bomb", "xlsx": "XLSX workbook"}
    for code, data in hostile_files(STUDENTS_EN).items():
        path = tmp_path / f"{code}.xlsx"
        path.write_bytes(data)
        start = time.perf_counter()
        result = roster_command(app, "import", str(path))
        assert result.exit_code == 2 and says[code] in result.stderr, result.output
        assert time.perf_counter() - start < 2


def test_the_roster_command_takes_what_the_web_refuses(
    app: Flask, world: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_WEB_MAX_ROWS", 3)
    path = tmp_path / "students.xlsx"
    path.write_bytes(
        rows_xlsx(STUDENTS_EN, 5, lambda i: [sn(i), f"学生{i}", "M", "2013-05-01", "SA", 7, "1"])
    )
    result = roster_command(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "students: 5 created" in result.stdout


# ----------------------------------------------------------------------------- text


def _roster_workbook(bad: dict[str, str]) -> bytes:
    """A workbook of every kind in which each (sheet, column) in `bad` holds a refused
    character; the rest is good."""
    rows = {
        "schools": (["school_code", "school_name", "kind"], ["SN", "新校", "junior"]),
        "classes": (["school_code", "grade", "class_name", "entry_year"], ["SN", 7, "3", 2026]),
        "students": (STUDENTS_EN, [sn(1), "新生甲", "F", "2013-05-01", "SN", 7, "3"]),
        "guardians": (
            ["student_number", "guardian_name", "relation", "phone"],
            [sn(1), "家长甲", "母亲", "13800000000"],
        ),
        "staff": (
            ["username", "display_name", "role", "school_code"],
            ["doc9", "校医乙", "doctor", "SN"],
        ),
    }
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for sheet, (header, values) in rows.items():
        values = [
            bad.get(f"{sheet}.{column}", value)
            for column, value in zip(header, values, strict=True)
        ]
        book.create_sheet(sheet).append(header)
        book[sheet].append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_control_characters_are_refused_in_every_roster_sheet_and_column(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    """Excel writes a control character as _xHHHH_; the reader decodes it and refuses it."""
    bad = {
        "schools.school_name": "新_x001B_校",
        "classes.class_name": "3_x0007_",
        "students.name": "新生_x0000_甲",
        "guardians.guardian_name": "家长_x001B_甲",
        "guardians.relation": "母_x0008_亲",
        "guardians.phone": "1380000_x0007_0000",
        "staff.username": "doc_x001B_9",
        "staff.display_name": "校医_x0007_乙",
    }
    login(client, "admin")
    before = table_sizes()
    status, html, _seconds = _roster_post(client, _roster_workbook(bad), "roster.xlsx")
    assert status == 200 and 'id="import-errors"' in html
    rows = html[html.index('id="import-errors"') :]
    for where, value in bad.items():
        column = where.split(".")[1]
        point = "U+" + value.split("_x")[1][:4]
        assert f"<td>{column}</td>" in rows and point in rows, where
    assert "该值含有字符 U+001B（控制字符或不可见字符）" in rows
    assert table_sizes() == before
    # The same workbook without them imports.
    status, html, _seconds = _roster_post(client, _roster_workbook({}), "roster.xlsx")
    assert 'id="import-summary"' in html


def test_a_students_csv_with_nul_esc_and_bel_is_refused_row_by_row(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    """The review's case: on PostgreSQL a NUL made the upload answer 500."""
    login(client, "admin")
    before = table_sizes()
    rows = [
        [sn(1), "张\x00三", "M", "2013-05-01", "SA", 7, "1"],
        [sn(2), "李\x1b四", "M", "2013-05-01", "SA", 7, "1"],
        [sn(3), "王五\x07", "M", "2013-05-01", "SA", 7, "1"],
        [sn(4), "赵\u202e六", "M", "2013-05-01", "SA", 7, "1"],
        [sn(5), "Jose\u0301", "M", "2013-05-01", "SA", 7, "1"],  # NFD: normalised, accepted
    ]
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows), "s.csv")
    assert status == 200 and 'id="import-errors"' in html
    assert "\x00" not in html and "\x1b" not in html
    found = html[html.index('id="import-errors"') :]
    for row, point in ((1, "U+0000"), (2, "U+001B"), (3, "U+0007"), (4, "U+202E")):
        assert f'<td class="num">{row}</td>\n        <td>name</td>' in found, row
        assert point in found
    assert '<td class="num">5</td>' not in found
    assert table_sizes() == before
    status, html, _seconds = _roster_post(client, csv_bytes(STUDENTS_EN, rows[4:]), "s.csv")
    assert 'id="import-summary"' in html
    assert db.session.scalar(select(Student.name).where(Student.student_number == sn(5))) == (
        "José"
    )


def test_the_roster_command_names_sheet_row_column_and_code_point(
    app: Flask, world: SimpleNamespace, tmp_path: Path
) -> None:
    path = tmp_path / "s.csv"
    rows = [[sn(1), "张三", "M", "2013-05-01", "SA", 7, "1\x1b"]]
    path.write_bytes(csv_bytes(STUDENTS_EN, rows))
    result = roster_command(app, "import", str(path))
    assert result.exit_code == 2
    assert "students row 1 [class_name]: The value holds the character U+001B" in result.stderr
    path.write_bytes(csv_bytes([*STUDENTS_EN[:-1], "class\x00name"], rows))
    result = roster_command(app, "import", str(path))
    assert result.exit_code == 2
    assert "s.csv [class<U+0000>name]: The header holds the character U+0000" in result.stderr


def test_control_characters_are_refused_by_the_health_import(
    client: FlaskClient, world: SimpleNamespace
) -> None:
    login(client, "doctor")
    number = world.students["A1-0"].student_number
    data = "\n".join(
        [
            ",".join([*VISION, "status", "reason"]),
            f"{number}\x1b,13,4.7,4.8,-1.25,-0.5,-1.0,0,,",
            f"{world.students['A1-1'].student_number},,,,,,,,absent,生病\x00请假",
        ]
    ).encode()
    url = f"/health/schools/{world.schools['A'].id}/import"
    response = client.post(
        url, data=_health_form(data, "r.csv"), content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    found = html[html.index('id="import-errors"') :]
    assert "<td>student_id</td>" in found and "U+001B" in found
    assert "<td>reason</td>" in found and "U+0000" in found and "\x00" not in html
    assert "No enrolled student" not in found and "没有该学籍号" not in found  # checked no further
    assert db.session.scalar(select(func.count()).select_from(VisionRecord)) == 0


def test_control_characters_are_refused_by_the_paper_import(
    client: FlaskClient, world: SimpleNamespace, campaign: object
) -> None:
    login(client, "counselor")
    number = world.students["A1-0"].student_number
    data = workbook_bytes([PAPER, [f"{number}_x001B_", *([1] * 16)]])
    url = f"/paper/schools/{world.schools['A'].id}/campaigns/{campaign.id}/import"
    response = client.post(
        url, data={"file": (io.BytesIO(data), "f.xlsx")}, content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    found = html[html.index('id="import-errors"') :]
    assert "<td>respondent_id</td>" in found and "U+001B" in found


# ----------------------------------------------------------------------------- memory

WEB_UNDER_LIMIT = """
import io, json, resource, sys, time
from flask_migrate import upgrade
from tests.conftest import TEST_KEYS, TEST_PASSWORD, login
from tests.factories import add_campaigns, build_world
from wellbeing import create_app
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.security.passwords import hash_password

app = create_app({"DATABASE_URL": sys.argv[1], "ENVIRONMENT": "test", "SECRET_KEY": "t",
                  "KEYS": TEST_KEYS, "WTF_CSRF_ENABLED": False, "TESTING": True})
today = utcnow().date()
with app.app_context():
    upgrade()
    world = add_campaigns(build_world(hash_password(TEST_PASSWORD)))
    db.session.commit()
    school, campaign = world.schools["A"].id, world.campaigns["A"].id
    pages = {
        "roster": ("admin", "/admin/roster/import", {}),
        "health": ("doctor", f"/health/schools/{school}/import", {
            "kind": "vision", "vision_round": vision_round_for(today).key,
            "school_year": str(school_year_for(today)), "measured_on": today.isoformat()}),
        "paper": ("counselor", f"/paper/schools/{school}/campaigns/{campaign}/import", {}),
    }
    clients = {}
    for page, (user, _url, _form) in pages.items():
        clients[page] = app.test_client()
        login(clients[page], user)
    for path in sys.argv[2:]:
        page = path.rsplit("/", 1)[-1].split("-")[0]
        user, url, form = pages[page]
        data = open(path, "rb").read()
        start = time.perf_counter()
        response = clients[page].post(url, data={**form, "file": (io.BytesIO(data), "f.xlsx")},
                                      content_type="multipart/form-data")
        html = response.get_data(as_text=True)
        errors = html[html.find('id="import-errors"'):]
        print(json.dumps({"file": path.rsplit("/", 1)[-1], "status": response.status_code,
                          "seconds": round(time.perf_counter() - start, 3),
                          "errors": errors[:3000]}, ensure_ascii=False))
    db.engine.dispose()
print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def test_the_web_imports_refuse_hostile_workbooks_in_bounded_memory(
    scratch_url: str, tmp_path: Path
) -> None:
    """The roster, vision and paper pages in a server process whose address space is
    capped at 1 GiB (the review's far cell grew the server to 23.7 GB): each hostile file
    is refused with its reason, quickly, and the process lives on."""
    paths = []
    for page, header in (("roster", STUDENTS_EN), ("health", VISION), ("paper", PAPER)):
        for code, data in hostile_files(header).items():
            paths.append(tmp_path / f"{page}-{code}.xlsx")
            paths[-1].write_bytes(data)
    out = run_limited(["-c", WEB_UNDER_LIMIT, scratch_url, *map(str, paths)], timeout=300)
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(results) == 10 and results[-1]["peak_kib"] < 1 << 20, out
    for result in results[:-1]:
        code = result["file"].split("-")[1].removesuffix(".xlsx")
        assert result["status"] in (200, 422) and SAYS[code] in result["errors"], result
        assert result["seconds"] < 2, result


def test_the_roster_command_refuses_hostile_workbooks_in_bounded_memory(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    """The installed command's path (`wellbeing roster import`) under a 1 GiB cap."""
    script = (
        "import resource, time\n"
        "from wellbeing.cli import main\n"
        "start = time.perf_counter()\n"
        "try: main()\n"
        "finally: print('seconds', round(time.perf_counter() - start, 3),"
        " 'peak_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    says = {"rows": "column XFD", "ratio": "zip bomb", "xlsx": "XLSX workbook"}
    for code, data in hostile_files(STUDENTS_EN).items():
        path = tmp_path / f"{code}.xlsx"
        path.write_bytes(data)
        out = run_limited(["-c", script, "roster", "import", str(path)], **migrated)
        assert says[code] in out and "nothing was imported" in out, out
        figures = re.search(r"seconds ([\d.]+) peak_kib (\d+)", out)
        assert figures and int(figures[2]) < 1 << 20, out


# ----------------------------------------------------------------------------- kill -9

KILLED_IMPORT = """
import os, signal, sys
from wellbeing.roster import cli, services
services.CHUNK = 25  # many statements, so the kill falls between two of them
apply_roster, calls = cli.apply_roster, []

def killed_midway(parsed, **options):
    def progress(rows):
        calls.append(rows)
        # Schools and classes unchanged (a call each), the new students inserted (seven
        # calls), the first 25 renamed: killed inside the transaction, before its commit.
        if len(calls) == 10:
            print("killed after writing", sum(calls[2:]), "student rows", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    return apply_roster(parsed, **{**options, "progress": progress})

cli.apply_roster = killed_midway
from wellbeing.cli import main
main()
"""


def _snapshot(url: str) -> dict[str, list[tuple]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: sorted(map(tuple, connection.execute(text(query))))
                for table, query in {
                    "school": "SELECT code, name FROM school",
                    "class": "SELECT school_id, grade, name FROM school_class",
                    "student": "SELECT student_number, name, class_id FROM student",
                    "guardian": "SELECT student_id, name FROM guardian",
                }.items()
            }
    finally:
        engine.dispose()


@pytest.fixture
def migrated(scratch_url: str) -> dict[str, str]:
    """Settings of a command run on a migrated scratch database."""
    settings = {"WELLBEING_DATABASE_URL": scratch_url, "WELLBEING_ENVIRONMENT": "test"}
    assert wellbeing(settings, "db", "upgrade").returncode == 0
    return settings


def wellbeing(
    settings: dict[str, str], *args: str, script: str = "from wellbeing.cli import main; main()"
) -> subprocess.CompletedProcess:
    """The `wellbeing` command (or a script standing in for it) in a subprocess."""
    env = {**os.environ, **settings, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _roster_file(tmp_path: Path, students: int, name: str) -> Path:
    header = ["school_code", "school_name", "kind"]
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    sheets = {
        "schools": (header, [["SK", "一中", "junior"], ["SL", "二中", "junior"]]),
        "classes": (
            ["school_code", "grade", "class_name", "entry_year"],
            [[code, 7, str(n), 2026] for code in ("SK", "SL") for n in range(1, 4)],
        ),
        "students": (
            STUDENTS_EN,
            [
                [sn(i), f"{name}{i}", "MF"[i % 2], "2013-05-01", "SK", 7, str(1 + i % 3)]
                for i in range(students)
            ],
        ),
    }
    for sheet, (columns, rows) in sheets.items():
        book.create_sheet(sheet).append(columns)
        for row in rows:
            book[sheet].append(row)
    path = tmp_path / f"{name}.xlsx"
    book.save(path)
    return path


def test_a_roster_import_killed_mid_write_leaves_the_database_as_it_was(
    migrated: dict[str, str], scratch_url: str, tmp_path: Path
) -> None:
    first = wellbeing(migrated, "roster", "import", str(_roster_file(tmp_path, 40, "旧名")))
    assert first.returncode == 0, first.stderr
    before = _snapshot(scratch_url)
    assert len(before["student"]) == 40

    # The same students renamed, and 160 new ones: updates and inserts, killed between.
    changed = str(_roster_file(tmp_path, 200, "新名"))
    killed = wellbeing(migrated, "roster", "import", changed, script=KILLED_IMPORT)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert "killed after writing 185 student rows" in killed.stdout
    assert _snapshot(scratch_url) == before  # all or nothing: nothing

    again = wellbeing(migrated, "roster", "import", changed)
    assert again.returncode == 0, again.stderr
    names = [name for _number, name, _class in _snapshot(scratch_url)["student"]]
    assert len(names) == 200 and all(name.startswith("新名") for name in names)
