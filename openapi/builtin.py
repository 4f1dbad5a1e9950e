"""The registry entries of the families this project ships (registered in its ``pyproject.toml``).

Each names the family's contract in this package, its mock module in ``mockserver.families`` and its
profile in ``conformance.profiles``; nothing here imports either half.
"""

from __future__ import annotations

from convo_contracts.registry import FamilyEntry

OPENAI = FamilyEntry(
    name="openai",
    contract="openai-conversations.yaml",
    mock_module="mockserver.families.openai",
    profile_module="conformance.profiles.openai",
)

VIRTUOUSAI = FamilyEntry(
    name="virtuousai",
    contract="virtuousai-chat.yaml",
    mock_module="mockserver.families.virtuousai",
    profile_module="conformance.profiles.virtuousai",
)

POSTHOG = FamilyEntry(
    name="posthog",
    contract="posthog-max.yaml",
    mock_module="mockserver.families.posthog",
    profile_module="conformance.profiles.posthog",
)

NOXUS = FamilyEntry(
    name="noxus",
    contract="noxus-conversations.yaml",
    mock_module="mockserver.families.noxus",
    profile_module="conformance.profiles.noxus",
)

VENNA = FamilyEntry(
    name="venna",
    contract="venna-conversations.yaml",
    mock_module="mockserver.families.venna",
    profile_module="conformance.profiles.venna",
)
