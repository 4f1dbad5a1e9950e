"""The request journal and the access log: what the mock was asked, for tests to assert on.

``Recorder.serve`` runs one request and notes it: the request (method, path, query, headers, arrival time)
when it arrives; the status and the ``x-request-id`` when its response starts; the first ``EXCERPT_BYTES``
of its body and of its response body as they pass; the duration when it ends. The notes go into
``Journal``, a ring of the last ``capacity`` requests by arrival, answered or still being answered (older
ones fall out: memory is bounded by the capacity, the excerpts and the request heads, themselves capped by
``--max-header-bytes``). With an access log the end of every request also prints one line.

Every request pays the noting, and every object an entry keeps alive is memory that later requests pay
for in cache misses, so an entry is one list of a few fixed slots (``STARTED`` … ``COMPLETE``), appended to
the ring on arrival and filled in place, holding as few objects as it can: the request line and the
headers a key can come in (``SpecIndex.key_header_names``) packed into one bytes object, the request id,
the excerpts, two times. The entry's number is its place in the ring (entries arrive in order). The
response is noted by the mock's own response wrapper, which made the request id (it fills ``STATUS``,
``REQUEST_ID``, ``RESPONSE_BODY`` and ``COMPLETE`` itself: no send wrapper or call of the journal's own);
the request body only for methods that have one.
Everything else (family, operation, tenant) is worked out only when the journal is read
(``Journal.entries``), from the family's contract (``mockserver.admin.spec_index``). Keys are never shown
whole: ``tenant`` is masked.
"""

from __future__ import annotations

import time
import typing as t
from collections import deque
from dataclasses import dataclass
from time import perf_counter
from urllib.parse import quote, unquote

from starlette.types import Message, Receive, Scope, Send

from mockserver.admin.spec_index import SpecIndex, mask
from mockserver.family import Family

EXCERPT_BYTES = 1024
DEFAULT_CAPACITY = 1000


class Entry(t.NamedTuple):
    """One request as the journal noted it, as ``Journal.entries`` reads it back (``read_entry``)."""

    number: int
    started: float
    """``time.perf_counter()`` at arrival."""
    method: str
    path: str
    query: bytes
    head: list[tuple[bytes, bytes]]
    """The request's headers a key can be sent in (``SpecIndex.key_header_names``): all the journal derives
    from the head is the tenant."""
    status: int | None
    request_id: bytes | None
    """The response's ``x-request-id``."""
    duration: float | None
    """Seconds from arrival to the end; None while the request is being answered."""
    request_body: bytes
    response_body: bytes
    complete: bool
    """The whole response was sent, and the request has ended."""


STARTED, REQUEST, STATUS, REQUEST_ID, DURATION, REQUEST_BODY, RESPONSE_BODY, COMPLETE = range(8)
"""The slots of an entry as the request path fills it: arrival time, the packed request
(``Journal.arrive``), then what the answer adds (the response's slots are the mock's response wrapper's
to fill, ``mockserver.app``; ``COMPLETE``: its last body message was sent)."""


