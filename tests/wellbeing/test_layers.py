"""Layers point one way (../shared/DESIGN.md): security/ and roster/ import no area above
them, and notifications/ (a low layer too) imports no area. An area registers what a lower
layer needs from it (retention rules, audit labels, scope rules, jobs) or subscribes to the
lower layer's signals. The follow-ups and the campaigns import no area above them.
Read from the source, so a lazy import inside a function counts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wellbeing"
AREAS = (
    "campaigns",
    "notes",
    "health",
    "followups",
    "district",
    "review",
    "plans",
    "observations",
    "lessons",
)
# Each low layer and what it must never import.
FORBIDDEN = {
    "security": ("notifications", "scheduler", *AREAS),
    "roster": ("notifications", "scheduler", *AREAS),
    "notifications": AREAS,
    # Areas point one way too: the review builds on the campaigns and the follow-ups, and
    # hears of a scored sitting by the campaigns' signal.
    "followups": tuple(a for a in AREAS if a != "followups"),
    "campaigns": ("followups", "review", "plans", "observations", "lessons"),
    # The observations show on the review's pages through its registries.
    "review": ("plans", "observations", "lessons"),
    # The lesson log stands on the roster and security alone; the district reads it.
    "lessons": tuple(a for a in AREAS if a != "lessons"),
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_low_layer_imports_no_area_above_it(layer):
    wrong = []
    for path in sorted((PACKAGE / layer).glob("*.py")):
        for module in _imports(path):
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == "wellbeing" and parts[1] in FORBIDDEN[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from wellbeing.campaigns.models import Campaign\n")
    assert "wellbeing.campaigns.models" in _imports(module)
