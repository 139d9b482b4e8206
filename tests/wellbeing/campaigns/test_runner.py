"""The student's questionnaire runner over HTTP: code entry and its refusals, the rate
limit, section pages that show what was saved, the JSON autosave and its refusals, the
form without JavaScript, submission (refused while required items are missing, keeping
every answer), the closing page, and a runner session ended on the server by a reissued
code, a pause or the code entered again (a copied cookie included)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import codes, services
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import CampaignTarget, ScreeningResponse
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.limits import limiter
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

UNKNOWN = "ABCDE-FGHJK"  # well formed, nobody's code


@pytest.fixture
def opened(world, campaign):
    """The campaign, committed: a refused (4xx) request rolls back to the last commit."""
    db.session.commit()
    return campaign


def _student(world, key="A1-0"):
    return world.students[key]


def _target(world, campaign, key="A1-0") -> CampaignTarget:
    return target_of(campaign, _student(world, key))


def _enter(client, code: str, address: str = "127.0.0.1"):
    return client.post("/s/", data={"code": code}, environ_base={"REMOTE_ADDR": address})


def _said(app, message: str, **values) -> str:
    """A message as the page shows it: in the default language, HTML-escaped."""
    with app.test_request_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        return str(escape(gettext(message, **values)))


def _local(at) -> str:
    zone = ZoneInfo("Asia/Shanghai")
    return at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).strftime("%Y-%m-%d %H:%M")


class _Radios(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.checked: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "radio":
            self.names.add(attributes["name"])
            if "checked" in attributes:
                self.checked[attributes["name"]] = attributes["value"]


def _radios(page: str) -> _Radios:
    parser = _Radios()
    parser.feed(page)
    return parser


def _save(client, item: str, value, seconds=2.5, instrument: str | None = None):
    instrument = instrument or item.split("_")[0]
    return client.post(
        "/s/answer",
        json={"instrument": instrument, "item": item, "value": value, "seconds": seconds},
        headers={"X-CSRFToken": "not-checked-in-tests"},
    )


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# ----------------------------------------------------------------------------- code entry


def test_the_code_page_is_the_students_own(client, opened):
    page = client.get("/s/").get_data(as_text=True)
    assert 'name="code"' in page and 'name="csrf_token"' in page
    assert 'class="topnav"' not in page  # no staff navigation
    assert "/static/runner.css" in page and "/static/wellbeing.css" not in page


@pytest.mark.parametrize(
    "typing",
    [
        lambda code: code,
        lambda code: codes.display(code).lower(),
        lambda code: f"  {code[:3]} {code[3:7]} - {code[7:]} ",
        lambda code: _full_width(codes.display(code).lower()),
    ],
    ids=["plain", "lower-dash", "spaces", "full-width"],
)
def test_a_code_however_typed_opens_the_first_section(client, world, opened, typing):
    target = _target(world, opened)
    response = _enter(client, typing(target.code))
    assert response.status_code == 303
    assert response.headers["Location"] == "/s/run/0"
    with client.session_transaction() as session:
        held = session["runner"]
        assert (held["target"], held["digest"]) == (target.id, target.code_digest)
    assert target.language == "zh"  # the campaign's first language

    page = client.get("/s/run/0").get_data(as_text=True)
    assert '<meta name="csrf-token" content="' in page
    assert "做事时提不起劲或没有兴趣" in page  # PHQ-9 item 1, in Chinese
    assert _radios(page).names == {f"phq9:phq9_{n}" for n in range(1, 10)}
    assert 'id="next"' in page and 'id="submit"' not in page
    assert 'id="save-status"' in page

    last = client.get("/s/run/1").get_data(as_text=True)
    assert _radios(last).names == {f"gad7:gad7_{n}" for n in range(1, 8)}
    assert 'id="submit"' in last and 'id="previous"' in last
    assert client.get("/s/run/2").status_code == 404


def _refuse(world, campaign, reason):
    """Put the campaign or A1-0's target in the state that refuses its code."""
    target = _target(world, campaign)
    now = utcnow()
    if reason == "used":
        answer_all(target, 0)
        services.submit(target, now)
    elif reason == "not_answerable":
        services.mark(target, "transferred", "moved away", world.users["counselor"])
    elif reason == "not_yet_open":
        campaign.opens_at, campaign.closes_at = now + timedelta(days=1), now + timedelta(days=9)
    elif reason == "closed":
        campaign.opens_at, campaign.closes_at = now - timedelta(days=9), now - timedelta(hours=1)
    db.session.commit()
    return target


