"""State behind a small interface: per-tenant, named, ordered collections of records.

The mock keeps everything in memory (``MemoryStore``); another backend only has to provide the same
two protocols. Collections keep insertion order and page without scanning, in both directions:

* by cursor — a record key, or a bare sequence number (``after_position``, what opaque cursors encode):
  every key gets a sequence number, a key cursor is found by dictionary lookup and its position by binary
  search over the live sequence numbers. A position cursor stays valid when its record is deleted or
  moved to the newest end (``touch``, for lists ordered by activity); so does a key cursor in collections
  made with ``cursor_keys=True`` (the default), which remember the sequence number of a removed key;
* by offset — ``page_at(offset, limit, descending)``: a slice of the live keys, O(page), with the total.

``mockserver.paging`` builds the three vendor paging styles on these two primitives.

Reads never create state: ``read`` and ``find`` return an existing collection (or the shared empty one,
or None) and only ``collection`` — the write path — creates the tenant and the collection. A tenant whose
last collection is dropped is forgotten. Stored records and their JSON bytes are counted per tenant and
for the whole process, and capped (``mockserver.quota``); *index* collections, which point at records
owned by another collection, are not counted.

All or nothing: ``Store.transaction()`` (``mockserver.connexion_app`` enters one around every handler
call, on both request paths) makes the writes inside it one step: if the block raises, every write it made
is undone — records, their order and sequence numbers, the collections and tenants it created or dropped,
and the quota charges. ``MemoryStore`` keeps an undo journal for this, one small entry per write (no
copies), in a context variable, so each request (each
asyncio task) journals only its own writes even when requests interleave. Transactions nest: an inner one
that raises undoes its own writes only. State kept outside the store joins with ``on_rollback``.
"""

from __future__ import annotations

import logging
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from sys import maxsize
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from mockserver.quota import Limits, Usage
from mockserver.responses import dumps

R = TypeVar("R")

logger = logging.getLogger("mockserver")


# ---------------------------------------------------------------------------------------------
# Transactions: an undo journal per task


# The undo steps of the writes made in this task's open transaction, oldest first: (function, *arguments).
_JOURNAL: ContextVar[list[tuple[Any, ...]] | None] = ContextVar("convo_mock_store_journal", default=None)


def _undo_to(journal: list[tuple[Any, ...]], mark: int) -> None:
    """Undo the steps after ``mark``, newest first; one failing step does not stop the others."""
    while len(journal) > mark:
        undo, *arguments = journal.pop()
        try:
            undo(*arguments)
        except Exception:  # pragma: no cover - an undo step is plain dictionary and list work
            logger.exception("could not undo a store write")


def _journal_step(*step: Any) -> None:
    journal = _JOURNAL.get()
    if journal is not None:
        journal.append(step)


def on_rollback(undo: Callable[[], None]) -> None:
    """Have ``undo`` run if the enclosing transaction rolls back: for state kept outside the store (the
    runs of ``mockserver.runs``). Outside any transaction it does nothing."""
    journal = _JOURNAL.get()
    if journal is not None:
        journal.append((undo,))


@contextmanager
def outside_transactions() -> Iterator[None]:
    """Writes in this block belong to no transaction: for work that runs on its own account wherever it
    happens to be called from (a finalizer the garbage collector runs in the middle of another request,
    whose rollback must not undo it)."""
    token = _JOURNAL.set(None)
    try:
        yield
    finally:
        _JOURNAL.reset(token)


class Transaction:
    """``with transaction():`` — the writes inside the block happen all together or, if it raises, not
    at all. Re-entrant: inside another transaction it is a savepoint of that one.

    Cost: entering and leaving is a context-variable set and reset; each write inside adds one tuple to
    the journal (references, no copies); nothing else happens unless the block raises."""

    __slots__ = ("_token", "_journal", "_mark")
    _token: Token[list[tuple[Any, ...]] | None] | None
    _journal: list[tuple[Any, ...]]
    _mark: int

    def __enter__(self) -> Transaction:
        journal = _JOURNAL.get()
        if journal is None:
            self._journal = []
            self._token = _JOURNAL.set(self._journal)
            self._mark = 0
        else:
            self._journal, self._token, self._mark = journal, None, len(journal)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is not None:
            _undo_to(self._journal, self._mark)
        if self._token is not None:
            _JOURNAL.reset(self._token)


