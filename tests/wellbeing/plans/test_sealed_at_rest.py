"""Nothing of a 一生一策 file is readable at rest: a unique canary written into a plan
version, a guardian contact, an attachment's bytes and file name, a referral's sheet and
the hospital's feedback, and a handover note (written by a real transfer) is absent from
the raw bytes of the SQLite database file, or from a `pg_dump` of the PostgreSQL one
(bytea columns appear there as hex: searched as hex too), while the models open every
one of them. A clear column (the school's name) is found, so the search can fail.

The rows are committed in a scratch database of the kind under test (the other tests'
rows are rolled back and never reach the file)."""

from __future__ import annotations

import secrets
import shutil

import pytest
from flask_migrate import upgrade

from tests.conftest import TEST_KEYS
from tests.factories import TINY_PNG, add_plans, build_world
from tests.wellbeing.test_keys import stored_bytes
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.plans import queries, transfers
from wellbeing.plans.models import GrowthPlan

pytestmark = pytest.mark.app

FIELDS = ("version", "contact", "attachment", "filename", "sheet", "feedback", "handover")


def _canaries() -> dict[str, str]:
    tag = secrets.token_hex(4)
    return {field: f"CANARY{tag}{field.upper()} 深夜独自哭泣{field}" for field in FIELDS}


def _write(canaries: dict[str, str]) -> int:
    """A world with plans, each sealed field of plan A holding its canary; plan A then
    moves to school B (a real transfer writes the handover note, which quotes a goal)."""
    world = add_plans(build_world(password_hash=None))
    plan = world.plans["A"]
    version = queries.current_version(plan)
    body = version.body
    body["summary"] = canaries["version"]
    body["goals"] = [canaries["handover"]]  # the handover note quotes the goals
    version.body = body
    [contact] = queries.contacts_of(plan)
    contact.body = {**contact.body, "agreed": canaries["contact"]}
    [attachment] = queries.attachments_of(plan)
    attachment.content = TINY_PNG + canaries["attachment"].encode()
    attachment.meta = {**attachment.meta, "filename": f"{canaries['filename']}.png"}
    referral = world.referrals["A"]
    referral.sheet = {**referral.sheet, "observations": canaries["sheet"]}
    referral.feedback = {"text": canaries["feedback"], "on": "2026-11-30"}
    db.session.flush()
    world.students["A1-0"].class_id = world.classes["B1"].id
    db.session.flush()
    db.session.expire_all()
    assert transfers.follow_students() == 1
    db.session.commit()
    return plan.id


def _opened(plan_id: int) -> list[str]:
    """Every sealed field of the plan, opened through the models, as text."""
    plan = db.session.get(GrowthPlan, plan_id)
    [attachment] = queries.attachments_of(plan)
    [referral] = queries.referrals_of(plan)
    return [
        str(queries.current_version(plan).body),
        str([c.body for c in queries.contacts_of(plan)]),
        attachment.content.decode("utf-8", "replace"),
        str(attachment.meta),
        str(referral.sheet),
        str(referral.feedback),
        str([t.note for t in queries.transfers_of(plan)]),
    ]


def test_canaries_of_a_plan_are_absent_at_rest(scratch_url):
    if scratch_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed: the dump cannot be searched")
    app = create_app({"DATABASE_URL": scratch_url, "ENVIRONMENT": "test", "KEYS": TEST_KEYS})
    canaries = _canaries()
    with app.app_context():
        upgrade()
        plan_id = _write(canaries)
    with app.app_context():  # a new session: read back from the database
        opened = "\n".join(_opened(plan_id))
    for field, canary in canaries.items():
        assert canary in opened, f"{field}: the canary must open through the models"

    stored = stored_bytes(app, scratch_url)
    assert "测试学校A".encode() in stored  # a clear column: the search finds plaintext
    assert b"growth_plan" in stored
    lowered = stored.lower()
    for field, canary in canaries.items():
        for fragment in (canary, canary.split(" ")[0], canary.split(" ")[1]):
            assert fragment.encode() not in stored, f"{field} found in clear at rest"
            assert fragment.encode().hex().encode() not in lowered, f"{field} found as hex"
