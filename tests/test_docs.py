"""The repository documents itself: every file or folder the README and docs/ name exists in
a clone, and none of them sends the reader outside it (a clone has no ../shared)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A path in backticks or a Markdown link: a top-level folder of the repository, then more.
# instance/ and test-artifacts/ are made at run time, so their files are not in a clone.
RUN_TIME = {"instance", "test-artifacts"}
TOP_LEVEL = "|".join(
    re.escape(p.name)
    for p in ROOT.iterdir()
    if p.is_dir() and not p.name.startswith(".") and p.name not in RUN_TIME
)
NAMED_PATH = re.compile(rf"[`(]((?:{TOP_LEVEL})/[\w./-]*)[`)]")
LINK = re.compile(r"\]\(([^)#]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_named_path_exists(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    named = set(NAMED_PATH.findall(text))
    assert named, "the pattern found no path: the test would prove nothing"
    missing = sorted(p for p in named if "*" not in p and not (ROOT / p).exists())
    links = [
        link
        for link in LINK.findall(text)
        if "://" not in link and not (document.parent / link).exists()
    ]
    assert not missing and not links, (missing, links)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_nothing_points_outside_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/contracts" not in text
