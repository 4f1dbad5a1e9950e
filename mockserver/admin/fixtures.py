"""Seed fixtures: requests in each vendor's own shapes, replayed through the mock as a client sends them.

A fixture document (YAML or JSON) maps family → API key (the tenant) → the requests to send, in order::

    fixtures: 1                      # the format's version
    families:
      openai:
        sk-frontend-ci:
          - name: welcome            # optional: the answer is then ${welcome.<field>...}
            method: POST             # default: POST with a body, GET without
            path: /conversations     # relative to the family's base URL; may hold ${...}
            body: {"items": [{"role": "user", "content": "Hello!"}]}
          - path: /conversations/${welcome.id}/items
            body: {"items": [{"role": "assistant", "content": "Hi!"}]}
            query: {"include": []}    # optional query parameters; headers: optional extra headers

``${name.field.0.other}`` is replaced by that part of the JSON answer of the request named ``name`` (the
whole string by the value itself, whatever its type; inside a longer string by its text);
``${uuid:label}`` by a UUID minted once per load for that label (for ids a client mints). The key is
sent where the family's contract first reads one (``Authorization: Bearer``, an API-key header, a
cookie or a query parameter), unless a step's ``headers`` say otherwise.

Every request goes through the mock's own ASGI app — routing, auth, validation, handlers, the store — so
seeded data is what a client would have made; a streamed answer is read to its end. A load is all or
nothing: it runs in one store transaction, and if any request is not answered 2xx every write of the load
is undone and ``FixtureError`` names the request.
"""

from __future__ import annotations

import json
import re
import typing as t
import uuid
from dataclasses import dataclass, field

import httpx
import yaml

from mockserver.admin.spec_index import SpecIndex, mask
from mockserver.family import Family
from mockserver.store import transaction

FORMAT_VERSION = 1
_REFERENCE = re.compile(r"\$\{([^}]+)\}")


