"""Family plug-ins. Each module here that defines ``FAMILY`` is served by the mock."""

from __future__ import annotations

import importlib
import pkgutil

from mockserver.family import Family


def discover() -> dict[str, Family]:
    """All families found in this package, by name."""
    found: dict[str, Family] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        family = getattr(module, "FAMILY", None)
        if isinstance(family, Family):
            found[family.name] = family
    return found
