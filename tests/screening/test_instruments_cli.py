"""`wellbeing instruments check` and `list`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.screening.conftest import BAD, GOOD
from wellbeing.instruments_cli import instruments_group


def test_check_shipped_and_school_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(instruments_group, ["check", "--dir", str(GOOD)])
    assert result.exit_code == 0, result.output
    for ref in ("phq9@1.0", "gad7@1.0", "k6@1.0", "mht_shaped@school-1"):
        assert f"ok    {ref}" in result.stdout


def test_checking_a_shipped_file_again_is_not_a_duplicate() -> None:
    from screening.instruments import shipped_dir

    result = CliRunner().invoke(instruments_group, ["check", str(shipped_dir() / "phq9-1.0.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("phq9@1.0") == 1


def test_check_reports_file_and_path_of_each_problem() -> None:
    result = CliRunner().invoke(
        instruments_group, ["check", str(BAD / "band_gap.yaml"), str(BAD / "unknown_item.yaml")]
    )
    assert result.exit_code == 1
    assert f"error {BAD / 'band_gap.yaml'}: scoring.bands[1].min: gap" in result.stdout
    assert "scoring.subscales[0].items[1]: unknown item 'q4'" in result.stdout
    assert "2 problem(s) in 2 file(s)" in result.stderr


def test_list_shows_shipped_and_extra_instruments(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_bytes((GOOD / "tiny.yaml").read_bytes())
    (tmp_path / "broken.yaml").write_text("id: [", encoding="utf-8")
    result = CliRunner().invoke(instruments_group, ["list", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["id@version", "items", "languages"]
    assert any(
        line.startswith("phq9@1.0") and "Patient Health Questionnaire-9" in line for line in lines
    )
    assert any(line.startswith("tiny@1") for line in lines)
    assert "broken.yaml" in result.stderr
