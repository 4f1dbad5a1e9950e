"""The run registry: one active run per tenant and scope, and each run ends exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.runs import RunRegistry, RunState, ScopeBusy


def test_one_active_run_per_scope_and_tenant() -> None:
    runs = RunRegistry()
    first = runs.start("t1", "thread", "r1")
    with pytest.raises(ScopeBusy):
        runs.start("t1", "thread", "r2")
    other_tenant = runs.start("t2", "thread", "r3")
    assert runs.active("t1", "thread") is first and runs.active("t2", "thread") is other_tenant
    assert len(runs) == 2


def test_a_cancelled_run_cannot_finish_and_a_finished_run_cannot_be_cancelled() -> None:
    runs = RunRegistry()
    cancelled = runs.start("t", "s", "r1")
    assert runs.cancel("t", "s") is cancelled and cancelled.cancelled
    assert runs.finish(cancelled) is False and cancelled.state is RunState.CANCELLED
    finished = runs.start("t", "s", "r2")
    assert runs.finish(finished) is True and not finished.active
    assert runs.cancel("t", "s") is None and finished.state is RunState.FINISHED
    assert runs.finish(finished) is False, "a run ends once"


def test_an_old_run_ending_late_does_not_release_a_newer_run() -> None:
    runs = RunRegistry()
    old = runs.start("t", "s", "old")
    runs.cancel("t", "s")
    new = runs.start("t", "s", "new")
    assert runs.finish(old) is False
    assert runs.active("t", "s") is new
    with pytest.raises(ScopeBusy):
        runs.start("t", "s", "third")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["start", "cancel", "finish"]), st.integers(0, 5)), max_size=40))
def test_any_interleaving_keeps_the_invariants(steps) -> None:
    """At most one active run per scope; every run ends at most once; the registry holds exactly the
    active runs."""
    runs = RunRegistry()
    started = []
    for action, pick in steps:
        if action == "start":
            try:
                started.append(runs.start("t", "s", f"r{len(started)}"))
            except ScopeBusy:
                assert runs.active("t", "s") is not None
        elif action == "cancel":
            runs.cancel("t", "s")
        elif started:
            run = started[pick % len(started)]
            was_active = run.active
            assert runs.finish(run) is was_active
        active = [run for run in started if run.active]
        assert len(active) <= 1
        assert runs.active("t", "s") is (active[0] if active else None)
        assert len(runs) == len(active)
