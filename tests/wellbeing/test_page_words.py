"""Every page and error path in Chinese, read for words a Chinese user should not see:
English words outside proper nouns and units, internal names (snake_case), and
half-width ':' '(' after Chinese characters (tests/wordcheck.py says what counts).

Each role logs in once and requests every GET page it may use, with real ids from a
world that has something on every page (campaigns in every coverage state, a crisis
alert, health records, messages, audit rows), then posts each form it may use empty (the
bad-form path), and hostile and header-less files to each import it may use. The
student's questionnaire is walked with a real access code. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from werkzeug.routing import Rule

from screening import fitness, vision
from tests.conftest import login
from tests.wellbeing.campaigns.conftest import answer_all, campaign_plan, target_of  # noqa: F401
from tests.wellbeing.campaigns.test_ledger import open_district_campaign
from tests.wellbeing.test_access_policy import EXPECTED, INSIDE, PUBLIC, ROLES, _url
from tests.wellbeing.test_audit_reads import shown  # noqa: F401
from tests.wellbeing.test_hardening_uploads import (
    PAPER,
    VISION,
    _health_form,
    _upload,
    hostile_files,
)
from tests.wellbeing.test_roster_import import STUDENTS_EN
from tests.wordcheck import CJK, problems, visible_text
from wellbeing.campaigns import services
from wellbeing.campaigns.battery import catalog
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import OutboxMessage

pytestmark = pytest.mark.app

# Routes whose answer is a redirect or a fixed text, not a page to read.
NOT_PAGES = {"static", "main.index", "main.ping", "auth.set_language", "auth.logout"}
# Posts not sent empty: they end the session or belong to the login.
NOT_POSTED = {"auth.logout", "auth.login", "auth.second_factor", "auth.enrol_second_factor"}
# Each import and a header its files accept (so reading goes on to the far cell or bomb).
IMPORTS = {
    "roster_import.upload": STUDENTS_EN,
    "health.import_file": VISION,
    "paper.import_file": PAPER,
}
# Data, not words: the synthetic world's school codes; and its login names, which the
# audit trail names its rows by (people's display names are Chinese, see `everything`).
DATA_WORDS = {"SA", "SB", "SC"}
LOGINS = frozenset(
    {"admin", "monitor", "leader", "counselor", "doctor", "teacher", "committee", "student"}
)
# The keys of a JSON answer whose values people read (the grids' and runner's messages).
JSON_TEXT = {"message", "detail", "error", "display"}
# An import's problems name the file's columns as its header spells them (the batch
# commands' contract): data the user typed, on the import pages only.
COLUMNS = frozenset(
    {*vision.INPUT_COLUMNS, *vision.OPTIONAL_COLUMNS, *fitness.INPUT_COLUMNS, *PAPER}
    | {*STUDENTS_EN, "status", "reason", "measured_on"}
)
CATALOGUE = (
    Path(__file__).resolve().parents[2]
    / "wellbeing/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
)


@pytest.fixture
def everything(shown, campaign_plan):  # noqa: F811
    """The audit-reads world plus a district campaign in every coverage state (a retest,
    opt-outs, marks: see open_district_campaign) and a crisis alert in campaign A; and
    the words this world may show that are data (`allowed`)."""
    shown.campaigns["D"] = open_district_campaign(shown, campaign_plan)
    target = target_of(shown.campaigns["A"], shown.students["A1-0"])
    answer_all(target, 3)  # PHQ-9 item 9 endorsed: a crisis alert
    services.submit(target, target.campaign.opens_at)
    db.session.flush()
    for number, user in enumerate(shown.users.values(), start=1):
        user.display_name = f"教师{number}"  # shown in the top bar; the login names are words
    shown.users["counselor"].email = "counselor@school.cn"
    _outbox_rows()
    db.session.flush()
    shown.allowed = frozenset(DATA_WORDS | _english_only_titles())
    return shown


def _outbox_rows() -> None:
    """The administrator's outbox in each state (given up, waiting, sent)."""
    rows = [
        ("mail", "counselor@school.cn", "failed", "SMTP 550"),
        ("webhook", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "pending", "timeout"),
        ("mail", "admin@school.cn", "sent", None),
    ]
    for number, (channel, recipient, status, error) in enumerate(rows):
        db.session.add(
            OutboxMessage(
                key=f"walk:{number}",
                channel=channel,
                recipient=recipient,
                subject="预警",
                body="请登录查看",
                status=status,
                attempts=1,
                last_error=error,
                sent_at=utcnow() if status == "sent" else None,
            )
        )


