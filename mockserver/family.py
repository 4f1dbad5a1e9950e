"""What a family plug-in provides: its spec, URL prefix, handlers and error envelope.

A family module (the built-in ones live in ``mockserver.families``) exposes ``FAMILY = Family(...)``;
the server finds it through the family registry (``convo_contracts.registry``, read by
``mockserver.families.discover``), so adding a family changes no shared code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convo_contracts import contract_path
from mockserver.errors import ErrorResponse, MockError
from mockserver.store import Store


@dataclass(frozen=True)
class Family:
    """One vendor API family served by the mock."""

    name: str
    """Short name used on the command line and in URLs, e.g. ``openai``."""
    spec_file: str
    """The contract, as a reference ``convo_contracts.contract_path`` resolves: a file name in ``openapi/``,
    ``package:file.yaml`` or an absolute path."""
    base_path: str
    """URL prefix the family is mounted at, e.g. ``/openai/v1``."""
    create_handlers: Callable[[Store], Mapping[str, Callable]]
    """Given the app's store, returns operationId → handler (async functions taking Connexion's parameters)."""
    render_error: Callable[[MockError], ErrorResponse]
    """Turns any ``MockError`` into the vendor's status, envelope and headers."""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    """Static headers the vendor sends on every response."""
    description: str = ""
    optional_trailing_slash: bool = False
    """The vendor serves every path with or without a trailing slash, as one operation and without a
    redirect; the contract's paths end with one, and a request without it is routed as if it had it."""
    declared_body: Callable[[str, str, int], Any | None] | None = None

    @property
    def spec_path(self) -> Path:
        return contract_path(self.spec_file)
