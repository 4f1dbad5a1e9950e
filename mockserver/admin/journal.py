"""The request journal and the access log: what the mock was asked, for tests to assert on.

``Recorder.serve`` runs one request with its ``receive`` and ``send`` wrapped: it notes the request
(method, path, query, head, arrival time) when it arrives, and when it ends the first ``EXCERPT_BYTES``
of its body and of its response body, the status, the ``x-request-id`` and the duration. The notes go into
``Journal``, a ring of the last ``capacity`` requests (older ones fall out: memory is bounded by the
capacity, the excerpts and the request heads, themselves capped by ``--max-header-bytes``) beside the
requests still being answered. With an access log the end of every request also prints one line.

The request path pays for two small closures and two tuples; everything the journal derives
(family, operation, tenant) is worked out only when it is read (``Journal.entries``), from the family's
contract (``mockserver.admin.spec_index``). Keys are never shown whole: ``tenant`` is masked.
"""

from __future__ import annotations

import itertools
import time
import typing as t
from collections import deque
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.admin.spec_index import SpecIndex, mask
from mockserver.family import Family

EXCERPT_BYTES = 1024
DEFAULT_CAPACITY = 1000


class Entry(t.NamedTuple):
    """One request as the journal noted it (raw; ``Journal.entries`` derives the rest). The request path
    stores plain tuples in this order (building a named tuple costs more); the journal reads them as this.
    Only tuples, strings, bytes and numbers: the garbage collector stops tracking an entry after its first
    pass, so a full ring costs collections nothing."""

    number: int
    started: float
    """``time.perf_counter()`` at arrival."""
    method: str
    path: str
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    status: int | None = None
    response_headers: t.Iterable[tuple[bytes, bytes]] = ()
    """The response's head (its ``x-request-id`` is read from it when the journal is)."""
    duration: float | None = None
    request_body: bytes = b""
    response_body: bytes = b""
    complete: bool = False


@dataclass(frozen=True)
class Filters:
    """What ``Journal.entries`` keeps: every field given must match (``tenant`` is the full key)."""

    tenant: str | None = None
    family: str | None = None
    operation: str | None = None
    limit: int | None = None


NO_FILTERS = Filters()
"""Every entry."""


