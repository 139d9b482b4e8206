"""The yearly compliance pack: one folder of CSV files, an XLSX workbook and a README,
read from the audit trail for the local calendar year, with the chain's verification;
its creation is audited. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shlex
import stat
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.wellbeing.test_audit import delete_rows, rewrite_chain_wholesale, write_events
from wellbeing.extensions import db
from wellbeing.security import audit
from wellbeing.security.audit import record_event
from wellbeing.security.audit_cli import compliance_group, pack_command, verify_command
from wellbeing.security.audit_verify import verify_chain
from wellbeing.security.compliance import COMMAND_ITEM, EXPECT_ITEM, year_bounds
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

YEAR = 2025
FILES = [
    "01_access_by_role_and_action.csv",
    "02_break_glass_reads.csv",
    "03_exports.csv",
    "04_consent_records.csv",
    "05_retention_runs.csv",
    "06_key_rotations.csv",
    "07_audit_chain_verification.csv",
    "08_growth_files.csv",  # the 一生一策 files' counts (wellbeing/plans/compliance.py)
    "09_committee.csv",  # the 心理委员's counts (wellbeing/observations/compliance.py)
]


def _at(moment: datetime, monkeypatch) -> None:
    monkeypatch.setattr(audit, "utcnow", lambda: moment)


@pytest.fixture
def year_of_events(world, monkeypatch):
    users = world.users
    # 16:30 UTC on 31 December 2024 is already 2025 in Beijing: in the pack.
    _at(datetime(2024, 12, 31, 16, 30), monkeypatch)
    record_event("login", user=users["counselor"])
    _at(datetime(2025, 3, 2, 1), monkeypatch)
    record_event("login", user=users["counselor"])
    record_event("login", user=users["admin"])
    record_event("login_failed", username="=cmd|' /C calc'!A0")
    record_event(
        "break_glass",
        user=users["monitor"],
        target=world.students["B1-0"],
        scope="district:510502",
        purpose="学生自述有危险，紧急联系监护人",
    )
    record_event("break_glass", user=users["admin"], purpose='=HYPERLINK("http://x","y")')
    record_event("export", user=users["admin"], detail={"kind": "audit_csv", "rows": 12})
    record_event("retention_run", username="cli:ops", detail={"counts": {"login_attempts": 3}})
    record_event("key_rotation", username="cli:ops", detail={"from": "k1", "to": "k2"})
    record_event("key_retire", username="cli:ops", target=("key", "k1"))
    # 17:00 UTC on 31 December 2025 is 2026 in Beijing: not in the pack.
    _at(datetime(2025, 12, 31, 17), monkeypatch)
    record_event("break_glass", user=users["monitor"], purpose="next year")
    monkeypatch.undo()
    _consent_records(world)


def _consent_records(world) -> None:
    """An opt-out recorded in March 2025 (in the pack) and a consent of 2026 (not)."""
    from sqlalchemy import select

    from tests.factories import add_campaigns
    from wellbeing.campaigns import services
    from wellbeing.campaigns.models import CampaignTarget

    add_campaigns(world)
    targets = db.session.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == world.campaigns["A"].id)
    ).all()
    for target, decision, recorded in (
        (targets[0], "opt_out", datetime(2025, 3, 2, 2)),
        (targets[1], "consent", datetime(2025, 12, 31, 17)),
    ):
        choice = services.ConsentDecision(decision, "paper", "=家长甲（母亲）", recorded)
        services.record_consent(target, choice, world.users["counselor"]).recorded_at = recorded
    db.session.flush()


def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), path.name
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def test_year_bounds_are_the_local_calendar_year():
    start, end = year_bounds(YEAR)
    assert start == datetime(2024, 12, 31, 16) and end == datetime(2025, 12, 31, 16)


def test_the_pack_holds_the_year(app, world, year_of_events, tmp_path):
    folder = tmp_path / "pack"
    result = app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    assert result.exit_code == 0, result.output
    assert "audit chain: intact" in result.output
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted([*FILES, f"compliance-{YEAR}.xlsx", "README.txt"])
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name

    access = _read_csv(folder / FILES[0])
    counts = {(role, action): int(count) for role, action, count in access[1:]}
    assert counts[("counselor", "login")] == 2
    assert counts[("admin", "login")] == 1 and counts[("(none)", "login_failed")] == 1
    assert counts[("monitor", "break_glass")] == 1  # the one of 2026 is left out

    glass = _read_csv(folder / FILES[1])
    assert len(glass) == 3 and "学生自述有危险，紧急联系监护人" in glass[1]
    assert glass[2][5].startswith("'=HYPERLINK")  # shown as text, never run as a formula
    assert glass[1][0] == "2025-03-02 09:00:00"  # Beijing time
    assert glass[1][3] == f"student:{world.students['B1-0'].id}"
    exports = _read_csv(folder / FILES[2])
    assert len(exports) == 2 and json.loads(exports[1][4])["kind"] == "audit_csv"
    consent = _read_csv(folder / FILES[3])
    assert len(consent) == 2  # the header and the one decision recorded in 2025
    assert consent[1][0] == "2025-03-02 10:00:00" and consent[1][2] == "'=家长甲（母亲）"
    assert consent[1][4:8] == ["statutory_duty / opt_out", "opt_out", "paper", "2026-秋-1"]
    assert "cli:ops" in _read_csv(folder / FILES[4])[1]
    keys = _read_csv(folder / FILES[5])
    assert "k2" in keys[1][4] and keys[1][2] == "key_rotation"
    assert [row[2] for row in keys[1:]] == ["key_rotation", "key_retire"]
    chain = dict(_read_csv(folder / FILES[6])[1:])
    assert chain["状态 Status"] == "完整 intact"


def test_the_workbook_holds_every_sheet_and_no_formula(app, year_of_events, tmp_path):
    folder = tmp_path / "pack"
    app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    workbook = load_workbook(folder / f"compliance-{YEAR}.xlsx")
    assert len(workbook.sheetnames) == 1 + len(FILES)
    for name, filename in zip(workbook.sheetnames[1:], FILES, strict=True):
        sheet_rows = [
            ["" if cell is None else str(cell) for cell in row]
            for row in workbook[name].iter_rows(values_only=True)
        ]
        assert sheet_rows == _read_csv(folder / filename), name
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row), sheet.title
    first = [row[0] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert any("合规" in line for line in first) and any("Compliance" in line for line in first)


def test_the_readme_explains_each_file_in_chinese_and_english(app, year_of_events, tmp_path):
    folder = tmp_path / "pack"
    app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    readme = (folder / "README.txt").read_text(encoding="utf-8-sig")
    for name in [*FILES, f"compliance-{YEAR}.xlsx"]:
        assert f"- {name}" in readme
    assert "紧急调阅" in readme and "Break-glass reads" in readme
    assert "审计链核验：完整" in readme and "Audit chain: intact" in readme


def test_the_pack_is_itself_audited(app, world, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = app.test_cli_runner().invoke(compliance_group, ["pack", "--year", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "compliance" / str(YEAR) / "README.txt").exists()
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert row.username.startswith("cli:")
    assert (row.target_type, row.target_id) == ("compliance_pack", str(YEAR))
    detail = json.loads(row.detail)
    assert detail["kind"] == "compliance_pack" and detail["year"] == YEAR
    assert detail["chain_intact"] is True and "README.txt" in detail["files"]
    assert verify_chain().intact


def test_a_broken_chain_is_reported_in_the_pack(app, db_session, tmp_path):
    write_events(5)
    delete_rows(3)
    folder = tmp_path / "pack"
    result = app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    assert result.exit_code == 0, result.output
    assert "BROKEN" in result.output
    chain = dict(_read_csv(folder / FILES[6])[1:])
    assert chain["状态 Status"] == "已破坏 BROKEN"
    assert chain["断裂行 Broken at row"] == "3" and chain["问题 Problem"] == "deleted"
    assert "已破坏" in (folder / "README.txt").read_text(encoding="utf-8-sig")


def test_the_pack_gives_the_head_as_verify_expects_it(app, db_session, tmp_path):
    write_events(4)
    folder = tmp_path / "pack"
    result = app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    assert result.exit_code == 0, result.output
    chain = dict(_read_csv(folder / FILES[6])[1:])
    anchor, command = chain[EXPECT_ITEM], chain[COMMAND_ITEM]
    assert anchor == f"4:{db.session.get(AuditEvent, 4).hash}"  # the head when verified
    assert command == f"wellbeing audit verify --expect {anchor}"
    assert command in result.output  # printed, ready to copy
    assert f"  {command}" in (folder / "README.txt").read_text(encoding="utf-8-sig").splitlines()
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert json.loads(row.detail)["anchor"] == anchor

    arguments = shlex.split(command)[3:]  # what follows `wellbeing audit verify`
    outcome = app.test_cli_runner().invoke(verify_command, arguments)
    assert outcome.exit_code == 0, outcome.output
    assert "anchors matched: 1" in outcome.output

    rewrite_chain_wholesale()  # every hash recomputed: only the anchor can tell
    assert app.test_cli_runner().invoke(verify_command).exit_code == 0
    outcome = app.test_cli_runner().invoke(verify_command, arguments)
    assert outcome.exit_code == 1
    assert "BROKEN at row 4 (anchor)" in outcome.output


def test_a_broken_chain_gives_no_anchor(app, db_session, tmp_path):
    write_events(5)
    delete_rows(3)
    folder = tmp_path / "pack"
    result = app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    chain = dict(_read_csv(folder / FILES[6])[1:])
    assert chain[EXPECT_ITEM] == chain[COMMAND_ITEM] == ""
    assert "--expect" not in result.output


def test_a_year_out_of_range_is_refused(app, db_session):
    result = app.test_cli_runner().invoke(pack_command, ["--year", "99"])
    assert result.exit_code == 2


def test_the_pack_opens_the_sealed_purpose_of_a_grant(app, world, tmp_path, monkeypatch):
    """Audit rows name the grant; the pack shows its purpose, opened from the grant."""
    from wellbeing.security.breakglass import open_record

    purpose = "依法配合公安机关调查，需要查阅既往访谈记录"
    _at(datetime(2025, 6, 1, 2), monkeypatch)
    open_record(world.users["admin"], world.students["A1-0"], purpose)
    monkeypatch.undo()
    folder = tmp_path / "pack"
    result = app.test_cli_runner().invoke(pack_command, ["--year", str(YEAR), "--out", folder])
    assert result.exit_code == 0, result.output
    glass = _read_csv(folder / FILES[1])
    assert [row[5] for row in glass[1:]] == [purpose]
    assert glass[1][3] == f"student:{world.students['A1-0'].id}"
