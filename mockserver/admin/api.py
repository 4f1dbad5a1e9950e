"""The admin API: one URL prefix (``/__admin``) outside every family, for tests and CI to drive the mock.

Its routes come from *sections*, each a small module contributing ``(method, path) → handler`` pairs
(``mockserver.admin.sections``: health, reset, fixtures, journal, faults); adding a section is adding one entry
to ``SECTIONS``. Every admin route is in ``openapi/admin.yaml``, served at ``/__admin/openapi.yaml``.

Access: with an admin token (``--admin-token``; the CLI requires one when the mock listens beyond
loopback) every route but health and readiness needs ``Authorization: Bearer <token>`` (or
``X-Admin-Token``); without one the admin API is open. Errors are the mock's own neutral JSON,
``{"service": "convo-mock", "status": 4xx, "message": "..."}``.
"""

from __future__ import annotations

import hmac
import typing as t

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.responses import json_response

if t.TYPE_CHECKING:
    from mockserver.app import MockApp

PREFIX = "/__admin"

Handler = t.Callable[[Request, "MockApp"], t.Awaitable[Response]]


class Route(t.NamedTuple):
    method: str
    path: str
    """Relative to ``PREFIX``, e.g. ``/journal``."""
    handler: Handler
    open: bool = False
    """Served without the admin token (liveness and readiness probes)."""


class AdminError(Exception):
    """An admin request refused: ``status`` and ``message`` in the mock's own JSON."""

    def __init__(self, status: int, message: str, **extra: t.Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def error_response(status: int, message: str, **extra: t.Any) -> Response:
    return json_response({"service": "convo-mock", "status": status, "message": message, **extra}, status=status)


class AdminApp:
    """ASGI app serving the admin sections under ``PREFIX`` for one ``MockApp``."""

    def __init__(self, mock: MockApp, routes: t.Iterable[Route], token: str | None = None) -> None:
        self.mock = mock
        self.token = token
        self.routes: dict[tuple[str, str], Route] = {(route.method, PREFIX + route.path): route for route in routes}
        self._paths = {path for _, path in self.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = scope.get("path", "").rstrip("/") or "/"
        route = self.routes.get((scope.get("method", "GET"), path))
        if route is None:
            if path in self._paths:
                allowed = sorted(method for method, known in self.routes if known == path)
                response = error_response(405, f"{scope.get('method')} is not allowed on {path}; use "
                                               + ", ".join(allowed), allowed=allowed)
            else:
                response = error_response(404, f"No admin route at {path}; see {PREFIX}/openapi.yaml")
        elif not route.open and not self._authorised(request):
            response = error_response(401, "This admin API needs its token: Authorization: Bearer <admin token>")
        else:
            try:
                response = await route.handler(request, self.mock)
            except AdminError as exc:
                response = error_response(exc.status, exc.message, **exc.extra)
        await response(scope, receive, send)

    def _authorised(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("x-admin-token")
        if given is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(given.encode(), self.token.encode())
