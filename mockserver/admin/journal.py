"""The request journal and the access log: what the mock was asked, for tests to assert on.

``Recorder.serve`` runs one request and notes it: the request (method, path, query, head, arrival time)
when it arrives, and when it ends the first ``EXCERPT_BYTES`` of its body and of its response body, the
status, the response head (its ``x-request-id``) and the duration. The notes go into ``Journal``, a ring of
the last ``capacity`` requests by arrival, answered or still being answered (older ones fall out: memory is
bounded by the capacity, the excerpts and the request heads, themselves capped by ``--max-header-bytes``).
With an access log the end of every request also prints one line.

The request path is kept short, since every request pays it: the entry is one list, appended to the ring on
arrival and extended in place at the end; the response is noted by a plain method (``Exchange.note``) that
the mock's own response wrapper calls (no extra send wrapper), and the request body only for methods that
have one. Everything the journal derives (family, operation, tenant, request id) is worked out only when
it is read (``Journal.entries``), from the family's contract (``mockserver.admin.spec_index``). Keys are
never shown whole: ``tenant`` is masked.
"""

from __future__ import annotations

import itertools
import time
import typing as t
from collections import deque
from dataclasses import dataclass
from itertools import chain
from time import perf_counter

from starlette.types import Message, Receive, Scope, Send

from mockserver.admin.spec_index import SpecIndex, mask
from mockserver.family import Family

EXCERPT_BYTES = 1024
DEFAULT_CAPACITY = 1000


class Entry(t.NamedTuple):
    """One request as the journal noted it (raw; ``Journal.entries`` derives the rest). The request path
    stores a plain list in this order (its first six fields on arrival, the rest when it ends; building a
    named tuple costs more); the journal reads it as this."""

    number: int
    started: float
    """``time.perf_counter()`` at arrival."""
    method: str
    path: str
    query: bytes
    head: bytes
    """The request's header names and values joined by NUL bytes (which HTTP forbids in both): one object
    per entry instead of a tuple per header (``headers()`` splits it)."""
    status: int | None = None
    request_id: bytes | None = None
    """The response's ``x-request-id``."""
    duration: float | None = None
    request_body: bytes = b""
    response_body: bytes = b""
    complete: bool = False

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The request's headers, as the ASGI scope listed them."""
        if not self.head:
            return []
        parts = self.head.split(b"\0")
        return list(zip(parts[::2], parts[1::2], strict=False))


@dataclass(frozen=True)
class Filters:
    """What ``Journal.entries`` keeps: every field given must match (``tenant`` is the full key)."""

    tenant: str | None = None
    family: str | None = None
    operation: str | None = None
    limit: int | None = None


NO_FILTERS = Filters()
"""Every entry."""


_ARRIVAL_FIELDS = 6
"""The fields of an ``Entry`` noted on arrival (``Journal.begin``)."""


class Journal:
    """The last ``capacity`` requests, oldest first; requests still being answered are listed too."""

    def __init__(self, families: t.Sequence[Family], capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._ring: deque[list] = deque(maxlen=capacity)
        self._numbers = itertools.count(1)
        self._clock_offset = time.time() - time.perf_counter()
        self._families = sorted(families, key=lambda f: len(f.base_path), reverse=True)
        self._indexes = {family.name: SpecIndex(family) for family in families}

    def begin(self, scope: Scope, started: float) -> list:
        """Note a request arriving (listed, without status, until ``end``); its entry, the ``Entry`` fields
        so far."""
        entry = [next(self._numbers), started, scope["method"], scope["path"], scope["query_string"],
                 b"\0".join(chain.from_iterable(scope["headers"]))]
        self._ring.append(entry)
        return entry

    @staticmethod
    def answered(entry: list, status: int, request_id: bytes | None) -> None:
        """Note the response starting (its status and request id), in the request's entry."""
        entry += (status, request_id)

    @staticmethod
    def end(entry: list, duration: float, request_body: bytes, response_body: bytes, complete: bool) -> None:
        """Note a request done (answered, or given up), in its entry (still in the ring or fallen out)."""
        if len(entry) == _ARRIVAL_FIELDS:  # no response started
            entry += (None, None)
        entry += (duration, request_body, response_body, complete)

    def clear(self) -> None:
        self._ring.clear()

    def __len__(self) -> int:
        return len(self._ring)

    def family_of(self, path: str) -> Family | None:
        for family in self._families:
            prefix = family.base_path.rstrip("/")
            if path == prefix or path.startswith(prefix + "/"):
                return family
        return None

    def entries(self, filters: Filters = NO_FILTERS) -> list[dict[str, t.Any]]:
        """The journal as JSON-ready dicts, oldest first, filtered (the newest ``limit`` when given)."""
        chosen: list[dict[str, t.Any]] = []
        noted = [Entry(*fields) for fields in list(self._ring)]
        for entry in noted:
            family = self.family_of(entry.path)
            index = self._indexes[family.name] if family is not None else None
            if filters.family is not None and (family is None or family.name != filters.family):
                continue
            operation = index.operation_of(entry.method, entry.path) if index is not None else None
            if filters.operation is not None and operation != filters.operation:
                continue
            key = index.key_of(entry.headers(), entry.query) if index is not None else None
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
        "request_id": entry.request_id.decode("latin-1") if entry.request_id is not None else None,
        "complete": entry.complete,
        "request_body": _excerpt(entry.request_body),
        "response_body": _excerpt(entry.response_body),
    }


