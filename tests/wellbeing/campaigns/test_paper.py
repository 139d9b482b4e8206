"""The paper fallback: the printed form, a counselor's entry (single and double), and
the import of a school's forms from CSV (UTF-8, BOM, GBK) or XLSX, all or nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import make_student, make_user
from tests.wellbeing.campaigns.conftest import target_of
from wellbeing.campaigns import paper_import, services
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import DraftAnswer, PaperEntry, ScreeningResponse
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert
from wellbeing.roster.models import SchoolClass
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

PHQ9 = [f"phq9_{n}" for n in range(1, 10)]
GAD7 = [f"gad7_{n}" for n in range(1, 8)]
HEADER = ["respondent_id", *PHQ9, *GAD7]


@pytest.fixture
def english(db_session):
    """Messages in English (the UI's default is Chinese): assertions read the msgids."""
    with force_locale("en"):
        yield


def _login(client, username: str) -> None:
    """Log in with the UI in English."""
    login(client, username)
    client.get("/language/en")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _events(action: str) -> list[dict]:
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    )
    return [json.loads(row.detail) for row in rows]


def _form(value: int | str = 1, **changes: str) -> dict[str, str]:
    """Every item of the PHQ-9 + GAD-7 battery at one value; changes by "phq9_3"."""
    data = {f"phq9:{item}": str(value) for item in PHQ9}
    data |= {f"gad7:{item}": str(value) for item in GAD7}
    for item, changed in changes.items():
        data[f"{item.split('_')[0]}:{item}"] = changed
    return data


def _url(student, campaign) -> str:
    return f"/paper/students/{student.id}/campaigns/{campaign.id}"


def _responses(target) -> list[ScreeningResponse]:
    return list(
        db.session.scalars(
            select(ScreeningResponse)
            .where(ScreeningResponse.target_id == target.id)
            .order_by(ScreeningResponse.instrument_id)
        )
    )


# ----------------------------------------------------------------------------- print


def test_the_printed_form_has_every_item_and_option_and_no_student(client, world, campaign):
    _login(client, "counselor")
    response = client.get(f"/paper/campaigns/{campaign.id}/form")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for instrument in battery(campaign):
        assert instrument.title["zh"] in page
        assert instrument.document["instructions"]["zh"] in page
        for item in instrument.items:
            assert f'data-item="{item.id}"' in page
            assert item.text["zh"] in page
        for option in instrument.items[0].options:
            assert option.label["zh"] in page
    # Nine PHQ-9 rows and seven GAD-7 rows, four boxes each.
    assert page.count('class="paper-box"') == 16 * 4
    assert "Developed by Drs. Robert L. Spitzer" in page  # the attribution line
    assert "学籍号" in page  # the sheet is in the campaign's first language
    for student in world.students.values():
        assert student.name not in page and student.student_number not in page
    assert "paper.css" in page and "style=" not in page

    english = client.get(f"/paper/campaigns/{campaign.id}/form?lang=en").get_data(as_text=True)
    assert "Little interest or pleasure in doing things" in english
    assert "Nearly every day" in english and "做事时提不起劲" not in english
    assert "Student number" in english
    # A language the campaign does not offer falls back to its first.
    fallback = client.get(f"/paper/campaigns/{campaign.id}/form?lang=fr").get_data(as_text=True)
    assert "做事时提不起劲或没有兴趣" in fallback


def test_items_sharing_options_are_grouped_and_others_get_their_own_table(world):
    from screening.instruments import load_catalog
    from tests.conftest import EXTRA_INSTRUMENTS
    from wellbeing.campaigns.paper import item_groups

    instrument = load_catalog([EXTRA_INSTRUMENTS]).get("school_wellbeing")
    groups = item_groups(instrument)
    assert [[number for number, _ in group.items] for group in groups] == [[1, 2, 3, 4, 5], [6]]
    assert [len(group.options) for group in groups] == [5, 2]


# ----------------------------------------------------------------------------- entry


