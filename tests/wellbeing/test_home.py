"""The home page: a panel per role with its work at a glance, every count equal to the
data and linked to the list behind it; a monitor's small cells suppressed by the ledger;
a committee member shown nothing about classmates; a bounded number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.conftest import login
from tests.factories import make_student, make_user
from tests.wellbeing.campaigns.conftest import (  # the fixtures, shared with campaigns' tests
    answer_all,
    campaign,  # noqa: F401
    campaign_plan,  # noqa: F401
    target_of,
)
from wellbeing.campaigns import services
from wellbeing.campaigns import vocabulary as v
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.health import entry, importer
from wellbeing.health.rounds import vision_round_for

pytestmark = pytest.mark.app


def _figures(page: str) -> dict[str, tuple[str, str | None]]:
    """data-figure -> (the count shown, the address it links to)."""
    found = {}
    for name, body in re.findall(r'data-figure="(\w+)">(.*?)</li>', page, re.S):
        count = re.search(r'<span class="count">([^<]*)</span>', body).group(1).strip()
        link = re.search(r'<a href="([^"]+)">', body)
        found[name] = (count, link.group(1).replace("&amp;", "&") if link else None)
    return found


def _home(client, username: str) -> str:
    login(client, username)
    page = client.get("/home")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _screen(opened, student, alert: bool = False) -> None:
    target = target_of(opened, student)
    answer_all(target, 0)
    if alert:
        services.autosave(target, "phq9", "phq9_9", 1)
    services.submit(target, utcnow())


def _opt_out(opened, student, user) -> None:
    decision = services.ConsentDecision(v.OPT_OUT_DECISION, "paper", "家长", utcnow())
    services.record_consent(target_of(opened, student), decision, user)


@pytest.fixture
def screened(world, request):
    """School A's campaign: two of six screened (both with a crisis alert), one opted out."""
    opened = request.getfixturevalue("campaign")
    _screen(opened, world.students["A1-0"], alert=True)
    _screen(opened, world.students["A1-1"], alert=True)
    _opt_out(opened, world.students["A2-0"], world.users["counselor"])
    db.session.commit()
    return opened


def test_counselor_sees_alerts_waiting_and_the_school_coverage(client, world, screened):
    figures = _figures(_home(client, "counselor"))
    school = world.schools["A"].id
    ledger = f"/coverage/schools/{school}/campaigns/{screened.id}"
    assert figures["alerts"] == ("2", f"/schools/{school}/alerts")
    assert figures["screened"] == ("2", ledger)
    assert figures["enrolled"] == ("6", ledger)
    assert figures["rate"] == ("33.3%", ledger)
    assert figures["not_yet"] == ("3", ledger)  # six, less two screened, less one opted out
    assert figures["consent"] == ("1", ledger)


def test_counselor_without_an_open_campaign_is_told_what_to_do(client, world):
    page = _home(client, "counselor")
    assert _figures(page)["alerts"][0] == "0"
    assert "本校目前没有进行中的心理筛查" in page


def test_head_teacher_sees_the_class_coverage_and_what_is_missing(client, world, screened):
    page = _home(client, "teacher")
    figures = _figures(page)
    ledger = f"/coverage/classes/{world.classes['A1'].id}/campaigns/{screened.id}"
    # Class A1: three targets, two screened, nobody opted out (that was A2).
    assert figures["screened"] == ("2", ledger) and figures["enrolled"] == ("3", ledger)
    assert figures["not_yet"] == ("1", ledger) and figures["consent"] == ("0", ledger)
    assert "本班本轮尚无视力记录" in page
    assert "学生A2" not in page and "学生A1" not in page  # counts, never names


def _vision_row(world, key: str) -> dict:
    student = world.students[key]
    values = {"ucva_right": "4.8", "ucva_left": "4.9", "sph_right": "-1.0", "cyl_right": "0"}
    values |= {"sph_left": "-0.5", "cyl_left": "0", "student": student.id}
    return values | {"measured_on": utcnow().date().isoformat()}


