"""The example files installed with the mock: one seed fixture document per family, and a fault rule file.

They ship as package data, so an installed mock finds them without the repository::

    convo-mock serve --fixtures "$(python -m mockserver.examples openai)"
    convo-mock serve --faults "$(python -m mockserver.examples faults)" --seed 7

and Python code (a test using the ``convo_mock`` fixture) reaches them through ``fixture_path(family)``
and ``faults_path()``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def fixture_path(family: str) -> Path:
    """The example fixture document of ``family`` (``FileNotFoundError`` if the family has none)."""
    path = FIXTURES / f"{family}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no example fixture for family {family!r} (have: {', '.join(fixture_families())})")
    return path


def fixture_families() -> list[str]:
    """The families that have an example fixture document, sorted."""
    return sorted(path.stem for path in FIXTURES.glob("*.yaml"))


def faults_path() -> Path:
    """The example fault rule file."""
    return HERE / "faults.yaml"
