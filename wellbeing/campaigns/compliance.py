"""The campaigns' sheet of the yearly compliance pack: guardians' consent decisions,
registered with the pack (which knows no area)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from wellbeing.campaigns.models import Campaign, ConsentRecord
from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security.compliance import TIME, USER, Sheet, local_time, register_sheet


def consent_sheet(bounds: tuple[datetime, datetime]) -> Sheet:
    """Guardians' decisions recorded in the year, for the compliance pack (file 04)."""
    query = (
        select(ConsentRecord, Campaign, User.username)
        .join(Campaign, Campaign.id == ConsentRecord.campaign_id)
        .join(User, User.id == ConsentRecord.recorded_by_id)
        .where(ConsentRecord.recorded_at >= bounds[0], ConsentRecord.recorded_at < bounds[1])
        .order_by(ConsentRecord.id)
    )
    rows = [
        [
            local_time(record.recorded_at),
            record.student_id,
            record.guardian,
            f"{campaign.id} {campaign.name}",
            f"{campaign.legal_basis} / {campaign.consent_mode}",
            record.decision,
            record.method,
            record.notice_version,
            local_time(record.decided_on),
            username,
        ]
        for record, campaign, username in db.session.execute(query)
    ]
    return Sheet(
        "04_consent_records.csv",
        "consent",
        [
            TIME,
            "学生 Student id",
            "监护人 Guardian",
            "活动 Campaign",
            "法律依据/方式 Legal basis / mode",
            "决定 Decision",
            "方式 Method",
            "告知书版本 Notice version",
            "决定时间 Decided",
            USER,
        ],
        rows,
        "监护人同意、拒绝（退出）与撤回同意的记录：谁、何时、以何种方式（纸质、口头、线上），"
        "以及所依据的告知书版本和活动的法律依据。",
        "Guardians' consents, opt-outs and withdrawals: who, when, how (paper, verbal, "
        "online), the notice version they received and the campaign's legal basis.",
    )


register_sheet(consent_sheet)
