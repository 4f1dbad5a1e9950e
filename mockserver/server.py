"""The mock's HTTP server: uvicorn with httptools, guarded against slow, silent and oversized clients.

``serve(app, sock, limits)`` runs the app behind ``BodySizeLimit`` on uvicorn with the concurrency cap,
keep-alive timeout and graceful-shutdown deadline of ``limits``, and with ``GuardedHttpProtocol``, which
adds what uvicorn lacks (uvicorn has no header, body or write timeout, and its httptools parser no size
limit on the request head):

- a request head (request line and headers) must arrive within ``header_timeout`` of the connection
  opening or of the next request's first byte, else the connection is closed (silent and slowloris
  clients);
- a body must arrive within ``body_timeout`` of its head (408 in the family's envelope, then closed);
- a client that stops reading its response for ``send_timeout`` (no byte of the write buffer drained) is
  dropped, releasing what the buffer held; and while unread responses together exceed
  ``max_unsent_bytes``, a client that has not read for a second is dropped;
- a request target over ``max_url_bytes`` is 414 and a header section over ``max_header_bytes`` is 431,
  both in the family's envelope; the parser never holds more than these plus one read;
- requests the HTTP parser rejects (an unknown method token such as ``FOO``, ``Content-Length`` together
  with ``Transfer-Encoding: chunked``, malformed lines) are 400 in the envelope of the family the request
  line's path belongs to, and the connection is closed;
- beyond ``max_connections`` requests are 503 in the envelope and the connection is closed.

Its transport joins the writes of one loop turn (``mockserver.coalescing``): one send per response.
"""

from __future__ import annotations

import asyncio
import re
import socket
import typing as t

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.coalescing import coalescing
from mockserver.limits import BodySizeLimit, Limits, Refusals