def test_a_single_entry_records_a_scored_paper_response(client, world, campaign):
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    _login(client, "counselor")
    page = client.get(_url(student, campaign)).get_data(as_text=True)
    assert 'name="phq9:phq9_1"' in page and 'value="blank"' in page and "double_entry" in page
    response = client.post(_url(student, campaign), data=_form(1))
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.state == "screened_valid" and target.submitted_at is not None
    phq9 = _responses(target)[1]
    assert (phq9.instrument_id, phq9.total, phq9.band, phq9.source) == ("phq9", 9, "mild", "paper")
    assert phq9.entered_by_id == world.users["counselor"].id
    assert phq9.raw["answers"]["phq9_9"] == 1 and phq9.raw["seconds"] == {}
    assert _events("write_sensitive")[-1] == {
        "campaign": campaign.id,
        "source": "paper",
        "stage": "single",
    }
    # Recorded once: the form is not offered again.
    again = client.get(_url(student, campaign)).get_data(as_text=True)
    assert "already recorded" in again and 'name="phq9:phq9_1"' not in again
    assert client.post(_url(student, campaign), data=_form(2)).status_code == 409
    assert len(_responses(target)) == 2


def test_a_double_entry_records_only_when_the_second_matches(
    app, client, world, campaign, password_hash
):
    student = world.students["A1-1"]
    target = target_of(campaign, student)
    make_user("counselor2", password_hash, ("counselor", world.schools["A"]))
    db.session.flush()
    _login(client, "counselor")
    first = client.post(_url(student, campaign), data=_form(2) | {"double_entry": "1"})
    assert first.status_code == 302
    assert _count(PaperEntry) == 2 and _count(ScreeningResponse) == 0
    db.session.refresh(target)
    assert target.state == "not_started"
    assert b"phq9_1" not in db.session.scalar(select(PaperEntry.answers_sealed).limit(1))
    waiting = client.get(_url(student, campaign)).get_data(as_text=True)
    assert 'id="first-entry"' in waiting and "double_entry" not in waiting

    client.post("/logout")
    _login(client, "counselor2")
    second = client.post(_url(student, campaign), data=_form(2))
    assert second.status_code == 302
    db.session.refresh(target)
    assert target.state == "screened_valid"
    assert [r.total for r in _responses(target)] == [14, 18]  # gad7, phq9
    assert {r.source for r in _responses(target)} == {"paper"}
    assert _count(PaperEntry) == 0
    stages = [(e["stage"], e.get("same_user")) for e in _events("write_sensitive")]
    assert stages == [("first", None), ("second", False)]


def test_a_mismatching_second_entry_lists_the_items_and_records_nothing(client, world, campaign):
    student = world.students["A1-2"]
    target = target_of(campaign, student)
    _login(client, "counselor")
    client.post(_url(student, campaign), data=_form(1) | {"double_entry": "1"})
    second = client.post(_url(student, campaign), data=_form(1, phq9_3="2", gad7_7="blank"))
    assert second.status_code == 200
    page = second.get_data(as_text=True)
    assert 'id="mismatches"' in page
    assert 'data-item="phq9_3"' in page and 'data-item="gad7_7"' in page
    assert 'data-item="phq9_1"' not in page.split('id="mismatches"')[1].split("</table>")[0]
    assert "same person" in page  # both entries by the counselor
    assert _count(ScreeningResponse) == 0 and _count(PaperEntry) == 2
    db.session.refresh(target)
    assert target.state == "not_started"
    assert _events("write_sensitive")[-1]["stage"] == "mismatch"
    assert _events("view_sensitive")[-1]["page"] == "paper_mismatch"
    # The second entry's values stay in the form, to correct against the paper.
    assert 'name="phq9:phq9_3" value="2" checked' in page

    # Start over: discard the first entry, then a single entry records.
    discarded = client.post(_url(student, campaign), data={"action": "discard"})
    assert discarded.status_code == 302 and _count(PaperEntry) == 0
    assert client.post(_url(student, campaign), data=_form(1)).status_code == 302
    db.session.refresh(target)
    assert target.state == "screened_valid"