def _english_only_titles() -> set[str]:
    """The words of the titles of instruments shipped in English only (K6): such an
    instrument is named by its own title in a Chinese list, as a book is."""
    words = set()
    for instrument in catalog().latest():
        if "zh" not in instrument.title:
            words |= set(re.findall(r"[A-Za-z]+", " ".join(instrument.title.values())))
    return words


def _rules(app, method: str) -> list[Rule]:
    found = (r for r in app.url_map.iter_rules() if method in r.methods)
    return sorted(found, key=lambda r: r.endpoint)


def _urls(rule: Rule, world) -> list[str]:
    """The rule's URL inside the role's scope, once per campaign where it takes one."""
    if "campaign_id" not in rule.arguments:
        return [_url(rule, world, INSIDE)]
    return [_url(rule, world, INSIDE | {"campaigns": key}) for key in ("A", "D")]


def _read(response, where: str, allowed: frozenset[str]) -> list[str]:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype == "application/json":  # the grids' and runner's messages
        text = "\n".join(_strings(response.get_json()))
    elif response.mimetype == "text/html":
        text = visible_text(response.get_data(as_text=True))
    else:
        return []
    return [f"{where}: {problem}" for problem in problems(text, allowed)]


def _strings(value: object, read: bool = False) -> list[str]:
    """The texts of a JSON answer meant for people: the strings under JSON_TEXT keys."""
    if isinstance(value, dict):
        return [s for k, item in value.items() for s in _strings(item, read or k in JSON_TEXT)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, read)]
    return [value] if read and isinstance(value, str) else []


def _uploads(header: list[str]) -> dict[str, bytes]:
    """The review's hostile workbooks, and a CSV without its required columns."""
    return hostile_files(header) | {"no_header": b"name,note\n\xe5\xad\xa6\xe7\x94\x9f,1\n"}


def _upload_form(endpoint: str, data: bytes, name: str) -> dict[str, object]:
    if endpoint == "health.import_file":
        return _health_form(data, name)
    return {"file": (io.BytesIO(data), name)}


def _walk(app, client, world, role: str) -> list[str]:
    found: list[str] = []
    allowed = world.allowed
    login(client, world.users[role].username)
    mine = [r for r in _rules(app, "GET") if r.endpoint not in NOT_PAGES | PUBLIC]
    for rule in (r for r in mine if role in EXPECTED[r.endpoint]):
        words = allowed | LOGINS if rule.endpoint == "audit.browse" else allowed
        for url in _urls(rule, world):
            found += _read(client.get(url), f"{role} GET {url} ({rule.endpoint})", words)
    posts = [r for r in _rules(app, "POST") if r.endpoint not in NOT_POSTED | PUBLIC]
    for rule in (r for r in posts if role in EXPECTED[r.endpoint]):
        for url in _urls(rule, world):
            response = client.post(url, data={}, follow_redirects=True)
            found += _read(response, f"{role} POST {url} empty ({rule.endpoint})", allowed)
    for endpoint, header in IMPORTS.items():
        if role not in EXPECTED[endpoint]:
            continue
        rule = next(r for r in posts if r.endpoint == endpoint)
        for kind, data in _uploads(header).items():
            name = "f.csv" if kind == "no_header" else "f.xlsx"
            for url in _urls(rule, world):
                response = _upload(client, url, _upload_form(endpoint, data, name))
                where = f"{role} POST {url} {kind} file ({endpoint})"
                found += _read(response, where, allowed | COLUMNS)
    found += _read(client.get("/no/such/page"), f"{role} GET a missing page", allowed)
    if role in EXPECTED["audit.browse"]:  # again: now with the rows of the walk (rounds...)
        trail = client.get("/admin/audit/")
        found += _read(trail, f"{role} GET the audit trail", allowed | LOGINS)
    client.post("/logout")
    return found


