"""Process-local runs: work in progress (a streaming turn, a queued job) that is not stored state.

A *run* belongs to one scope of one tenant (a thread, a conversation, a queue): at most one run is active
per ``(tenant, scope)``. Runs live here, apart from the ``Store``, because they hold live things (the
signal a stream polls to stop) that no other store backend could persist; a family keeps one
``RunRegistry`` per handlers object and records the run's outcome in its store itself.

Every transition is one synchronous method, so no interleaving of requests on the event loop can split
it: ``start`` claims the scope or fails, ``cancel`` and ``finish`` each end the run only if it is still
active and release the scope only for that very run. A run therefore ends exactly once: a cancelled run
can never complete, a completed run can never be cancelled, and a late end of an old run never frees
the scope of a newer one.

A registry made with the family's store (``RunRegistry(store)``) ends the runs of the data a
``Store.clear`` forgets (the admin API's reset): each is cancelled, so its stream ends as a cancelled run
does and writes nothing more.

A run started inside a store transaction (``mockserver.store``) that rolls back is discarded with it (it
never was, and its scope is free again); a run cancelled inside one is active again.

With a store shared by several workers (one that says ``shares_runs``: ``RedisStore``), ``RunRegistry(store)``
is a ``mockserver.redis_runs.RedisRunRegistry``: the same transitions, made atomic in Redis, so a run started
on one worker is seen busy, cancelled and ended from any other (its ``active`` asks Redis).
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field
from enum import Enum

from mockserver.store import Store, on_rollback


class RunState(Enum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class ScopeBusy(Exception):
    """The scope already has an active run; the family words this as its vendor's conflict."""


@dataclass(eq=False)
class Run:
    """One run: its id, the scope it holds while active, and its state (read ``active``/``cancelled``)."""

    run_id: str
    tenant: str
    scope: str
    started: float = field(default_factory=time.monotonic)
    state: RunState = RunState.ACTIVE
    token: str = ""
    """What marks the run as this very run where its state is shared (``mockserver.redis_runs``)."""
    still_held: t.Callable[[], bool] | None = None
    """For a run whose state lives elsewhere (another worker may end it): whether it still holds its scope."""

    @property
    def active(self) -> bool:
        if self.state is RunState.ACTIVE and self.still_held is not None and not self.still_held():
            self.state = RunState.CANCELLED  # only its own worker finishes a run: another ended it, cancelling
        return self.state is RunState.ACTIVE

    @property
    def cancelled(self) -> bool:
        return not self.active and self.state is RunState.CANCELLED

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started


class RunRegistry:
    """The active runs, at most one per ``(tenant, scope)``."""

    __slots__ = ("_active",)

    def __new__(cls, store: Store | None = None) -> RunRegistry:
        if cls is RunRegistry and getattr(store, "shares_runs", False):
            from mockserver.redis_runs import RedisRunRegistry

            return super().__new__(RedisRunRegistry)
        return super().__new__(cls)

    def __init__(self, store: Store | None = None) -> None:
        self._active: dict[tuple[str, str], Run] = {}
        if store is not None:
            store.on_clear(self.cancel_all)

    def cancel_all(self, tenant: str | None = None) -> None:
        """Cancel every active run of ``tenant`` (of every tenant, with None): their data was cleared."""
        for key in [key for key in self._active if tenant is None or key[0] == tenant]:
            self._active.pop(key).state = RunState.CANCELLED

    def start(self, tenant: str, scope: str, run_id: str) -> Run:
        """Claim ``scope`` for a new run; raises ``ScopeBusy`` if a run is active there."""
        key = (tenant, scope)
        if key in self._active:
            raise ScopeBusy(scope)
        run = self._active[key] = Run(run_id, tenant, scope)
        on_rollback(lambda: self._discard(run))
        return run

    def _discard(self, run: Run) -> None:
        """Undo ``start``: the run ends (as cancelled, so that nothing can finish it) and frees its scope."""
        if run.state is RunState.ACTIVE:
            run.state = RunState.CANCELLED
        key = (run.tenant, run.scope)
        if self._active.get(key) is run:
            del self._active[key]

    def active(self, tenant: str, scope: str) -> Run | None:
        """The run active in ``scope``, if any."""
        return self._active.get((tenant, scope))

    def cancel(self, tenant: str, scope: str) -> Run | None:
        """End the scope's active run as cancelled and release the scope; None if no run was active."""
        run = self._active.pop((tenant, scope), None)
        if run is not None:
            run.state = RunState.CANCELLED
            on_rollback(lambda: self._reactivate(run))
        return run

    def _reactivate(self, run: Run) -> None:
        """Undo ``cancel`` (nothing can have seen it: a handler does not await between its writes)."""
        key = (run.tenant, run.scope)
        if run.state is RunState.CANCELLED and key not in self._active:
            run.state = RunState.ACTIVE
            self._active[key] = run

    def finish(self, run: Run) -> bool:
        """End ``run`` as finished if it is still active (True), releasing its scope; False if it had
        already ended (cancelled), in which case nothing changes."""
        if run.state is not RunState.ACTIVE:
            return False
        run.state = RunState.FINISHED
        key = (run.tenant, run.scope)
        if self._active.get(key) is run:
            del self._active[key]
        return True

    def __len__(self) -> int:
        return len(self._active)
