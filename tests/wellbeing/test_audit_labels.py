"""The audit browser names every act in words: each action recorded anywhere in the code
has a label (found by reading every record_event call), so does each key its detail is
written with, and the browser shows actions, targets and details in Chinese, not as
stored (`coverage_mark`, `{"state": "absent"}`). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import login
from tests.wordcheck import problems, visible_text
from wellbeing.security import audit_labels
from wellbeing.security.audit import record_event

pytestmark = pytest.mark.app

PACKAGE = Path(__file__).resolve().parents[2] / "wellbeing"
# Functions that write an audit row, and the position of their action argument.
WRITERS = {"record_event": 0, "_audit": 1, "audit": 0}  # audit: an injected record_event


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in WRITERS or name == "record_view":
                    found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node))
    return found


def _literal_keys(node: ast.AST | None) -> set[str]:
    if not isinstance(node, ast.Dict):
        return set()
    return {k.value for k in node.keys if isinstance(k, ast.Constant)}


def test_every_recorded_action_and_detail_key_has_a_label(app):
    actions, keys = {}, {}
    for where, call in _calls():
        name = getattr(call.func, "id", getattr(call.func, "attr", None))
        if name == "record_view":
            for keyword in call.keywords:
                if keyword.arg:
                    keys.setdefault(keyword.arg, where)
            continue
        position = WRITERS[name]
        if len(call.args) > position and isinstance(call.args[position], ast.Constant):
            actions.setdefault(call.args[position].value, where)
        detail = next((k.value for k in call.keywords if k.arg == "detail"), None)
        if detail is None and len(call.args) > position + 1:
            detail = call.args[position + 1]
        for key in _literal_keys(detail):
            keys.setdefault(key, where)
    assert len(actions) >= 25, sorted(actions)
    unlabelled = {a: w for a, w in actions.items() if a not in audit_labels.ACTIONS}
    assert not unlabelled, f"actions without a label (register_labels): {unlabelled}"
    unlabelled = {k: w for k, w in keys.items() if k not in audit_labels.FIELDS}
    assert not unlabelled, f"detail keys without a label (register_labels): {unlabelled}"


def test_every_audited_page_has_a_name():
    """record_view names the page by its endpoint: each has words."""
    from tests.wellbeing.test_audit_reads import SHOWS_STUDENTS

    unnamed = [page for page in SHOWS_STUDENTS if page not in audit_labels.VALUES]
    assert not unnamed, f"pages without a name in the audit browser: {unnamed}"


def test_the_browser_shows_actions_targets_and_details_in_words(client, world):
    student, school = world.students["A1-0"], world.schools["A"]
    record_event("coverage_mark", target=student, detail={"state": "absent"})
    record_event("consent_record", target=student, detail={"campaign": 3, "decision": "opt_out"})
    record_event("crisis_alert", target=("crisis_alert", 7), detail={"school": school.id})
    record_event("login", detail={"second_factor": "totp"})
    record_event(
        "import", target=("roster", "file"), detail={"counts": {"students": {"created": 2}}}
    )
    health = {"kind": "vision", "round": "2026-autumn", "school_year": 2026, "rows": 3}
    record_event("import", target=school, detail=health)
    page = {"page": "roster.school_class", "students": 3}
    record_event("view_list", target=world.classes["A1"], detail=page)
    login(client, "admin")
    page = client.get("/admin/audit/").get_data(as_text=True)
    text = visible_text(page)
    for words in (
        "标记覆盖状态",
        "状态：缺测",
        "记录家长意见",
        "：拒绝参加",
        "发出危机预警",
        "危机预警 7",
        f"学生 {student.id}",
        "第二重验证：身份验证器应用",
        "花名册",
        "查看学生名单",
        "页面：班级名单",
        "学生：3",
        "视力筛查轮次：2026年秋季",
        "学年：2026—2027学年",
    ):
        assert words in text, words
    assert not problems(text, {"admin"}), problems(text, {"admin"})
    # The filter offers targets by name too, and filters by the stored kind.
    assert '<option value="school_class">班级</option>' in page
    filtered = client.get("/admin/audit/?target_type=crisis_alert").get_data(as_text=True)
    assert 'data-action="crisis_alert"' in filtered and 'data-action="login"' not in filtered


def test_an_unknown_detail_shows_as_stored():
    assert audit_labels.detail_items("not json") == [("", "not json")]
    assert audit_labels.detail_items(None) == []
