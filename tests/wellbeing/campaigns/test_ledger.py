"""The coverage ledger's reads: counts by state and rates at class, school and district
level, who is missing and why, the retest queue, consent equity and small-cell
suppression. Every state is reached through the services, as in production."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import make_student
from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import ledger, services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.clock import utcnow
from wellbeing.extensions import db

pytestmark = pytest.mark.app

WELLBEING_ITEMS = ["w1", "w2", "w3", "w4", "w5"]


def sit_wellbeing(target, seconds: float) -> None:
    """Answer the school_wellbeing battery and submit: slowly (valid) or too fast (its
    too_fast rule fails, so the student is queued for a retest)."""
    for item, value in zip(WELLBEING_ITEMS, [4, 2, 4, 2, 4], strict=True):
        services.autosave(target, "school_wellbeing", item, value, seconds)
    services.submit(target, utcnow())


def decide(target, decision: str, user) -> None:
    services.record_consent(
        target, services.ConsentDecision(decision, "paper", "家长（母亲）", utcnow()), user
    )


@pytest.fixture
def district_campaign(world, campaign_plan):
    return open_district_campaign(world, campaign_plan)


def open_district_campaign(world, campaign_plan):
    """A district campaign over schools A and B (grade 7, twelve targets), the
    school_wellbeing battery, every state reached:

    A1: screened, screened, retest_pending    A2: in_progress, transferred, exempt
    B1: screened, absent, opted out            B2: not_started, withdrawn, screened
    """
    plan = campaign_plan(
        world,
        instrument_refs=["school_wellbeing"],
        school_ids=[world.schools["A"].id, world.schools["B"].id],
    )
    admin, counselor = world.users["admin"], world.users["counselor"]
    campaign = services.open_campaign(world.district, None, plan, admin)

    def target(label):
        return target_of(campaign, world.students[label])

    sit_wellbeing(target("A1-0"), 5)
    sit_wellbeing(target("A1-1"), 5)
    sit_wellbeing(target("A1-2"), 0.4)
    services.autosave(target("A2-0"), "school_wellbeing", "w1", 3, 4)
    services.mark(target("A2-1"), v.TRANSFERRED, "转学至外省", counselor)
    services.mark(target("A2-2"), v.EXEMPT, "在外地就医", counselor)
    sit_wellbeing(target("B1-0"), 5)
    services.mark(target("B1-1"), v.ABSENT, "病假", admin)
    decide(target("B1-2"), v.OPT_OUT_DECISION, admin)
    sit_wellbeing(target("B2-1"), 5)
    decide(target("B2-1"), v.WITHDRAWAL, admin)
    sit_wellbeing(target("B2-2"), 5)
    db.session.flush()
    return campaign


def test_every_state_reached_and_each_target_counted_once(world, district_campaign):
    level = ledger.district_level(district_campaign)
    whole = level.total
    targets = db.session.scalar(
        select(func.count())
        .select_from(CampaignTarget)
        .where(CampaignTarget.campaign_id == district_campaign.id)
    )
    assert whole.targets == targets == 12
    assert sum(whole.counts.values()) == targets
    assert all(whole.counts[state] >= 1 for state in v.STATES)
    assert whole.counts == {
        v.NOT_STARTED: 1,
        v.IN_PROGRESS: 1,
        v.SCREENED_VALID: 4,
        v.RETEST_PENDING: 1,
        v.ABSENT: 1,
        v.TRANSFERRED: 1,
        v.EXEMPT: 1,
        v.CONSENT_WITHHELD: 2,
    }


def test_district_rates_leave_the_transferred_out_of_the_denominator(world, district_campaign):
    level = ledger.district_level(district_campaign)
    rows = {school.code: tally for school, tally in level.rows}
    assert list(rows) == ["SA", "SB"]
    assert (rows["SA"].targets, rows["SA"].enrolled, rows["SA"].screened) == (6, 5, 2)
    assert rows["SA"].rate == pytest.approx(2 / 5)
    assert (rows["SB"].targets, rows["SB"].enrolled, rows["SB"].screened) == (6, 6, 2)
    assert rows["SB"].rate == pytest.approx(2 / 6)
    assert level.total.enrolled == 11
    assert level.total.rate == pytest.approx(4 / 11)


def test_school_and_class_levels(world, district_campaign):
    level = ledger.school_level(district_campaign, world.schools["A"])
    by_class = {c.name: tally for c, tally in level.rows}
    assert list(by_class) == ["1", "2"]
    assert by_class["1"].counts[v.SCREENED_VALID] == 2
    assert by_class["1"].counts[v.RETEST_PENDING] == 1
    assert by_class["1"].rate == pytest.approx(2 / 3)
    assert by_class["2"].counts[v.TRANSFERRED] == 1
    assert (by_class["2"].enrolled, by_class["2"].rate) == (2, 0.0)
    assert level.total.targets == 6 and level.total.rate == pytest.approx(2 / 5)
    single = ledger.class_tally(district_campaign, world.classes["B2"])
    assert (single.counts[v.NOT_STARTED], single.counts[v.CONSENT_WITHHELD]) == (1, 1)
    assert single.rate == pytest.approx(1 / 3)


def test_a_class_with_no_target_yet_has_no_rate(world, district_campaign):
    tally = ledger.class_tally(district_campaign, world.classes["C1"])
    assert (tally.targets, tally.enrolled, tally.rate) == (0, 0, None)


def test_the_missing_list_gives_every_unscreened_target_with_its_reason(world, district_campaign):
    missing = ledger.ledger_rows(district_campaign, school=world.schools["A"], missing_only=True)
    assert [(row.class_name, row.name, row.state) for row in missing] == [
        ("1", "学生A1-2", v.RETEST_PENDING),
        ("2", "学生A2-0", v.IN_PROGRESS),
        ("2", "学生A2-1", v.TRANSFERRED),
        ("2", "学生A2-2", v.EXEMPT),
    ]
    reasons = {row.name: (row.reason, row.approver) for row in missing}
    assert reasons["学生A1-2"] == ("school_wellbeing:too_fast", None)
    assert reasons["学生A2-1"] == ("转学至外省", None)
    assert reasons["学生A2-2"] == ("在外地就医", world.users["counselor"].display_name)
    assert all(row.state_changed_at is not None for row in missing)
    school_b = ledger.ledger_rows(district_campaign, school=world.schools["B"], missing_only=True)
    assert {row.name: row.reason for row in school_b} == {
        "学生B1-1": "病假",
        "学生B1-2": v.REASON_OPTED_OUT,
        "学生B2-0": None,
        "学生B2-1": v.REASON_WITHDRAWN,
    }
    assert [row.name for row in ledger.retest_queue(missing)] == ["学生A1-2"]


def test_the_missing_list_is_ordered_by_class_then_student_number(world, campaign):
    # Students within a class by 学籍号, not by name as code points (丁 U+4E01 < 学 U+5B66).
    make_student(world.classes["A1"], "丁一")  # the newest student number of the class
    services.refresh_population(campaign)
    names = [row.name for row in ledger.ledger_rows(campaign, missing_only=True)]
    assert names == ["学生A1-0", "学生A1-1", "学生A1-2", "丁一", "学生A2-0", "学生A2-1", "学生A2-2"]


def test_ledger_rows_carry_the_latest_consent_decision(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    decide(target, v.OPT_OUT_DECISION, world.users["counselor"])
    decide(target, v.CONSENT, world.users["counselor"])
    rows = {
        row.name: row
        for row in ledger.ledger_rows(campaign, school_class=world.classes["A1"], with_consent=True)
    }
    assert len(rows) == 3
    assert rows["学生A1-0"].consent.decision == v.CONSENT
    assert rows["学生A1-0"].state == v.NOT_STARTED
    assert rows["学生A1-1"].consent is None


def test_equity_shows_a_subgroup_falling_away(world, campaign):
    """Six left-behind students join class A1: two screened, two opted out, one
    withdrawn after submitting, one not started; everyone else is screened."""
    counselor = world.users["counselor"]
    for index in range(6):
        student = make_student(world.classes["A1"], f"留守{index}", "MF"[index % 2])
        student.left_behind = True
    db.session.flush()
    services.refresh_population(campaign)
    for label in ("A1-0", "A1-1", "A1-2", "A2-0", "A2-1", "A2-2"):
        target = target_of(campaign, world.students[label])
        answer_all(target, 0)
        services.submit(target, utcnow())
    left = {
        row.name: row.target_id
        for row in ledger.ledger_rows(campaign)
        if row.name.startswith("留守")
    }
    targets = {name: db.session.get(CampaignTarget, tid) for name, tid in left.items()}
    for name in ("留守0", "留守1", "留守2"):
        answer_all(targets[name], 0)
        services.submit(targets[name], utcnow())
    decide(targets["留守2"], v.WITHDRAWAL, counselor)
    decide(targets["留守3"], v.OPT_OUT_DECISION, counselor)
    decide(targets["留守4"], v.OPT_OUT_DECISION, counselor)

    found = ledger.equity(campaign)
    assert (found.overall.targets, found.overall.screened) == (12, 8)
    by_left = dict(found.dimensions["left_behind"])
    assert (by_left[True].targets, by_left[True].screened) == (6, 2)
    assert by_left[True].withheld == {
        v.REASON_AWAITING_CONSENT: 0,
        v.REASON_OPTED_OUT: 2,
        v.REASON_WITHDRAWN: 1,
    }
    assert by_left[False].rate == 1.0
    reference = found.overall.rate
    assert reference == pytest.approx(8 / 12)
    assert ledger.figures(by_left[True], False, reference).below is True
    assert ledger.figures(by_left[False], False, reference).below is False
    # Nobody boards: that group has no rate and is not flagged.
    by_boarding = dict(found.dimensions["boarding"])
    assert by_boarding[True].targets == 0
    assert ledger.figures(by_boarding[True], False, reference).below is False
    assert [grade for grade, _ in found.dimensions["grade"]] == [7]
    assert [school.code for school, _ in found.dimensions["school"]] == ["SA"]
    sexes = dict(found.dimensions["sex"])
    assert sexes["M"].targets + sexes["F"].targets == 12
    # Scoped to a school: the same figures (the campaign has one school).
    assert ledger.equity(campaign, world.schools["A"]).overall.counts == found.overall.counts


def test_opt_in_targets_count_as_awaiting_consent(world, campaign_plan):
    plan = campaign_plan(world, consent_mode="opt_in", legal_basis="guardian_consent")
    campaign = services.open_campaign(world.district, world.schools["A"], plan, None)
    found = ledger.equity(campaign)
    assert found.overall.withheld[v.REASON_AWAITING_CONSENT] == 6
    assert ledger.figures(found.overall, False).cells["withheld_awaiting_consent"] == 6
    assert found.overall.rate == 0.0


def test_exactly_ten_points_below_is_not_flagged():
    tally = ledger.Tally()
    tally.add(v.SCREENED_VALID, 5)
    tally.add(v.NOT_STARTED, 5)
    assert ledger.figures(tally, False, reference=0.6).below is False
    assert ledger.figures(tally, False, reference=0.61).below is True


def test_small_cells_are_suppressed_for_monitors_only():
    tally = ledger.Tally()
    tally.add(v.SCREENED_VALID, 3)
    tally.add(v.NOT_STARTED, 40)
    shown = ledger.figures(tally, suppress=True)
    assert shown.cells[v.SCREENED_VALID] == "<10"  # k = SMALL_CELL_K, 10 by default
    assert shown.cells[v.TRANSFERRED] == 0  # nobody: shown as 0
    assert shown.cells["targets"] == 43
    assert shown.rate is None and shown.rate_text == ""  # 3/43 would give the 3 away
    whole = ledger.figures(tally, suppress=False)
    assert whole.cells[v.SCREENED_VALID] == 3
    assert whole.rate_text == "7.0%"
    four = ledger.Tally()
    four.add(v.SCREENED_VALID, 4)
    assert ledger.figures(four, suppress=True).cells["enrolled"] == "<10"
    ten = ledger.Tally()
    ten.add(v.SCREENED_VALID, 10)
    assert ledger.figures(ten, suppress=True).cells[v.SCREENED_VALID] == 10
    assert ledger.figures(ten, suppress=True).rate == 1.0


def test_who_gets_suppressed_figures(world):
    users = world.users
    assert ledger.suppressed_for(users["monitor"], "coverage.view_district", world.district)
    assert not ledger.suppressed_for(users["admin"], "coverage.view_district", world.district)
    assert not ledger.suppressed_for(users["counselor"], "coverage.equity", world.schools["A"])
    assert ledger.suppressed_for(users["monitor"], "coverage.equity", world.schools["A"])


# --- complementary suppression (pure: tallies built by hand) -------------------------


SUPPRESSED = "<10"  # outside an application: the rule's default k


def _tally(**counts: int):
    from wellbeing.campaigns.ledger import Tally

    tally = Tally()
    for state, count in counts.items():
        tally.add(state, count, "opted_out" if state == "consent_withheld" else None)
    return tally


def _table(*rows):
    from wellbeing.campaigns.ledger import total

    return [*rows, total(rows)]


def test_a_lone_small_cell_takes_another_cell_of_its_row_with_it():
    from wellbeing.campaigns.ledger import table_figures

    row = _tally(screened_valid=40, absent=3, not_started=12)
    (only,) = table_figures([row], suppress=True)
    assert only.cells["absent"] == SUPPRESSED
    assert only.cells["not_started"] == SUPPRESSED  # else 55 - 40 - 12 = 3
    assert only.cells["screened_valid"] == 40 and only.cells["targets"] == 55


def test_a_lone_small_cell_in_a_column_takes_another_school_with_it():
    from wellbeing.campaigns.ledger import table_figures

    shown = table_figures(
        _table(
            _tally(screened_valid=50, absent=3, in_progress=3),
            _tally(screened_valid=60, absent=10, in_progress=10),
            _tally(screened_valid=70, absent=20, in_progress=20),
        ),
        suppress=True,
    )
    assert [f.cells["absent"] for f in shown] == [SUPPRESSED, SUPPRESSED, 20, 33]


def test_a_small_transferred_count_hides_the_rates_denominator():
    from wellbeing.campaigns.ledger import table_figures

    (only,) = table_figures([_tally(screened_valid=40, transferred=2)], suppress=True)
    assert only.cells["transferred"] == only.cells["enrolled"] == SUPPRESSED
    assert only.rate is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=8, max_size=8), min_size=1, max_size=5))
def test_no_hidden_cell_can_be_worked_out_by_subtraction(rows):
    from wellbeing.campaigns import vocabulary as v
    from wellbeing.campaigns.ledger import _PARTS, table_figures

    tallies = _table(*(_tally(**dict(zip(v.STATES, row, strict=True))) for row in rows))
    shown = table_figures(tallies, suppress=True)
    hidden = {(r, k) for r, f in enumerate(shown) for k, n in f.cells.items() if n == SUPPRESSED}
    assert all(not (0 < n < 10) for f in shown for n in f.cells.values() if n != SUPPRESSED)
    last = len(shown) - 1
    groups = [
        ([(r, k) for k in part], (r, total)) for r in range(last + 1) for part, total in _PARTS
    ]
    groups += [([(r, k) for r in range(last)], (last, k)) for k in shown[-1].cells] if last else []
    for parts, total in groups:
        alone = len([cell for cell in parts if cell in hidden]) == 1
        assert not (alone and total not in hidden), (parts, total)


def test_breakdowns_of_one_total_hide_its_cells_alike():
    """School A's 12 absent is hidden beside its 3 in progress; the other school has none,
    so the overall 12 would give it away: hidden in the whole row that every breakdown
    shares, though the whole on its own (or the sex breakdown) would show it."""
    from wellbeing.campaigns.ledger import breakdown_figures, figures

    by_school = [
        _tally(screened_valid=40, absent=12, in_progress=3),
        _tally(screened_valid=50, in_progress=20),
    ]
    by_sex = [
        _tally(screened_valid=45, absent=6, in_progress=10),
        _tally(screened_valid=45, absent=6, in_progress=13),
    ]
    overall = _table(*by_school)[-1]
    assert figures(overall, suppress=True).cells["absent"] == 12
    whole, shown = breakdown_figures(overall, {"school": by_school, "sex": by_sex}, True, None)
    assert shown["school"][0].cells["absent"] == SUPPRESSED
    assert whole.cells["absent"] == SUPPRESSED
    assert shown["sex"][0].cells["absent"] == shown["sex"][1].cells["absent"] == SUPPRESSED


def _district(monkeypatch, schools: list, by_sex: list):
    """A campaign's district table and equity breakdowns, without a database."""
    from wellbeing.campaigns import ledger as lg

    whole = _table(*schools)[-1]
    level = lg.Level([("A", schools[0]), ("B", schools[1])], whole)
    found = lg.Equity(
        {"school": list(level.rows), "sex": list(zip("FM", by_sex, strict=True))}, whole, {}
    )
    monkeypatch.setattr(lg, "district_level", lambda campaign: level)
    monkeypatch.setattr(lg, "equity", lambda campaign, school=None: found)
    return lg, level