class Exchange:
    """What one noted request sent and received, gathered as it goes: ``note`` sees each response message
    (called by the mock's response wrapper, before the message goes out), ``receive`` each request message
    (only for methods with a body)."""

    __slots__ = ("upstream", "entry", "status", "request_id", "request_body", "response_body", "complete")

    def __init__(self, receive: Receive, entry: list | None) -> None:
        self.upstream = receive
        self.entry = entry
        self.status: int | None = None
        self.request_id: bytes | None = None
        self.request_body = self.response_body = b""
        self.complete = False

    def note(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            if len(self.response_body) < EXCERPT_BYTES:
                self.response_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
            if not message.get("more_body", False):
                self.complete = True
        elif message["type"] == "http.response.start":
            self.status, self.request_id = message["status"], _request_id(message.get("headers", ()))
            if self.entry is not None:
                Journal.answered(self.entry, self.status, self.request_id)

    async def receive(self) -> Message:
        message = await self.upstream()
        if len(self.request_body) < EXCERPT_BYTES and message["type"] == "http.request":
            self.request_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
        return message


Note = t.Callable[[Message], None]
"""Called with every response message of a noted request, as it is sent (``Exchange.note``)."""

NotedApp = t.Callable[[Scope, Receive, Send, Note], t.Awaitable[None]]
"""An ASGI app that also takes a ``note`` to call with every response message it sends."""


class Recorder:
    """Notes every request into a journal (if any) and prints an access-log line (if asked)."""

    def __init__(self, journal: Journal | None, access_log: t.Callable[[str], None] | None = None) -> None:
        self.journal = journal
        self.access_log = access_log

    async def serve(self, app: NotedApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with ``app``, noting it: once it arrives, then once it ends (answered, or the
        client gone); the excerpts and the status are gathered in between, by an ``Exchange``."""
        journal, started = self.journal, perf_counter()
        entry = journal.begin(scope, started) if journal is not None else None
        exchange = Exchange(receive, entry)
        try:  # a GET or HEAD has no body worth an excerpt: its receive is left alone
            await app(scope, receive if scope["method"] in _WITHOUT_BODY else exchange.receive, send, exchange.note)
        finally:
            duration = perf_counter() - started
            if entry is not None:
                Journal.end(entry, duration, exchange.request_body, exchange.response_body, exchange.complete)
            if self.access_log is not None:
                self.access_log(access_line(scope.get("method", ""), scope.get("path", ""), exchange.status,
                                            duration, exchange.request_id))


_WITHOUT_BODY = frozenset({"GET", "HEAD"})


def _request_id(headers: t.Iterable[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == b"x-request-id":
            return value
    return None


def access_line(method: str, path: str, status: int | None, duration: float, request_id: bytes | None) -> str:
    """``GET /openai/v1/conversations/conv_1 200 1.4ms req_…``: one request in the access log (the path
    without its query, which may hold a key; status ``-`` when the client left before any answer)."""
    shown = request_id.decode("latin-1") if request_id is not None else "-"
    return f"{method} {path} {status or '-'} {duration * 1000:.1f}ms {shown}"
