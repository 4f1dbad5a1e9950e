"""TypeScript types for frontend teams: openapi-typescript on every family's served contract, checked by ``tsc``.

As the README shows, for every registered family: ``openapi-typescript <mock>/<prefix>/openapi.json``, then
``tsc --strict`` on a usage file that names every path and operation of the contract, reads a success body's
required field, and expects an error for a path the contract does not have (so types that were ``any`` would
fail). The README's TypeScript snippet is compiled too, against the OpenAI family's types, where the README
generates them (``src/api/openai.d.ts``). Both npm packages are pinned and installed once into a cache
folder (``CONVO_MOCK_NPM_CACHE``, by default ``~/.cache/convo-mock/npm``); skipped only where npm is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.families import discover
from tests.servers import ROOT, running_server

OPENAPI_TYPESCRIPT = "7.13.0"
TYPESCRIPT = "5.9.3"  # openapi-typescript 7 asks for typescript ^5
NPM = shutil.which("npm")
STEP_TIMEOUT = 300  # seconds, for the npm install and for each command
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _npm_tools() -> Path:
    """The folder whose ``node_modules/.bin`` has both pinned tools, installed there once (atomically)."""
    cache = Path(os.environ.get("CONVO_MOCK_NPM_CACHE") or Path.home() / ".cache" / "convo-mock" / "npm")
    folder = cache / f"openapi-typescript-{OPENAPI_TYPESCRIPT}-typescript-{TYPESCRIPT}"
    if (folder / "node_modules" / ".bin" / "tsc").exists():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=cache))
    (staging / "package.json").write_text('{"private": true}\n')
    result = subprocess.run([str(NPM), "install", "--no-audit", "--no-fund", "--save-exact",
                             f"openapi-typescript@{OPENAPI_TYPESCRIPT}", f"typescript@{TYPESCRIPT}"],
                            cwd=staging, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert result.returncode == 0, f"npm install failed:\n{result.stdout}\n{result.stderr}"
    try:
        staging.rename(folder)
    except OSError:  # another worker installed it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@pytest.fixture(scope="module")
def tools() -> Path:
    if NPM is None:
        pytest.skip("npm is not installed: openapi-typescript and tsc come from the npm registry")
    return _npm_tools() / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0") as url:
        yield url


def _run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                            timeout=STEP_TIMEOUT)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}"


def _resolve(contract: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node: dict = contract
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def usage_file(module: str, contract: dict) -> str:
    """TypeScript that uses the generated types of every path and operation of ``contract``."""
    lines = [f'import type {{ paths, operations }} from "./{module}";', ""]
    operation_ids: list[str] = []
    for number, (path, item) in enumerate(contract["paths"].items()):
        lines.append(f"const path{number}: keyof paths = {json.dumps(path)};")
        for method, operation in item.items():
            if method in METHODS:
                lines.append(f"type Method{number}{method} = paths[{json.dumps(path)}][{json.dumps(method)}];")
                operation_ids.append(operation["operationId"])
    lines += ["// @ts-expect-error a path the contract does not have",
              'const nowhere: keyof paths = "/no/such/path/in/this/contract";', ""]
    read_a_field = False
    for number, operation_id in enumerate(operation_ids):
        lines.append(f"type Operation{number} = operations[{json.dumps(operation_id)}];")
        operation = next(o for item in contract["paths"].values() for m, o in item.items()
                         if m in METHODS and o["operationId"] == operation_id)
        for status, response in operation.get("responses", {}).items():
            schema = _resolve(contract, response).get("content", {}).get("application/json", {}).get("schema")
            if not str(status).startswith("2") or schema is None:
                continue
            lines.append(f'type Body{number} = Operation{number}["responses"][{status}]["content"]'
                         f'["application/json"];')
            required = _resolve(contract, schema).get("required", [])
            if required and not read_a_field:
                read_a_field = True
                lines += [f"declare const body{number}: Body{number};",
                          f"export const field: unknown = body{number}[{json.dumps(required[0])}];"]
            break
    assert read_a_field, "no success response with a required field to read"
    return "\n".join(lines) + "\nexport {};\n"


@pytest.mark.parametrize("name", sorted(discover()))
def test_openapi_typescript_types_of_the_served_contract_compile(name: str, tools: Path, mock_url: str,
                                                                 tmp_path: Path) -> None:
    family = next(f for f in httpx.get(mock_url + "/", timeout=10).json()["families"] if f["name"] == name)
    contract_url = mock_url + family["openapi_json"]
    _run(tools / "openapi-typescript", contract_url, "-o", tmp_path / f"{name}.d.ts", cwd=tmp_path)
    usage = tmp_path / "usage.ts"
    usage.write_text(usage_file(name, httpx.get(contract_url, timeout=10).json()))
    _compile(tools, usage)


def _compile(tools: Path, source: Path) -> None:
    _run(tools / "tsc", "--strict", "--noEmit", "--target", "es2020", "--module", "commonjs", source,
         cwd=source.parent)


def test_the_readme_typescript_snippet_compiles(tools: Path, mock_url: str, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^npx openapi-typescript@(\S+) http://127\.0\.0\.1:4010(\S+) -o (\S+)$", readme, re.M)
    assert commands and {version for version, _, _ in commands} == {OPENAPI_TYPESCRIPT}, "the README's pin"
    (snippet,) = re.findall(r"```ts\n(.*?)```", readme, re.S)
    for _, path, output in commands:
        (tmp_path / output).parent.mkdir(parents=True, exist_ok=True)
        _run(tools / "openapi-typescript", mock_url + path, "-o", tmp_path / output, cwd=tmp_path)
    usage = tmp_path / "src" / "usage.ts"
    usage.write_text(snippet)
    _compile(tools, usage)
