"""A sixth family dropped in from outside (``tests/toy_family``) is served and checked with no other change.

Its three parts stay where they are; the only step is the registration a third-party package would
ship (an entry point in a ``*.dist-info``), put on the path by each test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from convo_contracts.registry import families
from mockserver.app import create_app
from tests.registration import registered_families
from tests.servers import ROOT, running_server
from tests.test_registry import assert_complete

TOY = {"toy": "tests.toy_family:ENTRY"}


@pytest.fixture
def toy_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder registering the toy family, on this process's ``sys.path``."""
    directory = registered_families(tmp_path, TOY, distribution="toy_family")
    monkeypatch.syspath_prepend(str(directory))
    yield directory


def test_the_toy_is_not_a_family_until_registered(tmp_path: Path) -> None:
    assert "toy" not in families()
    result = subprocess.run([sys.executable, "-m", "conformance", "run", "toy", "--base-url", "http://127.0.0.1:9",
                             "--api-key", "k"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "toy" in result.stderr


def test_the_registered_toy_has_its_three_parts(toy_path: Path) -> None:
    assert {"openai", "virtuousai", "toy"} <= set(families())
    assert_complete(families()["toy"])


@pytest.mark.anyio
async def test_the_mock_serves_the_registered_toy(toy_path: Path) -> None:
    app = create_app()
    assert "toy" in [family.name for family in app.families]
    auth = {"Authorization": "Bearer key-1"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock/toy/v1") as client:
        created = await client.post("/notes", json={"text": "hello"}, headers=auth)
        assert created.status_code == 200 and created.json()["text"] == "hello"
        note = created.json()
        assert (await client.get(f"/notes/{note['id']}", headers=auth)).json() == note
        assert (await client.get("/notes", headers=auth)).json() == {"data": [note], "has_more": False}
        other = await client.get(f"/notes/{note['id']}", headers={"Authorization": "Bearer key-2"})
        assert other.status_code == 404 and "message" in other.json()["error"]
        assert (await client.get("/notes")).status_code == 401
        rejected = await client.get("/notes", params={"limit": 51}, headers=auth)
        assert rejected.status_code == 400 and set(rejected.json()) == {"error"}


def test_the_suite_checks_the_registered_toy_against_the_mock(toy_path: Path) -> None:
    with running_server("-m", "mockserver", "serve", "--port", "0", "--family", "toy",
                        extra_path=[str(toy_path)]) as url:
        result = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "toy", "--base-url", f"{url}/toy/v1", "--api-key", "k",
             "--max-examples", "5", "--seed", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=180,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(toy_path), str(ROOT)])},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("auth", "error_envelope", "schemathesis:status_code_conformance"):
        assert f"{check}: passed" in result.stdout, result.stdout
    assert " 0 failed, 0 with warnings, 0 unsupported, 0 skipped;" in result.stdout, result.stdout