class Journal:
    """The last ``capacity`` requests, oldest first; requests still being answered are listed too."""

    def __init__(self, families: t.Sequence[Family], capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._done: deque[tuple] = deque(maxlen=capacity)
        self._open: dict[int, tuple] = {}
        self._numbers = itertools.count(1)
        self._clock_offset = time.time() - time.perf_counter()
        self._families = sorted(families, key=lambda f: len(f.base_path), reverse=True)
        self._indexes = {family.name: SpecIndex(family) for family in families}

    def begin(self, scope: Scope, started: float) -> tuple:
        """Note a request arriving (listed, without status, until ``end``); the ``Entry`` fields so far."""
        number = next(self._numbers)
        entry = self._open[number] = (number, started, scope["method"], scope["path"], scope["query_string"],
                                      tuple(scope["headers"]))
        return entry

    def end(self, entry: tuple, status: int | None, response_headers: t.Iterable[tuple[bytes, bytes]],
            duration: float, request_body: bytes, response_body: bytes, complete: bool) -> None:
        """Note a request done (answered, or given up)."""
        self._open.pop(entry[0], None)
        self._done.append((*entry, status, tuple(response_headers), duration, request_body, response_body, complete))

    def clear(self) -> None:
        self._done.clear()
        self._open.clear()

    def __len__(self) -> int:
        return len(self._done) + len(self._open)

    def family_of(self, path: str) -> Family | None:
        for family in self._families:
            prefix = family.base_path.rstrip("/")
            if path == prefix or path.startswith(prefix + "/"):
                return family
        return None

    def entries(self, filters: Filters = NO_FILTERS) -> list[dict[str, t.Any]]:
        """The journal as JSON-ready dicts, oldest first, filtered (the newest ``limit`` when given)."""
        chosen: list[dict[str, t.Any]] = []
        noted = [Entry(*fields) for fields in sorted([*self._done, *self._open.values()])[-self.capacity:]]
        for entry in noted:
            family = self.family_of(entry.path)
            index = self._indexes[family.name] if family is not None else None
            if filters.family is not None and (family is None or family.name != filters.family):
                continue
            operation = index.operation_of(entry.method, entry.path) if index is not None else None
            if filters.operation is not None and operation != filters.operation:
                continue
            key = index.key_of(entry.headers, entry.query) if index is not None else None
            if filters.tenant is not None and key != filters.tenant:
                continue
            query = index.masked_query(entry.query) if index is not None else entry.query.decode("latin-1")
            chosen.append(_as_dict(entry, self._clock_offset + entry.started, family, operation, key, query))
        if filters.limit is not None:
            chosen = chosen[-filters.limit:] if filters.limit else []
        return chosen


def _excerpt(body: bytes) -> str:
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return text + "…" if len(body) > EXCERPT_BYTES else text


def _as_dict(entry: Entry, started_at: float, family: Family | None, operation: str | None, key: str | None,
             query: str) -> dict[str, t.Any]:
    return {
        "number": entry.number,
        "time": round(started_at, 6),
        "method": entry.method,
        "path": entry.path,
        "query": query,
        "family": family.name if family is not None else None,
        "operation": operation,
        "tenant": mask(key),
        "status": entry.status,
        "duration_ms": None if entry.duration is None else round(entry.duration * 1000, 3),
        "request_id": _request_id(entry.response_headers),
        "complete": entry.complete,
        "request_body": _excerpt(entry.request_body),
        "response_body": _excerpt(entry.response_body),
    }


class Recorder:
    """Notes every request into a journal (if any) and prints an access-log line (if asked)."""

    def __init__(self, journal: Journal | None, access_log: t.Callable[[str], None] | None = None) -> None:
        self.journal = journal
        self.access_log = access_log

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with ``app``, noting it: once it arrives, then once it ends (answered, or the
        client gone); the excerpts and the status are gathered in between, in locals of this call."""
        journal, started = self.journal, time.perf_counter()
        entry = journal.begin(scope, started) if journal is not None else None
        status: int | None = None
        response_headers: t.Iterable[tuple[bytes, bytes]] = ()
        request_body = response_body = b""
        complete = False

        async def noting_receive() -> Message:
            nonlocal request_body
            message = await receive()
            if len(request_body) < EXCERPT_BYTES and message["type"] == "http.request":
                request_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
            return message

        async def noting_send(message: Message) -> None:
            nonlocal status, response_headers, response_body, complete
            if message["type"] == "http.response.body":
                if len(response_body) < EXCERPT_BYTES:
                    response_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
                if not message.get("more_body", False):
                    complete = True
            elif message["type"] == "http.response.start":
                status, response_headers = message["status"], message.get("headers", ())
            await send(message)

        try:  # a GET or HEAD has no body worth an excerpt: its receive is left alone
            await app(scope, receive if scope["method"] in _WITHOUT_BODY else noting_receive, noting_send)
        finally:
            duration = time.perf_counter() - started
            if entry is not None and journal is not None:
                journal.end(entry, status, response_headers, duration, request_body, response_body, complete)
            if self.access_log is not None:
                self.access_log(access_line(scope.get("method", ""), scope.get("path", ""), status, duration,
                                            _request_id(response_headers)))


_WITHOUT_BODY = frozenset({"GET", "HEAD"})


def _request_id(headers: t.Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"x-request-id":
            return value.decode("latin-1")
    return None


def access_line(method: str, path: str, status: int | None, duration: float, request_id: str | None) -> str:
    """``GET /openai/v1/conversations/conv_1 200 1.4ms req_…``: one request in the access log (the path
    without its query, which may hold a key; status ``-`` when the client left before any answer)."""
    return f"{method} {path} {status or '-'} {duration * 1000:.1f}ms {request_id or '-'}"
