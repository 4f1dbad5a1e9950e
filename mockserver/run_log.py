"""The log of one run's events, which any number of streams follow, and the tasks that drive runs.

A family whose vendor keeps producing a reply after the client that asked for it goes away (and lets other
clients tail or replay it) drives each run as a background task (``RunTasks.spawn``) that writes the run's
events to a ``RunLog``; every stream of that run reads the log from a position (``follow``), waiting for
each new event as it comes, until the run ends. So a client that leaves stops nothing, and a client that
connects mid-run can be given the events from any point on.

``RunLogs`` keeps the log of the run in progress on each scope, for the requests that join it (a replay, a
tail): ``open`` one for a new run, ``current`` for the one a scope runs now, ``close`` when the run ends,
``end_current`` when it is cancelled. With a store shared by several workers (``shares_runs``), it is a
``mockserver.redis_runs.RedisRunLogs``: each event also goes to a Redis stream, and a request on another
worker follows that stream (the events need a ``Codec`` then).

The tasks run outside any store transaction (``mockserver.store``): a run's writes are its own steps, not
part of the request that started it, which has already returned (and whose rollback must not undo them).
"""

from __future__ import annotations

import asyncio
import json
import typing as t
from dataclasses import dataclass, field

from mockserver.runs import Run
from mockserver.sse import NamedEvent, delta_delay
from mockserver.store import Store, outside_transactions

E = t.TypeVar("E")

FOLLOW_TIMEOUT = 60.0
"""Longest a stream waits for the next event of its run, beyond the stream delay, before it gives up."""


@dataclass(eq=False)
class RunLog(t.Generic[E]):
    """The events of one run, in order, for every stream that follows it."""

    run: Run
    meta: dict[str, str] = field(default_factory=dict)
    """What a family keeps beside the events for the requests that join the run (an etag, an id)."""
    events: list[E] = field(default_factory=list)
    ended: bool = False
    _signal: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: E) -> None:
        self.events.append(event)
        self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

    def __len__(self) -> int:
        """How many events the run has written so far."""
        return len(self.events)

    def _wake(self) -> None:
        self._signal.set()
        self._signal = asyncio.Event()

    async def follow_from(self, start: int = 0) -> t.AsyncIterator[tuple[int, E]]:
        """``(position, event)`` for every event from position ``start`` on (clamped to the events so far),
        then each one as it comes, until the run ends or no event comes for ``FOLLOW_TIMEOUT`` (read
        ``ended`` afterwards to tell which)."""
        sent = max(0, min(start, len(self.events)))
        while True:
            signal = self._signal
            while sent < len(self.events):
                event = self.events[sent]
                sent += 1
                yield sent - 1, event
            if self.ended:
                return
            try:
                await asyncio.wait_for(signal.wait(), FOLLOW_TIMEOUT + delta_delay())
            except asyncio.TimeoutError:
                return

    async def follow(self, skip: t.Callable[[E], bool] | None = None) -> t.AsyncIterator[E]:
        """Every event from the first (but those ``skip`` says to leave out), then each one as it comes,
        until the run ends."""
        async for _, event in self.follow_from(0):
            if skip is None or not skip(event):
                yield event

    async def wait(self) -> bool:
        """Wait until the run ends; False if no event came for ``FOLLOW_TIMEOUT`` before it did."""
        async for _ in self.follow_from(len(self)):
            pass
        return self.ended


@dataclass(frozen=True)
class Codec(t.Generic[E]):
    """How a log's events are written to a shared log, and read back."""

    encode: t.Callable[[E], bytes]
    decode: t.Callable[[bytes], E]


JSON_EVENTS: Codec[t.Any] = Codec(lambda event: json.dumps(event).encode(), json.loads)
"""Events that are JSON values (the chunks of a UI Message Stream)."""

NAMED_EVENTS: Codec[NamedEvent] = Codec(lambda event: json.dumps([event.name, event.data]).encode(),
                                        lambda raw: NamedEvent(*json.loads(raw)))
"""``NamedEvent``s whose data is a JSON value."""


class RunLogs(t.Generic[E]):
    """The log of the run in progress on each ``(tenant, scope)``."""

    def __new__(cls, store: Store | None = None, codec: Codec[E] = JSON_EVENTS) -> RunLogs[E]:
        if cls is RunLogs and getattr(store, "shares_runs", False):
            from mockserver.redis_runs import RedisRunLogs

            return super().__new__(RedisRunLogs)
        return super().__new__(cls)

    def __init__(self, store: Store | None = None, codec: Codec[E] = JSON_EVENTS) -> None:
        self._logs: dict[tuple[str, str], RunLog[E]] = {}

    def open(self, run: Run, meta: dict[str, str] | None = None) -> RunLog[E]:
        """A new log for ``run``, the current one of its scope from now on."""
        log = self._logs[(run.tenant, run.scope)] = RunLog[E](run, dict(meta or {}))
        return log

    def current(self, tenant: str, scope: str) -> RunLog[E] | None:
        """The log of the run in progress on ``scope``, if any."""
        log = self._logs.get((tenant, scope))
        return None if log is None or log.ended else log

    def close(self, log: RunLog[E]) -> None:
        """End ``log`` (its run is over), and forget it unless a newer run replaced it."""
        log.end()
        key = (log.run.tenant, log.run.scope)
        if self._logs.get(key) is log:
            del self._logs[key]

    def end_current(self, tenant: str, scope: str) -> None:
        """End the log of the run in progress on ``scope`` (the run was cancelled), if any."""
        log = self._logs.get((tenant, scope))
        if log is not None:
            self.close(log)


class RunTasks:
    """The background tasks driving runs, held until they finish (the event loop keeps only weak references)."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, work: t.Coroutine[t.Any, t.Any, None]) -> asyncio.Task:
        """Run ``work`` on its own, outside the transaction of the request that starts it."""
        task = asyncio.get_running_loop().create_task(_detached(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)


async def _detached(work: t.Coroutine[t.Any, t.Any, None]) -> None:
    with outside_transactions():
        await work
