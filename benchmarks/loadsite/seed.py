"""The load benchmark's data: a school with grade-7 classes and an open campaign over them,
made through the app's own services; afterwards, the check that every answer a simulated
student sent is in the database.

Both run in an app context of an app built from the same WELLBEING_* environment as the
server under test (same database, same keys, same instrument directories)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import (
    Campaign,
    CampaignTarget,
    DraftAnswer,
    ScreeningResponse,
)
from wellbeing.campaigns.services import CampaignPlan, open_campaign
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import District, School, SchoolClass, Student

CLASS_SIZE = 50
SCHOOL_CODE = "LOAD7"


@dataclass(frozen=True)
class Seeded:
    campaign_id: int
    # (target id, plain access code), in draw order.
    targets: list[tuple[int, str]]


def seed(app: Flask, students: int, instrument_refs: Sequence[str]) -> Seeded:
    """A district, one junior school with `students` grade-7 students in classes of 50,
    and an open opt-out campaign over grade 7 with the battery; committed."""
    with app.app_context():
        code = app.config["DISTRICT_CODE"]
        district = db.session.scalar(select(District).where(District.code == code))
        if district is None:
            district = District(code=code, name=app.config["DISTRICT_NAME"])
            db.session.add(district)
        school = School(district=district, code=SCHOOL_CODE, name="负载测试中学", kind="junior")
        db.session.add(school)
        for index in range(students):
            if index % CLASS_SIZE == 0:
                school_class = SchoolClass(
                    school=school,
                    grade=7,
                    name=str(index // CLASS_SIZE + 1),
                    entry_year=2026,
                )
                db.session.add(school_class)
            db.session.add(
                Student(
                    # A well-formed 学籍号: G and an 18-character identity number.
                    student_number=f"G5105022013{index:07d}X",
                    name=f"负载学生{index:05d}",
                    sex="MF"[index % 2],
                    birth_date=date(2013, 9, 1),
                    school_class=school_class,
                )
            )
        db.session.flush()
        now = utcnow()
        plan = CampaignPlan(
            name="负载测试筛查",
            instrument_refs=list(instrument_refs),
            school_ids=[school.id],
            grades=[7],
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=1),
            consent_mode="opt_out",
            legal_basis="statutory_duty",
            notice_version="load-1",
            languages=["zh"],
        )
        campaign = open_campaign(district, school, plan, None)
        targets = list(
            db.session.scalars(
                select(CampaignTarget)
                .where(CampaignTarget.campaign_id == campaign.id)
                .order_by(CampaignTarget.id)
            )
        )
        seeded = Seeded(campaign.id, [(target.id, target.code) for target in targets])
        db.session.commit()
        db.engine.dispose()
    return seeded


def battery_of(app: Flask, campaign_id: int) -> list[Any]:
    """The campaign's instruments (screening.instruments.Instrument), in order."""
    with app.app_context():
        instruments = battery(db.session.get(Campaign, campaign_id))
        db.session.rollback()
    return instruments


@dataclass
class Verdict:
    checked_targets: int = 0
    screened_valid: int = 0
    # target id -> state, for every target of a finished student not screened_valid
    other_states: dict[int, str] = field(default_factory=dict)
    answers_expected: int = 0
    answers_found: int = 0
    # acknowledged answers missing from the database or stored with another value
    lost_answers: int = 0
    examples: list[str] = field(default_factory=list)


def verify(
    app: Flask,
    sent: Mapping[int, Mapping[str, Mapping[str, int]]],
    submitted: set[int],
) -> Verdict:
    """Compare what each student's acknowledged autosaves sent (target id -> instrument
    id -> item id -> value) with the database: the sealed raw answers of the submitted
    responses, or the sealed drafts of a student whose submission was not committed.
    A submitted target must be screened_valid."""
    verdict = Verdict()
    with app.app_context():
        for target_id, by_instrument in sent.items():
            target = db.session.get(CampaignTarget, target_id)
            verdict.checked_targets += 1
            found = {
                response.instrument_id: dict((response.raw or {}).get("answers", {}))
                for response in db.session.scalars(
                    select(ScreeningResponse).where(
                        ScreeningResponse.target_id == target_id,
                        ScreeningResponse.attempt == target.attempt,
                    )
                )
            }
            # A submission the client did not see acknowledged (stopped by the time
            # bound) may still have been committed: its answers are in the responses.
            if target_id in submitted or found:
                if target.state == "screened_valid":
                    verdict.screened_valid += 1
                else:
                    verdict.other_states[target_id] = target.state
            if not found:
                for draft in db.session.scalars(
                    select(DraftAnswer).where(
                        DraftAnswer.target_id == target_id,
                        DraftAnswer.attempt == target.attempt,
                    )
                ):
                    instrument_id, item_id = draft.item_key.split(":", 1)
                    found.setdefault(instrument_id, {})[item_id] = draft.answer["value"]
            for instrument_id, answers in by_instrument.items():
                stored = found.get(instrument_id, {})
                for item_id, value in answers.items():
                    verdict.answers_expected += 1
                    if stored.get(item_id) == value:
                        verdict.answers_found += 1
                    else:
                        verdict.lost_answers += 1
                        if len(verdict.examples) < 5:
                            verdict.examples.append(
                                f"target {target_id} {instrument_id}:{item_id} sent {value}, "
                                f"stored {stored.get(item_id)!r}"
                            )
        db.session.rollback()
        db.engine.dispose()
    return verdict