def test_a_value_outside_the_options_is_refused_and_nothing_is_stored(client, world, campaign):
    student = world.students["A1-0"]
    _login(client, "counselor")
    response = client.post(_url(student, campaign), data=_form(1, phq9_4="7"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "item 4: 7 is not one of its options (0, 1, 2, 3)" in page
    assert _count(ScreeningResponse) == 0 and _count(PaperEntry) == 0
    # The same for a first entry of a double entry.
    response = client.post(
        _url(student, campaign), data=_form(1, gad7_2="x") | {"double_entry": "1"}
    )
    assert response.status_code == 422 and _count(PaperEntry) == 0


def test_every_item_needs_a_choice_and_an_empty_form_records_nothing(client, world, campaign):
    student = world.students["A1-0"]
    _login(client, "counselor")
    partial = _form(1)
    del partial["phq9:phq9_2"], partial["phq9:phq9_5"]
    response = client.post(_url(student, campaign), data=partial)
    assert response.status_code == 422
    assert "item(s) 2, 5" in response.get_data(as_text=True)
    empty = client.post(_url(student, campaign), data={})
    assert empty.status_code == 302
    assert "Nothing was entered" in client.get(_url(student, campaign)).get_data(as_text=True)
    all_blank = client.post(_url(student, campaign), data=_form("blank"))
    assert all_blank.status_code == 422
    assert "Every item is blank" in all_blank.get_data(as_text=True)
    assert _count(ScreeningResponse) == 0


def test_blank_items_make_a_retest_pending_for_missing_answers(client, world, campaign):
    student = world.students["A2-0"]
    target = target_of(campaign, student)
    services.autosave(target, "phq9", "phq9_1", 3, 2.0)  # begun online, finished on paper
    _login(client, "counselor")
    assert 'id="begun-online"' in client.get(_url(student, campaign)).get_data(as_text=True)
    response = client.post(_url(student, campaign), data=_form(0, phq9_3="blank"))
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.state == "retest_pending" and target.reason == "phq9:missing"
    phq9 = _responses(target)[1]
    assert phq9.total is None and phq9.missing == 1 and phq9.valid is False
    assert "phq9_3" not in phq9.raw["answers"] and phq9.raw["answers"]["phq9_1"] == 0
    assert _count(DraftAnswer) == 0  # the paper form replaced the online answers
    assert "retest" in client.get(_url(student, campaign)).get_data(as_text=True)


def test_a_critical_answer_entered_raises_an_alert(client, world, campaign):
    student = world.students["A1-0"]
    _login(client, "counselor")
    client.post(_url(student, campaign), data=_form(0, phq9_9="2"))
    alert = db.session.scalar(select(CrisisAlert))
    assert alert.student_id == student.id and alert.detail == "phq9@1.0: phq9_9"


@pytest.mark.parametrize("state", ["consent_withheld", "transferred", "exempt"])
def test_targets_that_may_not_answer_are_refused(client, world, campaign, state):
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    approver = world.users["counselor"].id  # read first: loading it may autoflush
    target.state, target.reason, target.approved_by_id = state, "test", approver
    db.session.flush()
    _login(client, "counselor")
    page = client.get(_url(student, campaign)).get_data(as_text=True)
    assert 'id="entry-refused"' in page and 'name="phq9:phq9_1"' not in page
    assert client.post(_url(student, campaign), data=_form(1)).status_code == 409
    assert _count(ScreeningResponse) == 0


def test_forms_may_be_entered_after_the_window_closes(client, world, campaign):
    student = world.students["A1-0"]
    campaign.opens_at = utcnow() - timedelta(days=20)
    campaign.closes_at = utcnow() - timedelta(days=2)
    db.session.flush()
    _login(client, "counselor")
    page = client.get(_url(student, campaign)).get_data(as_text=True)
    assert 'id="window-closed"' in page and 'name="phq9:phq9_1"' in page
    assert client.post(_url(student, campaign), data=_form(0)).status_code == 302
    assert target_of(campaign, student).state == "screened_valid"


def test_a_student_who_is_not_a_target_gets_404(client, world, campaign):
    grade8 = SchoolClass(school=world.schools["A"], grade=8, name="1", entry_year=2025)
    db.session.add(grade8)
    outsider = make_student(grade8, "学生八年级")
    db.session.flush()
    _login(client, "counselor")
    assert client.get(_url(outsider, campaign)).status_code == 404
    assert client.get(f"/paper/students/{outsider.id}/campaigns/999999").status_code == 404


# ----------------------------------------------------------------------------- import


def _csv(world, rows: list[list[str]], extra: str | None = None) -> str:
    header = [*HEADER, extra] if extra else HEADER
    return "\n".join(",".join(row) for row in [header, *rows]) + "\n"


def _row(world, key: str, value: int = 1, **changes: str) -> list[str]:
    cells = {item: str(value) for item in PHQ9 + GAD7} | changes
    return [world.students[key].student_number, *(cells[item] for item in PHQ9 + GAD7)]


def _import(world, campaign, data: bytes, name: str = "forms.csv"):
    return paper_import.import_file(
        data, name, world.schools["A"], campaign, world.users["counselor"], utcnow()
    )


def _states(campaign, world, *keys: str) -> list[str]:
    return [target_of(campaign, world.students[key]).state for key in keys]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_bom_and_gbk_is_imported(english, world, campaign, encoding):
    rows = [
        [*_row(world, "A1-0", 1), "学生甲"],
        [*_row(world, "A1-1", 2, gad7_3=""), "学生乙"],
    ]
    data = _csv(world, rows, extra="姓名").encode(encoding)
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    outcome = _import(world, campaign, data)
    assert outcome.ok, outcome.problems
    assert (outcome.rows, outcome.screened, outcome.retests) == (2, 1, 1)
    assert outcome.ignored_columns == ["姓名"]
    assert _states(campaign, world, "A1-0", "A1-1") == ["screened_valid", "retest_pending"]
    target = target_of(campaign, world.students["A1-0"])
    assert {(r.instrument_id, r.total, r.source) for r in _responses(target)} == {
        ("phq9", 9, "import"),
        ("gad7", 7, "import"),
    }
    assert _events("import") == [{"campaign": campaign.id, "rows": 2}]


def test_xlsx_is_imported(world, campaign):
    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER, "姓名"])
    # Numbers as numbers (one as a float), the id as text.
    sheet.append([world.students["A2-2"].student_number, *([1] * 8), 1.0, *([0] * 7), "学生丙"])
    buffer = io.BytesIO()
    book.save(buffer)
    outcome = _import(world, campaign, buffer.getvalue(), "forms.xlsx")
    assert outcome.ok, outcome.problems
    assert outcome.screened == 1
    responses = _responses(target_of(campaign, world.students["A2-2"]))
    assert [(r.instrument_id, r.total) for r in responses] == [("gad7", 0), ("phq9", 9)]


