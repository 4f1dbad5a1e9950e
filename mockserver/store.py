"""State behind a small interface: per-tenant, named, ordered collections of records.

The mock keeps everything in memory (``MemoryStore``); another backend only has to provide the same
two protocols. Collections keep insertion order and page by cursor (a record key) in both directions
without scanning: every key gets a sequence number, a cursor is found by dictionary lookup and its
position by binary search over the live sequence numbers. A page can also start after a bare
sequence number (``after_position``), which is what opaque cursors encode: such a cursor stays valid
when its record is deleted or moved to the newest end (``touch``, for lists ordered by activity).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

R = TypeVar("R")


class UnknownCursor(KeyError):
    """The cursor names a key this collection never held."""


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of records in the requested order, and whether more follow it."""

    records: list[R]
    has_more: bool
    last_position: int | None = None
    """Sequence number of the last record on the page (None on an empty page); resume after it."""


class Collection(Protocol[R]):
    """An insertion-ordered set of records addressed by key."""

    def insert(self, key: str, record: R) -> None: ...

    def get(self, key: str) -> R | None: ...

    def replace(self, key: str, record: R) -> None: ...

    def remove(self, key: str) -> R | None: ...

    def touch(self, key: str) -> None:
        """Move the record to the newest end of the order."""
        ...

    def page(self, *, after: str | None = None, limit: int, descending: bool,
             after_position: int | None = None) -> Page[R]: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def __iter__(self) -> Iterator[R]: ...


class Store(Protocol):
    """Collections by tenant and name."""

    def collection(self, tenant: str, name: str) -> Collection: ...

    def find(self, tenant: str, name: str) -> Collection | None: ...

    def drop(self, tenant: str, name: str) -> None: ...


class MemoryCollection(Generic[R]):
    """In-memory ``Collection``: O(1) get/insert, O(log n + limit) pages, cursors survive deletion."""

    __slots__ = ("_records", "_seq_of", "_seqs", "_keys", "_next_seq")

    def __init__(self) -> None:
        self._records: dict[str, R] = {}
        self._seq_of: dict[str, int] = {}  # kept after removal so a removed key still works as a cursor
        self._seqs: list[int] = []  # live sequence numbers, ascending
        self._keys: list[str] = []  # live keys, parallel to _seqs
        self._next_seq = 0

    def insert(self, key: str, record: R) -> None:
        if key in self._records:
            raise KeyError(f"duplicate key {key!r}")
        self._records[key] = record
        self._seq_of[key] = self._next_seq
        self._seqs.append(self._next_seq)
        self._keys.append(key)
        self._next_seq += 1

    def get(self, key: str) -> R | None:
        return self._records.get(key)

    def replace(self, key: str, record: R) -> None:
        if key not in self._records:
            raise KeyError(key)
        self._records[key] = record

    def remove(self, key: str) -> R | None:
        record = self._records.pop(key, None)
        if record is not None:
            index = bisect_left(self._seqs, self._seq_of[key])
            del self._seqs[index]
            del self._keys[index]
        return record

    def touch(self, key: str) -> None:
        record = self.remove(key)
        if record is None:
            raise KeyError(key)
        self.insert(key, record)

    def page(self, *, after: str | None = None, limit: int, descending: bool,
             after_position: int | None = None) -> Page[R]:
        if after is not None:
            if after not in self._seq_of:
                raise UnknownCursor(after)
            after_position = self._seq_of[after]
        if descending:
            end = len(self._seqs) if after_position is None else bisect_left(self._seqs, after_position)
            start = max(0, end - limit)
            seqs = self._seqs[start:end]
            keys = self._keys[start:end]
            keys.reverse()
            last = seqs[0] if seqs else None
            has_more = start > 0
        else:
            start = 0 if after_position is None else bisect_right(self._seqs, after_position)
            end = start + limit
            seqs = self._seqs[start:end]
            keys = self._keys[start:end]
            last = seqs[-1] if seqs else None
            has_more = end < len(self._keys)
        return Page([self._records[key] for key in keys], has_more, last)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[R]:
        return iter(self._records.values())


class MemoryStore:
    """In-memory ``Store``: each tenant (API key) has its own namespace of collections."""

    def __init__(self) -> None:
        self._tenants: dict[str, dict[str, MemoryCollection]] = {}

    def collection(self, tenant: str, name: str) -> MemoryCollection:
        collections = self._tenants.setdefault(tenant, {})
        found = collections.get(name)
        if found is None:
            found = collections[name] = MemoryCollection()
        return found

    def find(self, tenant: str, name: str) -> MemoryCollection | None:
        return self._tenants.get(tenant, {}).get(name)

    def drop(self, tenant: str, name: str) -> None:
        self._tenants.get(tenant, {}).pop(name, None)