WINDOW_CLOSED = "The questionnaire is closed. It was open from %(opens)s to %(closes)s."
WINDOW_NOT_OPEN = "The questionnaire is not open yet. It is open from %(opens)s to %(closes)s."
CHECK_SLIP = "We could not find this code. Please check the code on your slip and type it again."
USED = (
    "This code has already been used: the answers were submitted. "
    "If you have not answered yet, please see your teacher."
)
SEE_TEACHER = "This code cannot be used to answer now. Please see your teacher."


@pytest.mark.parametrize(
    ("reason", "status", "message"),
    [
        ("malformed", 400, CHECK_SLIP),
        ("unknown", 400, CHECK_SLIP),
        ("used", 403, USED),
        ("not_answerable", 403, SEE_TEACHER),
        ("not_yet_open", 403, WINDOW_NOT_OPEN),
        ("closed", 410, WINDOW_CLOSED),
    ],
)
def test_a_refused_code_says_why(app, client, world, opened, reason, status, message):
    target = _refuse(world, opened, reason)
    typed = {"malformed": "ABC-12", "unknown": UNKNOWN}.get(reason, target.code)
    response = _enter(client, typed)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    window = {"opens": _local(opened.opens_at), "closes": _local(opened.closes_at)}
    assert _said(app, message, **window) in page
    assert 'id="code-form"' in page  # the form again, to try once more
    with client.session_transaction() as session:
        assert "runner" not in session


@pytest.fixture
def code_limits(app, monkeypatch):
    """Rate limits on, as in production (they are off under TESTING), from a clean slate."""
    monkeypatch.setitem(app.config, "RATE_LIMITS_IN_TESTS", True)
    limiter.reset()
    yield
    limiter.reset()


def test_refused_codes_count_toward_the_rate_limit_and_valid_ones_always_pass(
    app, client, world, opened, code_limits
):
    assert app.config["ACCESS_CODE_RATE_LIMIT"] == "30 per minute"  # the shipped default
    target, neighbour = _target(world, opened), _target(world, opened, "A1-1")
    for _ in range(5):  # a computer room of valid codes behind one address
        assert _enter(client, target.code).status_code == 303
    assert [_enter(client, UNKNOWN).status_code for _ in range(31)] == [400] * 30 + [429]
    refused = _enter(client, UNKNOWN)
    assert refused.status_code == 429
    assert 'id="code-form"' in refused.get_data(as_text=True)
    # The room's valid codes still open the questionnaire; only refused ones wait.
    entered = _enter(client, target.code)
    assert entered.status_code == 303 and entered.headers["Location"] == "/s/run/0"
    assert client.get("/s/run/0").status_code == 200
    assert _enter(app.test_client(), codes.display(neighbour.code)).status_code == 303
    assert _enter(client, UNKNOWN).status_code == 429
    assert client.get("/s/").status_code == 200  # the form is always shown
    assert _enter(client, UNKNOWN, "10.9.9.9").status_code == 400  # the limit is per address


