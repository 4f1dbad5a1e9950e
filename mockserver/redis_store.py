"""A ``Store`` kept in Redis, so that several workers (and several machines) share one mock's state and a
restart keeps it.

It gives every guarantee ``MemoryStore`` gives, with the same two protocols:

* order and pages: a collection is a hash of records (key → JSON) beside a sorted set of keys scored by
  sequence number; a page by cursor (a key or a position) is one ``ZRANGEBYSCORE … LIMIT``, a page by
  offset one ``ZRANGE`` by rank: O(log n + page), never a scan. Removed keys stay cursors in collections
  made with ``cursor_keys=True`` (their sequence numbers are kept in a third hash);
* atomic writes: every write is one Lua script (``mockserver.redis_scripts``), so workers writing to one
  collection at once get unique sequence numbers, refuse duplicate keys and keep one order;
* caps: the tenant's and the database-wide usage counters live in Redis and every write checks and
  charges them inside its script, so a cap holds across workers; deleting frees the records, their
  cursors and the collection's keys, and a tenant with no collection left leaves no key behind;
* transactions: ``Store.transaction()`` is ``mockserver.store``'s own; each write here journals an undo
  step (another script, which checks that what it undoes is still there), so a handler that raises
  leaves Redis as it found it (a dropped collection comes back from ``DUMP``/``RESTORE``). A worker
  killed in the middle of a request can leave that request's writes behind: Redis has no rollback;
* reads create nothing: ``read`` returns a handle without touching Redis, and writing through the handle
  of a collection that does not exist (or was dropped by another worker meanwhile) raises ``TypeError``
  as ``MemoryStore``'s empty collection does.

Calls are synchronous, as the ``Store`` protocols are: each is one loopback round trip (tens of
microseconds) during which the worker's event loop waits; a worker therefore serves fewer requests than
on the memory store, and the way to more is more workers.

Records are stored as the compact JSON ``record_size`` charges for; ``get`` returns a fresh copy, so a
caller changes a record only through ``replace``. Keys are ``{prefix}:{namespace}:t:{len}:{tenant}…``:
one namespace per family, the length prefix keeping any API key unambiguous.
"""

from __future__ import annotations

import json
import re
import typing as t
import uuid
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

import orjson
import redis

from mockserver import redis_scripts
from mockserver.quota import Limits, QuotaExceeded, Usage
from mockserver.redis_client import client as shared_client
from mockserver.responses import dumps
from mockserver.store import Page, Transaction, UnknownCursor, on_rollback, outside_transactions

DEFAULT_PREFIX = "convo-mock"
_ITER_CHUNK = 500
_BIG_INTEGER = re.compile(rb"\d{19}")


def _loads(raw: bytes) -> Any:
    """A stored record. orjson reads integers beyond 64 bits as floats, so those records take ``json``."""
    if _BIG_INTEGER.search(raw):
        return json.loads(raw)
    return orjson.loads(raw)


def _caps(limits: Limits) -> list[int]:
    return [-1 if cap is None else cap for cap in
            (limits.tenant_records, limits.tenant_bytes, limits.total_records, limits.total_bytes)]


class _Scripts:
    """The scripts registered once per client (``EVALSHA``, loaded again if the server forgot them)."""

    def __init__(self, connection: redis.Redis) -> None:
        for name in ("CREATE", "UNDO_CREATE", "INSERT", "UNDO_INSERT", "REPLACE", "UNDO_REPLACE", "REMOVE",
                     "UNDO_REMOVE", "TOUCH", "UNDO_TOUCH", "DROP", "UNDO_DROP", "PAGE", "PAGE_AT"):
            setattr(self, name.lower(), connection.register_script(getattr(redis_scripts, name)))

    create: Any
    undo_create: Any
    insert: Any
    undo_insert: Any
    replace: Any
    undo_replace: Any
    remove: Any
    undo_remove: Any
    touch: Any
    undo_touch: Any
    drop: Any
    undo_drop: Any
    page: Any
    page_at: Any


