"""The families' contracts, shipped as package data, and the one way to find one: `contract_path`.

This folder (`openapi/` in the repository) is installed as the import package `convo_contracts`, so a
wheel carries the YAML and both halves (the mock and the suite) read a contract through the same
resolver. A contract is named by a reference:
- a bare file name, `openai-conversations.yaml`: a contract shipped here;
- `package:resource`, `my_family:contract.yaml`: a resource of another (e.g. third-party) package;
- an absolute path: a file anywhere (tests serve edited copies of a contract this way).

`convo_contracts.registry` says which families exist; it imports neither the mock nor the suite.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["contract_path"]

_extracted = ExitStack()
atexit.register(_extracted.close)


def contract_path(reference: str) -> Path:
    """The file of the contract `reference` names (see the module docstring); FileNotFoundError if none."""
    if Path(reference).is_absolute():
        path = Path(reference)
    else:
        package, _, resource = reference.rpartition(":")
        resource_file = files(package or __name__).joinpath(resource)
        # Installed as plain files (the usual case) this is a real path; from a zip it is extracted once.
        path = resource_file if isinstance(resource_file, Path) else _extracted.enter_context(as_file(resource_file))
    if not path.is_file():
        raise FileNotFoundError(f"no contract {reference!r} (looked at {path})")
    return path
