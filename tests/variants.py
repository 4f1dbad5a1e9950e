"""What every family's mock variants share: the variant record, ways to change one behaviour, and serving.

A family's variants module (``tests/<family>_variants.py``) defines ``BROKEN`` and ``FAITHFUL`` as
``{name: Variant}`` and ends with ``serve_variant(VARIANTS)``, so ``python -m tests.<family>_variants NAME
--port 0`` serves one on a free loopback port and prints its URL (for ``tests.servers.running_server``).
"""

from __future__ import annotations

import argparse
import contextvars
import dataclasses
import json
import socket
import tempfile
import typing as t
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.errors import ErrorResponse, MockError
from mockserver.family import Family
from mockserver.store import MemoryCollection, MemoryStore


@dataclasses.dataclass(frozen=True)
class Variant:
    """One changed behaviour: what it is, the check that must catch it ("" for faithful ones), and the app."""

    description: str
    caught_by: str
    family: Callable[[], Family]
    store: Callable[[], MemoryStore] = MemoryStore
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app


def with_handlers(family: Family, handlers: type) -> Callable[[], Family]:
    """``family`` served by another handler class (a subclass of the family's own)."""
    return lambda: dataclasses.replace(family, create_handlers=lambda store: handlers(store).operations())


def with_errors(family: Family, render: Callable[[MockError], ErrorResponse]) -> Callable[[], Family]:
    """``family`` rendering its errors with ``render``."""
    return lambda: dataclasses.replace(family, render_error=render)


def with_spec(family: Family, edit: Callable[[dict], None]) -> Callable[[], Family]:
    """``family`` served from a copy of its contract changed by ``edit`` (written to a temporary file)."""

    def build() -> Family:
        spec = yaml.safe_load(family.spec_path.read_text())
        edit(spec)
        path = Path(tempfile.mkdtemp(prefix="variant-spec-")) / family.spec_path.name
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return dataclasses.replace(family, spec_file=str(path))

    return build


class TenantBlindStore(MemoryStore):
    """Every key sees every other key's data."""

    def collection(self, tenant: str, name: str):
        return super().collection("everyone", name)

    def find(self, tenant: str, name: str):
        return super().find("everyone", name)

    def drop(self, tenant: str, name: str) -> None:
        super().drop("everyone", name)


def no_key_needed(credential_headers: t.Sequence[bytes] = (b"authorization",)) -> Callable[[ASGIApp], ASGIApp]:
    """Requests without any of ``credential_headers`` are served as if they had a Bearer key."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not any(name in credential_headers for name, _ in scope["headers"]):
                scope = {**scope, "headers": [*scope["headers"], (b"authorization", b"Bearer anonymous")]}
            await app(scope, receive, send)

        return serve

    return wrap


@dataclasses.dataclass(frozen=True)
class Edited:
    """A request as an ``edit_requests`` edit leaves it: its query string and body."""

    query: str
    body: bytes


@dataclasses.dataclass(frozen=True)
class Answer:
    """An answer an ``edit_requests`` edit gives instead of passing the request on."""

    status: int
    body: dict


RequestEdit = t.Callable[[str, str, str, bytes], "Edited | Answer | None"]


def edit_requests(edit: RequestEdit) -> Callable[[ASGIApp], ASGIApp]:
    """Requests passed through ``edit(method, path, query, body)`` first: it may rewrite the query and body
    (``Edited``), answer in the app's place (``Answer``), or leave the request alone (None)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            outcome = edit(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), body)
            if isinstance(outcome, Answer):
                payload = json.dumps(outcome.body).encode()
                await send({"type": "http.response.start", "status": outcome.status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload})
                return
            if outcome is not None:
                body = outcome.body
                headers = [(name, value) for name, value in scope["headers"] if name != b"content-length"]
                if body:
                    headers.append((b"content-length", str(len(body)).encode()))
                    if not any(name == b"content-type" for name, _ in headers):
                        headers.append((b"content-type", b"application/json"))
                scope = {**scope, "query_string": outcome.query.encode("latin-1"), "headers": headers}
            sent = False

            async def replay() -> dict:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await app(scope, replay, send)

        return serve

    return wrap


# Whether the request being served sent its key in ``X-API-Key`` (set by ``api_key_callers_see_everyone``).
_VIA_API_KEY: contextvars.ContextVar[bool] = contextvars.ContextVar("via_api_key", default=False)


class _LeakyCollection:
    """A tenant's collection that also finds, changes and removes other tenants' records by key (adds
    and pages go to the tenant's own)."""

    def __init__(self, own: MemoryCollection, others: list[MemoryCollection]) -> None:
        self._own, self._others = own, others

    def _holder(self, key: str) -> MemoryCollection:
        return next((c for c in self._others if key in c and key not in self._own), self._own)

    def get(self, key: str):
        return self._holder(key).get(key)

    def replace(self, key: str, record) -> None:
        self._holder(key).replace(key, record)

    def remove(self, key: str):
        return self._holder(key).remove(key)

    def touch(self, key: str) -> None:
        self._holder(key).touch(key)

    def __contains__(self, key: object) -> bool:
        return key in self._own or any(key in c for c in self._others)

    def insert(self, key: str, record) -> None:
        self._own.insert(key, record)

    def page(self, **kwargs):
        return self._own.page(**kwargs)

    def __len__(self) -> int:
        return len(self._own)

    def __iter__(self):
        return iter(self._own)

    def __getattr__(self, name: str):
        return getattr(self._own, name)  # anything else the collection offers, on the tenant's own


class ApiKeyCallersSeeEveryoneStore(MemoryStore):
    """Callers that send their key in ``X-API-Key`` find every tenant's records by id (Bearer callers are
    isolated): serve with ``wrap=api_key_callers_see_everyone``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seen: dict[str, None] = {}

    def _leaky(self, tenant: str, name: str, own):
        others = [found for other in self._seen if other != tenant and (found := self.find(other, name)) is not None]
        return _LeakyCollection(own, others)

    def collection(self, tenant: str, name: str, **options):
        self._seen[tenant] = None
        own = super().collection(tenant, name, **options)
        return self._leaky(tenant, name, own) if _VIA_API_KEY.get() else own

    def read(self, tenant: str, name: str):
        own = super().read(tenant, name)  # the store's read-only lookup (where it has one)
        return self._leaky(tenant, name, own) if _VIA_API_KEY.get() else own


def api_key_callers_see_everyone(app: ASGIApp) -> ASGIApp:
    """Marks requests that send ``X-API-Key`` (for ``ApiKeyCallersSeeEveryoneStore``)."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        via = scope["type"] == "http" and any(name == b"x-api-key" for name, _ in scope["headers"])
        token = _VIA_API_KEY.set(via)
        try:
            await app(scope, receive, send)
        finally:
            _VIA_API_KEY.reset(token)

    return serve


def serve_variant(variants: Mapping[str, Variant], description: str, argv: list[str] | None = None) -> None:
    """Command line: serve the named variant on 127.0.0.1 and print its URL."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("variant", choices=sorted(variants))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    import uvicorn

    from mockserver.app import MockApp

    variant = variants[args.variant]
    app = variant.wrap(MockApp([variant.family()], store_factory=variant.store))
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    print(f"variant {args.variant} listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
