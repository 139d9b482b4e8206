"""The profile page: every staff role reaches it from the top bar, sees the name shown and
sets (or clears) the e-mail address notifications go to; a bad address is refused beside
the field in Chinese."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.wordcheck import problems, visible_text
from wellbeing.extensions import db

pytestmark = pytest.mark.app

STAFF = ["admin", "monitor", "counselor", "doctor", "head_teacher", "committee"]


@pytest.mark.parametrize("role", STAFF)
def test_every_staff_role_reaches_its_profile_from_the_top_bar(client, world, role):
    login(client, world.users[role].username)
    home = client.get("/home").get_data(as_text=True)
    assert 'href="/profile"' in home
    page = client.get("/profile").get_data(as_text=True)
    assert world.users[role].display_name in page
    assert 'href="/password"' in page and "/language/en" in page


def test_a_student_has_no_profile(client, world):
    login(client, "student")
    assert 'href="/profile"' not in client.get("/home").get_data(as_text=True)
    assert client.get("/profile").status_code == 403


def test_the_address_is_saved_checked_and_cleared(client, world):
    counselor = world.users["counselor"]
    login(client, "counselor")
    response = client.post("/profile", data={"email": " xinli@school.cn "})
    assert response.status_code == 302
    db.session.refresh(counselor)
    assert counselor.email == "xinli@school.cn"
    assert 'value="xinli@school.cn"' in client.get("/profile").get_data(as_text=True)

    refused = client.post("/profile", data={"email": "xinli@school"})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert 'id="email-error"' in page and "电子邮箱地址格式不正确" in page
    assert not problems(visible_text(page), frozenset({"counselor"}))  # its name is data
    db.session.refresh(counselor)
    assert counselor.email == "xinli@school.cn"

    assert client.post("/profile", data={"email": ""}).status_code == 302
    db.session.refresh(counselor)
    assert counselor.email is None
