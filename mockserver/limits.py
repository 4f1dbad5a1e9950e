"""Request limits at the mock's HTTP edge: their settings, the body-size middleware, refusals in the envelope.

``Limits`` holds every limit and timeout of the HTTP server (defaults a laptop survives, each overridable
by a ``convo-mock serve`` flag or a ``CONVO_MOCK_*`` environment variable). ``BodySizeLimit`` is the ASGI
middleware that refuses a request body above ``max_body_bytes`` with 413 — early on its ``Content-Length``,
else by counting the bytes of a chunked body as they arrive, never holding more than the limit.
``Refusals`` renders any refusal of the HTTP edge (413, 414, 431, 400, 408, 503) in the envelope of the
family the path belongs to, through that family's ``render_error``; the server's protocol
(``mockserver.server``) uses it for what it refuses before the app sees a request.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, fields
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.app import request_id
from mockserver.errors import ErrorResponse, MockError
from mockserver.family import Family
from mockserver.responses import dumps

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """Every limit and timeout of the mock's HTTP server (sizes in bytes, durations in seconds)."""

    max_body_bytes: int = 4 * MIB
    """Largest request body (413 beyond). No vendor of the served families documents one; 4 MiB holds any
    realistic conversation write (OpenAI caps a request at 20 items, VirtuousAI sends one message per turn)."""
    max_url_bytes: int = 16 * KIB
    """Longest request target, path and query string (414 beyond)."""
    max_header_bytes: int = 32 * KIB
    """Largest header section, names and values summed (431 beyond)."""
    header_timeout: float = 10.0
    """Seconds a client has to send a whole request head (from connecting, or from the first byte of the
    next request on a kept-alive connection); the connection is closed after."""
    body_timeout: float = 30.0
    """Seconds a client has, once the head is in, to send the whole body (408, connection closed)."""
    send_timeout: float = 30.0
    """Seconds a client may stop reading its response (nothing of it drained) before the connection is
    dropped: what one stalled reader makes the server hold is held only this long."""
    max_unsent_bytes: int = 256 * MIB
    """Response bytes waiting for their readers, all connections together; above, a reader stalled for a
    second is dropped (bounds what many slow readers can pin at once)."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle kept-alive connection stays open."""
    max_connections: int = 512
    """Connections (and requests in flight) served at once; beyond, requests get 503 and are closed."""
    shutdown_timeout: float = 10.0
    """Seconds SIGTERM / Ctrl+C waits for requests and streams in flight before cancelling them."""

    @classmethod
    def from_environment(cls, environ: t.Mapping[str, str] | None = None) -> Limits:
        """Defaults, overridden by ``CONVO_MOCK_<FIELD>`` variables (``CONVO_MOCK_MAX_BODY_BYTES=1048576``)."""
        environ = os.environ if environ is None else environ
        values: dict[str, t.Any] = {}
        for item in fields(cls):
            raw = environ.get(env_variable(item.name))
            if raw is not None and raw.strip():
                kind = int if item.type in (int, "int") else float
                try:
                    values[item.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{env_variable(item.name)}={raw!r} is not a number") from None
        limits = cls(**values)
        limits.check()
        return limits

    def check(self) -> None:
        """Raise ``ValueError`` naming the first setting that is not positive."""
        for item in fields(self):
            if getattr(self, item.name) <= 0:
                raise ValueError(f"{item.name.replace('_', '-')} must be positive")


def env_variable(field_name: str) -> str:
    """The environment variable that sets a ``Limits`` field."""
    return "CONVO_MOCK_" + field_name.upper()


class Refusals:
    """Renders a refusal of the HTTP edge in the envelope of the family whose prefix the path is under."""

    def __init__(self, families: t.Sequence[Family]) -> None:
        self._families = sorted(families, key=lambda family: len(family.base_path), reverse=True)

    def family_of(self, path: str) -> Family | None:
        for family in self._families:
            prefix = family.base_path.rstrip("/")
            if path == prefix or path.startswith(prefix + "/"):
                return family
        return None

    def render(self, path: str, status: int, message: str, code: str | None = None) -> ErrorResponse:
        """Status, JSON body and headers (the family's own included) of the refusal; ``connection: close``."""
        family = self.family_of(path)
        if family is None:  # the shape of the mock's own 404 outside every family
            rendered = ErrorResponse(status, {"service": "convo-mock", "status": status, "message": message,
                                              "reason": code})
            extra: t.Mapping[str, str] = {}
        else:
            rendered = family.render_error(MockError(message, status=status, reason=code))
            extra = family.response_headers
        headers = {**{k.lower(): v for k, v in extra.items()}, **{k.lower(): v for k, v in rendered.headers.items()},
                   "connection": "close"}
        return ErrorResponse(rendered.status, rendered.body, headers)

    def asgi_headers(self, rendered: ErrorResponse, body: bytes) -> list[tuple[bytes, bytes]]:
        """The response headers of a rendered refusal whose JSON body is ``body``."""
        return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id()),
                *((name.encode("latin-1"), value.encode("latin-1")) for name, value in rendered.headers.items())]

    def raw_response(self, path: str, status: int, message: str, code: str | None = None,
                     server_headers: t.Sequence[tuple[bytes, bytes]] = ()) -> bytes:
        """The whole HTTP/1.1 response, for the server to write before closing the connection."""
        rendered = self.render(path, status, message, code)
        body = dumps(rendered.body)
        try:
            phrase = HTTPStatus(rendered.status).phrase
        except ValueError:
            phrase = ""
        head = [f"HTTP/1.1 {rendered.status} {phrase}".encode()]
        head += [name + b": " + value for name, value in (*server_headers, *self.asgi_headers(rendered, body))]
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def body_too_large_message(limit: int, declared: int | None = None) -> str:
    if declared is not None:
        return f"Request body too large: {declared} bytes; this server accepts at most {limit} bytes."
    return f"Request body too large: more than {limit} bytes; this server accepts at most {limit} bytes."