class FixtureError(ValueError):
    """The document is malformed, or one of its requests was refused (nothing of the load is kept)."""

    def __init__(self, message: str, detail: dict[str, t.Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


@dataclass(frozen=True)
class Step:
    family: str
    tenant: str
    number: int
    method: str
    path: str
    body: t.Any = None
    query: dict[str, t.Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    has_body: bool = False

    def label(self) -> str:
        return f"{self.family} / {mask(self.tenant)} / request {self.number} ({self.method} {self.path})"


def parse(text: str | bytes, families: t.Collection[str]) -> list[Step]:
    """The steps of a fixture document, in order; ``FixtureError`` if it is malformed."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FixtureError(f"the fixture document is neither YAML nor JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("families"), dict):
        raise FixtureError("a fixture document is a mapping with a 'families' mapping (family → key → requests)")
    if document.get("fixtures", FORMAT_VERSION) != FORMAT_VERSION:
        raise FixtureError(f"unknown fixture format version {document.get('fixtures')!r} (known: {FORMAT_VERSION})")
    steps: list[Step] = []
    for family, tenants in document["families"].items():
        if family not in families:
            raise FixtureError(f"unknown family {family!r} (served: {', '.join(sorted(families))})")
        if not isinstance(tenants, dict):
            raise FixtureError(f"families.{family} maps API keys to lists of requests")
        for tenant, requests in tenants.items():
            if not isinstance(tenant, str) or not tenant.strip():
                raise FixtureError(f"families.{family}: an API key must be a non-empty string")
            if not isinstance(requests, list):
                raise FixtureError(f"families.{family}.{mask(tenant)} is a list of requests")
            for number, request in enumerate(requests, 1):
                steps.append(_step(family, tenant, number, request))
    return steps


def _step(family: str, tenant: str, number: int, request: t.Any) -> Step:
    where = f"families.{family}.{mask(tenant)}[{number}]"
    if not isinstance(request, dict):
        raise FixtureError(f"{where} is a mapping with at least a 'path'")
    unknown = set(request) - {"name", "method", "path", "body", "query", "headers"}
    if unknown:
        raise FixtureError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    path = request.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FixtureError(f"{where}: 'path' is a string starting with '/', relative to the family's base URL")
    has_body = "body" in request
    method = request.get("method", "POST" if has_body else "GET")
    if not isinstance(method, str):
        raise FixtureError(f"{where}: 'method' is a string")
    for part in ("query", "headers"):
        if not isinstance(request.get(part, {}), dict):
            raise FixtureError(f"{where}: '{part}' is a mapping")
    name = request.get("name")
    if name is not None and (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w-]*", name)):
        raise FixtureError(f"{where}: 'name' is an identifier (letters, digits, _ and -)")
    return Step(family, tenant, number, method.upper(), path, request.get("body"), dict(request.get("query", {})),
                {str(k): str(v) for k, v in request.get("headers", {}).items()}, name, has_body)


class _Context:
    """The answers of named requests and the UUIDs minted so far, for ``${...}``."""

    def __init__(self) -> None:
        self.answers: dict[str, t.Any] = {}
        self.uuids: dict[str, str] = {}

    def resolve(self, value: t.Any, step: Step) -> t.Any:
        if isinstance(value, str):
            whole = _REFERENCE.fullmatch(value)
            if whole:
                return self._lookup(whole.group(1), step)
            return _REFERENCE.sub(lambda match: _text(self._lookup(match.group(1), step)), value)
        if isinstance(value, list):
            return [self.resolve(item, step) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item, step) for key, item in value.items()}
        return value

    def _lookup(self, reference: str, step: Step) -> t.Any:
        if reference.startswith("uuid:"):
            return self.uuids.setdefault(reference[5:], str(uuid.uuid4()))
        name, *parts = reference.split(".")
        if name not in self.answers:
            raise FixtureError(f"{step.label()}: ${{{reference}}} names no earlier named request")
        value = self.answers[name]
        for part in parts:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise FixtureError(f"{step.label()}: ${{{reference}}}: the answer of {name!r} has no {part!r}")
        return value


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def load(app: t.Any, families: t.Mapping[str, Family], steps: list[Step]) -> list[dict[str, t.Any]]:
    """Send every step through ``app`` (the mock's ASGI app, without its journal) in one transaction;
    the summary of what was sent. ``FixtureError`` (and nothing kept) if a request is not answered 2xx."""
    context = _Context()
    indexes = {name: SpecIndex(family) for name, family in families.items()}
    sent: list[dict[str, t.Any]] = []
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://convo-mock.fixtures") as client:
        with transaction():
            for step in steps:
                response = await _send(client, families[step.family], indexes[step.family], step, context)
                answer: t.Any = None
                if response.headers.get("content-type", "").startswith("application/json"):
                    answer = response.json()
                if not 200 <= response.status_code < 300:
                    raise FixtureError(f"{step.label()} was answered {response.status_code}: nothing was loaded",
                                       {"family": step.family, "tenant": mask(step.tenant), "request": step.number,
                                        "status": response.status_code, "answer": answer})
                if step.name is not None:
                    context.answers[step.name] = answer
                sent.append({"family": step.family, "tenant": mask(step.tenant), "request": step.number,
                             "name": step.name, "status": response.status_code,
                             "id": answer.get("id") if isinstance(answer, dict) else None})
    return sent


async def _send(client: httpx.AsyncClient, family: Family, index: SpecIndex, step: Step,
                context: _Context) -> httpx.Response:
    path = context.resolve(step.path, step)
    headers = {key: context.resolve(value, step) for key, value in step.headers.items()}
    query = {key: context.resolve(value, step) for key, value in step.query.items()}
    cookies: dict[str, str] = {}
    where = index.key_location()
    if where is not None and not any(key.lower() in ("authorization", where[1].lower()) for key in headers):
        kind, name = where
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {step.tenant}"
        elif kind == "header":
            headers[name] = step.tenant
        elif kind == "query":
            query[name] = step.tenant
        else:
            cookies[name] = step.tenant
    content = None
    if step.has_body:
        content = json.dumps(context.resolve(step.body, step)).encode()
        headers.setdefault("Content-Type", "application/json")
    url = family.base_path.rstrip("/") + path
    request = client.build_request(step.method, url, params=query or None, headers=headers, content=content,
                                   cookies=cookies or None)
    return await client.send(request)
