"""The risk model against the app: `wellbeing risk tier` on scored spreadsheets gives
the tiers the app gave the same students; training learns from the counselors'
decisions, refuses below the minimum, saves a draft, is audited; `risk card` prints."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from screening import risk
from tests.factories import make_student
from tests.wellbeing.campaigns import conftest as campaign_fixtures
from tests.wellbeing.campaigns.conftest import target_of
from wellbeing.campaigns import services
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.extensions import db
from wellbeing.instruments_cli import score_command
from wellbeing.review import vocabulary as v
from wellbeing.review.cli import risk_group
from wellbeing.review.decisions import Decision, decide
from wellbeing.review.models import RiskAssessment, RiskModel
from wellbeing.review.training import outcomes, train
from wellbeing.security.models import AuditEvent

# The campaign fixtures, used here outside their folder.
campaign = campaign_fixtures.campaign
campaign_plan = campaign_fixtures.campaign_plan


def _sit(target, answers: dict[str, list[int]]) -> None:
    """The student answers the battery (one list of values per instrument) and submits,
    through the campaigns' real write path (scoring, sealing, the review's tiers)."""
    instruments = battery(target.campaign)
    split = {
        i.id: (
            dict(zip([item.id for item in i.items], answers[i.id], strict=True)),
            {item.id: 3.0 for item in i.items},
        )
        for i in instruments
    }
    services.record_responses(target, instruments, split, source="online", user=None)


def _assessment(target) -> RiskAssessment:
    return db.session.scalar(select(RiskAssessment).where(RiskAssessment.target_id == target.id))


def _cli(app, *args: str):
    if "risk" not in app.cli.commands:
        app.cli.add_command(risk_group)
    return app.test_cli_runner().invoke(args=["risk", *args])


ANSWERS = [
    {"phq9": [0] * 9, "gad7": [0] * 7},
    {"phq9": [2] * 8 + [0], "gad7": [2] * 7},  # 16 and 14: orange
    {"phq9": [1] * 8 + [1], "gad7": [1] * 7},  # item 9: red by the rule
    {"phq9": [3] * 9, "gad7": [3] * 7},  # severe: red
    {"phq9": [1, 1, 1, 2, 0, 0, 0, 0, 0], "gad7": [2, 2, 2, 2, 2, 1, 0]},  # mild + moderate
    {"phq9": [2] * 6 + [0] * 3, "gad7": [0] * 7},  # 12: moderate
]


def _write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding)


@pytest.mark.parametrize("kind", ["csv", "gbk", "xlsx"])
def test_risk_tier_on_scored_spreadsheets_equals_the_apps_tiers(world, campaign, tmp_path, kind):
    students = [s for key, s in sorted(world.students.items()) if key[:2] in ("A1", "A2")]
    for student, answers in zip(students, ANSWERS, strict=True):
        _sit(target_of(campaign, student), answers)
    scored = []
    for instrument, items in (("phq9", 9), ("gad7", 7)):
        header = ["respondent_id", *[f"{instrument}_{i}" for i in range(1, items + 1)]]
        rows = [[s.student_number, *a[instrument]] for s, a in zip(students, ANSWERS, strict=True)]
        source = tmp_path / f"{instrument}.{'xlsx' if kind == 'xlsx' else 'csv'}"
        if kind == "xlsx":
            book = Workbook()
            for row in [header, *rows]:
                book.active.append(row)
            book.save(source)
        else:
            _write_csv(source, header, rows, "gbk" if kind == "gbk" else "utf-8")
        target = tmp_path / f"{instrument}_scores.{'xlsx' if kind == 'xlsx' else 'csv'}"
        done = CliRunner().invoke(score_command, [instrument, str(source), "-o", str(target)])
        assert done.exit_code == 0, done.stderr
        scored.append(f"{instrument}={target}")
    result = CliRunner().invoke(risk_group, ["tier", *scored])
    assert result.exit_code == 0, result.stderr
    tiers = {row["respondent_id"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    app_tiers = {s.student_number: _assessment(target_of(campaign, s)) for s in students}
    assert {k: (r["tier"], int(r["points"]), r["rule"] or None) for k, r in tiers.items()} == {
        k: (a.tier, a.points, a.rule) for k, a in app_tiers.items()
    }
    assert {a.tier for a in app_tiers.values()} == {"none", "orange", "red", "yellow"}
    for number, row in tiers.items():  # the same explanation, as the app keeps it
        kept = app_tiers[number].explanation
        parts = [
            f"{c['label']['zh']} {c['bin_label']['zh']}"
            for c in kept["contributions"]
            if c["points"]
        ]
        assert all(part in row["reasons"] for part in parts)


def _screen_many(world, campaign_plan, count: int, seed: int = 3):
    """`count` more grade-7 students of school A screened with seeded answers, each
    reviewed by the counselor: the model's tier confirmed, or changed (a documented
    generating process: a flagged student is judged not to need help one time in five,
    an unflagged one to need it one time in six)."""
    from wellbeing.campaigns.services import open_campaign

    rng = np.random.default_rng(seed)
    for index in range(count):
        make_student(world.classes["A1" if index % 2 else "A2"], f"学生X{index}", "MF"[index % 2])
    db.session.flush()
    opened = open_campaign(
        world.district, world.schools["A"], campaign_plan(world), world.users["counselor"]
    )
    counselor = world.users["counselor"]
    targets = db.session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.campaign_id == opened.id)
        .order_by(CampaignTarget.id)
    ).all()
    for target in targets:
        level = rng.integers(0, 4)
        phq = np.clip(rng.integers(level - 1, level + 2, 9), 0, 3).tolist()
        phq[8] = 1 if rng.random() < 0.03 else 0
        gad = np.clip(rng.integers(level - 1, level + 2, 7), 0, 3).tolist()
        _sit(target, {"phq9": phq, "gad7": gad})
        assessment = _assessment(target)
        flagged = assessment.tier in ("red", "orange")
        if flagged and rng.random() < 0.2:
            decide(assessment, Decision(v.CHANGE_TIER, "yellow", "面谈后判断无需干预"), counselor)
        elif not flagged and rng.random() < 1 / 6:
            decide(assessment, Decision(v.CHANGE_TIER, "orange", "面谈发现需要干预"), counselor)
        else:
            decide(assessment, Decision(v.CONFIRM), counselor)
    db.session.flush()
    return opened


def test_training_is_refused_below_the_minimum_with_a_clear_message(app, world, campaign):
    students = [s for key, s in sorted(world.students.items()) if key[:2] in ("A1", "A2")]
    for student, answers in zip(students, ANSWERS, strict=True):
        _sit(target_of(campaign, student), answers)
    for student in students[:4]:
        decide(
            _assessment(target_of(campaign, student)), Decision(v.CONFIRM), world.users["counselor"]
        )
    frame, labels, groups = outcomes(world.district.id)
    assert len(frame) == 4 and labels.tolist() == [0, 1, 1, 1]
    assert list(groups.columns) == ["sex", "grade", "school", "reviewed_tier", "date"]
    assert groups["school"].tolist() == ["测试学校A"] * 4 and set(groups["grade"]) == {7}
    assert frame.loc[1, "phq9_band"] == "moderately_severe" and frame.loc[1, "phq9_total"] == 16
    with pytest.raises(risk.TooFewOutcomes) as refused:
        train(user=world.users["admin"])
    assert (refused.value.count, refused.value.positives, refused.value.minimum) == (4, 3, 100)
    result = _cli(app, "train")
    assert result.exit_code == 1
    assert "咨询师确认的结果不足，无法训练：现有 4 个（其中需要干预 3 个）" in result.stderr
    assert db.session.scalar(select(RiskModel)) is None


def test_train_saves_an_audited_draft_whose_card_the_cli_prints(app, world, campaign_plan):
    _screen_many(world, campaign_plan, 140)
    frame, labels, _groups = outcomes()
    assert len(frame) >= 140 and 10 < labels.sum() < len(frame) - 10
    assert outcomes(world.other_district.id)[0].empty
    row = train(seed=0, user=world.users["admin"])
    assert row.status == v.DRAFT and row.version.startswith("trained-")
    assert row.created_by_id == world.users["admin"].id
    card = row.document["card"]
    assert card["previous"] == "default-1" and card["outcomes"] == len(frame)
    assert card["positives"] == labels.sum() and 0.5 < card["auc"] <= 1
    assert {g["group"] for g in card["groups"]["sex"]} == {"F", "M"}
    assert card["training"]["by_tier"]["orange"] >= 1 and card["training"]["from"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "risk_model_train"))
    assert event.target_type == "risk_model" and event.target_id == str(row.id)
    assert event.user_id == world.users["admin"].id
    again = train(version="again", seed=0)
    strip = ("version", "name", "card", "training")
    assert {k: w for k, w in again.document.items() if k not in strip} == {
        k: w for k, w in row.document.items() if k not in strip
    }
    assert again.document["card"]["auc"] == card["auc"]
    with pytest.raises(risk.ModelError, match="already taken"):
        train(version="again")
    result = _cli(app, "train", "--seed", "0", "--version", "cli-1")
    assert result.exit_code == 0, result.stderr
    assert "已保存为草稿 cli-1：请在风险模型页面预览并启用。" in result.stdout
    assert f"AUC {card['auc']}" in result.stdout and "按性别" in result.stdout
    shown = _cli(app, "card", "--version", "cli-1")
    assert shown.exit_code == 0 and "风险模型 cli-1" in shown.stdout and "校准" in shown.stdout
    default = _cli(app, "card")
    assert default.exit_code == 0 and "此模型未经本区确认结果训练，没有模型卡。" in default.stdout
    assert "等级阈值：一级（红色） ≥ 60 分" in default.stdout
    english = _cli(app, "card", "--version", "cli-1", "--language", "en")
    assert "True-positive rate" in english.stdout
    assert _cli(app, "card", "--version", "nope").exit_code == 2


def test_an_exported_model_tiers_spreadsheets_away_from_the_site(app, world, tmp_path):
    document = risk.default_model().document | {"version": "district-2"}
    document = {**document, "thresholds": {"red": 50, "orange": 25, "yellow": 5}}
    db.session.add(RiskModel(version="district-2", document=document, status=v.ACTIVE))
    db.session.flush()
    path = tmp_path / "district.json"
    assert _cli(app, "export", "-o", str(path)).exit_code == 0  # the active model
    scores = tmp_path / "phq9.csv"
    header = "respondent_id,total,band,critical,valid,missing"
    scores.write_text(f"{header}\ns1,6,mild,false,true,0\n", "utf-8")
    result = CliRunner().invoke(risk_group, ["tier", f"phq9={scores}", "--model", str(path)])
    assert (
        result.exit_code == 0
        and result.stdout.splitlines()[1] == "s1,yellow,5,PHQ-9 轻度（6 分）：+5,"
    )
    assert "district-2" in _cli(app, "card").stdout
