"""The package as users install it: every package is listed, and a wheel runs outside the repository.

The wheel test builds the wheel from a copy of the sources (nothing is written into the work tree),
installs it into a fresh venv that borrows this venv's dependencies through a ``.pth`` file (no network;
a ``.pth`` line adds a folder without running that folder's own ``.pth`` files, so the editable install
of the work tree stays out of sight), and from a folder outside the repository starts the installed
``convo-mock serve --port 0`` and ``convo-conformance --help``. It takes about 20 s on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from convo_contracts.registry import ENTRY_POINT_GROUP, families
from tests.servers import ROOT, running_server

SOURCES = ("pyproject.toml", "README.md", "mockserver", "conformance", "openapi")
STEP_TIMEOUT = 120  # seconds, for each build or install step


def test_every_package_folder_is_listed_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(init.parent.relative_to(ROOT).parts)
               for top in ("mockserver", "conformance") for init in (ROOT / top).rglob("__init__.py")}
    assert setuptools["package-dir"] == {"convo_contracts": "openapi"}
    assert set(setuptools["packages"]) == on_disk | {"convo_contracts"}


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=STEP_TIMEOUT)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-q",
         "-w", tmp_path / "dist", cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("convo_mock-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv holding only the wheel, seeing this venv's packages (the dependencies) after its own."""
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel, cwd=tmp_path)
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
                   .strip())
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (purelib / "borrowed-dependencies.pth").write_text("".join(f"{path}\n" for path in borrowed))
    return venv


def test_the_wheel_ships_the_contracts_and_runs_from_a_fresh_venv(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    contracts = {f"convo_contracts/{entry.contract}" for entry in families().values()}
    assert contracts <= names, f"contracts missing from the wheel: {contracts - names}"
    assert f"[{ENTRY_POINT_GROUP}]" in entry_points
    examples = {f"mockserver/examples/fixtures/{name}.yaml" for name in families()}
    examples.add("mockserver/examples/faults.yaml")
    assert examples <= names, f"example files missing from the wheel: {examples - names}"

    venv = _fresh_venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    where = _run(venv / "bin" / "python", "-c",
                 "import mockserver, conformance, convo_contracts as c; "
                 "print(mockserver.__file__, conformance.__file__, c.contract_path('openai-conversations.yaml'))",
                 cwd=elsewhere, env=env)
    assert all(path.startswith(str(venv)) for path in where.split()), f"not imported from the wheel: {where}"

    fixture, faults = _run(venv / "bin" / "python", "-m", "mockserver.examples", "openai", "faults",
                           cwd=elsewhere, env=env).split()
    assert fixture.startswith(str(venv)) and faults.startswith(str(venv)), "examples not found in the wheel"
    with running_server("serve", "--port", "0", "--fixtures", fixture, program=venv / "bin" / "convo-mock") as url:
        listed = {family["name"] for family in httpx.get(url + "/", timeout=10).json()["families"]}
        assert {"openai", "virtuousai"} <= listed
        created = httpx.post(url + "/openai/v1/conversations", json={"metadata": {"from": "wheel"}},
                             headers={"Authorization": "Bearer k"}, timeout=10)
        assert created.status_code == 200 and created.json()["metadata"] == {"from": "wheel"}

    help_text = _run(venv / "bin" / "convo-conformance", "--help", cwd=elsewhere, env=env)
    assert "openai" in help_text and "virtuousai" in help_text