class BodySizeLimit:
    """ASGI middleware: request bodies above ``max_body_bytes`` get 413 in the family's envelope.

    A ``Content-Length`` above the limit is refused before a byte of the body is read; a chunked (or
    understated) body is read as it arrives and refused as soon as it passes the limit, so no request makes
    the server hold more than the limit. A body in several chunks reaches the app as one message; anything
    the app receives after the body (a disconnect) comes straight from the server.
    """

    def __init__(self, app: ASGIApp, refusals: Refusals, max_body_bytes: int) -> None:
        self.app = app
        self.refusals = refusals
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
                if declared is not None and declared > limit:
                    await self._refuse(scope, send, body_too_large_message(limit, declared))
                    return
                break
        first = await receive()
        if first["type"] == "http.request" and first.get("more_body", False):
            chunks = [first.get("body", b"")]
            size = len(chunks[0])
            while True:
                if size > limit:
                    await self._refuse(scope, send, body_too_large_message(limit))
                    return
                message = await receive()
                if message["type"] != "http.request":  # the client left mid-body: the app sees it leave
                    first = message
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if not message.get("more_body", False):
                    if size > limit:
                        await self._refuse(scope, send, body_too_large_message(limit))
                        return
                    first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                    break
        elif first["type"] == "http.request" and len(first.get("body", b"")) > limit:
            await self._refuse(scope, send, body_too_large_message(limit))
            return
        await self.app(scope, _replay(first, receive), send)

    async def _refuse(self, scope: Scope, send: Send, message: str) -> None:
        rendered = self.refusals.render(scope.get("path", ""), 413, message, "request_too_large")
        body = dumps(rendered.body)
        await send({"type": "http.response.start", "status": rendered.status,
                    "headers": self.refusals.asgi_headers(rendered, body)})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _replay(first: Message, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay
