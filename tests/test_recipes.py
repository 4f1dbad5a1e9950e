"""The CI recipes in ``.ci/recipes/``: the mock's Dockerfile and the GitHub Actions example.

With a Docker engine (``docker info`` succeeds) the image is built and run and answers; this machine has only
the client, so that test skips and the Dockerfile is checked without an engine: the sources its COPY lines
name (and its ``.dockerignore`` lets through) are built and installed into a fresh venv as its RUN line
does, then its ENTRYPOINT + CMD run there (host and port swapped for loopback and a free port) and its
HEALTHCHECK command must pass. The workflow's steps that have an ``id`` run under bash as GitHub runs them,
against a local mock: waiting for the mock, installing the suite, and the conformance gate, which passes on
the mock and fails the job on an unreachable server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.servers import ROOT, running_server
from tests.test_packaging import _fresh_venv, _run

RECIPES = ROOT / ".ci" / "recipes"
DOCKERFILE = RECIPES / "Dockerfile"
WORKFLOW = RECIPES / "github-actions.yml"
STEP_TIMEOUT = 300  # seconds, for each build, install or workflow step


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    return result


def only(keyword: str) -> str:
    (found,) = (arguments for name, arguments in instructions() if name == keyword)
    return found


def _swap(arguments: list[str], option: str, value: str) -> list[str]:
    index = arguments.index(option)
    return [*arguments[:index + 1], value, *arguments[index + 2:]]


def test_the_dockerfile_listens_beyond_loopback_on_the_port_it_exposes() -> None:
    cmd = json.loads(only("CMD"))
    assert json.loads(only("ENTRYPOINT")) == ["convo-mock", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0", "a container's loopback is its own"
    assert cmd[cmd.index("--port") + 1] == only("EXPOSE")
    health = json.loads(only("HEALTHCHECK").split("CMD", 1)[1])
    assert any(f":{only('EXPOSE')}/" in part for part in health)


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def test_the_image_builds_and_serves_in_docker() -> None:
    if not _docker_engine():
        pytest.skip("no Docker engine here (`docker info` fails); the Dockerfile's steps are checked in a venv "
                    "by test_the_dockerfile_steps_build_and_serve_in_a_fresh_venv")
    tag = f"convo-mock-test:{uuid.uuid4().hex[:12]}"
    _run("docker", "build", "-f", DOCKERFILE, "-t", tag, ".", cwd=ROOT)
    container = ""
    try:
        container = _run("docker", "run", "-d", "-p", "127.0.0.1::4010", tag, cwd=ROOT).strip()
        port = _run("docker", "port", container, "4010/tcp", cwd=ROOT).splitlines()[0].rsplit(":", 1)[1]
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the container did not answer"
                time.sleep(0.2)
        assert answer.json()["service"] == "convo-mock"
    finally:
        if container:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60)


def _context(tmp_path: Path) -> Path:
    """The build context as the COPY lines (and the Dockerfile's .dockerignore) lay it out under WORKDIR."""
    allowed = {line[1:].strip() for line in (RECIPES / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}
    workdir = tmp_path / "src"
    workdir.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    copies = [arguments.split() for keyword, arguments in instructions() if keyword == "COPY"]
    assert copies
    for *sources, destination in copies:
        for source in sources:
            assert source in allowed, f"COPY {source}: the .dockerignore keeps it out of the context"
            target = workdir / destination / source if destination.endswith("/") else workdir / destination
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=ignore)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    return workdir


def test_the_dockerfile_steps_build_and_serve_in_a_fresh_venv(tmp_path: Path) -> None:
    assert [arguments for keyword, arguments in instructions() if keyword == "WORKDIR"][0] == "/src"
    assert only("RUN").startswith("pip install . "), "the emulation below builds and installs '.'"
    context = _context(tmp_path)
    _run(sys.executable, "-m", "pip", "wheel", context, "--no-deps", "--no-build-isolation", "-q",
         "-w", tmp_path / "dist", cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("convo_mock-*.whl")
    venv = _fresh_venv(tmp_path, wheel)
    entrypoint, cmd = json.loads(only("ENTRYPOINT")), json.loads(only("CMD"))
    arguments = _swap(_swap(cmd, "--host", "127.0.0.1"), "--port", "0")
    with running_server(*entrypoint[1:], *arguments, program=venv / "bin" / entrypoint[0]) as url:
        families = httpx.get(url + "/", headers={"Accept": "application/json"}, timeout=10).json()["families"]
        assert families
        for family in families:
            assert httpx.get(url + family["ui"], timeout=10).status_code == 200
        health = json.loads(only("HEALTHCHECK").split("CMD", 1)[1])
        port = url.rsplit(":", 1)[1]
        health = [part.replace(f":{only('EXPOSE')}/", f":{port}/") for part in health]
        assert health[0] == "python"
        _run(venv / "bin" / "python", *health[1:], cwd=tmp_path)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0") as url:
        yield url


def _job(name: str) -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"][name]


def _run_step(job: dict, step_id: str, cwd: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    """A step's ``run`` script under bash as GitHub runs it (``bash -eo pipefail``), with the job's env
    (``${{ … }}`` values must be overridden) plus ``overrides``, and this venv's commands on PATH."""
    (step,) = (step for step in job["steps"] if step.get("id") == step_id)
    env = {**os.environ, **{k: str(v) for k, v in job.get("env", {}).items()}, **overrides}
    unresolved = [k for k, v in env.items() if "${{" in v]
    assert not unresolved, f"give the test a value for {unresolved}"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)


def test_the_workflow_runs_the_mock_as_a_service_on_the_port_the_image_exposes(mock_url: str,
                                                                                 tmp_path: Path) -> None:
    job = _job("frontend-tests")
    (service,) = job["services"].values()
    assert f"{only('EXPOSE')}:{only('EXPOSE')}" in [str(port) for port in service["ports"]]
    assert job["env"]["CONVO_MOCK_URL"].endswith(f":{only('EXPOSE')}")
    done = _run_step(job, "wait-for-mock", tmp_path, CONVO_MOCK_URL=mock_url, OPENAI_API_KEY="k")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "convo-mock.json").read_text())["service"] == "convo-mock"


def test_the_workflow_gate_passes_on_the_mock_and_fails_on_an_unreachable_server(mock_url: str,
                                                                                  tmp_path: Path) -> None:
    job = _job("conformance-gate")
    keys = {"CONVO_API_KEY": "gate-1", "CONVO_API_KEY_2": "gate-2"}
    installed = _run_step(job, "install-suite", tmp_path, **keys)
    assert installed.returncode == 0, installed.stderr
    passed = _run_step(job, "gate", tmp_path, **keys, TARGET_BASE_URL=mock_url + "/openai/v1",
                       CONFORMANCE_MAX_EXAMPLES="5")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert (tmp_path / "conformance.xml").read_text().count("<testcase") > 0
    assert (tmp_path / "conformance.html").exists()
    with _port_nobody_listens_on() as port:
        failed = _run_step(job, "gate", tmp_path, **keys, TARGET_BASE_URL=f"http://127.0.0.1:{port}/openai/v1",
                           CONFORMANCE_MAX_EXAMPLES="5")
    assert failed.returncode != 0, "an unreachable server must fail the job"



@contextmanager
def _port_nobody_listens_on() -> Iterator[int]:
    """A loopback port that is bound (so no one else takes it) but not listening, while the block runs."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])