class RedisCollection:
    """One collection of one tenant in Redis (a handle: holding it costs nothing on the server)."""

    __slots__ = ("_store", "_tenant", "_name", "_keys", "_r")

    def __init__(self, store: RedisStore, tenant: str, name: str) -> None:
        self._store, self._tenant, self._name = store, tenant, name
        self._keys = store.keys_of(tenant, name)
        self._r = store.redis

    def _refusal(self, answer: list, records: int, size: int) -> QuotaExceeded:
        tenant_records, tenant_bytes, total_records, total_bytes = (int(v) for v in answer[1:5])
        try:
            self._store.limits.check(Usage(tenant_records, tenant_bytes), Usage(total_records, total_bytes),
                                     records, size)
        except QuotaExceeded as refusal:
            return refusal
        return QuotaExceeded("The mock's store is full.")  # pragma: no cover - the script and check agree

    def insert(self, key: str, record: Any) -> None:
        self.insert_many([(key, record)])

    def insert_many(self, pairs: list[tuple[str, Any]]) -> None:
        if not pairs:
            return
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise KeyError("duplicate key")
        arguments: list[Any] = [*_caps(self._store.limits), len(pairs)]
        size = 0
        for key, record in pairs:
            encoded = dumps(record)
            size += len(encoded)
            arguments += (key, encoded)
        answer = self._store.scripts.insert(keys=self._keys, args=arguments)
        status = answer[0]
        if status == -1:
            raise TypeError(f"collection {self._name!r} does not exist: write to Store.collection(), not read()")
        if status == -2:
            raise KeyError("duplicate key")
        if status == -3:
            raise self._refusal(answer, len(pairs), size)
        undo: list[Any] = [len(keys)]
        for key, earlier in zip(keys, answer[2:], strict=True):
            undo += (key, earlier)
        on_rollback(partial(self._store.scripts.undo_insert, self._keys, undo))

    def get(self, key: str) -> Any | None:
        raw = self._r.hget(self._keys[1], key)
        return None if raw is None else _loads(t.cast(bytes, raw))

    def replace(self, key: str, record: Any) -> None:
        encoded = dumps(record)
        answer = self._store.scripts.replace(keys=self._keys, args=[*_caps(self._store.limits), key, encoded])
        if answer[0] == -2:
            raise KeyError(key)
        if answer[0] == -3:
            raise self._refusal(answer, 0, int(answer[5]))
        on_rollback(partial(self._store.scripts.undo_replace, self._keys, [key, answer[1]]))

    def remove(self, key: str) -> Any | None:
        answer = self._store.scripts.remove(keys=self._keys, args=[key])
        if answer[0] == 0:
            return None
        on_rollback(partial(self._store.scripts.undo_remove, self._keys, [key, answer[1], answer[2]]))
        return _loads(answer[1])

    def touch(self, key: str) -> None:
        answer = self._store.scripts.touch(keys=self._keys, args=[key])
        if answer[0] == -2:
            raise KeyError(key)
        on_rollback(partial(self._store.scripts.undo_touch, self._keys, [key, answer[1]]))

    def page(self, *, after: str | None = None, limit: int, descending: bool,
             after_position: int | None = None) -> Page[Any]:
        limit = max(0, limit)
        position = "" if after_position is None else str(int(after_position))
        answer = self._store.scripts.page(keys=self._page_keys(), args=[
            "" if after is None else after, position, limit, 1 if descending else 0])
        if answer[0] == -1:
            raise UnknownCursor(after)
        last = int(answer[1]) if answer[1] != b"" else None
        return Page([_loads(raw) for raw in answer[2:]], answer[0] == 1, last)

    def page_at(self, offset: int, limit: int, descending: bool) -> tuple[list[Any], int]:
        answer = self._store.scripts.page_at(keys=[self._keys[2], self._keys[1]],
                                             args=[max(0, offset), max(0, limit), 1 if descending else 0])
        return [_loads(raw) for raw in answer[1:]], int(answer[0])

    def _page_keys(self) -> list[str]:
        meta, records, order, removed = self._keys[:4]
        return [meta, order, records, removed]

    def __len__(self) -> int:
        return int(self._r.zcard(self._keys[2]))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._r.hexists(self._keys[1], key))

    def __iter__(self) -> Iterator[Any]:
        """Every record, oldest first, fetched a chunk at a time (positions: resumable under change)."""
        position = None
        while True:
            page = self.page(after_position=position, limit=_ITER_CHUNK, descending=False)
            yield from page.records
            if not page.has_more:
                return
            position = page.last_position