def test_a_file_with_bad_rows_stores_nothing_and_lists_every_problem(english, world, campaign):
    consent = target_of(campaign, world.students["A2-1"])
    consent.state, consent.reason = "consent_withheld", "opted_out"
    db.session.flush()
    rows = [
        _row(world, "A1-0", 1),  # 1: good
        _row(world, "A1-1", 1, phq9_2="4", gad7_5="x"),  # 2: two bad cells
        ["G0000000000000000000", *_row(world, "A1-2")[1:]],  # 3: unknown number
        _row(world, "A1-0", 2),  # 4: the same student again
        _row(world, "B1-0", 1),  # 5: another school's student
        _row(world, "A2-1", 1),  # 6: no consent
        ["", *_row(world, "A2-2")[1:]],  # 7: no number
        [world.students["A2-0"].student_number, *([""] * 16)],  # 8: no answers
    ]
    outcome = _import(world, campaign, _csv(world, rows).encode())
    assert not outcome.ok
    found = [(p.row, p.column) for p in outcome.problems]
    assert found == [
        (2, "phq9_2"),
        (2, "gad7_5"),
        (3, "respondent_id"),
        (4, "respondent_id"),
        (5, "respondent_id"),
        (6, "respondent_id"),
        (7, "respondent_id"),
        (8, None),
    ]
    messages = {p.row: p.message for p in outcome.problems}
    assert "first in row 1" in messages[4]
    assert messages[3] == messages[5]  # another school's student looks like an unknown one
    assert "consent" in messages[6]
    assert outcome.problems[0].value == "4" and "0, 1, 2, 3" in outcome.problems[0].message
    assert _count(ScreeningResponse) == 0 and _events("import") == []
    assert _states(campaign, world, "A1-0") == ["not_started"]