def _summary(found: list[str]) -> str:
    """Each problem once, with the first page that shows it and how many do."""
    pages: dict[str, list[str]] = {}
    for line in found:
        where, _sep, problem = line.partition(": ")
        pages.setdefault(problem, []).append(where)
    return "\n".join(f"{p}  [{w[0]}; {len(w)} pages]" for p, w in pages.items())


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_is_in_chinese(app, client, everything, role):
    found = _walk(app, client, everything, role)
    assert not found, _summary(found)


def test_the_public_pages_and_the_questionnaire_are_in_chinese(client, everything):
    allowed, found = everything.allowed, []
    for url in ("/login", "/s/", "/no/such/page"):
        found += _read(client.get(url, follow_redirects=True), f"GET {url}", allowed)
    bad = client.post("/login", data={"username": "nobody", "password": "x"})
    found += _read(bad, "POST /login, wrong password", allowed)
    for code in ("ABCDE-FGHJK", "?"):
        found += _read(client.post("/s/", data={"code": code}), f"POST /s/ {code}", allowed)
    target = target_of(everything.campaigns["A"], everything.students["A1-1"])
    db.session.commit()  # a refused (4xx) request rolls back to the last commit
    entered = client.post("/s/", data={"code": target.code}, follow_redirects=True)
    found += _read(entered, "the first section", allowed)
    found += _read(client.get("/s/run/1"), "the last section", allowed)
    submitted = client.post("/s/run/1", data={}, follow_redirects=True)
    found += _read(submitted, "an empty submit", allowed)
    assert not found, _summary(found)


def test_a_crisis_alert_names_school_grade_and_class(client, everything):
    login(client, "counselor")
    inbox = visible_text(client.get("/inbox").get_data(as_text=True))
    assert "测试学校A危机预警：学生A1-0（七年级1班）" in inbox
    alerts = client.get(f"/schools/{everything.schools['A'].id}/alerts")
    text = visible_text(alerts.get_data(as_text=True))
    assert "危机预警：测试学校A" in text and "七年级1班" in text
    assert "患者健康问卷抑郁量表（PHQ-9） 第 9 题" in text and "phq9" not in text


def _catalogue() -> list:
    with CATALOGUE.open("rb") as handle:
        return list(read_po(handle))


def test_no_chinese_message_has_half_width_punctuation_beside_chinese():
    """The catalogue: ASCII ':' '(' ')' ',' ';' next to a Chinese character."""
    beside = re.compile(rf"[{CJK}][:(),;]|[:(,;][{CJK}]")
    placeholder = re.compile(r"%\([a-z_]+\)(?:\.\d+)?[sdif]")
    found = [
        f"{message.id!r}: {message.string!r}"
        for message in _catalogue()
        if message.id and beside.search(placeholder.sub("X", str(message.string)))
    ]
    assert not found, "\n".join(found)


def test_the_checker_finds_what_it_should():
    text = visible_text(
        "<h1>危机预警: 名单</h1><script>var x = 'hello';</script>"
        "<p title='Open'>语言 zh, en</p><p>年级(7)</p><td>coverage_mark</td>"
        "<p lang='en'>Developed by</p><code>student_id</code>"
        "<p>PHQ-9 与 GAD-7，身高 150 cm，file.csv，https://example.org/x</p>"
    )
    found = problems(text)
    assert any("'警:'" in p for p in found)
    assert any("'Open'" in p for p in found)
    assert any("'zh'" in p for p in found) and any("'en'" in p for p in found)
    assert any("'级('" in p for p in found)
    assert any("coverage_mark" in p for p in found)
    assert len(found) == 6, found  # nothing else: not the script, lang="en", <code>...


