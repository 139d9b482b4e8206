"""The yearly compliance pack: one folder of CSV files, one XLSX workbook holding the same
sheets, and a README in Chinese and English, for the annual audit of how minors'
personal information is processed (Regulations on the Protection of Minors Online).

The pack's own sheets are read from the audit trail (break-glass purposes opened from
their sealed grants); the areas add theirs with register_sheet (the campaigns' consent
records). The pack's own creation is audited too (action "export", detail kind
"compliance_pack").

The helpers at the top (local time, year bounds) are shared with the admin audit
browser's CSV export; every cell of both is written by screening.exports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from screening import exports
from wellbeing.clock import SECONDS, local_midnight_utc, local_text, utcnow
from wellbeing.extensions import db
from wellbeing.security.audit import record_event
from wellbeing.security.audit_verify import Verification, verify_chain
from wellbeing.security.models import AuditEvent, BreakGlassGrant

FILE_MODE = 0o600  # the pack names staff and states purposes: its owner only


# --- shared helpers ------------------------------------------------------------------


def local_time(at: datetime | None) -> str:
    """A stored (naive UTC) time as local wall-clock time, to the second."""
    return local_text(at, SECONDS)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The local calendar year as stored times: [start, end)."""
    return local_midnight_utc(date(year, 1, 1)), local_midnight_utc(date(year + 1, 1, 1))


# --- the pack's sheets ---------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    filename: str
    title: str  # the workbook sheet's name (at most 31 characters)
    headers: list[str]
    rows: list[list[Any]]
    about_zh: str
    about_en: str


TIME = "时间 Time (Asia/Shanghai)"
USER = "用户 User"
ROLE = "角色 Role"
TARGET = "对象 Target"
DETAIL = "详情 Detail"
REQUEST = "请求编号 Request id"


def _in(bounds: tuple[datetime, datetime]) -> Any:
    return (AuditEvent.at >= bounds[0]) & (AuditEvent.at < bounds[1])


def _target(row: Any) -> str:
    if row.target_type is None:
        return ""
    return f"{row.target_type}:{row.target_id}" if row.target_id else row.target_type


def _events(action: str | tuple[str, ...], bounds: tuple[datetime, datetime]) -> list[Any]:
    actions = (action,) if isinstance(action, str) else action
    query = select(AuditEvent.__table__).where(_in(bounds), AuditEvent.action.in_(actions))
    return db.session.execute(query.order_by(AuditEvent.id)).all()


def _access_statistics(bounds: tuple[datetime, datetime]) -> Sheet:
    query = (
        select(AuditEvent.role, AuditEvent.action, func.count())
        .where(_in(bounds))
        .group_by(AuditEvent.role, AuditEvent.action)
        .order_by(AuditEvent.role, AuditEvent.action)
    )
    rows = [[role or "(none)", action, count] for role, action, count in db.session.execute(query)]
    return Sheet(
        "01_access_by_role_and_action.csv",
        "access statistics",
        [ROLE, "动作 Action", "次数 Count"],
        rows,
        "全年审计记录按角色与动作统计的次数（角色为空表示无账号的操作，如登录失败、命令行）。",
        "Audit rows of the year counted by role and action ((none): no account, e.g. a "
        "failed login or a command).",
    )


def _grant_purposes(events: Sequence[Any]) -> dict[int, str]:
    """The sealed purposes of the grants these audit rows name, opened, by grant id."""
    ids = {grant_id for r in events if (grant_id := _detail(r).get("break_glass_grant"))}
    if not ids:
        return {}
    grants = db.session.scalars(select(BreakGlassGrant).where(BreakGlassGrant.id.in_(ids)))
    return {grant.id: grant.purpose for grant in grants}


def _detail(row: Any) -> dict[str, Any]:
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def _break_glass(bounds: tuple[datetime, datetime]) -> Sheet:
    events = _events("break_glass", bounds)
    purposes = _grant_purposes(events)
    rows = [
        [
            local_time(r.at),
            r.username,
            r.role,
            _target(r),
            r.scope,
            # Rows written before purposes were sealed carry theirs in clear.
            r.purpose or purposes.get(_detail(r).get("break_glass_grant"), ""),
            r.request_id,
        ]
        for r in events
    ]
    return Sheet(
        "02_break_glass_reads.csv",
        "break-glass reads",
        [TIME, USER, ROLE, TARGET, "范围 Scope", "目的 Purpose", REQUEST],
        rows,
        "紧急调阅（break-glass）：管理员在紧急情况下调阅学生记录（含心理辅导记录），每次均注明目的。",
        "Break-glass reads: an administrator opened a student's record (counseling notes "
        "included) in an emergency, each with the purpose they stated.",
    )


