"""Family profiles, discovered by module: every module (or package) here that defines `PROFILE` is a family.

Adding a family means adding `profiles/<family>.py` (or a `profiles/<family>/` package, when the family
brings its own checks) with a `PROFILE` (a `Profile` subclass instance) and its spec under `openapi/`;
nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from conformance.profiles.base import Profile

__all__ = ["Profile", "available", "get"]


@cache
def available() -> dict[str, Profile]:
    """Every family profile, by name."""
    found: dict[str, Profile] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_") or module_info.name in ("base", "conversations"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        profile = getattr(module, "PROFILE", None)
        if isinstance(profile, Profile):
            found[profile.name] = profile
    return dict(sorted(found.items()))


def get(name: str) -> Profile:
    """The profile of family `name`; KeyError if there is none."""
    return available()[name]
