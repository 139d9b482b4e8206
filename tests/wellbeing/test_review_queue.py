"""The review queue (审核队列): a school's flagged students, red first then the longest
waiting; filters by class, grade, tier, instrument, state and "my caseload"; paging;
counts per tier; empty states that say what to do; one audit row with counts, no names;
only the school's counselors; the counselor's home page figure. Students are screened
through the real services (scored, tiered by the shipped model). Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import make_student, make_user, screen
from tests.wellbeing.campaigns.conftest import campaign, campaign_plan  # noqa: F401
from wellbeing.campaigns import services as campaign_services
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.review.decisions import Decision, decide
from wellbeing.review.models import RiskAssessment
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _cases(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-case="(\d+)"', page)]


def _waited(assessment: RiskAssessment, hours: float) -> None:
    """The case entered the queue `hours` ago."""
    flagged = (utcnow() - timedelta(hours=hours)).isoformat()
    assessment.status = {**assessment.status, "flagged_at": flagged}


@pytest.fixture
def screened(world, campaign):  # noqa: F811
    """School A's six grade-7 students screened: A1-0 red (70 points), A1-1 orange, A1-2
    yellow, A2-0 orange (waiting longer than A1-1), A2-1 none, A2-2 red by the critical
    item (0 points, waiting longest). By label: the assessments."""
    profiles = {
        "A1-0": ("red", 5),
        "A1-1": ("orange", 2),
        "A1-2": ("yellow", 30),
        "A2-0": ("orange", 20),
        "A2-1": ("none", 40),
        "A2-2": ("critical", 50),
    }
    found = {}
    for label, (profile, hours) in profiles.items():
        found[label] = screen(campaign, world.students[label], profile)
        if found[label].state is not None:
            _waited(found[label], hours)
    db.session.commit()
    return found


def _url(world, **args) -> str:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    return f"/schools/{world.schools['A'].id}/review" + (f"?{query}" if query else "")


def test_the_shipped_model_tiers_the_profiles(screened):
    tiers = {label: (a.tier, a.points, a.rule, a.state) for label, a in screened.items()}
    assert tiers == {
        "A1-0": ("red", 70, None, "waiting"),
        "A1-1": ("orange", 30, None, "waiting"),
        "A1-2": ("yellow", 20, None, "waiting"),
        "A2-0": ("orange", 30, None, "waiting"),
        "A2-1": ("none", 0, None, None),
        "A2-2": ("red", 0, "critical_item", "waiting"),
    }


def test_red_first_then_the_longest_waiting(client, world, screened):
    login(client, "counselor")
    page = _page(client.get(_url(world)))
    order = ["A2-2", "A1-0", "A2-0", "A1-1", "A1-2"]
    assert _cases(page) == [screened[label].id for label in order]
    # Counts per tier at the top, the tiers and states in Chinese, the class as 七年级1班.
    counts = dict(re.findall(r'data-figure="(\w+)">.*?<span class="count">(\d+)</span>', page))
    assert counts == {"red": "2", "orange": "2", "yellow": "1"}
    assert "一级（红色）" in page and "待审核" in page and "七年级2班" in page
    assert world.students["A2-1"].name not in page  # not flagged: no case


def test_filters_by_class_grade_tier_instrument_and_state(client, world, screened):
    login(client, "counselor")
    ids = {label: a.id for label, a in screened.items()}

    def shown(**args) -> list[int]:
        return _cases(_page(client.get(_url(world, **args))))

    a2 = world.classes["A2"].id
    assert shown(**{"class": a2}) == [ids["A2-2"], ids["A2-0"]]
    assert shown(grade=7) == shown()
    assert shown(grade=8) == []
    assert shown(tier="orange") == [ids["A2-0"], ids["A1-1"]]
    # Counts follow the other filters, not the tier's (they are the tier tabs).
    page = _page(client.get(_url(world, tier="orange", **{"class": a2})))
    counts = dict(re.findall(r'data-figure="(\w+)">.*?<span class="count">(\d+)</span>', page))
    assert counts == {"red": "1", "orange": "1", "yellow": "0"}
    # The instrument whose score gave points: only A1-0's GAD-7 scored.
    assert shown(instrument="gad7") == [ids["A1-0"]]
    assert shown(instrument="phq9") == [ids["A1-0"], ids["A2-0"], ids["A1-1"], ids["A1-2"]]
    assert shown(state="closed") == []
    assert shown(state="all") == shown()
    # Nonsense in the query string is ignored, never an error.
    assert shown(**{"class": "x", "tier": "purple", "state": "nope", "page": "-3"}) == shown()


def test_the_filter_lists_classes_in_grade_and_number_order(client, world, screened):
    school = world.schools["A"]
    from wellbeing.roster.models import SchoolClass

    for name in ("10", "3"):
        db.session.add(SchoolClass(school=school, grade=7, name=name, entry_year=2026))
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get(_url(world)))
    select_html = page.split('id="filter-class"')[1].split("</select>")[0]
    names = re.findall(r">(七年级\d+班)<", select_html)
    assert names == ["七年级1班", "七年级2班", "七年级3班", "七年级10班"]
    instruments = page.split('id="filter-instrument"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', instruments) == ["gad7", "phq9"]


def test_my_caseload_and_the_closed_state(client, world, screened):
    counselor = world.users["counselor"]
    other = make_user("counselor2", counselor.password_hash, ("counselor", world.schools["A"]))
    decide(screened["A1-1"], Decision(v.CONFIRM), counselor)
    decide(screened["A2-0"], Decision(v.CLOSE, reason="家长已带孩子就医"), other)
    db.session.commit()
    login(client, "counselor")
    assert _cases(_page(client.get(_url(world, mine=1)))) == [screened["A1-1"].id]
    page = _page(client.get(_url(world)))
    assert screened["A2-0"].id not in _cases(page)  # closed: out of the default list
    assert "跟进中" in page and "counselor" in page  # the case's counselor, by name
    assert _cases(_page(client.get(_url(world, state="closed")))) == [screened["A2-0"].id]
    client.post("/logout")
    login(client, "counselor2")
    assert _cases(_page(client.get(_url(world, mine=1)))) == []
    assert _cases(_page(client.get(_url(world, mine=1, state="all")))) == [screened["A2-0"].id]


def _flag_many(world, campaign, count: int) -> list[RiskAssessment]:  # noqa: F811
    """`count` more yellow cases in a new class of school A, written as the review writes
    them (the queue reads only the sealed status)."""
    from wellbeing.roster.models import SchoolClass

    school_class = SchoolClass(school=world.schools["A"], grade=7, name="9", entry_year=2026)
    students = [make_student(school_class, f"学生9-{n}") for n in range(count)]
    db.session.flush()
    campaign_services.refresh_population(campaign)
    from wellbeing.campaigns.models import CampaignTarget

    targets = {
        t.student_id: t
        for t in db.session.scalars(
            select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
        )
    }
    rows = []
    now = utcnow()
    for n, student in enumerate(students):
        row = RiskAssessment(
            school_id=school_class.school.id,
            campaign_id=campaign.id,
            target_id=targets[student.id].id,
            student_id=student.id,
            attempt=1,
            model_version="default-1",
        )
        row.status = {
            "tier": "yellow",
            "points": 20,
            "rule": None,
            "state": "waiting",
            "reviewed_tier": None,
            "owner_id": None,
            "flagged_at": (now - timedelta(minutes=n)).isoformat(),
            "decided_at": None,
        }
        row.explanation = {"contributions": [], "rule": None, "inputs": {}}
        rows.append(row)
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_the_queue_is_paged(client, world, campaign):  # noqa: F811
    rows = _flag_many(world, campaign, 55)
    login(client, "counselor")
    first = _page(client.get(_url(world)))
    assert len(_cases(first)) == 50
    assert "第 1–50 条，共 55 条" in first
    # The longest waiting (the last written: flagged 54 minutes ago) first.
    assert _cases(first)[0] == rows[-1].id
    second = _page(client.get(_url(world, page=2)))
    assert _cases(second) == [row.id for row in reversed(rows[:5])]
    # A page past the end shows the last; the filters are kept in the pager's links.
    assert _cases(_page(client.get(_url(world, page=99)))) == _cases(second)
    assert "tier=yellow" in _page(client.get(_url(world, tier="yellow")))


def test_one_audit_row_with_counts_and_no_names(client, world, screened):
    login(client, "counselor")
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    _page(client.get(_url(world)))
    rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)))
    assert [(r.action, r.target_type, r.target_id) for r in rows] == [
        ("view_sensitive", "school", str(world.schools["A"].id))
    ]
    assert json.loads(rows[0].detail) == {"cases": 5, "shown": 5, "page": 1}


def test_empty_states_say_what_is_missing_and_what_to_do(client, world, campaign):  # noqa: F811
    login(client, "counselor")
    page = _page(client.get(_url(world)))
    assert 'id="queue-empty"' in page and "/campaigns" in page
    assert "本校尚无已分级的筛查" in page
    screen(campaign, world.students["A2-1"], "none")
    db.session.commit()
    page = _page(client.get(_url(world)))
    assert "没有被标记的学生" in page
    page = _page(client.get(_url(world, tier="red", mine=1)))
    assert "没有符合" in page or "没有被标记的学生" in page


def test_only_the_schools_counselors(client, world, screened):
    other = make_user("counselor-b", world.users["counselor"].password_hash)
    from wellbeing.roster.models import RoleAssignment

    other.roles.append(RoleAssignment(role="counselor", school=world.schools["B"]))
    db.session.commit()
    for role in ("admin", "school_leader", "head_teacher", "doctor", "monitor"):
        login(client, world.users[role].username)
        assert client.get(_url(world)).status_code == 403, role
        client.post("/logout")
    login(client, "counselor-b")
    assert client.get(_url(world)).status_code == 403
    # School B's queue, then A's case through B's address: not found.
    assert client.get(f"/schools/{world.schools['B'].id}/review").status_code == 200
    case = f"/schools/{world.schools['B'].id}/review/{screened['A1-0'].id}"
    assert client.get(case).status_code == 404
    assert client.post(case + "/decide", data={"action": "confirm"}).status_code == 404
    assert screened["A1-0"].state == "waiting"


def test_the_counselors_home_page_counts_the_waiting_cases(client, world, screened):
    decide(screened["A1-1"], Decision(v.CONFIRM), world.users["counselor"])
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get("/home"))
    figure = re.search(r'data-figure="review_waiting"><a href="([^"]+)">.*?(\d+)</span>', page)
    assert figure.group(1) == f"/schools/{world.schools['A'].id}/review"
    assert figure.group(2) == "4"
    assert "待审核" in page
