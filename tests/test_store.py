"""MemoryCollection against a plain-list model: inserts, removals and cursor pages in both orders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.store import MemoryCollection, MemoryStore, UnknownCursor

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
def test_pages_match_the_model(ops, limit, descending, cursor_pick) -> None:
    collection: MemoryCollection[str] = MemoryCollection()
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


def test_walk_visits_everything_once_in_both_orders() -> None:
    collection: MemoryCollection[int] = MemoryCollection()
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


def test_unknown_cursor_and_duplicates_are_errors() -> None:
    collection: MemoryCollection[int] = MemoryCollection()
    collection.insert("a", 1)
    with pytest.raises(UnknownCursor):
        collection.page(after="zzz", limit=5, descending=False)
    with pytest.raises(KeyError):
        collection.insert("a", 2)
    assert collection.remove("missing") is None


def test_store_namespaces_are_per_tenant() -> None:
    store = MemoryStore()
    store.collection("t1", "things").insert("x", 1)
    assert "x" not in store.collection("t2", "things")
    assert store.find("t2", "things") is not None and store.find("t3", "things") is None
    store.drop("t1", "things")
    assert store.find("t1", "things") is None


@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, 60), limit=st.integers(1, 9), descending=st.booleans(),
       mid_walk=st.lists(st.one_of(st.just(("insert", 0)), st.tuples(st.just("touch"), st.integers(0, 10**6)),
                                   st.tuples(st.just("remove"), st.integers(0, 10**6))), max_size=20))
def test_position_walk_survives_changes_during_the_walk(size, limit, descending, mid_walk) -> None:
    """Resuming after a position: every record present throughout is seen exactly once, whatever is
    inserted, moved to the newest end or removed between pages (moved records may be seen again at
    their new place only when the walk has not passed it)."""
    collection: MemoryCollection[str] = MemoryCollection()
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


def test_touch_moves_a_record_to_the_newest_end() -> None:
    collection: MemoryCollection[str] = MemoryCollection()
    for key in "abc":
        collection.insert(key, key)
    collection.touch("a")
    assert collection.page(limit=5, descending=True).records == ["a", "c", "b"]
    with pytest.raises(KeyError):
        collection.touch("zz")