def test_doctor_sees_how_many_classes_are_done(client, world):
    vision_round = vision_round_for(utcnow().date())
    for key, school_class in (("A1-0", "A1"), ("A1-1", "A1"), ("A1-2", "A1"), ("A2-0", "A2")):
        outcome = entry.save_vision_row(
            world.classes[school_class], vision_round, _vision_row(world, key), None
        )
        assert outcome.ok, outcome.errors
    db.session.commit()
    page = _home(client, "doctor")
    figures = _figures(page)
    href = f"/health/schools/{world.schools['A'].id}?vision_round={vision_round.key}"
    assert figures["vision_done"] == ("1", href)
    assert figures["vision_in_progress"] == ("1", href)
    assert figures["vision_not_started"] == ("0", href)
    assert figures["vision_missing"] == ("2", href)
    # No fitness test yet: the panel says so and where to enter them.
    assert "本轮尚无记录" in page and "fitness_done" not in figures


def test_admin_sees_the_latest_imports_and_the_staffing_gaps(client, world):
    page = _home(client, "admin")
    assert "尚未导入任何数据" in page
    assert _figures(page)["without_counselor"] == ("1", "/district/")  # school B
    client.post("/logout")
    today = utcnow().date()
    data = "student_id,ucva_right,ucva_left,sph_right,cyl_right,sph_left,cyl_left\n" + "\n".join(
        f"{world.students[key].student_number},5.0,5.0,0,0,0,0" for key in ("A1-0", "A1-1")
    )
    outcome = importer.import_vision(
        data.encode(), "round.csv", world.schools["A"], vision_round_for(today), today, None
    )
    assert outcome.ok, outcome.problems
    db.session.commit()
    page = _home(client, "admin")
    assert "最近的导入" in page and "视力记录" in page
    assert re.search(r"<td>2</td>", page)  # its rows
    assert 'href="/admin/audit/?action=import"' in page


def test_monitor_sees_the_headline_with_small_cells_suppressed(client, world, screened):
    page = _home(client, "monitor")
    figures = _figures(page)
    ledger = f"/coverage/districts/{world.district.id}/campaigns/{screened.id}"
    # Two screened and one opted out are small cells: "<10", the rate hidden, and the
    # sum of the states still to screen left out (it would give them away).
    assert figures["screened"] == ("&lt;10", ledger)
    assert figures["consent"] == ("&lt;10", ledger)
    assert figures["rate"] == ("—", ledger)
    assert "not_yet" not in figures
    # The same cells as the ledger's district page, which applies the one suppression.
    district = client.get(ledger).get_data(as_text=True)
    assert "&lt;10" in district


def test_committee_member_sees_only_their_own_links(client, world, screened):
    page = _home(client, "committee")
    main = page[page.index("<main") :]
    assert "data-figure" not in main
    for key in ("A1-0", "A1-2", "A2-0"):
        assert world.students[key].name not in main
    assert f'href="/classes/{world.classes["A1"].id}/names"' in main
    assert "/coverage/" not in main and "/health/" not in main


def test_a_user_with_several_roles_sees_each_panel(client, world, screened, password_hash):
    make_user(
        "both",
        password_hash,
        ("counselor", world.schools["A"]),
        ("doctor", world.schools["A"]),
    )
    db.session.commit()
    page = _home(client, "both")
    assert 'data-role="counselor"' in page and 'data-role="doctor"' in page
    assert _figures(page)["alerts"][0] == "2"


def test_the_home_does_not_grow_with_the_number_of_students(client, world, screened):
    def statements() -> int:
        seen = []

        def count(*args):
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/home").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    login(client, "counselor")
    before = statements()
    for index in range(30):
        make_student(world.classes["A1"], f"新生{index}")
    db.session.commit()
    assert statements() == before < 40


def test_an_expired_campaign_is_not_the_open_one(client, world, screened):
    screened.closes_at = utcnow() - timedelta(minutes=1)
    screened.opens_at = screened.closes_at - timedelta(days=3)
    db.session.commit()
    assert "本校目前没有进行中的心理筛查" in _home(client, "counselor")