def read_entry(number: int, fields: t.Sequence[t.Any]) -> Entry:
    """An entry's slots as an ``Entry``."""
    method, raw_path, query, *rest = fields[REQUEST].split(b"\0", 3)
    head = rest[0].split(b"\0") if rest else []
    status, request_id, duration, request_body, response_body, sent_whole = fields[STATUS:]
    return Entry(number, fields[STARTED], method.decode("latin-1"), unquote(raw_path.decode("latin-1")), query,
                 list(zip(head[::2], head[1::2], strict=False)), status, request_id, duration, request_body,
                 response_body, sent_whole and duration is not None)  # complete once it has ended


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

    def __init__(self, families: t.Sequence[Family], capacity: int = DEFAULT_CAPACITY,
                 security_schemes: t.Mapping[str, t.Mapping[str, t.Any]] | None = None) -> None:
        """``security_schemes``: each family's ``components.securitySchemes`` by family name, when parsed
        already (otherwise each contract is read here, to know the headers a key comes in)."""
        self.capacity = capacity
        self._ring: deque[list] = deque(maxlen=capacity)
        self._appended = 0
        """Entries ever appended: the number of the newest."""
        self._clock_offset = time.time() - time.perf_counter()
        self._families = sorted(families, key=lambda f: len(f.base_path), reverse=True)
        schemes = security_schemes or {}
        self._indexes = {family.name: SpecIndex(family, schemes.get(family.name)) for family in families}
        self._key_headers = frozenset().union(*(index.key_header_names() for index in self._indexes.values()))

    def arrive(self, scope: Scope) -> list:
        """Note a request arriving (listed, without status, until its response starts); its entry, which the
        request path fills in (the mock's response wrapper, ``Recorder.leave``). The request is kept as
        one bytes object: method, raw path, query and the key headers' names and values, joined by NUL
        bytes (which HTTP allows in none of them)."""
        started = perf_counter()
        key_headers = self._key_headers
        parts = [scope["method"].encode("latin-1"), scope.get("raw_path") or quote(scope["path"]).encode("latin-1"),
                 scope["query_string"]]
        for pair in scope["headers"]:
            if pair[0] in key_headers:
                parts += pair
        entry = [started, b"\0".join(parts), None, None, None, b"", b"", False]
        self._ring.append(entry)
        self._appended += 1
        return entry

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
        ring = list(self._ring)
        first = self._appended - len(ring) + 1
        noted = [read_entry(first + offset, fields) for offset, fields in enumerate(ring)]
        for entry in noted:
            family = self.family_of(entry.path)
            index = self._indexes[family.name] if family is not None else None
            if filters.family is not None and (family is None or family.name != filters.family):
                continue
            operation = index.operation_of(entry.method, entry.path) if index is not None else None
            if filters.operation is not None and operation != filters.operation:
                continue
            key = index.key_of(entry.head, entry.query) if index is not None else None
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


NotedApp = t.Callable[[Scope, Receive, Send, list], t.Awaitable[None]]
"""An ASGI app that also takes the request's journal entry, to note its response in as it sends it (the
``STATUS``, ``REQUEST_ID``, ``RESPONSE_BODY`` and ``COMPLETE`` slots)."""


class Recorder:
    """Notes every request into a journal (if any) and prints an access-log line (if asked): ``arrive``
    when it arrives, ``leave`` when it ends (answered, or the client gone), the response noted in between by
    the app (``NotedApp``). The mock calls these itself on its hot path; ``serve`` does all three."""

    def __init__(self, journal: Journal | None, access_log: t.Callable[[str], None] | None = None) -> None:
        self.journal = journal
        self.access_log = access_log
        self.arrive: t.Callable[[Scope], list] = journal.arrive if journal is not None else _unjournaled
        """The arriving request's entry (in the journal, if any)."""

    @staticmethod
    def receive_for(scope: Scope, receive: Receive, entry: list) -> Receive:
        """``receive``, noting the request body's excerpt (a GET or HEAD has no body worth one)."""
        if scope["method"] in _WITHOUT_BODY:
            return receive

        async def noting_receive() -> Message:
            message = await receive()
            noted = entry[REQUEST_BODY]
            if len(noted) < EXCERPT_BYTES and message["type"] == "http.request":
                entry[REQUEST_BODY] = noted + message.get("body", b"")[:EXCERPT_BYTES + 1]
            return message

        return noting_receive

    def leave(self, scope: Scope, entry: list) -> None:
        """Note the request done."""
        entry[DURATION] = duration = perf_counter() - entry[STARTED]
        if self.access_log is not None:
            self.access_log(access_line(scope.get("method", ""), scope.get("path", ""), entry[STATUS], duration,
                                        entry[REQUEST_ID]))

    async def serve(self, app: NotedApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with ``app``, noting it."""
        entry = self.arrive(scope)
        try:
            await app(scope, self.receive_for(scope, receive, entry), send, entry)
        finally:
            self.leave(scope, entry)


def _unjournaled(scope: Scope) -> list:
    """An entry for the access log alone."""
    return [perf_counter(), b"", None, None, None, b"", b"", False]


_WITHOUT_BODY = frozenset({"GET", "HEAD"})


def access_line(method: str, path: str, status: int | None, duration: float, request_id: bytes | None) -> str:
    """``GET /openai/v1/conversations/conv_1 200 1.4ms req_…``: one request in the access log (the path
    without its query, which may hold a key; status ``-`` when the client left before any answer)."""
    shown = request_id.decode("latin-1") if request_id is not None else "-"
    return f"{method} {path} {status or '-'} {duration * 1000:.1f}ms {shown}"