def test_a_campaigns_suppressed_whole_is_the_district_tables_total_row(monkeypatch):
    """The campaign pages show a monitor the same total row as the coverage page: school
    A's 12 absent, hidden beside its 3, is the district's whole 12 absent."""
    schools = [
        _tally(screened_valid=40, absent=12, in_progress=3),
        _tally(screened_valid=50, in_progress=20),
    ]
    by_sex = [
        _tally(screened_valid=45, absent=6, in_progress=10),
        _tally(screened_valid=45, absent=6, in_progress=13),
    ]
    lg, level = _district(monkeypatch, schools, by_sex)
    assert lg.figures(level.total, suppress=True).cells["absent"] == 12
    assert lg.campaign_figures(None, level.total, suppress=True).cells["absent"] == SUPPRESSED
    assert lg.campaign_figures(None, level.total, suppress=False).cells["absent"] == 12


def test_the_district_table_hides_what_the_equity_view_must_hide(monkeypatch):
    """The girls' 12 absent hide beside their 3 in progress, and the boys have none: the
    whole's 12 absent would give the girls' away, so the district's table of schools (on
    its own it would show it) hides it too, with the whole's in progress beside it."""
    schools = [
        _tally(screened_valid=40, absent=6, in_progress=10),
        _tally(screened_valid=50, absent=6, in_progress=10),
    ]
    by_sex = [
        _tally(screened_valid=45, absent=12, in_progress=3),
        _tally(screened_valid=45, in_progress=17),
    ]
    lg, level = _district(monkeypatch, schools, by_sex)
    alone = lg.table_figures([*schools, level.total], True)[-1]
    assert alone.cells["absent"] == 12  # what a table suppressed by itself would show
    _level, shown = lg.district_table(None, True)
    assert shown[-1].cells["absent"] == shown[-1].cells["in_progress"] == SUPPRESSED
    whole, by = lg.equity_figures(lg.equity(None), True, None)
    assert [f.cells for f in by["school"]] == [f.cells for f in shown[:-1]]
    assert whole.cells == shown[-1].cells
    _level, plain = lg.district_table(None, False)
    assert plain[-1].cells["absent"] == 12
