"""Typed text: every web form field, and every query-string or JSON value the app stores
or searches with, passes screening.text's one rule (NFC; control characters refused),
with a translated message beside the field, nothing stored, and never a 500.

The generated test at the end walks the route map of the role-by-route test: as each
route's first allowed role (or the public session it needs), it reads every page the
role may see, finds every form on it, and sends NUL and then ESC in each field of each
form in turn (the other fields as a browser would send them), and in the query string of
every page; then it asserts that no answer was a 500 and that no stored value holds
either character."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.conftest import TEST_PASSWORD, login
from tests.wellbeing.test_access_policy import EXPECTED, INSIDE, PLAIN_ARGS, PUBLIC, ROLES, _url
from wellbeing.extensions import db
from wellbeing.security.fields import Encrypted

pytestmark = pytest.mark.app

NUL, ESC = "\x00", "\x1b"
POISONS = (NUL, ESC)


@pytest.fixture
def world(world):
    from tests.factories import add_campaigns, make_student

    for index in (3, 4):  # class A1 gets five students: one in each state below
        world.students[f"A1-{index}"] = make_student(world.classes["A1"], f"学生A1-{index}")
    world.districts = {"A": world.district, "C": world.other_district}
    add_campaigns(world)
    _show_every_form(world)
    return world


def _show_every_form(world) -> None:
    """Campaign A's class A1 in every state that shows a form of its own (an absence to
    undo, saved answers to submit, a retest to issue, a crisis alert to acknowledge), a
    class with vision and fitness letters to print, and a mail given up in the outbox."""
    from tests.wellbeing.campaigns.conftest import answer_all, target_of
    from wellbeing.campaigns import services
    from wellbeing.clock import utcnow
    from wellbeing.health import entry
    from wellbeing.health.rounds import parse_vision_round

    def target(key: str):
        return target_of(world.campaigns["A"], world.students[key])

    services.mark(target("A1-1"), "absent", "病假", world.users["counselor"])
    answer_all(target("A1-2"))
    target("A1-3").state = "retest_pending"  # as a failed validity rule leaves it
    crisis = target("A1-4")
    answer_all(crisis, value=3)  # PHQ-9 item 9 endorsed: a crisis alert
    services.submit(crisis, utcnow())
    _acknowledged_alert(world, crisis)
    student = world.students["A1-0"]
    vision_round = parse_vision_round(PLAIN_ARGS["vision_round"])
    myopic = {"ucva_right": "4.7", "ucva_left": "4.9", "sph_right": "-1.50", "sph_left": "-1"}
    fields, errors = entry.check_vision_row(student, vision_round, myopic)
    assert not errors, errors
    entry.store_vision(student, vision_round, fields, None)
    weak = {
        "height_cm": "160",
        "weight_kg": "50",
        "vital_capacity_ml": "900",
        "run50m_s": "14",
        "sit_reach_cm": "-20",
        "long_jump_cm": "90",
        "pullups": "0",
        "run1000m_s": "600",
    }
    year = PLAIN_ARGS["school_year"]
    fields, errors = entry.check_fitness_row(student, 7, year, weak)
    assert not errors, errors
    entry.store_fitness(student, year, fields, None)
    # A mail given up: the outbox page shows its retry button.
    from wellbeing.notifications.models import OutboxMessage

    db.session.add(
        OutboxMessage(
            key="walk:failed",
            channel="mail",
            recipient="a@school.cn",
            subject="s",
            body="b",
            status="failed",
            attempts=8,
            last_error="SMTP 550",
        )
    )
    db.session.flush()


# ----------------------------------------------------------------------------- the helper

REFUSED_ESC = "包含不允许的字符 U+001B"  # the message, in the default language (Chinese)


def _validated(app: Flask, form_class: type, data: dict[str, str]):
    with app.test_request_context(method="POST", data=data):
        form = form_class()
        form.validate()
        return {name: (form[name].data, list(form[name].errors)) for name in data}


def test_a_text_form_normalises_and_refuses_with_the_character(app):
    from wtforms import PasswordField, StringField, TextAreaField
    from wtforms.validators import Length

    from wellbeing.text_input import TextForm

    class Sample(TextForm):
        name = StringField(validators=[Length(max=5)])
        other = StringField()
        note = TextAreaField()
        secret = PasswordField()

    fields = _validated(
        app,
        Sample,
        {"name": "Zoe\u0301", "other": "王\x1b明", "note": "第一行\r\n第二行", "secret": "e\u0301"},
    )
    assert fields["name"] == ("Zo\u00e9", [])  # NFC
    assert fields["note"] == ("第一行\r\n第二行", [])  # line breaks in multi-line text
    assert fields["secret"] == ("e\u0301", [])  # a password is hashed as typed
    assert fields["other"][1] == [REFUSED_ESC + "。"]
    # Every refused field at once, and a refusal stops the field's other validators.
    fields = _validated(
        app,
        Sample,
        {"name": "长名字\x00太长了", "other": "a\nb", "note": "x\x07", "secret": "\x1b"},
    )
    assert fields["name"][1] == ["包含不允许的字符 U+0000。"]
    assert fields["other"][1] == ["包含不允许的字符 U+000A。"]  # one line: no line break
    assert fields["note"][1] == ["包含不允许的字符 U+0007。"]
    assert fields["secret"][1] == [REFUSED_ESC + "。"]


def test_text_fields_clean_what_a_view_reads_and_keep_every_refusal(app):
    from wellbeing.text_input import TextFields, cleaned_or_empty

    with app.test_request_context():
        fields = TextFields({"a": "Zoe\u0301", "b": "x\x00", "c": "\u202e名", "n": 5})
        assert fields.get("a") == "Zo\u00e9"
        assert fields.get("b", "原因") == ""
        assert fields.get("c", default="-") == "-"
        assert fields.get("n") == "5" and fields.get("missing") == ""
        assert fields.errors == {
            "b": "原因：包含不允许的字符 U+0000。",
            "c": "包含不允许的字符 U+202E。",
        }
        assert fields.messages == list(fields.errors.values())
    assert cleaned_or_empty("AB\x00C") == "" and cleaned_or_empty(None) == ""
    assert cleaned_or_empty("ａｂ") == "ａｂ"  # NFC leaves width alone (codes fold it themselves)


def test_every_form_of_the_app_is_a_text_form(app):
    """A form written later on FlaskForm would skip the rule: every one derives from
    TextForm (the app is built, so every area's forms are imported)."""
    from flask_wtf import FlaskForm

    from wellbeing.text_input import TextForm

    def subclasses(klass: type) -> list[type]:
        return [c for sub in klass.__subclasses__() for c in (sub, *subclasses(sub))]

    forms = [c for c in subclasses(FlaskForm) if c.__module__.startswith("wellbeing.")]
    assert len(forms) >= 8
    assert [c for c in forms if not issubclass(c, TextForm)] == []


# ----------------------------------------------------------------------------- the views


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(model, *where) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_campaign_name_and_notice_version_are_refused_beside_their_fields(client, world):
    from tests.wellbeing.campaigns.test_campaign_pages import _form
    from wellbeing.campaigns.models import Campaign

    login(client, "counselor")
    before = _count(Campaign)
    data = _form(world, name="秋季\x1b[31m筛查", notice_version="2026\x00秋")
    page = _html(client.post("/campaigns/new", data=data))
    assert re.search(r'id="name"[^>]*>\s*<p class="error">' + re.escape(REFUSED_ESC), page)
    beside = page[page.index('id="notice_version"') :].split("</fieldset>")[0]
    assert '<p class="error">包含不允许的字符 U+0000。</p>' in beside
    assert _count(Campaign) == before
    campaign = world.campaigns["A"]
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        data={
            "name": "Zoe\u0301 的筛查",
            "opens_at": data["opens_at"],
            "closes_at": data["closes_at"],
            "notice_version": "v\x072",
        },
    )
    assert response.status_code == 200 and "U+0007" in _html(response)
    db.session.refresh(campaign)
    assert (campaign.name, campaign.notice_version) == ("测试筛查A", "2026-秋-1")
    data["notice_version"] = "2026-秋-3"
    client.post(f"/campaigns/{campaign.id}/edit", data={**data, "name": "Zoe\u0301 的筛查"})
    db.session.refresh(campaign)
    assert campaign.name == "Zo\u00e9 的筛查"  # stored as NFC


