"""Register families the way an installed package does: a ``*.dist-info`` folder with ``entry_points.txt``.

``registered_families(directory, {"toy": "tests.toy_family:ENTRY"})`` writes such a folder into
``directory``; putting ``directory`` on ``sys.path`` (or a subprocess's ``PYTHONPATH``) then adds those
families to the registry, exactly as ``pip install`` of a third-party family package would.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from convo_contracts.registry import ENTRY_POINT_GROUP


def registered_families(directory: Path, entries: Mapping[str, str], distribution: str = "test_families") -> Path:
    """Write ``<distribution>-0.1.dist-info`` declaring ``entries`` (family name → ``module:attribute``)."""
    dist_info = directory / f"{distribution}-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    return directory
