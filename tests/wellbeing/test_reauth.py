"""A fresh password before an export (wellbeing/security/reauth.py): a protected page asks
for it and comes back; a wrong one is refused beside its field and counted like a failed
login (the account locks); an enrolled second factor is asked too; the confirmation
lasts REAUTH_MINUTES; the page it comes back to is always of this site. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PASSWORD, login
from tests.factories import add_plans
from wellbeing.extensions import db
from wellbeing.security.models import AccountLock, AuditEvent, LoginAttempt, SecondFactor

pytestmark = pytest.mark.app


def fresh_code(user) -> str:
    """The current code of the user's factor, usable again (the login used this step)."""
    factor = db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))
    factor.last_step = None
    db.session.flush()
    return pyotp.TOTP(factor.secret).now()


def confirm(client, user, password: str = TEST_PASSWORD, next_url: str = "/home"):
    """Confirm the password (and the code, when the user has a factor)."""
    from wellbeing.security import totp

    data = {"password": password, "next": next_url}
    if totp.is_enrolled(user):
        data["code"] = fresh_code(user)
    return client.post("/confirm", data=data)


@pytest.fixture
def package_url(world) -> str:
    add_plans(world)
    return f"/packages/{world.packages['A'].id}"


def test_a_protected_page_asks_for_the_password_and_comes_back(client, world, package_url):
    counselor = world.users["counselor"]
    login(client, counselor.username)
    asked = client.get(package_url)
    assert asked.status_code == 302
    where = urlsplit(asked.headers["Location"])
    assert where.path == "/confirm"
    assert parse_qs(where.query)["next"] == [package_url]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert f'value="{package_url}"' in page and 'name="code"' in page  # counselors enrolled
    back = confirm(client, counselor, next_url=package_url)
    assert back.status_code == 302 and back.headers["Location"] == package_url
    assert client.get(package_url).status_code == 200  # fresh now: the page itself
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "reauth")).one()
    assert row.username == counselor.username and '"second_factor": true' in row.detail


def test_a_wrong_password_is_refused_beside_the_field_and_counted(app, client, world):
    teacher = world.users["head_teacher"]  # no second factor
    login(client, teacher.username)
    before = db.session.scalar(select(func.count()).select_from(LoginAttempt))
    refused = client.post("/confirm", data={"password": "wrong-password", "next": "/home"})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert '<p class="error">' in page and "密码不正确" in page
    assert page.index('id="password"') < page.index("密码不正确")  # beside its field
    after = db.session.scalar(select(func.count()).select_from(LoginAttempt))
    assert after == before + 1


def test_the_account_locks_after_the_configured_failures(app, client, world):
    teacher = world.users["head_teacher"]
    login(client, teacher.username)
    for _ in range(app.config["LOCKOUT_FAILURES"]):
        client.post("/confirm", data={"password": "wrong-password", "next": "/home"})
    assert db.session.get(AccountLock, teacher.username) is not None
    # Locked: even the right password is refused now (and says why).
    locked = client.post("/confirm", data={"password": TEST_PASSWORD, "next": "/home"})
    assert locked.status_code == 200
    assert "锁定" in locked.get_data(as_text=True)


def test_an_enrolled_second_factor_is_required_too(client, world, package_url):
    counselor = world.users["counselor"]
    login(client, counselor.username)
    without = client.post("/confirm", data={"password": TEST_PASSWORD, "next": package_url})
    assert without.status_code == 200
    assert "验证码不正确" in without.get_data(as_text=True)
    wrong = client.post(
        "/confirm", data={"password": TEST_PASSWORD, "code": "000000", "next": package_url}
    )
    assert wrong.status_code == 200
    assert client.get(package_url).status_code == 302  # still asks
    assert confirm(client, counselor, next_url=package_url).status_code == 302
    assert client.get(package_url).status_code == 200


def test_the_confirmation_expires_after_reauth_minutes(app, client, world, package_url):
    counselor = world.users["counselor"]
    login(client, counselor.username)
    confirm(client, counselor, next_url=package_url)
    minutes = app.config["REAUTH_MINUTES"]
    with client.session_transaction() as session:
        session["confirmed_at"] -= (minutes - 1) * 60  # still within the period
    assert client.get(package_url).status_code == 200
    with client.session_transaction() as session:
        session["confirmed_at"] -= 2 * 60  # now past it
    late = client.get(package_url)
    assert late.status_code == 302 and urlsplit(late.headers["Location"]).path == "/confirm"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://evil.example/steal", "/steal"),
        ("//evil.example/steal", "/home"),
        ("/\\evil.example/steal", "/home"),
        ("\\\\evil.example", "/home"),
        ("/\t/evil.example", "/home"),
        ("javascript:alert(1)", "/home"),
        ("/students/1?tab=notes", "/students/1?tab=notes"),
    ],
)
def test_next_never_leaves_the_site(client, world, typed, expected):
    teacher = world.users["head_teacher"]
    login(client, teacher.username)
    back = client.post("/confirm", data={"password": TEST_PASSWORD, "next": typed})
    assert back.status_code == 302
    assert back.headers["Location"] == expected
    asked = client.get("/confirm", query_string={"next": typed}).get_data(as_text=True)
    kept = re.search(r'name="next" value="([^"]*)"', asked).group(1)
    assert html.unescape(kept) == expected
