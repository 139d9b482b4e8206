"""Every page and error path in Chinese, read for words a Chinese user should not see:
English words outside proper nouns and units, internal names (snake_case), and
half-width ':' '(' after Chinese characters (tests/wordcheck.py says what counts).

Each role logs in once and requests every GET page it may use, with real ids from a
world that has something on every page (campaigns in every coverage state, a crisis
alert, health records, messages, audit rows), then posts each form it may use empty (the
bad-form path) and the hostile uploads to each import. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from werkzeug.routing import Rule

from tests.conftest import login
from tests.wellbeing.campaigns.conftest import answer_all, campaign_plan, target_of  # noqa: F401
from tests.wellbeing.campaigns.test_ledger import open_district_campaign
from tests.wellbeing.test_access_policy import EXPECTED, INSIDE, PUBLIC, _url
from tests.wellbeing.test_audit_reads import shown  # noqa: F401
from tests.wellbeing.test_hardening_uploads import PAPER, VISION, _health_form, hostile_files
from tests.wellbeing.test_roster_import import STUDENTS_EN
from tests.wordcheck import problems, visible_text
from wellbeing.campaigns import services
from wellbeing.extensions import db

pytestmark = pytest.mark.app

# Routes whose answer is a file, a redirect or a fixed text, not a page to read.
NOT_PAGES = {"static", "main.index", "main.ping", "auth.set_language", "auth.logout"}
# Posts not worth sending empty: they end the session.
NOT_POSTED = {"auth.logout", "auth.login", "auth.second_factor", "auth.enrol_second_factor"}
# Each import: where the form is (endpoint), a header its files accept, and extra fields.
IMPORTS = {
    "roster_import.upload": (STUDENTS_EN, {}),
    "health.import_file": (VISION, None),  # the health form's fields
    "paper.import_file": (PAPER, {}),
}
# The synthetic world's user names are data, not words.
USER_NAMES = frozenset(
    {"admin", "monitor", "counselor", "doctor", "teacher", "committee", "student"}
)


@pytest.fixture
def everything(shown, campaign_plan):  # noqa: F811
    """The audit-reads world plus a district campaign in every coverage state (a retest,
    opt-outs, marks: see open_district_campaign) and a crisis alert in campaign A."""
    shown.campaigns["D"] = open_district_campaign(shown, campaign_plan)
    target = target_of(shown.campaigns["A"], shown.students["A1-0"])
    answer_all(target, 3)  # PHQ-9 item 9 endorsed: a crisis alert
    services.submit(target, target.campaign.opens_at)
    db.session.flush()
    return shown


def _get_rules(app) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.endpoint
    )


def _post_rules(app) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.endpoint
    )


def _urls(rule: Rule, world) -> list[str]:
    """The rule's URL inside the role's scope, once per campaign where it takes one."""
    if "campaign_id" not in rule.arguments:
        return [_url(rule, world, INSIDE)]
    return [_url(rule, world, INSIDE | {"campaigns": key}) for key in ("A", "D")]


def _read(response, where: str) -> list[str]:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype != "text/html":
        return []
    return [
        f"{where}: {p}" for p in problems(visible_text(response.get_data(as_text=True)), USER_NAMES)
    ]


def _walk(app, client, world, role: str) -> list[str]:
    found: list[str] = []
    user = world.users[role]
    login(client, user.username)
    for rule in _get_rules(app):
        if rule.endpoint in NOT_PAGES | PUBLIC or role not in EXPECTED[rule.endpoint]:
            continue
        for url in _urls(rule, world):
            found += _read(client.get(url), f"{role} GET {url} ({rule.endpoint})")
    for rule in _post_rules(app):
        if rule.endpoint in NOT_POSTED | PUBLIC or role not in EXPECTED[rule.endpoint]:
            continue
        for url in _urls(rule, world):
            response = client.post(url, data={}, follow_redirects=True)
            found += _read(response, f"{role} POST {url} empty ({rule.endpoint})")
    for endpoint, (header, fields) in IMPORTS.items():
        if role not in EXPECTED[endpoint]:
            continue
        rule = next(r for r in _post_rules(app) if r.endpoint == endpoint)
        for code, data in hostile_files(header).items():
            for url in _urls(rule, world):
                form = (
                    _health_form(data) if fields is None else {"file": (io.BytesIO(data), "f.xlsx")}
                )
                response = client.post(url, data=form, content_type="multipart/form-data")
                found += _read(response, f"{role} POST {url} {code} file ({endpoint})")
    found += _read(client.get("/no/such/page"), f"{role} GET a missing page")
    client.post("/logout")
    return found


@pytest.mark.parametrize(
    "role", ["admin", "monitor", "counselor", "doctor", "head_teacher", "committee", "student"]
)
def test_every_page_of_the_role_is_in_chinese(app, client, everything, role):
    found = _walk(app, client, everything, role)
    # The same words repeated on many pages: say each once.
    assert not found, _summary(found)


def test_the_public_pages_and_the_questionnaire_are_in_chinese(app, client, everything):
    found = []
    for url in ("/login", "/s/", "/no/such/page"):
        found += _read(client.get(url, follow_redirects=True), f"GET {url}")
    bad = client.post("/login", data={"username": "nobody", "password": "x"})
    found += _read(bad, "POST /login wrong password")
    found += _read(client.post("/s/", data={"code": "ABCDE-FGHJK"}), "POST /s/ unknown code")
    found += _read(client.post("/s/", data={"code": "?"}), "POST /s/ malformed code")
    target = target_of(everything.campaigns["A"], everything.students["A1-1"])
    db.session.commit()  # a refused (4xx) request rolls back to the last commit
    entered = client.post("/s/", data={"code": target.code}, follow_redirects=True)
    found += _read(entered, "the first section")
    found += _read(client.get("/s/run/1"), "the last section")
    found += _read(client.post("/s/run/1", data={}, follow_redirects=True), "an empty submit")
    assert not found, _summary(found)


def _summary(found: list[str]) -> str:
    """Each problem once, with the first page that shows it and how many do."""
    pages: dict[str, list[str]] = {}
    for line in found:
        where, _sep, problem = line.partition(": ")
        pages.setdefault(problem, []).append(where)
    return "\n".join(f"{p}  [{w[0]}; {len(w)} pages]" for p, w in pages.items())


def test_the_checker_finds_what_it_should():
    text = visible_text(
        "<h1>危机预警: 名单</h1><script>var x = 'hello';</script>"
        "<p title='Open'>语言 zh, en</p><p>年级(7)</p><td>coverage_mark</td>"
        "<p>PHQ-9 与 GAD-7，身高 150 cm，file.csv，https://example.org/x</p>"
    )
    found = problems(text)
    assert any("'危机预警:'" in p for p in found)
    assert any("'Open'" in p for p in found)
    assert any("'zh'" in p for p in found) and any("'en'" in p for p in found)
    assert any("'级('" in p for p in found)
    assert any("coverage_mark" in p for p in found)
    assert not any("hello" in p or "PHQ" in p or "cm" in p or "csv" in p for p in found)
