"""Access of the student's questionnaire runner: public (students do not log in; the
runner session in the signed cookie is its own guard, tested in test_runner.py)."""

PUBLIC = {
    "runner.enter",
    "runner.section",
    "runner.language",
    "runner.answer",
    "runner.submit",
    "runner.done",
    "runner.leave",
}
EXPECTED: dict[str, set[str]] = {}
