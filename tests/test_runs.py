"""The run registry: one active run per tenant and scope, and each run ends exactly once; on both store
backends (``RunRegistry(store)`` on a Redis store keeps its runs in Redis, where another registry — another
worker — sees them), and undone with the store transaction that started or cancelled a run."""

from __future__ import annotations

import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.runs import Run, RunRegistry, RunState, ScopeBusy


@pytest.fixture
def registry(backend):
    """A maker of registries on one fresh store of each backend."""
    store = backend.store()
    return lambda: RunRegistry(store)


def two_workers(backend) -> tuple[t.Any, list[RunRegistry]]:
    """A fresh store and the registries of two workers on it: on Redis each its own (sharing their runs
    through Redis), on the memory store (one process, one worker) the same one twice."""
    store = backend.store()
    first = RunRegistry(store)
    return store, [first, RunRegistry(store) if backend.name == "redis" else first]


def run_id(run: Run | None) -> str | None:
    return None if run is None else run.run_id


def test_one_active_run_per_scope_and_tenant(registry) -> None:
    runs = registry()
    first = runs.start("t1", "thread", "r1")
    with pytest.raises(ScopeBusy):
        runs.start("t1", "thread", "r2")
    other_tenant = runs.start("t2", "thread", "r3")
    assert run_id(runs.active("t1", "thread")) == "r1" and run_id(runs.active("t2", "thread")) == "r3"
    assert first.active and other_tenant.active
    assert len(runs) == 2


def test_a_cancelled_run_cannot_finish_and_a_finished_run_cannot_be_cancelled(registry) -> None:
    runs = registry()
    cancelled = runs.start("t", "s", "r1")
    assert run_id(runs.cancel("t", "s")) == "r1" and cancelled.cancelled
    assert runs.finish(cancelled) is False and cancelled.state is RunState.CANCELLED
    finished = runs.start("t", "s", "r2")
    assert runs.finish(finished) is True and not finished.active
    assert runs.cancel("t", "s") is None and finished.state is RunState.FINISHED
    assert runs.finish(finished) is False, "a run ends once"


def test_an_old_run_ending_late_does_not_release_a_newer_run(registry) -> None:
    runs = registry()
    old = runs.start("t", "s", "old")
    runs.cancel("t", "s")
    new = runs.start("t", "s", "new")
    assert runs.finish(old) is False
    assert run_id(runs.active("t", "s")) == "new" and new.active
    with pytest.raises(ScopeBusy):
        runs.start("t", "s", "third")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["start", "cancel", "finish"]), st.integers(0, 5), st.integers(0, 1)),
                max_size=40))
def test_any_interleaving_keeps_the_invariants(backend, steps) -> None:
    """At most one active run per scope; every run ends at most once; the registry holds exactly the
    active runs — whichever of two registries on one store (two workers) takes each step."""
    _, workers = two_workers(backend)
    runs = workers[0]
    started = []
    for action, pick, by in steps:
        if action == "start":
            try:
                started.append(workers[by].start("t", "s", f"r{len(started)}"))
            except ScopeBusy:
                assert runs.active("t", "s") is not None
        elif action == "cancel":
            workers[by].cancel("t", "s")
        elif started:
            run = started[pick % len(started)]
            was_active = run.active
            assert runs.finish(run) is was_active
        active = [run for run in started if run.active]
        assert len(active) <= 1
        assert run_id(workers[by].active("t", "s")) == run_id(active[0] if active else None)
        assert len(runs) == len(active)


def test_a_rolled_back_start_frees_the_scope_and_a_rolled_back_cancel_restores_the_run(backend) -> None:
    store = backend.store()
    runs = RunRegistry(store)
    with pytest.raises(RuntimeError), store.transaction():
        discarded = runs.start("t", "s", "r1")
        raise RuntimeError
    assert runs.active("t", "s") is None and not discarded.active
    kept = runs.start("t", "s", "r2")
    with pytest.raises(RuntimeError), store.transaction():
        runs.cancel("t", "s")
        raise RuntimeError
    assert run_id(runs.active("t", "s")) == "r2" and kept.active and runs.finish(kept) is True


def test_clearing_a_tenant_cancels_its_runs_for_every_registry(backend) -> None:
    store, (driving, other) = two_workers(backend)
    mine, theirs = driving.start("t1", "s", "r1"), driving.start("t2", "s", "r2")
    store.clear("t1")
    assert mine.cancelled and other.active("t1", "s") is None
    assert theirs.active and run_id(other.active("t2", "s")) == "r2"
