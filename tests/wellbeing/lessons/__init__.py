"""Tests of the mental-health lesson log. Its expected access (endpoint -> roles) is in
access_lessons.py here; the role-by-route test merges it."""

import importlib
import pkgutil
from pathlib import Path

ACCESS_MODULES = [
    importlib.import_module(f"{__name__}.{info.name}")
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name.startswith("access_")
]
