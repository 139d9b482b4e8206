"""Instrument files: the shipped ones, good and bad fixtures, hashes, registry, catalog."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from screening import rules
from screening.errors import InstrumentError, UnknownInstrument, UnknownItem
from screening.instruments import (
    content_hash,
    instrument_files,
    load_catalog,
    load_instrument,
    parse_instrument,
    resolve,
    schema,
    shipped_dir,
)
from tests.screening.conftest import BAD, GOOD

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "instruments"


def test_shipped_instruments_load_and_are_freely_usable() -> None:
    catalog = load_catalog()
    assert catalog.problems == []
    assert {"phq9@1.0", "gad7@1.0", "k6@1.0"} <= set(catalog.instruments)
    for instrument in catalog.instruments.values():
        assert instrument.document["licence"]["kind"] in ("public_domain", "free")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference data not beside the repo")
@pytest.mark.parametrize("name", ["phq9", "gad7", "k6"])
def test_shipped_texts_match_the_shared_reference(name: str) -> None:
    """Texts, option values and labels, band bounds are copied exactly from shared/."""
    source = json.loads((SHARED / f"{name}.json").read_text(encoding="utf-8"))
    instrument = resolve(name)
    languages = instrument.languages
    assert [i.id for i in instrument.items] == [f"{name}_{i['n']}" for i in source["items"]]
    for item, reference in zip(instrument.items, source["items"], strict=True):
        assert item.text == {lang: reference[lang] for lang in languages}
        assert [(o.value, dict(o.label)) for o in item.options] == [
            (o["value"], {lang: o[lang] for lang in languages}) for o in source["options"]
        ]
    if "severity_bands" in source:
        bands = instrument.total.bands  # type: ignore[union-attr]
        assert [(b.min, b.max, b.label["en"]) for b in bands] == [
            (b["min"], b["max"], b["en"]) for b in source["severity_bands"]
        ]


def test_installed_data_files_are_found(tmp_path: Path, monkeypatch) -> None:
    """A wheel installs instruments/ as data files under share/wellbeing/instruments."""
    import screening.instruments as module

    installed = tmp_path / "prefix" / module.DATA_SUBDIR
    installed.mkdir(parents=True)
    for path in shipped_dir().iterdir():
        (installed / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(module, "PACKAGE_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(module, "INSTALLED_DIRS", (tmp_path / "nowhere", installed))
    assert shipped_dir() == installed
    assert load_catalog().get("phq9").source.startswith(str(installed))


def test_phq9_item_9_is_critical(phq9) -> None:
    assert [(phq9.items[c.item].id, c.min) for c in phq9.critical] == [("phq9_9", 1)]


def test_good_fixtures_load() -> None:
    for path in instrument_files(GOOD):
        assert load_instrument(path).id


def _expectation(path: Path) -> tuple[str, str]:
    match = re.match(r"# expect: (\S+) (\S+)", path.read_text(encoding="utf-8"))
    assert match, f"{path.name} must start with '# expect: CODE PATH'"
    return match[1], "" if match[2] == "-" else match[2]


@pytest.mark.parametrize("path", instrument_files(BAD), ids=lambda p: p.stem)
def test_bad_fixture_raises_its_error(path: Path) -> None:
    code, where = _expectation(path)
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    found = [(p.code, p.path) for p in caught.value.problems]
    assert (code, where) in found
    # Every message names the file and, where there is one, the JSON path.
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{path}: ")


def test_content_hash_ignores_layout_and_comments_but_not_content() -> None:
    text = (GOOD / "tiny.yaml").read_text(encoding="utf-8")
    original = parse_instrument(text).content_hash
    relaid = "# another comment\n" + text.replace("format: 1\n", "format:    1   # the format\n")
    document = yaml.safe_load(text)
    reordered = yaml.safe_dump(dict(reversed(list(document.items()))), allow_unicode=True)
    assert parse_instrument(relaid).content_hash == original
    assert parse_instrument(reordered).content_hash == original
    assert parse_instrument(text.replace('en: "one"', 'en: "One"')).content_hash != original
    assert content_hash(document) == original
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", original)


def test_registry_and_schema_agree() -> None:
    """The schema declares parameters for exactly the registered validity and missing rules."""
    defs = schema()["$defs"]
    declared = {clause["if"]["properties"]["rule"]["const"] for clause in defs["validity"]["allOf"]}
    assert declared == set(rules.names("validity"))
    missing = {clause["if"]["properties"]["rule"]["const"] for clause in defs["missing"]["allOf"]}
    assert missing <= set(rules.names("missing"))
    for rule in rules.REGISTRY.values():
        assert callable(rule.vector) and callable(rule.row)
        assert (rule.kind == "validity") == (rule.index is not None)


def test_catalog_lookup_by_id_version_and_path(tmp_path: Path) -> None:
    text = (GOOD / "tiny.yaml").read_text(encoding="utf-8")
    (tmp_path / "tiny-1.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "tiny-10.yaml").write_text(text.replace('version: "1"', 'version: "10"'), "utf-8")
    (tmp_path / "tiny-9.yaml").write_text(text.replace('version: "1"', 'version: "9"'), "utf-8")
    catalog = load_catalog([tmp_path])
    assert catalog.get("tiny").version == "10"  # numeric parts compare as numbers
    assert catalog.get("tiny@9").version == "9"
    assert resolve("tiny@1", [tmp_path]).version == "1"
    assert resolve(str(tmp_path / "tiny-9.yaml")).version == "9"
    with pytest.raises(UnknownInstrument, match="phq"):
        catalog.get("nope")
    with pytest.raises(UnknownInstrument):
        resolve(str(tmp_path / "absent.yaml"))


def test_duplicate_id_and_version_across_directories(tmp_path: Path) -> None:
    (tmp_path / "phq9-copy.yaml").write_bytes((shipped_dir() / "phq9-1.0.yaml").read_bytes())
    catalog = load_catalog([tmp_path])
    assert [e.codes for e in catalog.problems] == [("duplicate_instrument",)]
    assert catalog.get("phq9").source.endswith("instruments/phq9-1.0.yaml")


def test_a_broken_neighbour_does_not_block_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: [", encoding="utf-8")
    (tmp_path / "tiny.yaml").write_bytes((GOOD / "tiny.yaml").read_bytes())
    catalog = load_catalog([tmp_path])
    assert catalog.get("tiny").id == "tiny"
    assert [e.codes for e in catalog.problems] == [("yaml",)]


def test_unknown_item_is_a_named_error(phq9) -> None:
    with pytest.raises(UnknownItem, match="phq9_10"):
        phq9.index_of("phq9_10")


def test_non_utf8_instrument_file_is_reported() -> None:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument("id: 量表".encode("gbk"), "gbk.yaml")
    assert caught.value.codes == ("yaml",)


def test_screening_imports_neither_flask_sqlalchemy_nor_wellbeing() -> None:
    # Every module of the package, so a new one is covered without editing this test.
    code = (
        "import importlib, pkgutil, sys, screening\n"
        "for m in pkgutil.walk_packages(screening.__path__, 'screening.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert 'screening.fitness' in sys.modules and 'screening.vision' in sys.modules\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "bad = sorted(roots & {'flask', 'sqlalchemy', 'wellbeing'})\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
