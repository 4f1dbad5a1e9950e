"""The built-in family profiles (a module, or a package when the family brings checks of its own, each
defining `PROFILE`), and the profiles the suite runs.

Which families exist is the registry's to say (`convo_contracts.registry`: entry points of the group
`convo_mock.families`, the built-in ones declared in `pyproject.toml`); `available` loads the suite part
of each, so a family another package registers is checked like these.
"""

from __future__ import annotations

from conformance.profiles.base import Profile
from convo_contracts.registry import RegistryError, families

__all__ = ["Profile", "available", "get"]


def available() -> dict[str, Profile]:
    """The profile (`PROFILE`) of every registered family, by name, sorted by name."""
    return {name: _profile(name, entry.profile()) for name, entry in families().items()}


def get(name: str) -> Profile:
    """The profile of family `name`; KeyError if there is none."""
    registered = families()
    if name not in registered:
        raise KeyError(name)
    return _profile(name, registered[name].profile())


def _profile(name: str, profile: object) -> Profile:
    if not isinstance(profile, Profile) or profile.name != name:
        raise RegistryError(f"family {name}: its PROFILE is not a Profile named {name!r}")
    return profile
