"""The campaign pages' long lists are paged with the shared pager, and empty ones say
what is missing and what to do: the campaign list and page, the school's coverage
ledger, the crisis alerts. A bad page number shows the nearest page, never an error.
Pages are read in Chinese (the default), as staff read them."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login
from tests.factories import make_student
from tests.wellbeing.test_paged_pages import BAD_PAGES, add_classes, pager_range, rows_in, text_of
from wellbeing.campaigns import services
from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import SchoolClass

pytestmark = pytest.mark.app


# ----------------------------------------------------------------------------- coverage


def test_the_school_ledger_pages_its_missing_students(client, world, campaign):
    for n in range(55):
        make_student(world.classes["A1"], f"补录学生{n:02d}")
    services.refresh_population(campaign)
    db.session.flush()
    school = world.schools["A"]
    url = f"/coverage/schools/{school.id}/campaigns/{campaign.id}"
    login(client, "counselor")
    page = text_of(client.get(url))
    # The counts by class come first and are whole; the 61 missing names are paged.
    assert rows_in(page, "coverage-classes", r'<tr data-class="') == 2
    assert rows_in(page, "missing-list", r'<tr data-student="') == 50
    assert pager_range(page, 1, 50, 61) and "尚未筛查的学生及原因（61）" in page
    assert f'href="{url}?missing_page=2#missing"' in page
    assert "目前没有待重测的学生。" in page and "访问码" in page
    second = text_of(client.get(f"{url}?missing_page=2&retest_page=abc"))
    assert rows_in(second, "missing-list", r'<tr data-student="') == 11
    assert pager_range(second, 51, 61, 61)
    clamped = text_of(client.get(f"{url}?missing_page=99999"))
    assert pager_range(clamped, 51, 61, 61)


def test_the_campaign_page_pages_its_classes_and_folds_the_ledger_links(client, world, campaign):
    add_classes(world, 50)
    services.refresh_population(campaign)
    db.session.flush()
    login(client, "admin")
    url = f"/campaigns/{campaign.id}"
    page = text_of(client.get(url))
    assert "第 1–50 条，共 52 条" in page
    assert rows_in(page, "campaign-classes", r'<tr data-class="') == 50
    assert f'href="{url}?class_page=2#classes"' in page
    # Summaries first: the coverage by state comes before the list of classes.
    assert page.index('id="coverage-by-state"') < page.index('id="campaign-classes"')
    second = text_of(client.get(f"{url}?class_page=2"))
    assert rows_in(second, "campaign-classes", r'<tr data-class="') == 2
    # Grades and languages in words, not codes.
    assert "<dd>七年级</dd>" in page and "中文、英文" in page
    for bad in BAD_PAGES:
        assert client.get(f"{url}?class_page={bad}").status_code == 200


def test_a_campaign_with_no_target_in_scope_says_what_to_do(client, world, campaign_plan):
    empty = SchoolClass(school=world.schools["B"], grade=9, name="1", entry_year=2024)
    db.session.add(empty)
    db.session.flush()
    opened = services.open_campaign(
        world.district,
        world.schools["B"],
        campaign_plan(world, school_ids=[world.schools["B"].id], grades=[9]),
        world.users["admin"],
    )
    login(client, "admin")
    page = text_of(client.get(f"/campaigns/{opened.id}"))
    assert 'id="classes-empty"' in page and "更新筛查名单" in page
    school = text_of(client.get(f"/coverage/schools/{world.schools['B'].id}/campaigns/{opened.id}"))
    assert "本校尚无学生列入本次筛查名单。" in school
    klass = text_of(client.get(f"/coverage/classes/{empty.id}/campaigns/{opened.id}"))
    assert "本班尚无学生列入本次筛查名单。" in klass


def test_the_campaign_list_is_paged_and_says_who_opens_campaigns(client, world, campaign_plan):
    login(client, "teacher")
    page = text_of(client.get("/campaigns/"))
    assert "筛查由本校心理教师或区系统管理员开启" in page
    for n in range(22):
        services.open_campaign(
            world.district, world.schools["A"], campaign_plan(world, name=f"筛查{n:02d}"), None
        )
    db.session.flush()
    page = text_of(client.get("/campaigns/"))
    assert pager_range(page, 1, 20, 22) and page.count('<tr data-campaign="') == 20
    last = text_of(client.get("/campaigns/?page=5"))
    assert pager_range(last, 21, 22, 22) and last.count('<tr data-campaign="') == 2


# ----------------------------------------------------------------------------- alerts


def test_the_crisis_alerts_are_paged_and_the_open_count_is_of_all(client, world, campaign):
    school = world.schools["A"]
    student = world.students["A1-0"]
    for n in range(53):
        alert = CrisisAlert(school_id=school.id, campaign_id=campaign.id, source="critical_item")
        alert.subject = {"student_id": student.id, "response_id": None}
        alert.detail = f"phq9@1.0: phq9_9 #{n}"
        db.session.add(alert)
    db.session.flush()
    login(client, "counselor")
    url = f"/schools/{school.id}/alerts"
    page = text_of(client.get(url))
    assert pager_range(page, 1, 50, 53) and page.count('<tr data-alert="') == 50
    assert re.search(r'id="alerts-open">[^<]*53', page)
    last = text_of(client.get(f"{url}?page=2"))
    assert last.count('<tr data-alert="') == 3
    assert text_of(client.get(f"{url}?page=abc")).count('<tr data-alert="') == 50


def test_no_crisis_alert_says_when_one_appears(client, world):
    login(client, "counselor")
    page = text_of(client.get(f"/schools/{world.schools['A'].id}/alerts"))
    assert "本校暂无危机预警。" in page and "关键题目" in page


def test_chinese_headings_use_a_full_width_colon(client, world, campaign):
    login(client, "counselor")
    school, school_class = world.schools["A"], world.classes["A1"]
    for url, heading in (
        (f"/schools/{school.id}/alerts", "<h1>危机预警："),
        (f"/coverage/schools/{school.id}/campaigns/{campaign.id}", "<h1>筛查覆盖台账："),
        (f"/coverage/classes/{school_class.id}/campaigns/{campaign.id}", "<h1>筛查覆盖台账："),
    ):
        page = text_of(client.get(url))
        assert heading in page, url
        assert re.search(r"<h1>[^<]*[^\x00-\x7f]: ", page) is None, url
    client.get("/language/en")
    page = text_of(client.get(f"/schools/{school.id}/alerts"))
    assert f"<h1>Crisis alerts: {school.name}</h1>" in page


def test_a_slip_page_without_slips_says_why(client, world, campaign):
    from tests.wellbeing.campaigns.conftest import target_of

    student = world.students["A1-0"]
    services.mark(target_of(campaign, student), "exempt", "在外地就医", world.users["counselor"])
    db.session.flush()
    login(client, "counselor")
    page = text_of(client.get(f"/campaigns/students/{student.id}/campaigns/{campaign.id}/slip"))
    assert 'id="slips-empty"' in page and "目前没有可作答的学生" in page
    assert 'class="slip"' not in page
    slips = text_of(
        client.get(f"/campaigns/classes/{world.classes['A1'].id}/campaigns/{campaign.id}/slips")
    )
    assert "按学籍号排序" in slips and 'id="slips-empty"' not in slips
