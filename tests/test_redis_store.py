"""What the Redis store adds to the memory store's guarantees: stores on one database (as workers are)
share order, ids and caps; a write never brings back a collection another worker dropped; records come back
as they were stored, big integers included."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from mockserver.quota import Limits, QuotaExceeded
from mockserver.redis_store import RedisStore

THREADS, EACH = 16, 25


def two_workers(redis_url: str, limits: Limits | None = None) -> tuple[RedisStore, RedisStore]:
    """Two stores on one database and prefix, each with its own connection: two workers' view."""
    prefix = f"w{uuid.uuid4().hex}"
    caps = limits or Limits(None, None, None, None)
    return (RedisStore(redis.Redis.from_url(redis_url), "family", caps, prefix=prefix),
            RedisStore(redis.Redis.from_url(redis_url), "family", caps, prefix=prefix))


def test_concurrent_appends_from_many_connections_keep_one_order_and_lose_nothing(redis_url: str) -> None:
    first, _ = two_workers(redis_url)
    prefix = first._total_key.rsplit(":", 1)[0]
    first.collection("t", "items")
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        store = RedisStore(redis.Redis.from_url(redis_url), "family", first.limits, prefix=prefix)
        try:
            for n in range(EACH):
                store.collection("t", "items").insert(f"w{number}-{n}", {"w": number, "n": n})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    records = list(first.read("t", "items"))
    assert len(records) == THREADS * EACH == len({(r["w"], r["n"]) for r in records})
    for number in range(THREADS):  # each writer's records in its order
        assert [r["n"] for r in records if r["w"] == number] == list(range(EACH))
    assert first.usage("t").records == THREADS * EACH


def test_a_tenant_cap_holds_across_workers(redis_url: str) -> None:
    one, other = two_workers(redis_url, Limits(tenant_records=5, tenant_bytes=None, total_records=None,
                                                total_bytes=None))
    for n in range(5):
        (one if n % 2 else other).collection("t", "things").insert(f"k{n}", {"n": n})
    with pytest.raises(QuotaExceeded, match="at most 5 records"):
        one.collection("t", "things").insert("k5", {})
    with pytest.raises(QuotaExceeded):
        other.collection("t", "more").insert("x", {})
    other.read("t", "things").remove("k0")
    one.collection("t", "things").insert("k5", {})


def test_a_dropped_collection_is_not_brought_back_by_a_late_write(redis_url: str) -> None:
    one, other = two_workers(redis_url)
    held = one.collection("t", "things")
    held.insert("a", 1)
    other.drop("t", "things")
    with pytest.raises(TypeError):
        held.insert("b", 2)
    assert one.find("t", "things") is None and list(one.tenants()) == []
    assert one.redis.keys(one._total_key.rsplit(":", 1)[0] + ":family:*") == []


def test_records_come_back_as_stored(redis_url: str) -> None:
    store, _ = two_workers(redis_url)
    record = {"big": 2**70, "negative": -(2**65), "text": "héllo \u2028 ✓", "nested": [{"a": None, "b": 1.5}]}
    store.collection("t", "things").insert("k", record)
    assert store.read("t", "things").get("k") == record
    fetched = store.read("t", "things").get("k")
    fetched["text"] = "changed"
    assert store.read("t", "things").get("k") == record, "a record changes only through replace"
