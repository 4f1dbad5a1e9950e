"""``Store.transaction()``: a block that raises leaves the store exactly as it found it, on each backend
(memory and Redis: the ``backend`` fixture).

Hypothesis drives random sequences of writes (create, insert, insert_many, replace, remove, touch, drop; on
counted and index collections, with and without remembered cursor keys; some refused by a duplicate key or
a cap) first outside any transaction, to build a state, then inside one that raises at the end: the store
must equal its snapshot from before the block, down to sequence numbers and usage counters. Nested blocks
are savepoints, and a block that ends normally keeps its writes.
"""

from __future__ import annotations

import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.quota import Limits, QuotaExceeded
from mockserver.runs import RunRegistry
from mockserver.store import on_rollback, outside_transactions, transaction

TENANTS = ("a", "b")
NAMES = ("c1", "c2", "idx")
KEYS = tuple(f"k{n}" for n in range(6))


class Abort(Exception):
    """Raised at the end of the block under test."""


records = st.fixed_dictionaries({"v": st.integers(0, 3), "text": st.text(max_size=30)})
operations = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(TENANTS), st.sampled_from(NAMES), st.booleans()),
    st.tuples(st.just("insert"), st.sampled_from(TENANTS), st.sampled_from(NAMES), st.sampled_from(KEYS), records),
    st.tuples(st.just("insert_many"), st.sampled_from(TENANTS), st.sampled_from(NAMES),
              st.lists(st.tuples(st.sampled_from(KEYS), records), min_size=0, max_size=4)),
    st.tuples(st.just("replace"), st.sampled_from(TENANTS), st.sampled_from(NAMES), st.sampled_from(KEYS), records),
    st.tuples(st.just("remove"), st.sampled_from(TENANTS), st.sampled_from(NAMES), st.sampled_from(KEYS)),
    st.tuples(st.just("touch"), st.sampled_from(TENANTS), st.sampled_from(NAMES), st.sampled_from(KEYS)),
    st.tuples(st.just("drop"), st.sampled_from(TENANTS), st.sampled_from(NAMES)),
)


def apply(store: t.Any, operation: tuple) -> None:
    """One write; the refusals a store may answer with (duplicate or missing key, a cap) are swallowed."""
    kind, tenant, name, *rest = operation
    index = name == "idx"
    try:
        if kind == "create":
            store.collection(tenant, name, index=index, cursor_keys=rest[0])
        elif kind == "drop":
            store.drop(tenant, name)
        else:
            target: t.Any = store.collection(tenant, name, index=index, cursor_keys=name != "c2")
            getattr(target, kind)(*rest)
    except (KeyError, QuotaExceeded):
        pass


def normalised(backend, store: t.Any) -> t.Any:
    """The store's snapshot with its own key prefix taken out (two Redis stores compare equal)."""
    state = backend.snapshot(store)
    if backend.name == "memory":
        return state
    prefix = store._total_key.rsplit(":", 1)[0].encode()
    return {key.removeprefix(prefix): value for key, value in state.items()}


def small_store(backend) -> t.Any:
    return backend.store(Limits(tenant_records=8, tenant_bytes=600, total_records=12, total_bytes=900))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(operations, max_size=15), inside=st.lists(operations, min_size=1, max_size=15))
def test_a_transaction_that_raises_leaves_the_store_as_it_was(backend, before: list[tuple],
                                                              inside: list[tuple]) -> None:
    store = small_store(backend)
    for operation in before:
        apply(store, operation)
    expected = backend.snapshot(store)
    with pytest.raises(Abort), store.transaction():
        for operation in inside:
            apply(store, operation)
        raise Abort
    assert backend.snapshot(store) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(operations, max_size=10), kept=st.lists(operations, max_size=10),
       undone=st.lists(operations, min_size=1, max_size=10))
def test_a_nested_transaction_is_a_savepoint(backend, before: list[tuple], kept: list[tuple],
                                             undone: list[tuple]) -> None:
    store, reference = small_store(backend), small_store(backend)
    for operation in before + kept:
        apply(reference, operation)
    for operation in before:
        apply(store, operation)
    with store.transaction():
        for operation in kept:
            apply(store, operation)
        with pytest.raises(Abort), store.transaction():
            for operation in undone:
                apply(store, operation)
            raise Abort
    assert normalised(backend, store) == normalised(backend, reference)


def test_a_transaction_that_ends_normally_keeps_its_writes(backend) -> None:
    store = small_store(backend)
    with store.transaction():
        store.collection("a", "c1").insert("k", {"v": 1})
    assert store.read("a", "c1").get("k") == {"v": 1}
    with pytest.raises(Abort), store.transaction():
        store.collection("a", "c1").remove("k")
        raise Abort
    assert store.read("a", "c1").get("k") == {"v": 1}


def test_runs_started_or_cancelled_in_a_rolled_back_transaction_are_undone() -> None:
    runs = RunRegistry()
    with pytest.raises(Abort), transaction():
        started = runs.start("a", "thread", "run-1")
        raise Abort
    assert runs.active("a", "thread") is None and not started.active
    kept = runs.start("a", "thread", "run-2")
    with pytest.raises(Abort), transaction():
        runs.cancel("a", "thread")
        raise Abort
    assert runs.active("a", "thread") is kept and kept.active


def test_on_rollback_outside_a_transaction_does_nothing() -> None:
    called: list[int] = []
    on_rollback(lambda: called.append(1))
    with transaction():
        on_rollback(lambda: called.append(2))
    assert called == []


def test_writes_outside_transactions_survive_the_rollback_of_the_one_they_interrupt(backend) -> None:
    """A finalizer the garbage collector runs mid-request writes on its own account (VirtuousAI's
    abandoned-stream ending): the interrupted request's rollback must not undo it."""
    store = small_store(backend)
    store.collection("a", "c1").insert("kept", {"v": 0})
    with pytest.raises(Abort), store.transaction():
        store.collection("a", "c1").insert("undone", {"v": 1})
        with outside_transactions():
            store.collection("a", "c1").replace("kept", {"v": 2})
            store.collection("a", "c1").insert("finalized", {"v": 3})
        raise Abort
    collection = store.read("a", "c1")
    assert collection.get("undone") is None
    assert collection.get("kept") == {"v": 2} and collection.get("finalized") == {"v": 3}
