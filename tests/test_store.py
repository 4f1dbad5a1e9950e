"""Each store backend (memory, Redis: the ``backend`` fixture) against a plain-list model: inserts,
removals, touches and every paging kind in both orders; the caps on stored records and bytes; reads that
create nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.paging import cursor_page, numbered_page, offset_page
from mockserver.quota import Limits, QuotaExceeded, Usage
from mockserver.store import EMPTY, Collection, MemoryCollection, MemoryStore, Store, UnknownCursor, record_size
from tests.store_backends import RedisBackend

operations = st.lists(st.one_of(st.tuples(st.just("insert"), st.integers(0, 10**6)),
                                st.tuples(st.just("remove"), st.integers(0, 200))), max_size=120)


def model_page(keys: list[str], seq: dict[str, int], after: str | None, limit: int, descending: bool):
    ordered = sorted(keys, key=seq.__getitem__, reverse=descending)
    if after is not None:
        if descending:
            ordered = [k for k in ordered if seq[k] < seq[after]]
        else:
            ordered = [k for k in ordered if seq[k] > seq[after]]
    return ordered[:limit], len(ordered) > limit


@settings(max_examples=150, deadline=None)
@given(ops=operations, limit=st.integers(1, 15), descending=st.booleans(), cursor_pick=st.integers(0, 500))
def test_pages_match_the_model(backend, ops, limit, descending, cursor_pick) -> None:
    collection = backend.collection()
    live: list[str] = []
    seq: dict[str, int] = {}
    for kind, value in ops:
        if kind == "insert":
            key = f"k{len(seq)}"
            collection.insert(key, key.upper())
            seq[key] = len(seq)
            live.append(key)
        elif live:
            key = live.pop(value % len(live))
            assert collection.remove(key) == key.upper()
    assert len(collection) == len(live)
    cursors = [None, *seq]  # removed keys stay valid cursors
    after = cursors[cursor_pick % len(cursors)]
    page = collection.page(after=after, limit=limit, descending=descending)
    expected, has_more = model_page(live, seq, after, limit, descending)
    assert [r.lower() for r in page.records] == expected
    assert page.has_more == has_more


def test_walk_visits_everything_once_in_both_orders(backend) -> None:
    collection = backend.collection()
    for n in range(1000):
        collection.insert(f"k{n}", n)
    for descending in (False, True):
        seen, after = [], None
        while True:
            page = collection.page(after=after, limit=37, descending=descending)
            seen += page.records
            if not page.has_more:
                break
            after = f"k{page.records[-1]}"
        assert seen == (sorted(range(1000), reverse=descending))


def test_unknown_cursor_and_duplicates_are_errors(backend) -> None:
    collection = backend.collection()
    collection.insert("a", 1)
    with pytest.raises(UnknownCursor):
        collection.page(after="zzz", limit=5, descending=False)
    with pytest.raises(KeyError):
        collection.insert("a", 2)
    assert collection.remove("missing") is None


def test_store_namespaces_are_per_tenant(backend) -> None:
    store = backend.store()
    store.collection("t1", "things").insert("x", 1)
    assert "x" not in store.collection("t2", "things")
    assert store.find("t2", "things") is not None and store.find("t3", "things") is None
    store.drop("t1", "things")
    assert store.find("t1", "things") is None


@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, 60), limit=st.integers(1, 9), descending=st.booleans(),
       mid_walk=st.lists(st.one_of(st.just(("insert", 0)), st.tuples(st.just("touch"), st.integers(0, 10**6)),
                                   st.tuples(st.just("remove"), st.integers(0, 10**6))), max_size=20))
def test_position_walk_survives_changes_during_the_walk(backend, size, limit, descending, mid_walk) -> None:
    """Resuming after a position: every record present throughout is seen exactly once, whatever is
    inserted, moved to the newest end or removed between pages (moved records may be seen again at
    their new place only when the walk has not passed it)."""
    collection = backend.collection()
    for n in range(size):
        collection.insert(f"k{n}", f"k{n}")
    untouched = {f"k{n}" for n in range(size)}
    seen: list[str] = []
    position, changes, created = None, list(mid_walk), size
    for _ in range(size + len(mid_walk) + 2):
        page = collection.page(after_position=position, limit=limit, descending=descending)
        seen += page.records
        if changes:
            kind, value = changes.pop()
            live = list(collection)
            if kind == "insert":
                collection.insert(f"k{created}", f"k{created}")
                created += 1
            elif live:
                key = live[value % len(live)]
                untouched.discard(key)
                collection.touch(key) if kind == "touch" else collection.remove(key)
        if not page.has_more:
            break
        position = page.last_position
    for key in untouched:
        assert seen.count(key) == 1, (key, seen)


def test_touch_moves_a_record_to_the_newest_end(backend) -> None:
    collection = backend.collection()
    for key in "abc":
        collection.insert(key, key)
    collection.touch("a")
    assert collection.page(limit=5, descending=True).records == ["a", "c", "b"]
    with pytest.raises(KeyError):
        collection.touch("zz")


# --- every paging kind against a plain list --------------------------------------------------------

changes = st.lists(st.one_of(st.tuples(st.just("insert"), st.integers(0, 10**6)),
                             st.tuples(st.just("remove"), st.integers(0, 10**6)),
                             st.tuples(st.just("touch"), st.integers(0, 10**6))), max_size=120)


def build(backend, ops: list[tuple[str, int]]) -> tuple[Collection, list[str]]:
    """A collection after ``ops``, and the plain list of its keys, oldest first."""
    collection = backend.collection()
    model: list[str] = []
    created = 0
    for kind, value in ops:
        if kind == "insert":
            key = f"k{created}"
            created += 1
            collection.insert(key, key.upper())
            model.append(key)
        elif model:
            key = model.pop(value % len(model))
            if kind == "touch":
                collection.touch(key)
                model.append(key)
            else:
                assert collection.remove(key) == key.upper()
    return collection, model


@settings(max_examples=150, deadline=None)
@given(ops=changes, offset=st.integers(0, 130), limit=st.integers(0, 15), descending=st.booleans())
def test_offset_pages_match_the_model(backend, ops, offset, limit, descending) -> None:
    collection, model = build(backend, ops)
    ordered = model[::-1] if descending else model
    page = offset_page(collection, offset=offset, limit=limit, descending=descending)
    assert [r.lower() for r in page.records] == ordered[offset:offset + limit]
    assert page.total == len(model)
    assert page.has_more == (offset + len(page.records) < len(model))
    assert page.next_offset == (offset + len(page.records) if page.has_more else None)


@settings(max_examples=150, deadline=None)
@given(ops=changes, number=st.integers(1, 40), size=st.integers(1, 15), descending=st.booleans())
def test_numbered_pages_match_the_model(backend, ops, number, size, descending) -> None:
    collection, model = build(backend, ops)
    ordered = model[::-1] if descending else model
    page = numbered_page(collection, number=number, size=size, descending=descending)
    chunks = [ordered[i:i + size] for i in range(0, len(ordered), size)]
    assert [r.lower() for r in page.records] == (chunks[number - 1] if number <= len(chunks) else [])
    assert (page.total, page.pages) == (len(model), len(chunks))
    assert page.has_more == (number < len(chunks))


@settings(max_examples=150, deadline=None)
@given(ops=changes, limit=st.integers(1, 15), descending=st.booleans(), cut=st.integers(0, 200))
def test_cursor_pages_after_a_position_match_the_model(backend, ops, limit, descending, cut) -> None:
    """Position cursors: the page after the ``cut``-th record of the current order."""
    collection, model = build(backend, ops)
    ordered = model[::-1] if descending else model
    first = cursor_page(collection, limit=len(model) + 1, descending=descending)
    assert [r.lower() for r in first.records] == ordered and not first.has_more
    if not ordered:
        return
    index = cut % len(ordered)
    position = cursor_page(collection, limit=index + 1, descending=descending).last_position
    page = cursor_page(collection, after_position=position, limit=limit, descending=descending)
    assert [r.lower() for r in page.records] == ordered[index + 1:index + 1 + limit]
    assert page.has_more == (index + 1 + limit < len(ordered))


@settings(max_examples=100, deadline=None)
@given(ops=changes, limit=st.integers(1, 9), descending=st.booleans())
def test_the_three_kinds_walk_the_same_list(backend, ops, limit, descending) -> None:
    collection, model = build(backend, ops)
    expected = [k.upper() for k in (model[::-1] if descending else model)]
    walks: dict[str, list[str]] = {"cursor": [], "offset": [], "numbered": []}
    position = None
    for _ in range(len(model) + 1):
        page = cursor_page(collection, after_position=position, limit=limit, descending=descending)
        walks["cursor"] += page.records
        if not page.has_more:
            break
        position = page.last_position
    offset: int | None = 0
    while offset is not None:
        chunk = offset_page(collection, offset=offset, limit=limit, descending=descending)
        walks["offset"] += chunk.records
        offset = chunk.next_offset
    number = 1
    while True:
        numbered = numbered_page(collection, number=number, size=limit, descending=descending)
        walks["numbered"] += numbered.records
        if not numbered.has_more:
            break
        number += 1
    assert walks == {"cursor": expected, "offset": expected, "numbered": expected}


def test_an_offset_page_does_not_copy_the_collection() -> None:
    """page_at slices the live keys: a page of 3 from 200,000 records touches 3 records, not all."""
    collection: MemoryCollection[int] = MemoryCollection()
    for n in range(200_000):
        collection.insert(f"k{n}", n)
    copied: list[int] = []

    class Counting(dict):
        def __getitem__(self, key):
            copied.append(key)
            return super().__getitem__(key)

    collection._records = Counting(collection._records)  # type: ignore[assignment]
    assert collection.page_at(150_000, 3, False) == ([150_000, 150_001, 150_002], 200_000)
    assert collection.page_at(0, 3, True) == ([199_999, 199_998, 199_997], 200_000)
    assert len(copied) == 6


def _calls(connection, command: str) -> int:
    stats = connection.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def test_redis_pages_read_only_the_page(redis_url: str) -> None:
    """On Redis, every kind of page of 3 from 200,000 records reads 3 records (HGET, counted by the
    server's command statistics, which count the commands scripts run) with one range query: no scan."""
    backend = RedisBackend(redis_url)
    collection = backend.collection()
    for start in range(0, 200_000, 2_000):
        collection.insert_many([(f"k{n}", n) for n in range(start, start + 2_000)])
    connection = backend.connection
    reads = _calls(connection, "hget")
    ranges = sum(_calls(connection, name) for name in ("zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore"))
    assert collection.page_at(150_000, 3, False) == ([150_000, 150_001, 150_002], 200_000)
    assert collection.page_at(0, 3, True) == ([199_999, 199_998, 199_997], 200_000)
    assert collection.page(after="k100000", limit=3, descending=True).records == [99_999, 99_998, 99_997]
    assert collection.page(after_position=100_000, limit=3, descending=False).records == [100_001, 100_002, 100_003]
    assert _calls(connection, "hget") - reads == 12
    assert sum(_calls(connection, name) for name in ("zrange", "zrevrange", "zrangebyscore",
                                                    "zrevrangebyscore")) - ranges == 4


# --- caps and accounting ---------------------------------------------------------------------------


def small_store(backend, **limits: int | None) -> Store:
    caps = {"tenant_records": None, "tenant_bytes": None, "total_records": None, "total_bytes": None, **limits}
    return backend.store(Limits(**caps))


def test_records_cap_per_tenant_refuses_the_write_and_changes_nothing(backend) -> None:
    store = small_store(backend, tenant_records=3)
    things = store.collection("t1", "things")
    things.insert("a", {"n": 1})
    with pytest.raises(QuotaExceeded) as refused:
        things.insert_many([("b", {"n": 2}), ("c", {"n": 3}), ("d", {"n": 4})])
    assert refused.value.status == 429
    assert list(things) == [{"n": 1}] and store.usage("t1").records == 1, "all or nothing"
    things.insert_many([("b", {"n": 2}), ("c", {"n": 3})])
    with pytest.raises(QuotaExceeded):
        store.collection("t1", "other").insert("x", {})
    store.collection("t2", "things").insert("a", {"n": 1})  # another tenant has its own cap
    things.remove("a")
    store.collection("t1", "other").insert("x", {})  # room again after a removal


def test_bytes_caps_count_json_size_per_tenant_and_in_total(backend) -> None:
    record = {"text": "x" * 100}
    size = record_size(record)
    store = small_store(backend, tenant_bytes=3 * size, total_bytes=5 * size)
    for n in range(3):
        store.collection("t1", "things").insert(f"k{n}", record)
    assert store.usage("t1") == Usage(3, 3 * size)
    with pytest.raises(QuotaExceeded):
        store.collection("t1", "things").insert("k3", record)
    store.collection("t2", "things").insert_many([("a", record), ("b", record)])
    with pytest.raises(QuotaExceeded, match="in all"):
        store.collection("t3", "things").insert("a", record)
    with pytest.raises(QuotaExceeded):  # growing a record counts too
        store.collection("t2", "things").replace("a", {"text": "x" * 200})
    store.collection("t2", "things").replace("a", {"text": ""})
    assert store.usage("t2").bytes == size + record_size({"text": ""})


def test_index_collections_are_not_counted_and_drop_releases_everything(backend) -> None:
    store = backend.store(Limits())
    owned = store.collection("t1", "items/c1")
    owned.insert_many([(f"k{n}", {"n": n}) for n in range(10)])
    store.collection("t1", "index", index=True).insert_many([(f"k{n}", {"n": n}) for n in range(10)])
    assert store.usage("t1").records == 10 == store.total_usage().records
    store.drop("t1", "items/c1")
    assert store.usage("t1").records == 0 and store.total_usage() == Usage(0, 0)
    store.drop("t1", "index")
    assert list(store.tenants()) == [], "a tenant with no collection left is forgotten"


def test_a_store_that_goes_away_gives_its_share_of_the_total_back() -> None:
    import gc

    total = Usage()
    store = MemoryStore(Limits(), total=total)
    store.collection("t1", "things").insert("a", {"n": 1})
    assert total.records == 1
    del store
    gc.collect()
    assert total == Usage(0, 0)


def test_caps_come_from_the_environment() -> None:
    limits = Limits.from_env({"CONVO_MOCK_TENANT_MAX_RECORDS": "7", "CONVO_MOCK_MAX_BYTES": "0"})
    assert (limits.tenant_records, limits.total_bytes) == (7, None)
    assert limits.tenant_bytes == Limits().tenant_bytes
    with pytest.raises(ValueError):
        Limits.from_env({"CONVO_MOCK_MAX_RECORDS": "-1"})


def test_reads_create_nothing(backend) -> None:
    store = small_store(backend)
    before = backend.snapshot(store)
    assert store.find("nobody", "things") is None
    assert store.read("nobody", "things").get("x") is None
    assert store.read("nobody", "things").page(limit=5, descending=True).records == []
    assert offset_page(store.read("nobody", "things"), offset=0, limit=5).total == 0
    assert store.usage("nobody") == Usage() and list(store.tenants()) == []
    assert store.read("nobody", "things").remove("x") is None and "x" not in store.read("nobody", "things")
    store.drop("nobody", "things")
    assert list(store.tenants()) == []
    with pytest.raises(TypeError):
        store.read("nobody", "things").insert("x", 1)
    assert backend.snapshot(store) == before
    assert len(EMPTY) == 0 and store.find("nobody", "things") is None
    if backend.name == "memory":
        assert store.read("nobody", "things") is EMPTY


def test_collections_without_cursor_keys_forget_removed_keys(backend) -> None:
    remembering = backend.collection()
    forgetting = backend.collection(cursor_keys=False)
    for collection in (remembering, forgetting):
        collection.insert("a", 1)
        collection.insert("b", 2)
        collection.remove("a")
    assert remembering.page(after="a", limit=5, descending=False).records == [2]
    with pytest.raises(UnknownCursor):
        forgetting.page(after="a", limit=5, descending=False)
    if backend.name == "memory":
        assert forgetting._seq_of == {"b": 1}
    else:
        assert backend.connection.hlen(forgetting._keys[3]) == 0, "no removed key is remembered"
        assert backend.connection.hlen(remembering._keys[3]) == 1