def _exports(bounds: tuple[datetime, datetime]) -> Sheet:
    rows = [
        [local_time(r.at), r.username, r.role, _target(r), r.detail, r.request_id]
        for r in _events("export", bounds)
    ]
    return Sheet(
        "03_exports.csv",
        "exports",
        [TIME, USER, ROLE, TARGET, DETAIL, REQUEST],
        rows,
        "导出记录：每次导出数据（含审计日志导出和合规材料包本身）及其筛选条件与行数。",
        "Exports made: every export of data (including audit-log exports and compliance "
        "packs) with its filter and row count.",
    )


def _retention_runs(bounds: tuple[datetime, datetime]) -> Sheet:
    rows = [[local_time(r.at), r.username, r.detail] for r in _events("retention_run", bounds)]
    return Sheet(
        "05_retention_runs.csv",
        "retention runs",
        [TIME, USER, "删除或匿名化条数 Counts"],
        rows,
        "保存期限执行记录：每次 `wellbeing retention run --apply` 按类别删除或匿名化的条数。",
        "Retention runs: each `wellbeing retention run --apply`, with the rows purged or "
        "anonymised per kind.",
    )


def _key_rotations(bounds: tuple[datetime, datetime]) -> Sheet:
    rows = [
        [local_time(r.at), r.username, r.action, _target(r), r.detail]
        for r in _events(("key_rotation", "key_retire"), bounds)
    ]
    return Sheet(
        "06_key_rotations.csv",
        "key rotations",
        [TIME, USER, "操作 Action", TARGET, DETAIL],
        rows,
        "密钥轮换与停用记录：主密钥（KEK）更换、数据密钥重新封装、旧密钥停用。",
        "Key rotations and retirements: a new key-encryption key became primary and data keys "
        "were re-wrapped; keys no longer used were retired.",
    )


EXPECT_ITEM = "核验锚点 Anchor (--expect ID:HASH)"
COMMAND_ITEM = "下次核验命令 Command to verify later"


def expect_command(verification: Verification) -> str | None:
    """The command that checks, later, that the chain up to today's head is unchanged."""
    if verification.anchor is None:
        return None
    return f"wellbeing audit verify --expect {verification.anchor}"


def _chain(verification: Verification, verified_at: datetime) -> Sheet:
    failure = verification.failure
    rows: list[list[Any]] = [
        ["状态 Status", "完整 intact" if verification.intact else "已破坏 BROKEN"],
        ["核验时间 Verified at", local_time(verified_at)],
        ["核验行数 Rows checked", verification.rows],
        ["首行 First row", verification.first_id or ""],
        ["末行 Last row", verification.last_id or ""],
        ["末行哈希 Last hash", verification.last_hash],
        # The head in the form --expect takes, ready to paste (empty if the chain is broken).
        [EXPECT_ITEM, verification.anchor or ""],
        [COMMAND_ITEM, expect_command(verification) or ""],
        ["自创世行开始 From genesis", "是 yes" if verification.from_genesis else "否 no"],
        ["断裂行 Broken at row", failure.row_id if failure and failure.row_id else ""],
        ["问题 Problem", failure.problem if failure else ""],
        ["说明 Message", " / ".join(verification.summary())],
    ]
    return Sheet(
        "07_audit_chain_verification.csv",
        "audit chain",
        ["项目 Item", "结果 Value"],
        rows,
        "审计链核验结果：逐行重新计算哈希，检查删除、插入或篡改。“核验锚点”一行是末行的"
        "“编号:哈希”，请另行保存；以后运行“下次核验命令”一行的命令（即 "
        "`wellbeing audit verify --expect 编号:哈希`），可确认此前的记录未被整体改写。",
        "The audit-chain verification: every row's hash recomputed, to detect deleted, "
        "inserted or edited rows. The anchor row holds the last row as ID:HASH: keep it "
        "elsewhere. Running the command in the next row later (`wellbeing audit verify "
        "--expect ID:HASH`) confirms the chain up to that row was not rewritten.",
    )


# Sheets the areas add (the campaigns' consent records): the pack knows no area.
AREA_SHEETS: list[Callable[[tuple[datetime, datetime]], Sheet]] = []


def register_sheet(build: Callable[[tuple[datetime, datetime]], Sheet]) -> None:
    """An area adds a sheet of the year (given its bounds) to the pack; sheets are
    ordered by file name, so an area names its file's number."""
    AREA_SHEETS.append(build)


