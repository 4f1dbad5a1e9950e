"""The built-in family plug-ins (one module each, defining ``FAMILY``), and the families the mock serves.

Which families exist is the registry's to say (``convo_contracts.registry``: entry points of the group
``convo_mock.families``, the built-in ones declared in ``pyproject.toml``); ``discover`` loads the mock
part of each, so a family another package registers is served like these.
"""

from __future__ import annotations

from convo_contracts.registry import RegistryError, families
from mockserver.family import Family


def discover() -> dict[str, Family]:
    """The mock part (``FAMILY``) of every registered family, by name, sorted by name."""
    found: dict[str, Family] = {}
    for name, entry in families().items():
        family = entry.mock_family()
        if not isinstance(family, Family) or family.name != name:
            raise RegistryError(f"family {name}: {entry.mock_module}.FAMILY is not a Family named {name!r}")
        found[name] = family
    return found
