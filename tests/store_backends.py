"""The two store backends behind one small interface, so that the store's property tests run on both.

``Backend.collection()`` gives a fresh, empty collection and ``Backend.store(limits)`` a fresh store whose
usage in all starts at zero; on Redis each gets a key prefix of its own in the session's server.
``snapshot(store)`` is everything a store holds, down to sequence numbers and usage counters.
"""

from __future__ import annotations

import typing as t
import uuid

import redis

from mockserver.quota import Limits, Usage
from mockserver.redis_store import RedisStore
from mockserver.store import MemoryCollection, MemoryStore
from tests.test_atomic_handlers import snapshot as memory_snapshot

UNCAPPED = Limits(None, None, None, None)


class Backend:
    name = "memory"

    def store(self, limits: Limits = UNCAPPED) -> t.Any:
        return MemoryStore(limits, total=Usage())

    def collection(self, *, cursor_keys: bool = True) -> t.Any:
        return MemoryCollection(cursor_keys=cursor_keys)

    def snapshot(self, store: t.Any) -> t.Any:
        return memory_snapshot(store)


class RedisBackend(Backend):
    name = "redis"

    def __init__(self, url: str) -> None:
        self.connection = redis.Redis.from_url(url)

    def store(self, limits: Limits = UNCAPPED) -> RedisStore:
        return RedisStore(self.connection, "test", limits, prefix=f"t{uuid.uuid4().hex}")

    def collection(self, *, cursor_keys: bool = True) -> t.Any:
        return self.store().collection("tenant", "things", cursor_keys=cursor_keys)

    def snapshot(self, store: t.Any) -> dict:
        """Every key under the store's prefix with its content; the per-collection creation token left
        out, and the database-wide usage counters at zero counted as absent."""
        state: dict[bytes, t.Any] = {}
        prefix = store._total_key.rsplit(":", 1)[0]
        for key in self.connection.scan_iter(match=f"{prefix}:*", count=1000):
            kind = self.connection.type(key)
            if kind == b"hash":
                value: t.Any = self.connection.hgetall(key)
                value.pop(b"token", None)
                if key.endswith(b":usage") and set(value.values()) <= {b"0"}:
                    continue
            elif kind == b"zset":
                value = self.connection.zrange(key, 0, -1, withscores=True)
            elif kind == b"set":
                value = sorted(self.connection.smembers(key))
            else:
                raise AssertionError(f"unexpected key {key!r} of type {kind!r}")
            state[key] = value
        return state