def test_a_login_name_with_nul_is_refused_beside_the_field_and_not_recorded(client, world):
    from wellbeing.security.models import AuditEvent, LoginAttempt

    attempts, events = _count(LoginAttempt), _count(AuditEvent)
    response = client.post("/login", data={"username": "admin\x00", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert re.search(
        r'id="username"[^>]*>\s*<p class="error">包含不允许的字符 U\+0000', _html(response)
    )
    assert (_count(LoginAttempt), _count(AuditEvent)) == (attempts, events)


def test_a_new_password_with_a_control_character_is_refused(client, world):
    from wellbeing.security.passwords import verify_password

    login(client, "teacher")
    new = "new-\x07password-2026"
    response = client.post(
        "/password",
        data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
    )
    assert response.status_code == 200 and "U+0007" in _html(response)
    assert verify_password(world.users["head_teacher"].password_hash, TEST_PASSWORD)


def test_audit_filters_with_nul_are_refused_not_searched(client, world):
    from wellbeing.security.models import AuditEvent

    login(client, "admin")
    response = client.get("/admin/audit/", query_string={"user": "ad\x00", "target_id": "1\x1b"})
    page = _html(response)
    assert response.status_code == 200
    assert "包含不允许的字符 U+0000" in page and REFUSED_ESC in page
    assert 'id="audit-rows"' not in page
    exports = _count(AuditEvent, AuditEvent.action == "export")
    response = client.get("/admin/audit/export.csv", query_string={"user": "ad\x00"})
    assert response.status_code == 302 and "/admin/audit/" in response.location
    assert _count(AuditEvent, AuditEvent.action == "export") == exports


def _coverage_url(world, key: str, action: str) -> str:
    campaign = world.campaigns["A"]
    return f"/coverage/students/{world.students[key].id}/campaigns/{campaign.id}/{action}"


def test_a_guardian_name_or_a_mark_reason_with_a_control_character_is_refused(client, world):
    from tests.wellbeing.campaigns.conftest import target_of
    from wellbeing.campaigns.models import ConsentRecord

    login(client, "counselor")
    consent = {
        "decision": "opt_out",
        "method": "paper",
        "guardian": "家长\x00甲",
        "decided_on": "2026-09-01",
        "note": "电话\x1b告知",
    }
    page = _html(
        client.post(_coverage_url(world, "A1-0", "consent"), data=consent, follow_redirects=True)
    )
    # Both refusals at once, each naming its field.
    assert "监护人：包含不允许的字符 U+0000" in page and "备注：" + REFUSED_ESC in page
    assert _count(ConsentRecord) == 0
    mark = {"state": "absent", "reason": "病\x1b假"}
    page = _html(
        client.post(_coverage_url(world, "A1-0", "mark"), data=mark, follow_redirects=True)
    )
    assert "原因：" + REFUSED_ESC in page
    target = target_of(world.campaigns["A"], world.students["A1-0"])
    assert (target.state, target.reason) == ("not_started", None)


def test_a_note_with_nul_is_refused_and_a_multi_line_note_kept(client, world):
    from wellbeing.notes.models import StudentNote

    login(client, "counselor")
    url = f"/students/{world.students['A1-0'].id}/notes"
    page = _html(client.post(url, data={"body": "谈话\x00记录"}, follow_redirects=True))
    assert "备注：包含不允许的字符 U+0000" in page
    assert _count(StudentNote) == 0
    client.post(url, data={"body": "第一行\r\n第二行\tZoe\u0301"})
    (note,) = db.session.scalars(select(StudentNote))
    assert note.body == "第一行\r\n第二行\tZo\u00e9"


def test_a_grid_reason_or_value_with_a_control_character_is_its_columns_error(client, world):
    from wellbeing.health.models import VisionRecord

    login(client, "doctor")
    url = f"/health/classes/{world.classes['A1'].id}/vision/{PLAIN_ARGS['vision_round']}/rows"
    student = world.students["A1-1"]
    row = {"student": student.id, "status": "absent", "reason": "病\x00假", "ucva_left": "\x1c4.9"}
    response = client.post(url, json=row)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["ok"] is False
    assert {e["column"]: e["message"] for e in answer["errors"]} == {
        "reason": "包含不允许的字符 U+0000。",
        "ucva_left": "包含不允许的字符 U+001C。",
    }
    assert _count(VisionRecord, VisionRecord.student_id == student.id) == 0


def test_a_paper_entry_with_a_control_character_names_the_item(client, world):
    from tests.wellbeing.campaigns.conftest import target_of
    from tests.wellbeing.campaigns.test_paper import _form
    from wellbeing.campaigns.models import PaperEntry, ScreeningResponse

    login(client, "counselor")
    student = world.students["A1-0"]
    url = f"/paper/students/{student.id}/campaigns/{world.campaigns['A'].id}"
    response = client.post(url, data=_form(1, phq9_3="1\x1b"))
    assert response.status_code == 422
    assert re.search(r"第 3 题：包含不允许的字符 U\+001B", _html(response))
    target = target_of(world.campaigns["A"], student)
    assert _count(PaperEntry) == 0
    assert _count(ScreeningResponse, ScreeningResponse.target_id == target.id) == 0


def test_an_access_code_with_nul_is_simply_not_found(client, world):
    code = _the_code(world)
    response = client.post("/s/", data={"code": code[:5] + "\x00" + code[5:]})
    page = _html(response)
    assert response.status_code == 400
    assert "没有找到这个答题码" in page  # the page of any unknown code
    assert "\x00" not in page


def test_a_school_year_in_other_digits_is_not_a_500(client, world):
    login(client, "doctor")
    school = world.schools["A"].id
    response = client.get(f"/health/schools/{school}", query_string={"school_year": "²"})
    assert response.status_code == 200


# ----------------------------------------------------------------------------- forms in pages


@dataclass
class Control:
    name: str
    value: str  # what a browser sends when the control is left as the page shows it
    sent: bool  # whether a browser sends it at all (an unchecked box is not sent)
    kind: str  # input type, "select", "textarea" or "button"


@dataclass
class Form:
    method: str
    action: str
    controls: list[Control] = field(default_factory=list)
    formactions: list[str] = field(default_factory=list)  # buttons posting elsewhere
    chosen: dict[str, str] = field(default_factory=dict)  # what a person picks first


class _FormParser(HTMLParser):
    """Every form of a page with its named controls."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Control | None = None
        self._options = 0  # options of the select seen so far
        self._textarea: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(a.get("method", "get").upper(), a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                sent = "checked" in a
                control = Control(name, a.get("value", "on"), sent, kind)
            else:
                control = Control(name, a.get("value", ""), True, kind)
            form.controls.append(control)
        elif tag == "select" and name:
            self._select, self._options = Control(name, "", True, "select"), 0
            form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._options += 1
            if self._options == 1 or "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = Control(name, "", True, "textarea")
            form.controls.append(self._textarea)
        elif tag == "button":
            if a.get("formaction"):
                form.formactions.append(a["formaction"])
            elif name and not any(c.kind == "button" and c.name == name for c in form.controls):
                form.controls.append(Control(name, a.get("value", ""), True, "button"))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_in(page: str, page_url: str) -> Iterator[Form]:
    parser = _FormParser()
    parser.feed(page)
    for form in parser.forms:
        form.action = urljoin(page_url, form.action or page_url)
        yield form
        for action in form.formactions:
            yield Form(form.method, urljoin(page_url, action), form.controls)


# ----------------------------------------------------------------------------- sending poison

# A field a browser sends empty is given a plain value, so that the poisoned field is the
# only thing wrong with the request (a form refused for an empty name never reaches the
# code that stores or searches with the poisoned field).
PLAIN = "测试"
TEXT_KINDS = ("text", "search", "email", "tel", "url", "password", "textarea")


def _plain(control: Control) -> str:
    return control.value or (PLAIN if control.kind in TEXT_KINDS else "")


def _poisoned(value: str, poison: str) -> str:
    value = value or PLAIN
    return value[:1] + poison + value[1:]


def _baseline(form: Form) -> list[tuple[str, str]]:
    return [
        (c.name, form.chosen.get(c.name, _plain(c)))
        for c in form.controls
        if c.sent and c.kind != "file"
    ]


def _fields(form: Form) -> list[Control]:
    """Each field once (a radio group or a list of checkboxes is one field)."""
    seen: dict[str, Control] = {}
    for control in form.controls:
        seen.setdefault(control.name, control)
    query = parse_qsl(urlsplit(form.action).query, keep_blank_values=True)
    # "?*": every name a view reads from a query string, at once, beside a posted form.
    extra = [Control("?*", "", True, "query")] if form.method == "POST" else []
    return [*seen.values(), *(Control(f"?{k}", v, True, "query") for k, v in query), *extra]


def _request(form: Form, target: Control, poison: str) -> dict[str, Any]:
    """The request of a browser submitting the form with `poison` in one field."""
    parts = urlsplit(form.action)
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = [(k, v) for k, v in _baseline(form) if k != target.name]
    files = {}
    if target.name == "?*":
        query += [(name, _poisoned(PLAIN, poison)) for name in sorted(QUERY_NAMES)]
    elif target.kind == "query":
        name = target.name[1:]
        query = [(k, _poisoned(v, poison) if k == name else v) for k, v in query]
    elif target.kind == "file":
        files[target.name] = (io.BytesIO(b"student_number\n1\n"), f"名单{poison}.csv")
    else:
        values.append((target.name, _poisoned(target.value or _plain(target), poison)))
    if form.method == "GET":
        query += values
        values = []
    url = parts.path + ("?" + urlencode(query) if query else "")
    if files:
        data = MultiDict([*values, *files.items()])
        return {"method": "POST", "path": url, "data": data, "content_type": "multipart/form-data"}
    return {"method": form.method, "path": url, "data": MultiDict(values)}


# ----------------------------------------------------------------------------- who sends it

# The public routes need a session of their own: a student with a code (the runner), a
# user half-way through logging in (the second-factor steps), or nobody.
RUNNER = "runner"
PENDING_CODE = "pending_code"
PENDING_ENROL = "pending_enrol"
ANONYMOUS = "anonymous"
SESSIONS = [*ROLES, ANONYMOUS, RUNNER, PENDING_CODE, PENDING_ENROL]
# The runner's section pages: <section> is not a target (the session's battery has two).
SECTION_ARGS = ({"section": 0}, {"section": 1})


def session_for(endpoint: str) -> str:
    """Who sends the poisoned requests to an endpoint: its first allowed role."""
    if endpoint.startswith("runner."):
        return RUNNER
    if endpoint == "auth.second_factor":
        return PENDING_CODE
    if endpoint == "auth.enrol_second_factor":
        return PENDING_ENROL
    if endpoint in PUBLIC:
        return ANONYMOUS
    return next(role for role in ROLES if role in EXPECTED[endpoint])


# Routes that take no typed value at all: posting to them is their whole meaning, and
# they are exercised by their own tests (logging out would end the session under test;
# a lesson's delete button shows beside a lesson, and the walk's world logs none:
# tests/wellbeing/lessons/test_lessons.py deletes).
NOT_POSTED = {"auth.logout", "lessons.delete"}
# Routes the walk leaves to their own tests. Opening a 一生一策 file: its form shows
# only while the student has no open file, and the walk's world gives the student one
# (tests/wellbeing/plans/test_plans_pages.py sends NUL and ESC in each of its fields).
# The leaving package's form (no text field) shows only for a plan whose student has
# left the district: tests/wellbeing/plans/test_packages.py posts it.
REWRITTEN_ELSEWHERE: set[str] = {"plans.new", "plans.make_package"}
# JSON endpoints, with the body a browser sends (scripts, not forms, post these).
JSON_BODIES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "health.save_vision": lambda world: {
        "student": str(world.students["A1-0"].id),
        "status": "absent",
        "reason": "病假",
        "measured_on": "",
        "ucva_right": "4.9",
        "ortho_k": False,
    },
    "health.save_fitness": lambda world: {
        "student": str(world.students["A1-0"].id),
        "status": "exempt",
        "reason": "病假",
        "measured_on": "",
        "height_cm": "160",
    },
    "runner.answer": lambda world: {
        "instrument": "phq9",
        "item": "phq9_1",
        "value": 1,
        "seconds": 3,
    },
}
# Forms whose page cannot be sent as it is shown (a battery starts empty): what a person
# chooses first, so that the poisoned field is the only thing wrong with the request.
CHOSEN = {"campaigns.new": {"battery-0": "phq9@1.0"}}
# Query-string names that views read directly, beyond those of the GET forms.
QUERY_NAMES = {"next", "scope", "lang", "before", "after", "vision_round", "school_year"}


def _the_code(world) -> str:
    from tests.wellbeing.campaigns.conftest import target_of

    return target_of(world.campaigns["A"], world.students["A1-0"]).code


def _start(client: FlaskClient, world, session: str) -> None:
    """Put the client in the session under test."""
    if session in ROLES:
        login(client, world.users[session].username)
    elif session == RUNNER:
        assert client.post("/s/", data={"code": _the_code(world)}).status_code == 303
    elif session in (PENDING_CODE, PENDING_ENROL):
        user = world.users["admin" if session == PENDING_CODE else "counselor"]
        if session == PENDING_CODE:
            _confirmed_factor(user)
        response = client.post(
            "/login", data={"username": user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302


def _confirmed_factor(user) -> None:
    import pyotp

    from wellbeing.clock import utcnow
    from wellbeing.security.models import SecondFactor

    factor = SecondFactor(user_id=user.id, secret=pyotp.random_base32(), enabled_at=utcnow())
    db.session.add(factor)
    db.session.flush()


def _endpoints_for(app: Flask, session: str) -> list:
    rules = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        endpoint = rule.endpoint
        if endpoint == "static" or endpoint in REWRITTEN_ELSEWHERE:
            continue
        if session in ROLES:
            reachable = endpoint not in PUBLIC and session in EXPECTED[endpoint]
        else:
            reachable = session_for(endpoint) == session
        if reachable:
            rules.append(rule)
    return rules


def _acknowledged_alert(world, target) -> None:
    """The crisis alert the target raised, acknowledged: its page shows the checklist's
    forms (world.acknowledged_alert)."""
    from datetime import timedelta

    from wellbeing.clock import utcnow
    from wellbeing.followups.services import NewFollowUp
    from wellbeing.review.alerts import acknowledge_alert
    from wellbeing.review.models import CrisisAlert

    counselor = world.users["counselor"]
    alert = next(
        a for a in db.session.scalars(select(CrisisAlert)) if a.student_id == target.student_id
    )
    plan = NewFollowUp("interview", counselor, utcnow() + timedelta(hours=24), "red")
    acknowledge_alert(alert, counselor, plan)
    world.acknowledged_alert = alert


def _urls(rule, world) -> list[str]:
    if "section" in rule.arguments:
        return [rule.build(values)[1] for values in SECTION_ARGS]
    if rule.endpoint == "coverage.student":  # each student of A1, in its state, has its forms
        campaign_id = world.campaigns["A"].id
        students = [world.students[f"A1-{index}"].id for index in range(5)]
        return [rule.build({"student_id": s, "campaign_id": campaign_id})[1] for s in students]
    if rule.endpoint == "review.alert":  # an acknowledged alert shows its checklist's forms
        alert = world.acknowledged_alert
        acknowledged = rule.build({"school_id": alert.school_id, "alert_id": alert.id})[1]
        return [_url(rule, world, INSIDE), acknowledged]
    return [_url(rule, world, INSIDE)]


# ----------------------------------------------------------------------------- stored values


def _holds_poison(value: Any) -> bool:
    if isinstance(value, str):
        return any(p in value for p in POISONS)
    if isinstance(value, dict):
        return any(_holds_poison(k) or _holds_poison(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_poison(item) for item in value)
    return False


class Writes:
    """Every INSERT or UPDATE sent to the database with NUL or ESC in a value: a value
    overwritten by a later request was stored all the same."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.request = ""  # the request being sent

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE") and _holds_poison(_strings(parameters)):
            self.found.append(f"{self.request}: wrote {' '.join(statement.split()[:3])}")


def _strings(parameters: Any) -> list[str]:
    if isinstance(parameters, str):
        return [parameters]
    if isinstance(parameters, dict):
        parameters = list(parameters.values())
    if isinstance(parameters, list | tuple):
        return [text for value in parameters for text in _strings(value)]
    return []


def stored_poison() -> list[str]:
    """Every stored value (sealed ones opened) that holds NUL or ESC: table.column#id."""
    found = []
    db.session.expire_all()
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        sealed = [
            name
            for klass in model.__mro__
            for name, attribute in vars(klass).items()
            if isinstance(attribute, Encrypted)
        ]
        columns = [attribute.key for attribute in mapper.column_attrs]
        for row in db.session.scalars(select(model)):
            for name in columns + sealed:
                if _holds_poison(getattr(row, name)):
                    found.append(f"{mapper.local_table.name}.{name}#{getattr(row, 'id', '?')}")
    return found


# ----------------------------------------------------------------------------- the walk


@dataclass
class Walk:
    app: Flask
    client: FlaskClient
    world: Any
    session: str
    failures: list[str] = field(default_factory=list)
    posted: set[str] = field(default_factory=set)  # endpoints sent a poisoned request
    sent: int = 0
    writes: Writes = field(default_factory=lambda: Writes())

    def run(self) -> None:
        _start(self.client, self.world, self.session)
        forms: dict[tuple[str, str, tuple[str, ...]], Form] = {}
        pages = dict(self.pages())
        for url, page in pages.items():
            for form in forms_in(page, url):
                names = tuple(sorted({c.name for c in form.controls}))
                # One form per action and fields: a class's five "mark" forms are one.
                key = (form.method, self.endpoint(form.method, form.action) or form.action, names)
                forms.setdefault(key, form)
        searches = [form for form in forms.values() if form.method == "GET"]
        for form in forms.values():
            self.poison_form(form)
        for url in pages:
            # A search form's fields on every page of its area (the audit export reads
            # the browser's filter), and every name any view reads, all at once.
            area = self.endpoint("GET", url).split(".")[0]
            for search in searches:
                searched = self.endpoint("GET", search.action)
                if searched.split(".")[0] == area and searched != self.endpoint("GET", url):
                    self.poison_form(Form("GET", url, search.controls))
            self.poison_query(url)
        self.poison_json()

    def poison_query(self, url: str) -> None:
        endpoint = self.endpoint("GET", url)
        if session_for(endpoint) != self.session:
            return
        for poison in POISONS:
            query = urlencode(dict.fromkeys(sorted(QUERY_NAMES), PLAIN + poison))
            self._prepare()
            self.send(f"GET {endpoint} ?{poison!r}", method="GET", path=f"{url}?{query}")

    def endpoint(self, method: str, path: str) -> str | None:
        adapter = self.app.url_map.bind("localhost")
        try:
            return adapter.match(urlsplit(path).path, method)[0]
        except (NotFound, MethodNotAllowed):
            return None

    def send(self, what: str, **request: Any) -> Any:
        """One request; a 500, or an exception (the test app propagates them), fails."""
        self.sent += 1
        self.writes.request = what
        try:
            response = self.client.open(**request)
        except Exception as error:  # every failure is reported, not only the first
            db.session.rollback()
            self.failures.append(f"{what}: raised {type(error).__name__}: {error}"[:300])
            return None
        if response.status_code >= 500:
            self.failures.append(f"{what}: answered {response.status_code}")
        elif self.session in ROLES and response.location and "/login" in response.location:
            self.failures.append(f"{what}: the session ended, so the rest proves nothing")
        return response

    def pages(self) -> Iterator[tuple[str, str]]:
        """Every page this session may read (its text, if HTML)."""
        for rule in _endpoints_for(self.app, self.session):
            if "GET" not in rule.methods:
                continue
            for url in _urls(rule, self.world):
                self._prepare()
                response = self.client.get(url)
                if response.status_code == 200:
                    yield (
                        url,
                        response.get_data(as_text=True) if response.mimetype == "text/html" else "",
                    )

    def _prepare(self) -> None:
        """A runner session ends when the student leaves or submits: start it again."""
        if self.session == RUNNER:
            self.client.post("/s/", data={"code": _the_code(self.world)})

    def poison_form(self, form: Form) -> None:
        endpoint = self.endpoint(form.method, form.action)
        if endpoint is None or endpoint in NOT_POSTED or endpoint in REWRITTEN_ELSEWHERE:
            return
        if session_for(endpoint) != self.session:
            return
        form.chosen = CHOSEN.get(endpoint, {})
        for control in _fields(form):
            for poison in POISONS:
                self._prepare()
                request = _request(form, control, poison)
                self.send(f"{form.method} {endpoint} [{control.name}={poison!r}]", **request)
        if form.method == "POST":
            self.posted.add(endpoint)

    def poison_json(self) -> None:
        for endpoint, body_of in JSON_BODIES.items():
            if session_for(endpoint) != self.session:
                continue
            rule = next(r for r in self.app.url_map.iter_rules() if r.endpoint == endpoint)
            url = _url(rule, self.world, INSIDE)
            body = body_of(self.world)
            for key, value in body.items():
                for poison in POISONS:
                    sent = {**body, key: _poisoned(str(value), poison)}
                    self._prepare()
                    self.send(
                        f"POST {endpoint} {{{key}: {poison!r}}}", method="POST", path=url, json=sent
                    )
            self.posted.add(endpoint)


@pytest.mark.parametrize("session", SESSIONS)
def test_no_control_character_is_stored_or_answers_500(app, client, world, session, monkeypatch):
    """NUL and ESC in every field of every form, every JSON value and every query string,
    sent by the role (or public session) that may use each route."""
    monkeypatch.setitem(app.config, "LOCKOUT_FAILURES", 10_000)  # wrong codes by the dozen
    db.session.commit()
    walk = Walk(app, client, world, session)
    event.listen(db.engine, "before_cursor_execute", walk.writes)
    try:
        walk.run()
    finally:
        event.remove(db.engine, "before_cursor_execute", walk.writes)
    responsible = {
        rule.endpoint
        for rule in _endpoints_for(app, session)
        if "POST" in rule.methods and session_for(rule.endpoint) == session
    }
    unreached = responsible - walk.posted - NOT_POSTED
    assert not unreached, f"POST routes whose form no page of {session} shows: {sorted(unreached)}"
    problems = walk.failures + walk.writes.found + [f"stored: {s}" for s in stored_poison()]
    assert not problems, f"{len(problems)} of {walk.sent} requests:\n" + "\n".join(problems)
