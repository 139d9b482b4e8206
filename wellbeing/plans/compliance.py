"""The 一生一策 files' sheet of the yearly compliance pack, registered with the pack
(which knows no area): counts only, never whom. Plans opened and closed in the year (by
reason), transferred (moved within the district, left it), and the plans opened under
break-glass (audit rows of a plan's reads that name a break-glass grant)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select

from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan, PlanTransfer
from wellbeing.security.compliance import Sheet, register_sheet
from wellbeing.security.models import AuditEvent

FILENAME = "08_growth_files.csv"
REASONS_ZH = {
    v.GOALS_MET: "目标达成 goals met",
    v.LEFT_DISTRICT: "离开本区 left the district",
    v.GRADUATED: "毕业 graduated",
    v.OTHER: "其他 other",
}


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def break_glass_openings(bounds: tuple[datetime, datetime]) -> int:
    """Audit rows of the year about a plan whose detail names a break-glass grant."""
    details = db.session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.at >= bounds[0],
            AuditEvent.at < bounds[1],
            AuditEvent.target_type == GrowthPlan.__tablename__,
            AuditEvent.detail.is_not(None),
        )
    )
    return sum(1 for detail in details if "break_glass_grant" in _parsed(detail))


def _parsed(detail: str) -> dict:
    try:
        parsed = json.loads(detail)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def growth_files_sheet(bounds: tuple[datetime, datetime]) -> Sheet:
    start, end = bounds
    opened = _count(GrowthPlan, GrowthPlan.opened_at >= start, GrowthPlan.opened_at < end)
    rows: list[list[object]] = [["建档 Opened", "", opened]]
    for reason in v.CLOSE_REASONS:
        closed = _count(
            GrowthPlan,
            GrowthPlan.closed_at >= start,
            GrowthPlan.closed_at < end,
            GrowthPlan.close_reason == reason,
        )
        rows.append(["结案 Closed", REASONS_ZH[reason], closed])
    for kind, words in ((v.MOVED_SCHOOL, "区内转学 moved school"), (v.LEFT, "离开本区 left")):
        moved = _count(
            PlanTransfer, PlanTransfer.at >= start, PlanTransfer.at < end, PlanTransfer.kind == kind
        )
        rows.append(["转移 Transferred", words, moved])
    rows.append(["紧急调阅 Break-glass openings", "", break_glass_openings(bounds)])
    return Sheet(
        FILENAME,
        "growth files",
        ["项目 Measure", "分类 Breakdown", "数量 Count"],
        rows,
        "一生一策心理成长档案的年度统计（仅数量，不含任何学生信息）：新建、按原因结案、"
        "区内转学随学生移交、离开本区（加密移交包），以及通过紧急调阅打开档案的次数。",
        "The 一生一策 growth files of the year, counts only (no student named): opened, "
        "closed by reason, moved with their student to another school of the district, "
        "left the district (encrypted package), and openings under break-glass.",
    )


register_sheet(growth_files_sheet)