class RedisStore:
    """``Store`` in one Redis database, under ``{prefix}:{namespace}``; usage in all is shared by every
    store of the database (the ``--max-records``/``--max-bytes`` caps hold across families and workers)."""

    shares_runs = True
    """Runs and run logs made with this store live in its Redis database too (``mockserver.redis_runs``)."""

    def __init__(self, connection: redis.Redis, namespace: str, limits: Limits | None = None, *,
                 prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = connection
        self.limits = Limits.from_env() if limits is None else limits
        self.scripts = _Scripts(connection)
        self._root = f"{prefix}:{namespace}"
        self._total_key = f"{prefix}:usage"
        self._tenants_key = f"{self._root}:tenants"
        self._clear_listeners: list[t.Callable[[str | None], None]] = []

    @classmethod
    def from_url(cls, url: str, namespace: str, limits: Limits | None = None) -> RedisStore:
        """The store ``namespace`` on the server at ``url`` (the process's shared client)."""
        return cls(shared_client(url), namespace, limits)

    @property
    def root(self) -> str:
        """The prefix of every key of this store (``{prefix}:{namespace}``)."""
        return self._root

    def _tenant_base(self, tenant: str) -> str:
        return f"{self._root}:t:{len(tenant)}:{tenant}"

    def keys_of(self, tenant: str, name: str) -> list[str]:
        """The eight keys the collection scripts take (see ``mockserver.redis_scripts``)."""
        base = self._tenant_base(tenant)
        collection = f"{base}:c:{name}:"
        return [collection + "m", collection + "r", collection + "o", collection + "s",
                base + ":u", self._total_key, base + ":n", self._tenants_key]

    def collection(self, tenant: str, name: str, *, index: bool = False, cursor_keys: bool = True) -> RedisCollection:
        keys = self.keys_of(tenant, name)
        token = uuid.uuid4().hex
        if self.scripts.create(keys=keys, args=[int(index), int(cursor_keys), token, name, tenant]):
            on_rollback(partial(self.scripts.undo_create, keys, [token, name, tenant]))
        return RedisCollection(self, tenant, name)

    def read(self, tenant: str, name: str) -> RedisCollection:
        return RedisCollection(self, tenant, name)

    def find(self, tenant: str, name: str) -> RedisCollection | None:
        found = RedisCollection(self, tenant, name)
        return found if self.redis.exists(found._keys[0]) else None

    def drop(self, tenant: str, name: str) -> None:
        keys = self.keys_of(tenant, name)
        answer = self.scripts.drop(keys=keys, args=[name, tenant])
        if answer[0] == 1:
            on_rollback(partial(self.scripts.undo_drop, keys, [name, tenant, *answer[1:]]))

    def transaction(self) -> Transaction:
        return Transaction()

    def clear(self, tenant: str | None = None) -> None:
        """Forget ``tenant``'s collections (every tenant's with None), freeing their usage; then tell this
        process's ``on_clear`` listeners. Not undone by a transaction, as ``MemoryStore.clear`` is not."""
        tenants = list(self.tenants()) if tenant is None else [tenant]
        with outside_transactions():
            for one in tenants:
                names = self.redis.smembers(self._tenant_base(one) + ":n")
                for name in names:
                    self.drop(one, t.cast(bytes, name).decode())
        for listener in list(self._clear_listeners):
            listener(tenant)

    def on_clear(self, listener: t.Callable[[str | None], None]) -> None:
        self._clear_listeners.append(listener)

    def _usage(self, key: str) -> Usage:
        records, size = self.redis.hmget(key, ["records", "bytes"])
        return Usage(int(records or 0), int(size or 0))

    def usage(self, tenant: str) -> Usage:
        return self._usage(self._tenant_base(tenant) + ":u")

    def check_room(self, tenant: str, records: int, size: int) -> None:
        self.limits.check(self.usage(tenant), self.total_usage(), records, size)

    def total_usage(self) -> Usage:
        """What every store in this Redis database holds (the usage the caps ``in all`` apply to)."""
        return self._usage(self._total_key)

    def tenants(self) -> Iterable[str]:
        """The tenants that hold at least one collection."""
        return [t.cast(bytes, member).decode() for member in self.redis.smembers(self._tenants_key)]
