"""Long staff lists are paged with the shared pager, and empty ones say what is missing
and what to do: the inbox and the roster's schools, classes and class list (the
campaign pages: campaigns/test_paged_campaign_pages.py). A bad page number shows the
nearest page, never an error. Pages are read in Chinese (the default), as staff read
them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import make_student
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification
from wellbeing.notifications.services import notify
from wellbeing.roster.models import SchoolClass

pytestmark = pytest.mark.app

BAD_PAGES = ("abc", "-1", "0", "99999", "1e9", "９")


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def rows_in(page: str, table_id: str, marker: str) -> int:
    table = re.search(rf'<table class="grid[^"]*" id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    return len(re.findall(marker, table.group(1)))


def pager_range(page: str, first: int, last: int, total: int) -> bool:
    return f"第 {first}–{last} 条，共 {total} 条" in page


def add_classes(world, count: int) -> list[SchoolClass]:
    """More grade-7 classes in school A (8 upwards), one student each."""
    classes = []
    for number in range(8, 8 + count):
        school_class = SchoolClass(
            school=world.schools["A"], grade=7, name=str(number), entry_year=2026
        )
        db.session.add(school_class)
        make_student(school_class, f"学生A{number}-0")
        classes.append(school_class)
    db.session.flush()
    return classes


# ----------------------------------------------------------------------------- inbox


def test_the_inbox_is_paged_newest_first_and_marks_only_what_it_shows(client, world):
    counselor = world.users["counselor"]
    for n in range(45):
        notify(counselor.id, "crisis_alert", f"测试消息{n:02d}")
    db.session.flush()
    login(client, "counselor")
    first = text_of(client.get("/inbox"))
    assert pager_range(first, 1, 20, 45)
    assert first.count('data-notification="') == 20
    assert "测试消息44" in first and "测试消息24" not in first
    assert 'href="/inbox?page=2"' in first and 'href="/inbox?page=3"' in first
    unread = db.session.scalar(
        select(func.count()).where(
            Notification.user_id == counselor.id, Notification.read_at.is_(None)
        )
    )
    assert unread == 25  # the 25 older messages on later pages are still unread
    last = text_of(client.get("/inbox?page=3"))
    assert pager_range(last, 41, 45, 45) and last.count('data-notification="') == 5
    assert "测试消息00" in last
    for bad in BAD_PAGES:
        page = text_of(client.get(f"/inbox?page={bad}"))
        expected = (41, 45) if bad in ("99999",) else (1, 20)
        assert pager_range(page, *expected, 45), bad


def test_an_empty_inbox_says_what_arrives_there(client, world):
    login(client, "doctor")
    page = text_of(client.get("/inbox"))
    assert "暂无消息。" in page and "危机预警" in page
    assert 'class="pager"' not in page


# ----------------------------------------------------------------------------- roster


def test_the_roster_pages_a_school_with_many_classes(client, world):
    add_classes(world, 50)
    login(client, "counselor")
    url = f"/schools/{world.schools['A'].id}"
    page = text_of(client.get(url))
    assert pager_range(page, 1, 50, 52)
    assert rows_in(page, "roster-classes", r"<tr>") == 51  # the heading row and 50 classes
    # Classes by grade then class number: 七年级1班, 七年级2班, 七年级8班 … 七年级10班.
    names = re.findall(r"七年级(\d+)班", page)
    assert names[:4] == ["1", "2", "8", "9"]
    last = text_of(client.get(f"{url}?page=2"))
    assert pager_range(last, 51, 52, 52) and "七年级57班" in last


def test_the_roster_pages_an_unusually_large_class_only(client, world):
    login(client, "counselor")
    school_class = world.classes["A1"]
    page = text_of(client.get(f"/classes/{school_class.id}"))
    assert pager_range(page, 1, 3, 3) and 'class="pager-links"' not in page
    for n in range(60):
        make_student(school_class, f"大班学生{n:02d}")
    db.session.flush()
    page = text_of(client.get(f"/classes/{school_class.id}"))
    assert pager_range(page, 1, 60, 63) and 'class="pager-links"' in page
    last = text_of(client.get(f"/classes/{school_class.id}?page=2"))
    assert pager_range(last, 61, 63, 63)


def test_an_empty_class_and_school_say_how_to_fill_them(client, world):
    empty = SchoolClass(school=world.schools["A"], grade=8, name="1", entry_year=2025)
    db.session.add(empty)
    db.session.flush()
    login(client, "counselor")
    page = text_of(client.get(f"/classes/{empty.id}"))
    assert "本班尚无学生。" in page and "导入花名册" in page
    assert "/admin/roster/import" not in page  # a counselor cannot import
    client.post("/logout")
    login(client, "admin")
    page = text_of(client.get(f"/classes/{empty.id}"))
    assert "本班尚无学生。" in page and '<a href="/admin/roster/import">导入花名册</a>' in page
