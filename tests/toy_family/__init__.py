"""A toy sixth family, kept in the tests and not shipped: notes you create, get and list.

Its three parts are ``notes.yaml`` (the contract), ``mock.py`` (``FAMILY``) and ``profile.py``
(``PROFILE``); ``ENTRY`` names them for the family registry. Nothing registers it by default: a test
drops in an entry point for it (``tests.test_registry``), as a third-party package would declare one,
and the mock and the suite then serve and check it with no other change.
"""

from __future__ import annotations

from convo_contracts.registry import FamilyEntry

ENTRY = FamilyEntry(
    name="toy",
    contract="tests.toy_family:notes.yaml",
    mock_module="tests.toy_family.mock",
    profile_module="tests.toy_family.profile",
)
