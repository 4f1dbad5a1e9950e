"""The one registry of families, read by the mock and the suite alike.

A family is registered as a Python entry point in the group `convo_mock.families`; the entry point is
named after the family and points at a `FamilyEntry`, which names the family's three parts:

- its contract (a reference `convo_contracts.contract_path` resolves),
- the mock module defining `FAMILY` (a `mockserver.family.Family`),
- the suite module defining `PROFILE` (a `conformance.profiles.Profile`).

The parts are named, not imported: reading the registry imports neither the mock nor the suite, and
each half imports only its own part. The built-in families are registered in this project's
`pyproject.toml` (their entries are in `convo_contracts.builtin`); a third-party package adds a family
by declaring its own entry point, e.g.

    [project.entry-points."convo_mock.families"]
    notes = "my_notes_family:ENTRY"
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from convo_contracts import contract_path

ENTRY_POINT_GROUP = "convo_mock.families"

__all__ = ["ENTRY_POINT_GROUP", "FamilyEntry", "RegistryError", "families"]


class RegistryError(LookupError):
    """A registered family is missing or malformed."""


@dataclass(frozen=True)
class FamilyEntry:
    """A family's three parts, by name."""

    name: str
    """Short name used on the command line and in URLs, e.g. ``openai``."""
    contract: str
    """The contract, as a reference for `convo_contracts.contract_path` (``file.yaml`` or ``package:file.yaml``)."""
    mock_module: str
    """Module defining ``FAMILY``, the mock's plug-in."""
    profile_module: str
    """Module defining ``PROFILE``, the suite's plug-in."""

    @property
    def contract_path(self) -> Path:
        return contract_path(self.contract)

    def mock_family(self) -> Any:
        """The mock module's ``FAMILY`` (imports the mock module, nothing of the suite)."""
        return _attribute(self.mock_module, "FAMILY", self.name)

    def profile(self) -> Any:
        """The suite module's ``PROFILE`` (imports the suite module, nothing of the mock)."""
        return _attribute(self.profile_module, "PROFILE", self.name)


def families() -> dict[str, FamilyEntry]:
    """Every registered family, by name, sorted by name (read anew on each call, so a family installed
    or put on ``sys.path`` meanwhile is seen); RegistryError if there is none (a stale install)."""
    found: dict[str, FamilyEntry] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in found:
            continue  # the same distribution seen twice on sys.path: the first one wins, as for imports
        value = point.load()
        if not isinstance(value, FamilyEntry):
            raise RegistryError(f"entry point {point.name} = {point.value} is not a FamilyEntry: {value!r}")
        if value.name != point.name:
            raise RegistryError(f"entry point {point.name} = {point.value} names family {value.name!r}")
        found[point.name] = value
    if not found:  # the built-in families are always registered when the package is installed
        raise RegistryError(f"no family is registered in {ENTRY_POINT_GROUP}: is convo-mock installed, and "
                            "installed anew since pyproject.toml changed (pip install -e .)?")
    return dict(sorted(found.items()))


def _attribute(module_name: str, attribute: str, family: str) -> Any:
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise RegistryError(f"family {family}: module {module_name} defines no {attribute}")
    return getattr(module, attribute)