def transaction() -> Transaction:
    """A new all-or-nothing block (see ``Transaction``); what ``MemoryStore.transaction`` returns."""
    return Transaction()


class UnknownCursor(KeyError):
    """The cursor names a key this collection never held."""


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of records in the requested order, and whether more follow it."""

    records: list[R]
    has_more: bool
    last_position: int | None = None
    """Sequence number of the last record on the page (None on an empty page); resume after it."""


def record_size(record: Any) -> int:
    """The bytes a record is charged for: the length of its compact JSON."""
    return len(dumps(record))


class Collection(Protocol[R]):
    """An insertion-ordered set of records addressed by key."""

    def insert(self, key: str, record: R) -> None: ...

    def insert_many(self, pairs: list[tuple[str, R]]) -> None:
        """Insert every pair or, if one key is taken or a cap would be passed, none."""
        ...

    def get(self, key: str) -> R | None: ...

    def replace(self, key: str, record: R) -> None: ...

    def remove(self, key: str) -> R | None: ...

    def touch(self, key: str) -> None:
        """Move the record to the newest end of the order."""
        ...

    def page(self, *, after: str | None = None, limit: int, descending: bool,
             after_position: int | None = None) -> Page[R]: ...

    def page_at(self, offset: int, limit: int, descending: bool) -> tuple[list[R], int]:
        """The records at ``offset`` … ``offset + limit`` of the order, and how many there are in all."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def __iter__(self) -> Iterator[R]: ...


