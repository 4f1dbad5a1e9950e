"""The request journal and the access log: what the mock was asked, for tests to assert on.

``Recorder.observe`` wraps one request's ``receive`` and ``send``: it notes the request (method, path,
query, head, arrival time), the first ``EXCERPT_BYTES`` of its body and of its response body, the status,
the ``x-request-id`` and, when the response ends, the duration. The note goes into ``Journal``, a ring of
the last ``capacity`` requests (older ones fall out: memory is bounded by the capacity, the excerpts and
the request heads, themselves capped by ``--max-header-bytes``). With an access log the end of every
response also prints one line.

The request path pays for two small closures and a few attribute writes; everything the journal derives
(family, operation, tenant) is worked out only when it is read (``Journal.entries``), from the family's
contract (``mockserver.admin.spec_index``). Keys are never shown whole: ``tenant`` is masked.
"""

from __future__ import annotations

import itertools
import time
import typing as t
from collections import deque
from dataclasses import dataclass

from starlette.types import Message, Receive, Scope, Send

from mockserver.admin.spec_index import SpecIndex, mask
from mockserver.family import Family

EXCERPT_BYTES = 1024
DEFAULT_CAPACITY = 1000


class Entry:
    """One request as the journal noted it (raw; ``Journal.entries`` derives the rest)."""

    __slots__ = ("number", "method", "path", "query", "headers", "started", "started_at", "status",
                 "request_id", "duration", "request_body", "response_body", "complete")

    def __init__(self, number: int, scope: Scope) -> None:
        self.number = number
        self.method: str = scope.get("method", "")
        self.path: str = scope.get("path", "")
        self.query: bytes = scope.get("query_string", b"")
        self.headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        self.started = time.perf_counter()
        self.started_at = time.time()
        self.status: int | None = None
        self.request_id: str | None = None
        self.duration: float | None = None
        self.request_body = b""
        self.response_body = b""
        self.complete = False


@dataclass(frozen=True)
class Filters:
    """What ``Journal.entries`` keeps: every field given must match (``tenant`` is the full key)."""

    tenant: str | None = None
    family: str | None = None
    operation: str | None = None
    limit: int | None = None


class Journal:
    """The last ``capacity`` requests, oldest first."""

    def __init__(self, families: t.Sequence[Family], capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._numbers = itertools.count(1)
        self._families = sorted(families, key=lambda f: len(f.base_path), reverse=True)
        self._indexes = {family.name: SpecIndex(family) for family in families}

    def add(self, scope: Scope) -> Entry:
        entry = Entry(next(self._numbers), scope)
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def family_of(self, path: str) -> Family | None:
        for family in self._families:
            prefix = family.base_path.rstrip("/")
            if path == prefix or path.startswith(prefix + "/"):
                return family
        return None

    def entries(self, filters: Filters = Filters()) -> list[dict[str, t.Any]]:
        """The journal as JSON-ready dicts, oldest first, filtered (the newest ``limit`` when given)."""
        chosen: list[dict[str, t.Any]] = []
        for entry in list(self._entries):
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
            chosen.append(_as_dict(entry, family, operation, key, query))
        if filters.limit is not None:
            chosen = chosen[-filters.limit:] if filters.limit else []
        return chosen


def _excerpt(body: bytes) -> str:
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return text + "…" if len(body) > EXCERPT_BYTES else text


def _as_dict(entry: Entry, family: Family | None, operation: str | None, key: str | None,
             query: str) -> dict[str, t.Any]:
    return {
        "number": entry.number,
        "time": entry.started_at,
        "method": entry.method,
        "path": entry.path,
        "query": query,
        "family": family.name if family is not None else None,
        "operation": operation,
        "tenant": mask(key),
        "status": entry.status,
        "duration_ms": None if entry.duration is None else round(entry.duration * 1000, 3),
        "request_id": entry.request_id,
        "complete": entry.complete,
        "request_body": _excerpt(entry.request_body),
        "response_body": _excerpt(entry.response_body),
    }


class Recorder:
    """Notes every request into a journal (if any) and prints an access-log line (if asked)."""

    def __init__(self, journal: Journal | None, access_log: t.Callable[[str], None] | None = None) -> None:
        self.journal = journal
        self.access_log = access_log

    def observe(self, scope: Scope, receive: Receive, send: Send) -> tuple[Receive, Send]:
        entry = self.journal.add(scope) if self.journal is not None else Entry(0, scope)
        log = self.access_log

        async def noting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(entry.request_body) < EXCERPT_BYTES:
                entry.request_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
            return message

        async def noting_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                entry.status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        entry.request_id = value.decode("latin-1")
            elif kind == "http.response.body":
                if len(entry.response_body) < EXCERPT_BYTES:
                    entry.response_body += message.get("body", b"")[:EXCERPT_BYTES + 1]
                if not message.get("more_body", False):
                    entry.duration = time.perf_counter() - entry.started
                    entry.complete = True
                    if log is not None:
                        log(access_line(entry))
            await send(message)

        return noting_receive, noting_send


def access_line(entry: Entry) -> str:
    """``GET /openai/v1/conversations/conv_1 200 1.4ms req_…``: one request in the access log (the path
    without its query, which may hold a key)."""
    duration = "-" if entry.duration is None else f"{entry.duration * 1000:.1f}ms"
    return f"{entry.method} {entry.path} {entry.status} {duration} {entry.request_id or '-'}"