def test_an_address_far_beyond_the_limit_waits_even_with_a_valid_code(
    app, client, world, opened, code_limits, monkeypatch
):
    """Past ten times the limit the address is guessing: were a valid code to pass
    still, each 429 would tell a script that ignores them that its guess was wrong."""
    monkeypatch.setitem(app.config, "ACCESS_CODE_RATE_LIMIT", "3 per minute")
    target = _target(world, opened)
    assert [_enter(client, UNKNOWN).status_code for _ in range(29)] == [400] * 3 + [429] * 26
    assert _enter(client, target.code).status_code == 303  # short of the ceiling
    assert _enter(client, UNKNOWN).status_code == 429  # the 30th refusal: the ceiling
    assert _enter(client, target.code).status_code == 429
    assert _enter(app.test_client(), target.code, "10.9.9.9").status_code == 303


# ----------------------------------------------------------------------------- sections


def test_saved_answers_come_back_after_a_reload_and_in_a_new_browser(app, client, world, opened):
    target = _target(world, opened)
    assert _enter(client, target.code).status_code == 303
    assert _save(client, "phq9_1", 2).status_code == 200
    assert _save(client, "phq9_2", 1).status_code == 200
    assert _save(client, "phq9_2", 3).status_code == 200  # changed: the latest counts
    expected = {"phq9:phq9_1": "2", "phq9:phq9_2": "3"}

    reload = app.test_client()  # the same browser after a crash: the same cookie
    reload.set_cookie("session", client.get_cookie("session").value)
    page = reload.get("/s/run/0").get_data(as_text=True)
    assert _radios(page).checked == expected
    assert '<span id="answered-count">2</span>' in page

    other = app.test_client()  # another computer: no session until the code is entered
    assert other.get("/s/run/0").status_code == 401
    assert _enter(other, codes.display(target.code)).status_code == 303
    assert _radios(other.get("/s/run/0").get_data(as_text=True)).checked == expected


