"""Tests of screening campaigns. Each area's expected access (endpoint -> roles) lives in
an access_<area>.py module here; the role-by-route test merges them all."""

import importlib
import pkgutil
from pathlib import Path

ACCESS_MODULES = [
    importlib.import_module(f"{__name__}.{info.name}")
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name.startswith("access_")
]