_REQUEST_LINE_PATH = re.compile(rb"^\s*\S+[ \t]+(/[^ \t?#\r\n]*)")
_HEAD_PREFIX_BYTES = 2048
_STALL_GRACE = 1.0
"""Seconds without progress after which a reader counts as stalled when unread responses are over budget."""
_READ_SLACK = 256 * 1024
"""Bytes one read may bring beyond a limit before the head is checked (the event loop's largest read)."""


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request already refused."""


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head/body/write timeouts, head size limits and refusals in JSON.

    ``limits`` and ``refusals`` are set on the subclass ``protocol_class`` makes for one server.
    """

    limits: t.ClassVar[Limits] = Limits()
    refusals: t.ClassVar[Refusals | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(coalescing(transport))  # a response's head and body in one send
        self._awaiting_head = True
        self._head_received = 0
        self._head_prefix = b""
        self._header_bytes = 0
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._stalled_since = 0.0
        self._unsent_at_check = 0
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    # Reading the request
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._awaiting_head:
            self._head_received += len(data)
            if len(self._head_prefix) < _HEAD_PREFIX_BYTES:
                self._head_prefix += data[: _HEAD_PREFIX_BYTES - len(self._head_prefix)]
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if not self._refused:
                self._refuse(400, _parser_message(exc), "invalid_http_request")
            return
        if self._awaiting_head and not self._refused and self._head_received > self._head_ceiling():
            self._refuse(431, self._headers_message(), "request_header_fields_too_large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._header_bytes = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > self.limits.max_url_bytes:
            self._refuse(414, f"Request URL too long: more than {self.limits.max_url_bytes} bytes.", "uri_too_long")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF, as sent
        if self._header_bytes > self.limits.max_header_bytes:
            self._refuse(431, self._headers_message(), "request_header_fields_too_large")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel(self._head_timer)
        self._head_timer = None
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            self.logger.warning("Exceeded concurrency limit.")
            self._refuse(503, "The server is serving as many connections as it takes; retry later.",
                         "service_unavailable")
            raise _Refused
        super().on_headers_complete()
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._cancel(self._body_timer)
        self._body_timer = None
        self._awaiting_head = True  # the next request on this connection (its head timer starts at its first byte)
        self._head_received = 0
        self._head_prefix = b""
        super().on_message_complete()

    # Writing the response
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._stalled_since = self.loop.time()
            self._unsent_at_check = self.transport.get_write_buffer_size()
            self._write_timer = self.loop.call_later(self._write_check_interval(), self._check_writing)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel(self._write_timer)
        self._write_timer = None

    def _write_check_interval(self) -> float:
        return min(_STALL_GRACE, self.limits.send_timeout)

    def _check_writing(self) -> None:
        """While writing is paused: drop the connection if its reader made no progress for ``send_timeout``,
        or for ``_STALL_GRACE`` while unread responses exceed ``max_unsent_bytes``."""
        self._write_timer = None
        if self.flow is None or not self.flow.write_paused:  # (a closing transport may still hold the response)
            return
        now = self.loop.time()
        unsent = self.transport.get_write_buffer_size()
        if unsent < self._unsent_at_check:
            self._stalled_since = now
        self._unsent_at_check = unsent
        stalled = now - self._stalled_since
        if stalled >= self.limits.send_timeout or (
                stalled >= _STALL_GRACE and self._unsent_bytes() > self.limits.max_unsent_bytes):
            self.logger.warning("Dropping a connection whose client stopped reading (%d bytes unsent).", unsent)
            self.transport.abort()
            return
        self._write_timer = self.loop.call_later(self._write_check_interval(), self._check_writing)

    def _unsent_bytes(self) -> int:
        """Bytes waiting in the write buffers of every connection of the server."""
        total = 0
        for connection in self.connections:
            transport = getattr(connection, "transport", None)
            if transport is not None and not transport.is_closing():
                total += transport.get_write_buffer_size()
        return total

    # Timers and refusals
    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head and not self.transport.is_closing():
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        if not self.cycle.response_started:
            self._refuse(408, f"The request body did not arrive within {self.limits.body_timeout:g} seconds.",
                         "request_timeout", path=self.scope.get("path", ""))
        else:
            self.transport.close()

    def _refuse(self, status: int, message: str, code: str, path: str | None = None) -> None:
        """Answer in the envelope of the request's family and close; nothing more is read."""
        self._refused = True
        if path is None:
            path = self._request_path()
        refusals = self.refusals or Refusals([])
        if not self.transport.is_closing():
            self.transport.write(refusals.raw_response(path, status, message, code,
                                                       self.server_state.default_headers))
            self.transport.close()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self._cancel_timers()

    def _request_path(self) -> str:
        url = getattr(self, "url", b"") or b""
        if url.startswith(b"/"):
            raw = url.split(b"?", 1)[0].split(b"#", 1)[0]
        else:
            match = _REQUEST_LINE_PATH.match(self._head_prefix)
            raw = match.group(1) if match else b"/"
        return raw.decode("latin-1")

    def _head_ceiling(self) -> int:
        return self.limits.max_url_bytes + self.limits.max_header_bytes + _READ_SLACK

    def _headers_message(self) -> str:
        return f"Request header fields too large: more than {self.limits.max_header_bytes} bytes."

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._write_timer):
            self._cancel(timer)
        self._head_timer = self._body_timer = self._write_timer = None

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()


def _parser_message(error: Exception) -> str:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, _Refused):
        return "Invalid HTTP request received."
    detail = str(error).strip()
    return f"Invalid HTTP request received: {detail}." if detail else "Invalid HTTP request received."


def protocol_class(limits: Limits, refusals: Refusals) -> type[GuardedHttpProtocol]:
    """A ``GuardedHttpProtocol`` subclass bound to one server's limits and families."""
    return type("BoundGuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits, "refusals": refusals})


def guarded_app(app: ASGIApp, refusals: Refusals, limits: Limits) -> ASGIApp:
    """The app as served over HTTP: behind the body-size limit."""
    return BodySizeLimit(app, refusals, limits.max_body_bytes)


def server_config(app: t.Any, limits: Limits, *, access_log: bool = False,
                  log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn configuration serving ``app`` (a ``MockApp``: it names its ``families``) under ``limits``."""
    refusals = Refusals(getattr(app, "families", []))
    return uvicorn.Config(
        guarded_app(app, refusals, limits), log_level=log_level, access_log=access_log, lifespan="on",
        http=protocol_class(limits, refusals),
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]  # a float works: call_later
        timeout_graceful_shutdown=limits.shutdown_timeout,  # type: ignore[arg-type]  # a float works: wait_for
    )


def serve(app: t.Any, sock: socket.socket, limits: Limits, *, access_log: bool = False) -> bool:
    """Serve ``app`` on the bound socket until SIGINT/SIGTERM (then at most ``shutdown_timeout`` more);
    False if it never started (its start-up failed). ``access_log`` is uvicorn's own (the mock prints
    its own lines: ``mockserver.admin.journal``)."""
    server = uvicorn.Server(server_config(app, limits, access_log=access_log))
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's own exit when the app's start-up fails
        return False
    return server.started
