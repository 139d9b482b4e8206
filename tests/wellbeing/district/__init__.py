"""Tests of the district's indicators. Each group of pages keeps its expected access
(endpoint -> roles) in an access_<group>.py module here; the role-by-route test merges
them all."""

import importlib
import pkgutil
from pathlib import Path

ACCESS_MODULES = [
    importlib.import_module(f"{__name__}.{info.name}")
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name.startswith("access_")
]
