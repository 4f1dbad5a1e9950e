"""The family registry: every registered family has its three parts, named alike, and reading it is lazy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from conformance.profiles import Profile, available
from conformance.spec import Spec
from convo_contracts.registry import FamilyEntry, RegistryError, families
from mockserver.families import discover
from mockserver.family import Family
from mockserver.store import MemoryStore
from tests.registration import registered_families
from tests.servers import ROOT


def assert_complete(entry: FamilyEntry) -> None:
    """The entry's contract is valid OpenAPI 3.0.3, its mock serves every operation of it, its profile
    reads the same contract, and all three carry the entry's name."""
    contract = yaml.safe_load(entry.contract_path.read_text())
    assert contract["openapi"] == "3.0.3"
    validate(contract)

    family = entry.mock_family()
    assert isinstance(family, Family), f"{entry.mock_module}.FAMILY is not a Family"
    assert family.name == entry.name
    assert family.spec_path.resolve() == entry.contract_path.resolve()
    operations = set(Spec(entry.contract_path).operations)
    support = {operation["operationId"] for item in family.support_paths.values() for operation in item.values()}
    assert not operations & support, "support operations must not be contract operations"
    assert set(family.create_handlers(MemoryStore())) == operations | support, \
        "handlers and contract (and support) operations differ"

    profile = entry.profile()
    assert isinstance(profile, Profile), f"{entry.profile_module}.PROFILE is not a Profile"
    assert profile.name == entry.name
    assert profile.spec.path.resolve() == entry.contract_path.resolve()


def test_the_built_in_families_are_registered() -> None:
    assert {"openai", "virtuousai"} <= set(families())


@pytest.mark.parametrize("name", sorted(families()))
def test_every_registered_family_has_its_contract_mock_and_profile(name: str) -> None:
    assert_complete(families()[name])


def test_both_halves_list_the_registered_families_in_name_order() -> None:
    names = list(families())
    assert names == sorted(names)
    assert list(discover()) == names and list(available()) == names


def test_reading_the_registry_imports_neither_half_and_the_mock_not_the_suite() -> None:
    script = textwrap.dedent("""
        import sys
        def loaded(package):
            return sorted(m for m in sys.modules if m == package or m.startswith(package + "."))
        from convo_contracts.registry import families
        assert families() and not loaded("mockserver") and not loaded("conformance"), sys.modules
        from mockserver.app import create_app
        create_app()
        assert not loaded("conformance"), loaded("conformance")
        print("lazy")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and "lazy" in result.stdout, result.stderr


def test_the_suite_alone_does_not_import_the_mock() -> None:
    code = ("import sys\nfrom conformance.profiles import available\navailable()\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'mockserver'], 'mockserver imported'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("target", "complaint"), [
    ("convo_contracts.builtin:OPENAI", "names family 'openai'"),
    ("convo_contracts:contract_path", "is not a FamilyEntry"),
])
def test_a_malformed_registration_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str,
                                              complaint: str) -> None:
    monkeypatch.syspath_prepend(str(registered_families(tmp_path, {"broken": target})))
    with pytest.raises(RegistryError, match=complaint):
        families()


def test_a_family_missing_a_part_is_refused_by_each_half(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "half_family"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A family with a contract and nothing else."""\n'
        "from convo_contracts.registry import FamilyEntry\n"
        "ENTRY = FamilyEntry('half', 'openai-conversations.yaml', 'half_family', 'half_family')\n")
    monkeypatch.syspath_prepend(str(registered_families(tmp_path, {"half": "half_family:ENTRY"})))
    assert "half" in families()
    with pytest.raises(RegistryError, match="defines no FAMILY"):
        discover()
    with pytest.raises(RegistryError, match="defines no PROFILE"):
        available()
