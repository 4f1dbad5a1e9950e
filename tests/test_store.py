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
