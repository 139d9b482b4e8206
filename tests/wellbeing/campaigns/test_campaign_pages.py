"""The staff pages of campaigns: the list per role's scope, opening a campaign (a
counselor's school campaign, an administrator's district campaign, refused plans), the
campaign page with its consent basis, editing by the owner, refreshing the population,
code slips and guardian notices (audited), and a school's crisis alerts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import add_campaigns, make_student
from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import codes, services
from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.clock import from_local, local_text, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _english(client) -> None:
    """English pages: the assertions read the English msgids whatever the catalogue."""
    client.get("/language/en")


def _page(response) -> str:
    return response.get_data(as_text=True)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _local(at: datetime) -> str:
    """As a datetime-local input sends it, in China time."""
    return to_local(at).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def district_campaign(world, campaign_plan):
    """A district campaign (no owner school) over schools A and B, grade 7."""
    return services.open_campaign(
        world.district,
        None,
        campaign_plan(
            world,
            name="区级筛查",
            school_ids=[world.schools["A"].id, world.schools["B"].id],
        ),
        world.users["admin"],
    )


def _row(page: str, campaign: Campaign) -> str:
    match = re.search(rf'<tr data-campaign="{campaign.id}">(.*?)</tr>', page, re.S)
    assert match, f"campaign {campaign.name} is not listed"
    return match.group(1)


def _screen(world, campaign, label: str) -> None:
    target = target_of(campaign, world.students[label])
    answer_all(target, 0)
    services.submit(target, utcnow())


# ----------------------------------------------------------------------------- China time


def test_china_time_is_a_fixed_eight_hours_ahead_of_utc():
    stored = datetime(2026, 8, 31, 16, 30)
    assert to_local(stored) == datetime(2026, 9, 1, 0, 30)
    assert from_local(to_local(stored)) == stored
    assert local_text(stored) == "2026-09-01 00:30"


# ----------------------------------------------------------------------------- the list


def test_the_list_shows_the_campaigns_of_each_roles_scope(
    client, world, campaign_plan, district_campaign
):
    add_campaigns(world)
    grade8 = services.open_campaign(
        world.district,
        world.schools["A"],
        campaign_plan(world, name="八年级筛查", grades=[8]),
        world.users["counselor"],
    )
    campaigns = world.campaigns
    expected = {
        "admin": {"测试筛查A", "测试筛查B", "区级筛查", "八年级筛查"},
        "monitor": {"测试筛查A", "测试筛查B", "区级筛查", "八年级筛查"},
        "counselor": {"测试筛查A", "区级筛查", "八年级筛查"},
        # The head teacher's class is grade 7: not the grade-8 campaign.
        "head_teacher": {"测试筛查A", "区级筛查"},
    }
    every = {c.name for c in campaigns.values()} | {"区级筛查", grade8.name}
    for role, names in expected.items():
        login(client, world.users[role].username)
        page = _page(client.get("/campaigns/"))
        shown = {name for name in every if f">{name}</a>" in page}
        assert shown == names, role
        # Newest first: the district's campaign was opened first, the grade-8 one last.
        order = [name for name in ("八年级筛查", "测试筛查A", "区级筛查") if name in names]
        assert sorted(order, key=lambda name: page.index(f">{name}</a>")) == order, role
        client.post("/logout")


def test_the_coverage_figure_counts_only_the_viewers_scope(client, world, district_campaign):
    _screen(world, district_campaign, "A1-0")
    _screen(world, district_campaign, "B1-0")
    leaver = target_of(district_campaign, world.students["A2-0"])
    services.mark(leaver, "transferred", "转学", world.users["counselor"])
    db.session.flush()

    login(client, "admin")
    row = _row(_page(client.get("/campaigns/")), district_campaign)
    assert "2 / 11" in row and "18.2%" in row
    client.post("/logout")

    login(client, "counselor")  # school A: six drawn, one left, one screened
    row = _row(_page(client.get("/campaigns/")), district_campaign)
    assert "1 / 5" in row and "20.0%" in row
    client.post("/logout")

    login(client, "teacher")  # class A1: three drawn, one screened
    row = _row(_page(client.get("/campaigns/")), district_campaign)
    assert "1 / 3" in row and "33.3%" in row


# ----------------------------------------------------------------------------- opening


def _form(world, **changes) -> dict:
    now = utcnow().replace(second=0, microsecond=0)
    data = {
        "name": "2026 秋季心理筛查",
        "battery-0": "phq9@1.0",
        "battery-1": "gad7@1.0",
        "grades": ["7"],
        "opens_at": _local(now),
        "closes_at": _local(now + timedelta(days=10)),
        "legal_basis": "statutory_duty",
        "consent_mode": "opt_out",
        "notice_version": "2026-秋-2",
    }
    data.update(changes)
    return data


def test_the_opening_form_offers_the_catalogue_and_the_defaults(client, world):
    login(client, "counselor")
    _english(client)
    page = _page(client.get("/campaigns/new"))
    assert "测试学校A" in page and "测试学校B" not in page
    assert 'value="phq9@1.0"' in page and 'value="mht_shaped@' in page
    assert "licensed by the school" in page  # the licence kind of a school's own file
    assert re.search(r'<input checked[^>]*value="7"', page)  # a junior school's first years
    assert "PIPL" in page or "Personal Information Protection Law" in page
    client.post("/logout")

    login(client, "admin")
    page = _page(client.get("/campaigns/new"))
    assert "测试学校A" in page and "测试学校B" in page and "测试学校C" not in page
    assert re.search(r'<input checked[^>]*value="10"', page)


def test_a_counselor_opens_a_campaign_owned_by_the_school(client, world):
    login(client, "counselor")
    _english(client)
    opens = utcnow().replace(second=0, microsecond=0) + timedelta(hours=2)
    response = client.post(
        "/campaigns/new",
        data=_form(world, opens_at=_local(opens), closes_at=_local(opens + timedelta(days=7))),
    )
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert response.headers["Location"] == f"/campaigns/{campaign.id}"
    assert campaign.owner_school_id == world.schools["A"].id
    assert [s.id for s in campaign.schools] == [world.schools["A"].id]
    assert [e.ref for e in campaign.instruments] == ["phq9@1.0", "gad7@1.0"]
    assert campaign.opens_at == opens  # typed in China time, stored in UTC
    assert campaign.languages == ["zh"] and campaign.show_results is False
    assert _count(CampaignTarget) == 6
    page = _page(client.get(response.headers["Location"]))
    assert "6 students drawn" in page


def test_a_counselor_posting_another_schools_id_is_refused(client, world):
    login(client, "counselor")
    _english(client)
    response = client.post(
        "/campaigns/new", data=_form(world, schools=[str(world.schools["B"].id)])
    )
    assert response.status_code == 200
    assert "not a valid choice" in _page(response)
    assert _count(Campaign) == 0 and _count(CampaignTarget) == 0


def test_an_administrator_opens_a_district_campaign_over_many_schools(client, world):
    login(client, "admin")
    schools = [str(world.schools["A"].id), str(world.schools["B"].id)]
    response = client.post("/campaigns/new", data=_form(world, schools=schools, offer_english="y"))
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert campaign.owner_school_id is None and campaign.district_id == world.district.id
    assert {s.code for s in campaign.schools} == {"SA", "SB"}
    assert campaign.languages == ["zh", "en"]
    assert _count(CampaignTarget) == 12
    opened = _audit("campaign_open")
    assert opened and opened[-1].target_type == "district"


def test_an_administrator_cannot_add_another_districts_school(client, world):
    login(client, "admin")
    response = client.post(
        "/campaigns/new", data=_form(world, schools=[str(world.schools["C"].id)])
    )
    assert response.status_code == 200
    assert _count(Campaign) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"battery-0": "", "battery-1": ""}, "Choose at least one instrument."),
        ({"battery-1": "phq9@1.0"}, "An instrument appears twice in the battery."),
        ({"name": "  "}, "A campaign needs a name of at most 100 characters."),
        ({"notice_version": ""}, "Give the version of the notice guardians receive."),
        ({"grades": []}, "Choose grades between 1 and 12."),
    ],
)
def test_a_refused_plan_is_shown_on_the_form_and_nothing_is_stored(client, world, changes, message):
    login(client, "counselor")
    _english(client)
    response = client.post("/campaigns/new", data=_form(world, **changes))
    assert response.status_code == 200
    assert message in _page(response)
    assert 'id="open-problems"' in _page(response)
    assert _count(Campaign) == 0 and _count(CampaignTarget) == 0


def test_a_window_that_closes_before_it_opens_is_refused(client, world):
    login(client, "counselor")
    _english(client)
    now = utcnow()
    response = client.post(
        "/campaigns/new",
        data=_form(world, opens_at=_local(now), closes_at=_local(now - timedelta(days=1))),
    )
    assert response.status_code == 200
    assert "The window must close after it opens." in _page(response)
    assert _count(Campaign) == 0


def test_guardian_consent_with_opt_out_is_refused_and_opt_in_draws_students_waiting(client, world):
    login(client, "counselor")
    _english(client)
    refused = client.post("/campaigns/new", data=_form(world, legal_basis="guardian_consent"))
    assert refused.status_code == 200
    assert "consent must be opt-in" in _page(refused)
    assert _count(Campaign) == 0

    opened = client.post(
        "/campaigns/new",
        data=_form(world, legal_basis="guardian_consent", consent_mode="opt_in"),
    )
    assert opened.status_code == 302
    states = set(db.session.scalars(select(CampaignTarget.state)))
    assert states == {"consent_withheld"}


# ----------------------------------------------------------------------------- the page


def test_the_campaign_page_shows_the_consent_basis_and_no_names_to_the_monitor(
    client, world, campaign, small_cells_of_5
):
    _screen(world, campaign, "A1-0")
    login(client, "monitor")
    _english(client)
    page = _page(client.get(f"/campaigns/{campaign.id}"))
    assert 'id="consent-basis"' in page
    assert "The school&#39;s statutory duty" in page or "The school's statutory duty" in page
    assert "Notice with opt-out" in page and "2026-秋-1" in page
    assert "&lt;5 of 6 students screened" in page  # small cells suppressed for a monitor
    assert "16.7%" not in page
    digest = campaign.instruments[0].content_hash.removeprefix("sha256:")
    assert f"<code>{digest[:12]}</code>" in page
    for student in world.students.values():
        assert student.name not in page
    assert "/slips" not in page and "/notices" not in page
    assert "/edit" not in page


def test_the_campaign_page_links_a_counselors_classes_to_slips_and_notices(client, world, campaign):
    login(client, "counselor")
    page = _page(client.get(f"/campaigns/{campaign.id}"))
    for label in ("A1", "A2"):
        class_id = world.classes[label].id
        assert f"/campaigns/classes/{class_id}/campaigns/{campaign.id}/slips" in page
        assert f"/campaigns/classes/{class_id}/campaigns/{campaign.id}/notices" in page
    assert f"/campaigns/{campaign.id}/edit" in page
    assert f"/schools/{world.schools['A'].id}/alerts" in page
    client.post("/logout")

    login(client, "teacher")  # the head teacher's own class only
    page = _page(client.get(f"/campaigns/{campaign.id}"))
    assert f"/classes/{world.classes['A1'].id}/campaigns/{campaign.id}/slips" in page
    assert f"/classes/{world.classes['A2'].id}/campaigns/" not in page
    assert 'id="coverage-headline"' in page
    headline = re.search(r'id="coverage-headline">(.*?)</p>', page, re.S).group(1)
    assert "0" in headline and "3" in headline and "6" not in headline


# ----------------------------------------------------------------------------- editing


def test_the_owner_edits_the_window_name_and_notice_version(client, world, campaign):
    consent_target = target_of(campaign, world.students["A1-0"])
    before = services.record_consent(
        consent_target,
        services.ConsentDecision("opt_out", "paper", "家长甲（母亲）", utcnow()),
        world.users["counselor"],
    )
    login(client, "counselor")
    _english(client)
    page = _page(client.get(f"/campaigns/{campaign.id}/edit"))
    assert "keep the version each guardian received" in page
    closes = utcnow().replace(second=0, microsecond=0) + timedelta(days=30)
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        data={
            "name": "延期的筛查",
            "opens_at": _local(campaign.opens_at),
            "closes_at": _local(closes),
            "notice_version": "2026-秋-2",
        },
    )
    assert response.status_code == 302
    assert campaign.name == "延期的筛查" and campaign.closes_at == closes
    assert campaign.notice_version == "2026-秋-2"
    edit = _audit("campaign_edit")[-1]
    assert edit.target_type == "campaign" and edit.target_id == str(campaign.id)
    assert "notice_version" in edit.detail and "closes_at" in edit.detail
    # A consent keeps the version its guardian received; a new one records the new one.
    assert before.notice_version == "2026-秋-1"
    after = services.record_consent(
        target_of(campaign, world.students["A1-1"]),
        services.ConsentDecision("opt_out", "verbal", "家长乙（父亲）", utcnow()),
        world.users["counselor"],
    )
    assert after.notice_version == "2026-秋-2"


def test_an_edit_whose_window_closes_before_it_opens_changes_nothing(client, world, campaign):
    login(client, "counselor")
    _english(client)
    closes = campaign.closes_at
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        data={
            "name": campaign.name,
            "opens_at": _local(campaign.opens_at),
            "closes_at": _local(campaign.opens_at - timedelta(hours=1)),
            "notice_version": campaign.notice_version,
        },
    )
    assert response.status_code == 200
    assert "The window must close after it opens." in _page(response)
    db.session.refresh(campaign)
    assert campaign.closes_at == closes
    assert _audit("campaign_edit") == []


def test_a_school_counselor_cannot_edit_a_district_campaign(client, world, district_campaign):
    login(client, "counselor")
    assert client.get(f"/campaigns/{district_campaign.id}").status_code == 200
    assert client.get(f"/campaigns/{district_campaign.id}/edit").status_code == 403
    assert client.post(f"/campaigns/{district_campaign.id}/refresh").status_code == 403
    client.post("/logout")
    login(client, "admin")
    assert client.get(f"/campaigns/{district_campaign.id}/edit").status_code == 200


def test_refreshing_the_population_draws_newcomers_and_marks_leavers(client, world, campaign):
    newcomer = make_student(world.classes["A1"], "新同学")
    world.students["A2-1"].status = "transferred"
    db.session.flush()
    login(client, "counselor")
    _english(client)
    response = client.post(f"/campaigns/{campaign.id}/refresh")
    assert response.status_code == 302
    page = _page(client.get(response.headers["Location"]))
    assert "1 new students drawn, 1 who left marked transferred" in page
    assert target_of(campaign, newcomer).state == "not_started"
    assert target_of(campaign, world.students["A2-1"]).state == "transferred"
    assert _audit("campaign_edit")[-1].detail == (
        f'{{"added": 1, "campaign": {campaign.id}, "transferred": 1}}'
    )


# ----------------------------------------------------------------------------- slips, notices


def test_slips_show_each_answerable_students_code_once_and_nobody_elses(client, world, campaign):
    _screen(world, campaign, "A1-0")  # screened: no slip
    absent = target_of(campaign, world.students["A1-1"])
    services.mark(absent, "absent", "病假", world.users["counselor"])  # may still answer
    in_progress = target_of(campaign, world.students["A1-2"])
    services.autosave(in_progress, "phq9", "phq9_1", 1)
    db.session.flush()
    all_targets = list(db.session.scalars(select(CampaignTarget)))

    login(client, "teacher")
    url = f"/campaigns/classes/{world.classes['A1'].id}/campaigns/{campaign.id}/slips"
    page = _page(client.get(url))
    expected = {"A1-1", "A1-2"}
    for target in all_targets:
        label = next(k for k, s in world.students.items() if s.id == target.student_id)
        shown = page.count(codes.display(target.code))
        assert shown == (1 if label in expected else 0), label
    assert page.count('<article class="slip"') == 2
    assert "/s/" in page and "请妥善保管" in page
    events = _audit("view_sensitive")
    assert events[-1].target_type == "school_class"
    assert events[-1].target_id == str(world.classes["A1"].id)
    assert events[-1].detail == f'{{"campaign": {campaign.id}, "codes": 2}}'


def test_slips_of_a_class_the_campaign_does_not_cover_are_not_found(client, world, campaign):
    login(client, "admin")
    url = f"/campaigns/classes/{world.classes['B1'].id}/campaigns/{campaign.id}/slips"
    assert client.get(url).status_code == 404
    assert _audit("view_sensitive") == []


def test_one_students_slip_after_a_reissue(client, world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    old = target.code
    new = services.reissue_code(target, world.users["counselor"])
    login(client, "counselor")
    page = _page(
        client.get(f"/campaigns/students/{world.students['A1-0'].id}/campaigns/{campaign.id}/slip")
    )
    assert codes.display(new) in page and codes.display(old) not in page
    assert page.count('<article class="slip"') == 1


def test_notices_print_the_legal_basis_and_version_for_every_student(client, world, campaign):
    login(client, "teacher")
    url = f"/campaigns/classes/{world.classes['A1'].id}/campaigns/{campaign.id}/notices"
    page = _page(client.get(url))
    assert page.count('<article class="notice"') == 3
    for label in ("A1-0", "A1-1", "A1-2"):
        assert world.students[label].name in page
    assert world.students["A2-0"].name not in page
    assert page.count("告知书版本：<strong>2026-秋-1</strong>") == 3
    assert "未成年人保护法" in page and "不同意参加" in page
    assert "《患者健康问卷抑郁量表（PHQ-9）》" in page
    export = _audit("export")[-1]
    assert export.target_type == "school_class"
    assert export.detail == f'{{"campaign": {campaign.id}, "notices": 3}}'


def test_an_opt_in_notice_asks_for_consent(client, world, campaign_plan):
    opt_in = services.open_campaign(
        world.district,
        world.schools["A"],
        campaign_plan(world, legal_basis="guardian_consent", consent_mode="opt_in"),
        world.users["counselor"],
    )
    login(client, "counselor")
    url = f"/campaigns/classes/{world.classes['A1'].id}/campaigns/{opt_in.id}/notices"
    page = _page(client.get(url))
    assert "知情同意书" in page and "同意孩子参加本次心理健康筛查" in page
    assert "个人信息保护法》第三十一条" in page


# ----------------------------------------------------------------------------- alerts


def _alert_for(world, campaign, label: str) -> CrisisAlert:
    target = target_of(campaign, world.students[label])
    answer_all(target, 0)
    services.autosave(target, "phq9", "phq9_9", 2)
    services.submit(target, utcnow())
    alerts = db.session.scalars(select(CrisisAlert)).all()
    return next(a for a in alerts if a.student_id == world.students[label].id)


def test_the_alerts_page_lists_an_alert_and_acknowledging_it_works(client, world, campaign):
    alert = _alert_for(world, campaign, "A1-0")
    school = world.schools["A"]
    login(client, "counselor")
    _english(client)
    page = _page(client.get(f"/schools/{school.id}/alerts"))
    assert world.students["A1-0"].name in page
    assert "Patient Health Questionnaire-9, item 9" in page and campaign.name in page
    assert local_text(alert.raised_at) in page
    assert "1 alert(s) not yet acknowledged." in page
    viewed = _audit("view_sensitive")[-1]
    assert viewed.target_type == "school" and viewed.target_id == str(school.id)

    # Acknowledging asks for the first follow-up; the form's defaults are enough.
    url = f"/schools/{school.id}/alerts/{alert.id}/acknowledge"
    form = client.get(url).get_data(as_text=True)
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"', form).group(1)
    counselor = str(world.users["counselor"].id)
    response = client.post(
        url, data={"kind": "interview", "assignee": counselor, "due_at": due, "priority": "red"}
    )
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_by_id == world.users["counselor"].id
    page = _page(client.get(f"/schools/{school.id}/alerts"))
    assert "0 alert(s) not yet acknowledged." in page


def test_another_schools_alert_is_not_found(client, world):
    add_campaigns(world)
    other = _alert_for(world, world.campaigns["B"], "B1-0")
    login(client, "counselor")
    school_a = world.schools["A"]
    response = client.post(f"/schools/{school_a.id}/alerts/{other.id}/acknowledge")
    assert response.status_code == 404
    db.session.refresh(other)
    assert other.acknowledged_at is None
    assert client.get(f"/schools/{world.schools['B'].id}/alerts").status_code == 403
    assert world.students["B1-0"].name not in _page(client.get(f"/schools/{school_a.id}/alerts"))
