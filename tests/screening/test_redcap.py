"""REDCap data dictionary import: a small dictionary written for the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from screening import redcap
from screening.instruments import instrument_from_document, parse_instrument
from tests.screening.conftest import FIXTURES
from wellbeing.instruments_cli import instruments_group

DICTIONARY = FIXTURES / "redcap_dictionary.csv"


def test_convert_items_choices_and_sum() -> None:
    converted = redcap.convert(DICTIONARY.read_bytes(), "mood_check", source_name="dd.csv")
    instrument = instrument_from_document(converted.document)
    assert instrument.item_ids == (
        "mood_1",
        "mood_2",
        "mood_3",
        "mood_sym___1",
        "mood_sym___2",
        "mood_sym___99",
        "mood_4",
    )
    mood_1 = instrument.items[0]
    assert mood_1.text == {"en": "Feeling low"}  # HTML removed
    assert [(o.value, o.label["en"]) for o in mood_1.options][-1] == (3, "Nearly every day")
    assert instrument.items[2].values == (1, 0)  # yesno: REDCap codes 1 = yes
    assert instrument.items[3].values == (0, 1) and not instrument.items[3].required
    assert mood_1.required and not instrument.items[2].required
    assert instrument.total is not None and instrument.total.items == (0, 1, 2)
    assert instrument.total.rule == "sum" and instrument.total.missing_rule == "complete"
    assert [(s.id, s.items) for s in instrument.subscales] == [("mood_pair", (0, 1))]
    notes = "\n".join(converted.notes)
    for expected in (
        "mood_intro: descriptive field skipped",
        "mood_comment: notes field skipped",
        "mood_4: branching logic not carried over",
        "mood_weird: choice code 'a' is not a whole number",
        "mood_flag: calculation 'if([mood_1] > 2, 1, 0)' is not a plain sum",
        "mood_other: sums fields that are not items of this form (grade)",
    ):
        assert expected in notes
    assert any("bands" in problem for problem in converted.problems)


def test_yaml_round_trip_and_chinese_labels() -> None:
    data = DICTIONARY.read_text(encoding="utf-8").replace("Feeling <i>low</i>", "情绪低落")
    converted = redcap.convert(data.encode("gbk"), "mood_check")
    assert converted.document["languages"] == ["zh"]
    instrument = parse_instrument(redcap.to_yaml(converted.document))
    assert instrument.items[0].text == {"zh": "情绪低落"}
    assert instrument.items[2].options[0].label == {"zh": "是"}


def test_a_form_without_a_sum_is_left_for_the_user() -> None:
    converted = redcap.convert(DICTIONARY.read_bytes(), "enrolment")
    assert [i["id"] for i in converted.document["items"]] == ["grade"]
    assert any("neither a total nor a subscale" in p for p in converted.problems)


def test_errors() -> None:
    with pytest.raises(redcap.RedcapError, match="forms: enrolment, mood_check"):
        redcap.convert(DICTIONARY.read_bytes(), "nope")
    with pytest.raises(redcap.RedcapError, match="not a REDCap data dictionary"):
        redcap.convert(b"a,b\n1,2\n", "x")


def test_command_writes_a_file_that_checks(tmp_path: Path) -> None:
    out = tmp_path / "mood.yaml"
    runner = CliRunner()
    result = runner.invoke(
        instruments_group,
        ["import-redcap", str(DICTIONARY), "--form", "mood_check", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "note: mood_flag" in result.stderr and "to do:" in result.stderr
    check = runner.invoke(instruments_group, ["check", str(out)])
    assert check.exit_code == 0 and "ok    mood_check@1" in check.stdout
    again = runner.invoke(
        instruments_group,
        ["import-redcap", str(DICTIONARY), "--form", "mood_check", "-o", str(out)],
    )
    assert again.exit_code == 2 and "exists" in again.stderr
    missing = runner.invoke(instruments_group, ["import-redcap", str(DICTIONARY), "--form", "x"])
    assert missing.exit_code == 2 and "no form 'x'" in missing.stderr
    stdout = runner.invoke(
        instruments_group,
        ["import-redcap", str(DICTIONARY), "--form", "mood_check", "--id", "mood"],
    )
    assert stdout.exit_code == 0 and "id: mood\n" in stdout.stdout