# The instrument's own words (its instructions and items, as published) are quoted.
_INSTRUMENT_TEXT = re.compile(
    r'<p class="instructions"[^>]*>.*?</p>|<span class="item-text">.*?</span>', re.S
)


def test_students_are_told_你_staff_and_guardians_您(client, everything):
    """One form of address per audience: the questionnaire says 你 (outside the
    instrument's published wording), staff pages and guardians' letters say 您."""
    target = target_of(everything.campaigns["A"], everything.students["A1-1"])
    db.session.commit()  # a refused (4xx) request rolls back to the last commit
    pages = [client.get("/s/").get_data(as_text=True)]
    client.post("/s/", data={"code": target.code})
    pages += [client.get(f"/s/run/{n}").get_data(as_text=True) for n in (0, 1)]
    pages.append(client.post("/s/run/1", data={}, follow_redirects=True).get_data(as_text=True))
    student = visible_text(_INSTRUMENT_TEXT.sub("", "\n".join(pages)))
    assert "你" in student and "您" not in student, student

    class_id, campaign = everything.classes["A1"].id, everything.campaigns["A"].id
    staff = {
        "counselor": [
            "/home",
            f"/campaigns/classes/{class_id}/campaigns/{campaign}/notices",
            f"/coverage/classes/{class_id}/campaigns/{campaign}",
            "/campaigns/",
        ],
        "doctor": [f"/health/classes/{class_id}/letters/vision/2026-autumn"],
    }
    for username, urls in staff.items():
        login(client, username)
        for url in urls:
            response = client.get(url)
            text = visible_text(response.get_data(as_text=True))
            assert response.status_code == 200 and "你" not in text, url
        client.post("/logout")


def test_grades_languages_and_retest_reasons_are_named(client, everything):
    """ "年级 7, 10" and "语言 zh, en" were shown as stored, and a retest's reason as
    "school_wellbeing: 作答过快"."""
    school_class = everything.classes["A1"]
    school_class.grade = 10  # a campaign over grades 7 and 10
    campaign = everything.campaigns["D"]
    campaign.grades = [7, 10]
    db.session.flush()
    login(client, "admin")
    view = visible_text(client.get(f"/campaigns/{campaign.id}").get_data(as_text=True))
    assert "七年级、高一" in view and "中文、英文" in view
    school = everything.schools["A"]
    ledger = client.get(f"/coverage/schools/{school.id}/campaigns/{campaign.id}")
    text = visible_text(ledger.get_data(as_text=True))
    assert "学校自编幸福感问卷（测试用）：作答过快" in text and "school_wellbeing" not in text


# Bad values of every kind, typed into the grids and sent in an import (issue 11 items
# 1 to 3: the value messages are translated, all of a row's at once).
BAD_VISION = {"ucva_right": "abc", "ucva_left": "9.9", "sph_right": "-40", "axis_right": "200"}
BAD_FITNESS = {"height_cm": "300", "weight_kg": "abc", "run50m_s": "2", "vital_capacity_ml": "-5"}


def test_bad_health_values_are_refused_in_chinese(client, everything):
    school, school_class = everything.schools["A"], everything.classes["A1"]
    student = everything.students["A1-2"]
    login(client, "doctor")
    # The refused value itself is quoted back to the doctor ("不是数字：“abc”"): their words.
    typed = everything.allowed | {"abc"}
    found = []
    for url, values in (
        (f"/health/classes/{school_class.id}/vision/2026-autumn/rows", BAD_VISION),
        (f"/health/classes/{school_class.id}/fitness/2026/rows", BAD_FITNESS),
    ):
        response = client.post(url, json={"student": student.id, **values})
        found += _read(response, f"POST {url}", typed)
    row = [student.student_number, *(BAD_VISION.get(c, "") for c in VISION[1:])]
    data = "\n".join([",".join(VISION), ",".join(row)]).encode()
    response = _upload(client, f"/health/schools/{school.id}/import", _health_form(data, "v.csv"))
    found += _read(response, "the health import", typed | COLUMNS)
    assert not found, _summary(found)
