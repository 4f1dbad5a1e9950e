"""The mock's ASGI application: every family's Connexion app behind one URL space.

Requests are dispatched by URL prefix (``/openai/v1`` …) to the family's app. Every response gets an
``x-request-id`` header (``req_`` + 32 hex digits: 16 random ones per process, then a count: unique, not
secret, and without a system call or a random draw per request) and the family's static headers. ``GET /``
lists the mounted families with their Swagger UI and contract (``mockserver.docs``: an HTML page for a
browser, JSON otherwise); any other path outside a family prefix is a 404 in the mock's own, vendor-neutral
JSON (no family owns that path, so no family's envelope applies)::

    {"service": "convo-mock", "status": 404, "message": "No API at /x; families are mounted at /openai/v1, …",
     "families": [{"name": …, "base_path": …, "description": …, "ui": …, "openapi_json": …,
                   "openapi_yaml": …}, …]}

the same shape as ``GET /`` plus ``status`` and ``message``.

``/__admin`` is the admin API (``mockserver.admin``), outside every family; every other request is noted
in the request journal (and the access log, if on) by ``mockserver.admin.journal.Recorder``.
"""

from __future__ import annotations

import itertools
import os
import typing as t

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.admin.api import PREFIX as ADMIN_PREFIX
from mockserver.admin.api import AdminApp
from mockserver.admin.journal import (
    COMPLETE,
    DEFAULT_CAPACITY,
    EXCERPT_BYTES,
    REQUEST_ID,
    RESPONSE_BODY,
    STATUS,
    Journal,
    Recorder,
)
from mockserver.admin.sections import SECTIONS, parse_and_load
from mockserver.connexion_app import build_family_app
from mockserver.declared import DeclaredOperation, declared_operations
from mockserver.docs import family_entry, index_html, is_docs_path, wants_html
from mockserver.errors import RouteNotFound
from mockserver.families import discover
from mockserver.family import Family
from mockserver.faults import FaultRules
from mockserver.preferences import Preference
from mockserver.responses import dumps, json_response
from mockserver.selection import ResponseSelector
from mockserver.store import MemoryStore, Store