def test_a_missing_column_is_named(world, campaign):
    header = ",".join(h for h in HEADER if h != "gad7_7")
    outcome = _import(world, campaign, f"{header}\n".encode())
    assert [(p.row, p.column) for p in outcome.problems] == [(0, "gad7_7")]


def test_a_waiting_first_entry_and_a_screened_target_refuse_their_rows(english, world, campaign):
    screened = target_of(campaign, world.students["A1-0"])
    services.record_responses(
        screened,
        battery(campaign),
        {"phq9": ({i: 0 for i in PHQ9}, {}), "gad7": ({i: 0 for i in GAD7}, {})},
        source="paper",
        user=world.users["counselor"],
    )
    waiting = target_of(campaign, world.students["A1-1"])
    answers = {"phq9": dict.fromkeys(PHQ9, 1), "gad7": dict.fromkeys(GAD7, 1)}
    paper_import.enter_form(
        waiting, battery(campaign), answers, True, world.users["counselor"], utcnow()
    )
    rows = [_row(world, "A1-0"), _row(world, "A1-1")]
    outcome = _import(world, campaign, _csv(world, rows).encode())
    assert [(p.row, p.column) for p in outcome.problems] == [
        (1, "respondent_id"),
        (2, "respondent_id"),
    ]
    assert "already recorded" in outcome.problems[0].message
    assert "second entry" in outcome.problems[1].message


def test_a_critical_answer_imported_raises_an_alert(world, campaign):
    rows = [_row(world, "A1-0", 0, phq9_9="1"), _row(world, "A1-1", 0)]
    outcome = _import(world, campaign, _csv(world, rows).encode())
    assert outcome.ok and outcome.alerts == 1
    alert = db.session.scalar(select(CrisisAlert))
    assert alert.student_id == world.students["A1-0"].id
    assert alert.detail == "phq9@1.0: phq9_9"


def test_the_import_page_and_its_template(client, world, campaign):
    school = world.schools["A"]
    _login(client, "counselor")
    base = f"/paper/schools/{school.id}/campaigns/{campaign.id}/import"
    page = client.get(base).get_data(as_text=True)
    assert ", ".join(HEADER) in page
    template = client.get(f"{base}/template.csv")
    assert template.status_code == 200
    assert template.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in template.headers["Content-Disposition"]
    assert template.get_data(as_text=True) == ",".join(HEADER) + "\n"

    assert "Choose a file" in client.post(base, data={}).get_data(as_text=True)
    good = _csv(world, [_row(world, "A1-0", 1)]).encode("gbk")
    response = client.post(base, data={"file": (io.BytesIO(good), "forms.csv")})
    assert response.status_code == 200
    assert 'id="import-summary"' in response.get_data(as_text=True)
    assert _states(campaign, world, "A1-0") == ["screened_valid"]
    bad = _csv(world, [_row(world, "A1-1", 9)]).encode()
    response = client.post(base, data={"file": (io.BytesIO(bad), "forms.csv")})
    assert response.status_code == 422
    assert 'id="import-errors"' in response.get_data(as_text=True)
    assert _states(campaign, world, "A1-1") == ["not_started"]
    # A school the campaign does not cover: 404 (admin may see school B).
    client.post("/logout")
    _login(client, "admin")
    other = f"/paper/schools/{world.schools['B'].id}/campaigns/{campaign.id}/import"
    assert client.get(other).status_code == 404
    assert client.get(f"{other}/template.csv").status_code == 404