class Store(Protocol):
    """Collections by tenant and name."""

    def collection(self, tenant: str, name: str, *, index: bool = False, cursor_keys: bool = True) -> Collection:
        """The collection to write to, created if needed (``index``: holds records owned by another
        collection and is not counted against the caps; ``cursor_keys``: a removed key stays a cursor)."""
        ...

    def read(self, tenant: str, name: str) -> Collection:
        """The collection to read from; an empty one, creating nothing, if it does not exist."""
        ...

    def find(self, tenant: str, name: str) -> Collection | None: ...

    def drop(self, tenant: str, name: str) -> None: ...

    def usage(self, tenant: str) -> Usage:
        """What ``tenant`` stores (a copy)."""
        ...

    def check_room(self, tenant: str, records: int, size: int) -> None:
        """Raise ``QuotaExceeded`` unless ``records`` more records of ``size`` bytes in all fit; for a
        handler about to write to several collections, so that it fails before its first write."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """A context manager making the writes inside it all-or-nothing: if its block raises, the store
        is left exactly as it was when the block began (records, order, collections, usage)."""
        ...

    def clear(self, tenant: str | None = None) -> None:
        """Forget everything ``tenant`` stores (every tenant's, with None) and release its usage, then tell
        the ``on_clear`` listeners. Not part of any transaction; clearing an unknown tenant creates nothing."""
        ...

    def on_clear(self, listener: Callable[[str | None], None]) -> None:
        """Have ``listener(tenant)`` called after every ``clear`` (None: every tenant was cleared): for
        state kept outside the store that belongs to the cleared data (the runs of ``mockserver.runs``)."""
        ...


class _Ledger:
    """Where a counted collection charges its records: its tenant's, its store's and the process's usage.

    The caps are copied in as plain integers (``maxsize`` for a lifted cap) so that a charge on the
    write path is four comparisons."""

    __slots__ = ("tenant", "store", "total", "limits", "_caps")

    def __init__(self, tenant: Usage, store: Usage, total: Usage, limits: Limits) -> None:
        self.tenant, self.store, self.total, self.limits = tenant, store, total, limits
        self._caps = tuple(maxsize if cap is None else cap for cap in (
            limits.tenant_records, limits.tenant_bytes, limits.total_records, limits.total_bytes))

    def charge(self, records: int, size: int) -> None:
        tenant, total = self.tenant, self.total
        tenant_records, tenant_bytes, total_records, total_bytes = self._caps
        if (tenant.records + records > tenant_records or tenant.bytes + size > tenant_bytes
                or total.records + records > total_records or total.bytes + size > total_bytes):
            self.limits.check(tenant, total, records, size)  # raises, worded
        self.add(records, size)

    def add(self, records: int, size: int) -> None:
        tenant, store, total = self.tenant, self.store, self.total
        tenant.records += records
        tenant.bytes += size
        store.records += records
        store.bytes += size
        total.records += records
        total.bytes += size


class MemoryCollection(Generic[R]):
    """In-memory ``Collection``: O(1) get/insert, O(log n + limit) pages, cursors survive deletion."""

    __slots__ = ("_records", "_seq_of", "_seqs", "_keys", "_next_seq", "_ledger", "_usage", "_cursor_keys")

    def __init__(self, *, ledger: _Ledger | None = None, cursor_keys: bool = True) -> None:
        self._records: dict[str, R] = {}
        self._seq_of: dict[str, int] = {}  # with cursor_keys, kept after removal so a removed key stays a cursor
        self._seqs: list[int] = []  # live sequence numbers, ascending
        self._keys: list[str] = []  # live keys, parallel to _seqs
        self._next_seq = 0
        self._ledger = ledger
        self._usage = Usage()  # what this collection holds, when counted
        self._cursor_keys = cursor_keys

    def _charge(self, records: int, size: int) -> None:
        if self._ledger is not None:
            self._ledger.charge(records, size)
            self._usage.records += records
            self._usage.bytes += size

    def _release(self, records: int, size: int) -> None:
        if self._ledger is not None:
            self._ledger.add(-records, -size)
            self._usage.records -= records
            self._usage.bytes -= size

    def _append(self, key: str, record: R) -> None:
        self._records[key] = record
        self._seq_of[key] = self._next_seq
        self._seqs.append(self._next_seq)
        self._keys.append(key)
        self._next_seq += 1

    def _unlink(self, key: str) -> R | None:
        record = self._records.pop(key, None)
        if record is not None:
            seq = self._seq_of[key] if self._cursor_keys else self._seq_of.pop(key)
            index = bisect_left(self._seqs, seq)
            del self._seqs[index]
            del self._keys[index]
        return record

    def insert(self, key: str, record: R) -> None:
        if key in self._records:
            raise KeyError(f"duplicate key {key!r}")
        size = 0
        if self._ledger is not None:
            size = record_size(record)
            self._ledger.charge(1, size)
            usage = self._usage
            usage.records += 1
            usage.bytes += size
        journal = _JOURNAL.get()
        if journal is not None:
            journal.append((MemoryCollection._undo_insert, self, key, self._seq_of.get(key), size))
        self._append(key, record)

    def insert_many(self, pairs: list[tuple[str, R]]) -> None:
        if len(pairs) == 1:
            self.insert(*pairs[0])
            return
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys) or any(key in self._records for key in keys):
            raise KeyError("duplicate key")
        size = 0
        if self._ledger is not None:
            size = sum(record_size(record) for _, record in pairs)
            self._charge(len(pairs), size)
        journal = _JOURNAL.get()
        if journal is not None:
            earlier = [self._seq_of.get(key) for key in keys]
            journal.append((MemoryCollection._undo_insert_many, self, keys, earlier, size))
        for key, record in pairs:
            self._append(key, record)

    def get(self, key: str) -> R | None:
        return self._records.get(key)

    def replace(self, key: str, record: R) -> None:
        old = self._records.get(key)
        if old is None:
            raise KeyError(key)
        change = 0
        if self._ledger is not None:
            change = record_size(record) - record_size(old)
            self._charge(0, change)
        journal = _JOURNAL.get()
        if journal is not None:
            journal.append((MemoryCollection._undo_replace, self, key, old, change))
        self._records[key] = record

    def remove(self, key: str) -> R | None:
        seq = self._seq_of.get(key)
        record = self._unlink(key)
        if record is not None:
            size = 0
            if self._ledger is not None:
                size = record_size(record)
                self._release(1, size)
            journal = _JOURNAL.get()
            if journal is not None:
                journal.append((MemoryCollection._undo_remove, self, key, record, seq, size))
        return record

    def touch(self, key: str) -> None:
        seq = self._seq_of.get(key)
        record = self._unlink(key)
        if record is None:
            raise KeyError(key)
        journal = _JOURNAL.get()
        if journal is not None:
            journal.append((MemoryCollection._undo_touch, self, key, seq))
        self._append(key, record)

    # --- undo steps (newest first, each restoring the state just before its write) ----------------

    def _pop_newest(self, key: str, earlier_seq: int | None) -> R:
        """Take out ``key``, appended by the write being undone, restoring the key's earlier sequence
        number (None: it had none) and, if nothing was appended since, the next sequence number."""
        record = self._records.pop(key)
        seq = self._seq_of[key]
        index = bisect_left(self._seqs, seq)
        del self._seqs[index]
        del self._keys[index]
        if earlier_seq is None:
            del self._seq_of[key]
        else:
            self._seq_of[key] = earlier_seq
        if seq == self._next_seq - 1:
            self._next_seq = seq
        return record

    def _put_back(self, key: str, record: R, seq: int) -> None:
        """Return ``key`` to its place in the order, at sequence number ``seq``."""
        index = bisect_left(self._seqs, seq)
        self._seqs.insert(index, seq)
        self._keys.insert(index, key)
        self._seq_of[key] = seq
        self._records[key] = record
        if index != len(self._keys) - 1:  # the dictionary iterates in the order too: rebuild it (rare path)
            records = self._records
            self._records = {name: records[name] for name in self._keys}

    def _restore_usage(self, records: int, size: int) -> None:
        if self._ledger is not None:
            self._ledger.add(records, size)
            self._usage.records += records
            self._usage.bytes += size

    def _undo_insert(self, key: str, earlier_seq: int | None, size: int) -> None:
        if key in self._records:
            self._pop_newest(key, earlier_seq)
            self._release(1, size)

    def _undo_insert_many(self, keys: list[str], earlier_seqs: list[int | None], size: int) -> None:
        for key, earlier_seq in zip(reversed(keys), reversed(earlier_seqs), strict=True):
            if key in self._records:
                self._pop_newest(key, earlier_seq)
        self._release(len(keys), size)

    def _undo_replace(self, key: str, old: R, change: int) -> None:
        if key in self._records:
            self._records[key] = old
            self._release(0, change)

    def _undo_remove(self, key: str, record: R, seq: int, size: int) -> None:
        if key not in self._records:
            self._put_back(key, record, seq)
            self._restore_usage(1, size)

    def _undo_touch(self, key: str, seq: int) -> None:
        if key in self._records:
            self._put_back(key, self._pop_newest(key, None), seq)

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

    def page_at(self, offset: int, limit: int, descending: bool) -> tuple[list[R], int]:
        total = len(self._keys)
        offset, limit = max(0, offset), max(0, limit)
        if descending:
            end = max(0, total - offset)
            keys = self._keys[max(0, end - limit):end]
            keys.reverse()
        else:
            keys = self._keys[offset:offset + limit]
        return [self._records[key] for key in keys], total

    @property
    def usage(self) -> Usage:
        """What this collection is charged for (zero for index and standalone collections)."""
        return Usage(self._usage.records, self._usage.bytes)

    def forget_usage(self) -> Usage:
        """Release everything this collection is charged for (it is being dropped); returns what it was."""
        held = Usage(self._usage.records, self._usage.bytes)
        self._release(held.records, held.bytes)
        return held

    def restore_usage(self, held: Usage, ledger: _Ledger | None) -> None:
        """Charge ``held`` again, to ``ledger`` (a dropped collection is being restored), with no cap check."""
        if self._ledger is not None:
            self._ledger = ledger
        self._restore_usage(held.records, held.bytes)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[R]:
        return iter(self._records.values())


class _EmptyCollection(MemoryCollection[Any]):
    """What ``read`` returns for a collection that does not exist: empty, and refuses writes."""

    __slots__ = ()

    def _append(self, key: str, record: Any) -> None:
        raise TypeError("the empty collection returned by Store.read cannot be written to")

    def replace(self, key: str, record: Any) -> None:
        raise KeyError(key)


EMPTY: MemoryCollection[Any] = _EmptyCollection()

_PROCESS_USAGE = Usage()
"""Records and bytes held by every ``MemoryStore`` of the process, for the process-wide caps."""


def _release_store(total: Usage, held: Usage) -> None:
    total.records -= held.records
    total.bytes -= held.bytes


class _Tenant:
    __slots__ = ("collections", "usage", "ledger")

    def __init__(self, ledger: _Ledger) -> None:
        self.collections: dict[str, MemoryCollection] = {}
        self.usage = ledger.tenant
        self.ledger = ledger


class MemoryStore:
    """In-memory ``Store``: each tenant (API key) has its own namespace of collections."""

    def __init__(self, limits: Limits | None = None, *, total: Usage | None = None) -> None:
        self.limits = Limits.from_env() if limits is None else limits
        self._tenants: dict[str, _Tenant] = {}
        self._usage = Usage()
        self._total = _PROCESS_USAGE if total is None else total
        self._clear_listeners: list[Callable[[str | None], None]] = []
        weakref.finalize(self, _release_store, self._total, self._usage)

    def collection(self, tenant: str, name: str, *, index: bool = False,
                   cursor_keys: bool = True) -> MemoryCollection:
        space = self._tenants.get(tenant)
        if space is None:
            space = self._tenants[tenant] = _Tenant(_Ledger(Usage(), self._usage, self._total, self.limits))
        found = space.collections.get(name)
        if found is None:
            ledger = None if index else space.ledger
            found = space.collections[name] = MemoryCollection(ledger=ledger, cursor_keys=cursor_keys)
            _journal_step(self._undo_create, tenant, name, found)
        return found

    def read(self, tenant: str, name: str) -> MemoryCollection:
        space = self._tenants.get(tenant)
        found = space.collections.get(name) if space is not None else None
        return EMPTY if found is None else found

    def find(self, tenant: str, name: str) -> MemoryCollection | None:
        space = self._tenants.get(tenant)
        return space.collections.get(name) if space is not None else None

    def drop(self, tenant: str, name: str) -> None:
        space = self._tenants.get(tenant)
        if space is None:
            return
        dropped = space.collections.pop(name, None)
        if dropped is not None:
            _journal_step(self._undo_drop, tenant, name, space, dropped, dropped.forget_usage())
        if not space.collections:
            del self._tenants[tenant]

    def transaction(self) -> Transaction:
        return Transaction()

    def _undo_create(self, tenant: str, name: str, created: MemoryCollection) -> None:
        space = self._tenants.get(tenant)
        if space is None or space.collections.get(name) is not created or len(created):
            return  # dropped since, or written by another request meanwhile: keep it
        del space.collections[name]
        if not space.collections:
            del self._tenants[tenant]

    def _undo_drop(self, tenant: str, name: str, space: _Tenant, dropped: MemoryCollection, held: Usage) -> None:
        current = self._tenants.get(tenant)
        if current is None:
            current = self._tenants[tenant] = space
        if name in current.collections:
            return  # another request made a collection of that name meanwhile: keep it
        current.collections[name] = dropped
        dropped.restore_usage(held, current.ledger)

    def clear(self, tenant: str | None = None) -> None:
        names = list(self._tenants) if tenant is None else [tenant] if tenant in self._tenants else []
        for name in names:
            space = self._tenants.pop(name)
            for found in space.collections.values():
                found.forget_usage()
        for listener in list(self._clear_listeners):
            listener(tenant)

    def on_clear(self, listener: Callable[[str | None], None]) -> None:
        self._clear_listeners.append(listener)

    def usage(self, tenant: str) -> Usage:
        space = self._tenants.get(tenant)
        return Usage() if space is None else Usage(space.usage.records, space.usage.bytes)

    def check_room(self, tenant: str, records: int, size: int) -> None:
        space = self._tenants.get(tenant)
        self.limits.check(space.usage if space is not None else Usage(), self._total, records, size)

    def total_usage(self) -> Usage:
        """What this store holds over all tenants."""
        return Usage(self._usage.records, self._usage.bytes)

    def tenants(self) -> Iterable[str]:
        """The tenants that hold at least one collection."""
        return list(self._tenants)