class MockApp:
    """ASGI app routing to the family apps by path prefix."""

    def __init__(self, families: t.Sequence[Family], store_factory: t.Callable[[], Store] = MemoryStore, *,
                 preferences: t.Mapping[str, Preference] | None = None, seed: int | None = None,
                 journal_size: int = DEFAULT_CAPACITY, admin_token: str | None = None,
                 access_log: t.Callable[[str], None] | None = None,
                 fixtures: str | bytes | None = None, store_for: t.Callable[[str], Store] | None = None) -> None:
        """``store_for(family name)``, when given, makes each family's store (a shared store keeps the
        families apart by name); otherwise ``store_factory()`` does."""
        if not families:
            raise ValueError("no API families to serve")
        self.families = list(families)
        self.stores = {family.name: store_factory() if store_for is None else store_for(family.name)
                       for family in self.families}
        declared = {family.name: declared_operations(family) for family in self.families}
        self.faults = FaultRules(declared, seed=seed)
        """The fault rules in force (empty at start; ``load``/``replace``/``clear`` change them live)."""
        self.preferences = dict(preferences or {})
        """Family name → its default ``Prefer`` (``convo-mock serve --prefer``); a request's own header wins."""
        self._mounts: list[tuple[str, ASGIApp, list[tuple[bytes, bytes]], Family]] = []
        self.family_apps: dict[str, ASGIApp] = {}
        """Each family's own ASGI app, by family name."""
        for family in sorted(self.families, key=lambda f: len(f.base_path), reverse=True):
            extra = [(k.lower().encode(), v.encode()) for k, v in family.response_headers.items()]
            selector = ResponseSelector(family, declared[family.name], self.faults, self.preferences.get(family.name))
            app = self.family_apps[family.name] = build_family_app(family, self.stores[family.name], selector=selector)
            self._mounts.append((family.base_path.rstrip("/"), app, extra, family))
        self._prefixes = [(prefix, prefix + "/", app, extra, family) for prefix, app, extra, family in self._mounts]
        schemes = {name: _security_schemes(operations) for name, operations in declared.items()}
        self.journal = Journal(self.families, journal_size, schemes) if journal_size > 0 else None
        """The last requests served (None when off)."""
        self._recorder = Recorder(self.journal, access_log) if self.journal is not None or access_log else None
        self._admin_log = Recorder(None, access_log) if access_log else None
        self.admin = AdminApp(self, [route for section in SECTIONS for route in section], admin_token)
        self._fixtures = fixtures
        self.ready = False
        """Start-up is done (fixtures given at start loaded): what ``/__admin/ready`` reports."""

    async def load_fixtures(self, document: str | bytes) -> list[dict[str, t.Any]]:
        """Replay a fixture document (``mockserver.admin.fixtures``) through this app; all or nothing."""
        return await parse_and_load(self, document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(ADMIN_PREFIX) and (path == ADMIN_PREFIX or path[len(ADMIN_PREFIX)] == "/"):
            if self._admin_log is not None:  # in the access log, never in the journal
                await self._admin_log.serve(self._serve_admin, scope, receive, send)
            else:
                await self._serve_admin(scope, receive, send)
            return
        recorder = self._recorder
        if recorder is None:
            await self.dispatch(scope, receive, send)
            return
        entry = recorder.arrive(scope)  # Recorder.serve's steps, without a coroutine of its own
        try:
            await self.dispatch(scope, recorder.receive_for(scope, receive, entry), send, entry)
        finally:
            recorder.leave(scope, entry)

    async def _serve_admin(self, scope: Scope, receive: Receive, send: Send, entry: list | None = None) -> None:
        await self.admin(scope, receive, _with_headers(send, [], entry))

    async def dispatch(self, scope: Scope, receive: Receive, send: Send, entry: list | None = None) -> None:
        """Serve a request of a family (or the mock's own 404), noting its response in ``entry`` (the request's
        in the journal) as it is sent. Without one, unnoted: what fixtures are replayed through."""
        path: str = scope.get("path", "")
        for prefix, prefix_slash, app, extra, family in self._prefixes:
            if path.startswith(prefix_slash) or path == prefix:
                if not family.optional_trailing_slash or is_docs_path(path[len(prefix):]):
                    await app(scope, receive, _with_headers(send, extra, entry))
                    return
                if not path.endswith("/"):
                    scope = _with_trailing_slash(scope)
                await app(scope, receive, _without_redirects(_with_headers(send, extra, entry), family, scope))
                return
        await self._outside_families(scope, receive, _with_headers(send, [], entry))

    async def _outside_families(self, scope: Scope, receive: Receive, send: Send) -> None:
        families = [family_entry(f) for f in self.families]
        if scope.get("path") in ("", "/") and scope.get("method") == "GET":
            accept = dict(scope.get("headers", ())).get(b"accept", b"").decode("latin-1")
            response = (HTMLResponse(index_html(self.families)) if wants_html(accept)
                        else json_response({"service": "convo-mock", "families": families}))
        else:
            message = f"No API at {scope.get('path')}; families are mounted at " + ", ".join(
                f.base_path for f in self.families)
            response = json_response({"service": "convo-mock", "status": 404, "message": message,
                                      "families": families}, status=404)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._fixtures is not None:
                    try:
                        await self.load_fixtures(self._fixtures)
                    except ValueError as exc:  # FixtureError: a request of the document was refused
                        await send({"type": "lifespan.startup.failed", "message": f"fixtures not loaded: {exc}"})
                        return
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _security_schemes(operations: t.Mapping[str, DeclaredOperation]) -> dict[str, t.Any]:
    """A family's ``components.securitySchemes``, from its declared operations (the contract parsed once)."""
    for operation in operations.values():
        return dict(operation.components.get("securitySchemes") or {})
    return {}


_REQUEST_ID_PREFIX = b""
_REQUEST_IDS = itertools.count()


def _new_request_id_prefix() -> None:
    """A new random prefix (at import, and in a forked child: no two processes share request ids)."""
    global _REQUEST_ID_PREFIX, _REQUEST_IDS
    _REQUEST_ID_PREFIX, _REQUEST_IDS = b"req_" + os.urandom(8).hex().encode(), itertools.count()


_new_request_id_prefix()
os.register_at_fork(after_in_child=_new_request_id_prefix)


def request_id() -> bytes:
    """A new ``x-request-id`` value: ``req_``, this process's 16 random hex digits, a 16-digit count."""
    return b"%s%016x" % (_REQUEST_ID_PREFIX, next(_REQUEST_IDS))


def _with_trailing_slash(scope: Scope) -> Scope:
    """The request as if its path ended with a slash (for families whose vendor makes it optional)."""
    changed = {**scope, "path": scope["path"] + "/"}
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        changed["raw_path"] = raw_path + b"/"
    return changed


def _without_redirects(send: Send, family: Family, scope: Scope) -> Send:
    """A redirect (Starlette's trailing-slash one, which a path the slash rewrite cannot settle would loop
    on) sent as the family's 404 instead: a vendor whose slash is optional never redirects."""
    replaced = False

    async def send_without_redirects(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
            replaced = True
            rendered = family.render_error(RouteNotFound(scope.get("method", "GET"), scope.get("path", "")))
            body = dumps(rendered.body)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       *((name.lower().encode(), value.encode()) for name, value in rendered.headers.items())]
            await send({"type": "http.response.start", "status": rendered.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif not replaced:  # the redirect's own body is dropped
            await send(message)

    return send_without_redirects


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]], entry: list | None = None) -> Send:
    """``send`` adding an ``x-request-id`` and ``extra`` to the response's head, and noting the response in
    ``entry`` (the request's journal entry, when it is noted: one wrapper for both, since every request pays
    for each)."""
    if entry is None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"x-request-id", request_id()), *extra]
                message = {**message, "headers": headers}
            await send(message)
    else:
        async def send_with_headers(message: Message) -> None:  # the journal's note_* inlined: every request
            kind = message["type"]
            if kind == "http.response.body":
                noted = entry[RESPONSE_BODY]
                if len(noted) < EXCERPT_BYTES:
                    entry[RESPONSE_BODY] = noted + message.get("body", b"")[:EXCERPT_BYTES + 1]
                if not message.get("more_body", False):
                    entry[COMPLETE] = True
            elif kind == "http.response.start":
                entry[REQUEST_ID] = noted_id = request_id()
                entry[STATUS] = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", noted_id), *extra]}
            await send(message)

    return send_with_headers


def create_app(names: t.Sequence[str] | None = None, **options: t.Any) -> MockApp:
    """The mock app serving the named families (all discovered families by default); ``options`` are
    ``MockApp``'s (default preferences, fault seed, store maker, journal size, admin token, access log, fixtures)."""
    available = discover()
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise KeyError(f"unknown families: {', '.join(unknown)} (available: {', '.join(available)})")
        return MockApp([available[n] for n in names], **options)
    return MockApp(list(available.values()), **options)