def test_the_students_language_switch(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    response = client.post("/s/language", data={"language": "en", "section": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/s/run/1"
    assert target.language == "en"
    page = client.get("/s/run/0").get_data(as_text=True)
    assert "Little interest or pleasure in doing things" in page
    assert '<html lang="en">' in page
    client.post("/s/language", data={"language": "fr", "section": "0"})  # not offered
    assert target.language == "en"
    client.post("/s/language", data={"language": "zh", "section": "0"})
    assert "做事时提不起劲或没有兴趣" in client.get("/s/run/0").get_data(as_text=True)


# ----------------------------------------------------------------------------- autosave


def test_autosave_stores_the_answer_and_its_time_without_an_audit_row(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    audit_rows = _count(AuditEvent)
    response = _save(client, "phq9_1", 2, seconds=3.4)
    assert response.status_code == 200
    assert response.get_json() == {"saved": True, "answered": 1, "total": 16}
    assert services.saved_answers(target) == {"phq9:phq9_1": {"value": 2, "seconds": 3.4}}
    assert target.state == "in_progress"
    assert _save(client, "gad7_3", 0, seconds=None).get_json()["answered"] == 2
    assert _count(AuditEvent) == audit_rows


@pytest.mark.parametrize(
    "body",
    [
        {"instrument": "phq9", "item": "phq9_1", "value": 4},  # options are 0-3
        {"instrument": "phq9", "item": "phq9_1", "value": "2"},
        {"instrument": "phq9", "item": "phq9_1", "value": True},
        {"instrument": "phq9", "item": "phq9_1", "value": 1, "seconds": -1},
        {"instrument": "phq9", "item": "phq9_99", "value": 1},
        {"instrument": "k6", "item": "k6_1", "value": 1},  # not in this battery
        {"item": "phq9_1", "value": 1},
    ],
)
def test_an_answer_outside_the_options_is_refused_and_stored_nowhere(client, world, opened, body):
    target = _target(world, opened)
    _enter(client, target.code)
    response = client.post("/s/answer", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert services.saved_answers(target) == {}
    assert target.state == "not_started"


def test_the_refusal_message_names_the_options(app, client, world, opened):
    _enter(client, _target(world, opened).code)
    response = _save(client, "phq9_1", 7)
    assert response.get_json() == {
        "error": _said(app, "That answer is not one of the question's options.").replace(
            "&#39;", "'"
        )
    }


def test_autosave_needs_a_live_runner_session(app, client, world, opened):
    assert _save(client, "phq9_1", 1).status_code == 401  # no code entered
    assert "error" in _save(client, "phq9_1", 1).get_json()

    target = _target(world, opened)
    _enter(client, target.code)
    assert _save(client, "phq9_1", 1).status_code == 200
    opened.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    closed = _save(client, "phq9_2", 1)
    assert closed.status_code == 409 and closed.get_json()["reason"] == "closed"
    assert _save(client, "phq9_2", 1).status_code == 401  # the ended session is forgotten
    assert client.get("/s/run/0").status_code == 401
    assert services.saved_answers(target).keys() == {"phq9:phq9_1"}


def test_a_reissued_code_ends_the_old_session(app, client, world, opened):
    target = _target(world, opened)
    old = target.code
    _enter(client, old)
    assert _save(client, "phq9_1", 3).status_code == 200
    new = services.reissue_code(target, world.users["counselor"])
    db.session.commit()

    replaced = _save(client, "phq9_2", 1)
    assert replaced.status_code == 409 and replaced.get_json()["reason"] == "replaced"
    _enter(client, old)  # the old slip no longer works
    page = client.get("/s/run/0")
    assert page.status_code == 401
    assert 'id="reenter"' in page.get_data(as_text=True)

    assert _enter(client, new).status_code == 303
    assert _radios(client.get("/s/run/0").get_data(as_text=True)).checked == {"phq9:phq9_1": "3"}


def test_a_page_after_the_session_ended_asks_for_the_code_calmly(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    services.reissue_code(target, world.users["counselor"])
    db.session.commit()
    page = client.get("/s/run/0")
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert (
        _said(
            app, "This code has been replaced by a new one. Please enter the code on your new slip."
        )
        in text
    )
    assert 'href="/s/"' in text


# ----------------------------------------------------------------------------- no JavaScript


def test_the_section_form_works_without_javascript(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    assert _save(client, "phq9_1", 2, seconds=5.0).status_code == 200  # before JS broke
    form = {f"phq9:phq9_{n}": "1" for n in range(2, 10)} | {"phq9:phq9_1": "2", "go": "1"}
    response = client.post("/s/run/0", data=form)
    assert response.status_code == 303 and response.headers["Location"] == "/s/run/1"
    saved = services.saved_answers(target)
    assert saved["phq9:phq9_1"] == {"value": 2, "seconds": 5.0}  # unchanged: time kept
    assert saved["phq9:phq9_5"] == {"value": 1, "seconds": None}
    assert len(saved) == 9

    back = client.post("/s/run/1", data={"gad7:gad7_1": "0", "go": "0"})
    assert back.headers["Location"] == "/s/run/0"
    assert services.saved_answers(target)["gad7:gad7_1"]["value"] == 0

    tampered = client.post("/s/run/1", data={"gad7:gad7_2": "1", "gad7:gad7_3": "9", "go": "0"})
    assert tampered.status_code == 400
    assert "gad7:gad7_2" not in services.saved_answers(target)  # the whole post is refused


# ----------------------------------------------------------------------------- submit


def test_submit_with_required_items_missing_lists_them_and_keeps_every_answer(
    client, world, opened
):
    target = _target(world, opened)
    _enter(client, target.code)
    for n in range(1, 10):
        assert _save(client, f"phq9_{n}", 0).status_code == 200
    # The last section's Submit without JavaScript posts its answers with it.
    response = client.post("/s/submit", data={"gad7:gad7_1": "1", "gad7:gad7_4": "2"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for n in (2, 3, 5, 6, 7):
        assert f'href="/s/run/1#item-gad7_{n}"' in page
    assert "#item-gad7_1" not in page and "#item-phq9_" not in page

    saved = services.saved_answers(target)
    assert len(saved) == 11 and saved["gad7:gad7_4"]["value"] == 2
    assert target.state == "in_progress" and target.submitted_at is None
    assert _count(ScreeningResponse) == 0
    assert client.get("/s/run/1").status_code == 200  # still answering


def test_submit_records_the_screening_and_the_closing_page_is_calm(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    answer_all(target, 0)
    db.session.commit()
    response = client.post("/s/submit")
    assert response.status_code == 303 and response.headers["Location"] == "/s/done"
    assert target.state == "screened_valid" and target.submitted_at is not None
    assert _count(ScreeningResponse, ScreeningResponse.target_id == target.id) == 2
    with client.session_transaction() as session:
        assert "runner" not in session
    assert client.post("/s/submit").headers["Location"] == "/s/done"  # a second click

    page = client.get("/s/done").get_data(as_text=True)
    for line in app.config["HELP_LINES"]["zh"]:
        assert str(escape(line)) in page
    assert "12356" in page and "National psychological" not in page
    unsafe = "If you feel unsafe, talk to a teacher, the school counselor or a parent now."
    assert _said(app, unsafe) in page
    assert 'id="results"' not in page and "无/极轻微" not in page  # no score shown
    assert client.get("/s/run/0").status_code == 401  # the questionnaire is closed to it
    assert _enter(client, target.code).status_code == 403  # used


def test_the_closing_page_shows_band_labels_only_when_the_campaign_allows(
    app, client, world, opened
):
    opened.show_results = True
    target = _target(world, opened)
    db.session.commit()
    _enter(client, target.code)
    answers = {"phq9": 0, "gad7": 2}  # totals 0 and 14
    for instrument in battery(opened):
        for item in instrument.items:
            services.autosave(target, instrument.id, item.id, answers[instrument.id], 2.0)
    db.session.commit()
    assert client.post("/s/submit").status_code == 303

    labels = []
    for instrument in battery(opened):
        total = answers[instrument.id] * len(instrument.items)
        band = next(b for b in instrument.total.bands if b.min <= total <= b.max)
        labels.append(band.label["zh"])
    assert labels == ["无/极轻微", "中度"]
    page = client.get("/s/done").get_data(as_text=True)
    assert 'id="results"' in page
    for label in labels:
        assert f'<strong class="result-band">{label}</strong>' in page
    again = client.get("/s/done").get_data(as_text=True)  # shown once (a shared computer)
    assert 'id="results"' not in again and "中度" not in again


def test_the_help_lines_follow_the_students_language(client, app):
    client.get("/language/en")
    page = client.get("/s/done").get_data(as_text=True)
    assert app.config["HELP_LINES"]["en"][0] in page
    assert app.config["HELP_LINES"]["zh"][0] not in page


def test_an_idle_session_ends_and_the_code_reopens_it(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    assert _save(client, "phq9_9", 3).status_code == 200
    with client.session_transaction() as session:
        session["runner"] = {**session["runner"], "seen": session["runner"]["seen"] - 21 * 60}
    page = client.get("/s/run/0")  # the next student at this computer, 21 minutes later
    assert page.status_code == 409 and "checked" not in page.get_data(as_text=True)
    assert _enter(client, target.code).status_code == 303
    assert 'value="3"\n                 checked' in client.get("/s/run/0").get_data(as_text=True)


def test_pause_and_leave_ends_the_session_and_keeps_the_answers(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    _save(client, "phq9_1", 2, seconds=3.5)
    assert client.post("/s/leave").status_code == 200
    assert client.get("/s/run/0").status_code == 401
    assert services.saved_answers(target) == {"phq9:phq9_1": {"value": 2, "seconds": 3.5}}


PAUSED_ELSEWHERE = (
    "The questionnaire was paused, or opened again with your code. "
    "Your answers are saved: enter your code again to continue."
)


def _browser_with(app, cookie: str):
    """Another browser holding a copy of a runner's session cookie."""
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    return browser


def _ended_for(app, cookie: str) -> list:
    """The questionnaire's three doors, each tried by a fresh copy of the cookie (a
    refused request forgets the runner session in the copy it answers)."""
    return [
        _browser_with(app, cookie).get("/s/run/0"),
        _save(_browser_with(app, cookie), "phq9_2", 3),
        _browser_with(app, cookie).post("/s/submit"),
    ]


def test_pause_ends_the_sitting_on_the_server_so_a_copied_cookie_stops(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    assert _save(client, "phq9_1", 2, seconds=3.5).status_code == 200
    cookie = client.get_cookie("session").value  # copied off the shared computer
    assert _browser_with(app, cookie).get("/s/run/0").status_code == 200
    answer_all(target, 1)  # everything answered: a submit would go through
    db.session.commit()

    assert client.post("/s/leave").status_code == 200
    page, saved, submitted = _ended_for(app, cookie)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert _said(app, PAUSED_ELSEWHERE) in text and 'id="reenter"' in text
    assert "checked" not in text
    assert saved.status_code == 409 and saved.get_json()["reason"] == "ended"
    assert submitted.status_code == 409 and 'id="reenter"' in submitted.get_data(as_text=True)
    assert target.submitted_at is None and target.state == "in_progress"
    assert services.saved_answers(target)["phq9:phq9_2"]["value"] == 1  # not the copy's 3

    # The code opens a new sitting with every saved answer.
    assert _enter(client, target.code).status_code == 303
    assert _radios(client.get("/s/run/0").get_data(as_text=True)).checked["phq9:phq9_1"] == "1"
    assert _save(client, "phq9_2", 0).status_code == 200
    assert [r.status_code for r in _ended_for(app, cookie)] == [409, 409, 409]


def test_entering_the_code_again_ends_the_session_on_the_other_computer(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    assert _save(client, "phq9_1", 2).status_code == 200
    other = app.test_client()
    assert _enter(other, target.code).status_code == 303
    ended = _save(client, "phq9_2", 1)
    assert ended.status_code == 409 and ended.get_json()["reason"] == "ended"
    assert _save(other, "phq9_2", 1).status_code == 200
    assert services.saved_answers(target).keys() == {"phq9:phq9_1", "phq9:phq9_2"}


def test_pause_after_an_idle_while_still_ends_a_copy_used_since(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    cookie = client.get_cookie("session").value
    with client.session_transaction() as session:  # this browser idle, the copy in use
        session["runner"] = {**session["runner"], "seen": session["runner"]["seen"] - 21 * 60}
    assert client.post("/s/leave").status_code == 200
    assert [r.status_code for r in _ended_for(app, cookie)] == [409, 409, 409]


def test_a_stale_cookie_cannot_pause_the_live_sitting(app, client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    stale = client.get_cookie("session").value
    _enter(client, target.code)  # the student entered the code again: a new sitting
    assert _browser_with(app, stale).post("/s/leave").status_code == 200
    assert _save(client, "phq9_1", 2).status_code == 200


def test_a_second_submit_goes_to_the_closing_page(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    answer_all(target, 0)
    db.session.commit()
    with client.session_transaction() as session:
        kept = dict(session)  # the cookie a double click sends again
    assert client.post("/s/submit").headers["Location"] == "/s/done"
    with client.session_transaction() as session:
        session.update(kept)
    again = client.post("/s/submit")
    assert again.status_code == 303 and again.headers["Location"] == "/s/done"


def test_an_oversized_answer_is_refused_unread(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    body = {"instrument": "phq9", "item": "phq9_1", "value": 1, "padding": "x" * 4000}
    assert client.post("/s/answer", json=body).status_code == 413
    assert services.saved_answers(target) == {}


def test_a_section_post_with_one_bad_value_saves_none(client, world, opened):
    target = _target(world, opened)
    _enter(client, target.code)
    response = client.post("/s/run/0", data={"phq9:phq9_1": "1", "phq9:phq9_2": "7", "go": "1"})
    assert response.status_code == 400
    assert services.saved_answers(target) == {}