def pack_sheets(year: int, verification: Verification, now: datetime) -> list[Sheet]:
    bounds = year_bounds(year)
    sheets = [
        _access_statistics(bounds),
        _break_glass(bounds),
        _exports(bounds),
        *(build(bounds) for build in AREA_SHEETS),
        _retention_runs(bounds),
        _key_rotations(bounds),
        _chain(verification, now),
    ]
    return sorted(sheets, key=lambda sheet: sheet.filename)


# --- writing the folder --------------------------------------------------------------


def _open_private(path: Path, mode: str) -> Any:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    if "b" in mode:
        return os.fdopen(descriptor, mode)
    return os.fdopen(descriptor, mode, encoding="utf-8-sig", newline="")


def _write_csv(folder: Path, sheet: Sheet) -> None:
    with _open_private(folder / sheet.filename, "w") as handle:
        exports.write_csv(handle, [sheet.headers, *sheet.rows])


def _write_workbook(path: Path, sheets: list[Sheet], readme: str) -> None:
    about = exports.Sheet("README 说明", [[line] for line in readme.splitlines()])
    tables = [exports.Sheet(sheet.title, [sheet.headers, *sheet.rows]) for sheet in sheets]
    with _open_private(path, "wb") as handle:
        exports.write_xlsx(handle, [about, *tables])


def _readme(year: int, sheets: list[Sheet], workbook: str, verification: Verification) -> str:
    state_zh = "完整" if verification.intact else "已破坏，详见 07 文件"
    state_en = "intact" if verification.intact else "BROKEN, see file 07"
    lines = [
        f"{year} 年度未成年人个人信息处理合规审计材料",
        f"Compliance pack {year}: the annual audit of how minors' personal information is "
        "processed",
        "",
        f"统计区间：{year}-01-01 至 {year}-12-31（北京时间），数据均取自防篡改审计日志。",
        f"Period: {year}-01-01 to {year}-12-31 (Asia/Shanghai), read from the tamper-evident "
        "audit trail.",
        f"审计链核验：{state_zh}。 Audit chain: {state_en}.",
    ]
    command = expect_command(verification)
    if command is not None:
        lines += [
            "请另行保存下面的命令，以后运行它可确认审计日志截至本次的记录未被整体改写：",
            "Keep this command elsewhere; run later, it confirms the audit trail up to today "
            "was not rewritten:",
            f"  {command}",
        ]
    lines += [
        "",
        "文件 Files:",
    ]
    for sheet in sheets:
        lines += [f"- {sheet.filename}", f"  {sheet.about_zh}", f"  {sheet.about_en}"]
    lines += [
        f"- {workbook}",
        "  以上全部表格汇总为一个 Excel 工作簿，每个文件一张工作表。",
        "  All of the above in one Excel workbook, one sheet per file.",
        "",
        "CSV 文件为带 BOM 的 UTF-8 编码，可直接用 Excel 打开；以 = + - @ 开头的内容前加了单引号，"
        "以免被当作公式；控制字符显示为 \ufffd。",
        "CSV files are UTF-8 with a BOM, so Excel opens them directly; a cell starting with "
        "= + - @ has a leading apostrophe so it is never run as a formula, and control "
        "characters are shown as \ufffd.",
        "本材料包含教职工账号与调阅目的，请按敏感信息保管。",
        "The pack names staff accounts and states purposes: keep it as sensitive information.",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Pack:
    folder: Path
    files: list[str]
    verification: Verification


def build_pack(year: int, folder: Path, *, actor: str | None = None) -> Pack:
    """Write the year's pack into `folder` (created; files of an earlier run of the same
    year are replaced) and audit it. The caller commits."""
    now = utcnow()
    verification = verify_chain()
    sheets = pack_sheets(year, verification, now)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for sheet in sheets:
        _write_csv(folder, sheet)
    workbook = f"compliance-{year}.xlsx"
    readme = _readme(year, sheets, workbook, verification)
    _write_workbook(folder / workbook, sheets, readme)
    with _open_private(folder / "README.txt", "w") as handle:
        handle.write(readme)
    files = [sheet.filename for sheet in sheets] + [workbook, "README.txt"]
    record_event(
        "export",
        username=actor,
        target=("compliance_pack", year),
        detail={
            "kind": "compliance_pack",
            "year": year,
            "files": files,
            "chain_intact": verification.intact,
            "anchor": verification.anchor,
            "rows": {sheet.filename: len(sheet.rows) for sheet in sheets},
        },
    )
    return Pack(folder, files, verification)


def default_folder(instance_path: str, year: int) -> Path:
    return Path(instance_path) / "compliance" / str(year)
