"""The log of one run's events, which any number of streams follow, and the tasks that drive runs.

A family whose vendor keeps producing a reply after the client that asked for it goes away (and lets other
clients tail or replay it) drives each run as a background task (``RunTasks.spawn``) that writes the run's
events to a ``RunLog``; every stream of that run reads the log from a position (``follow``), waiting for
each new event as it comes, until the run ends. So a client that leaves stops nothing, and a client that
connects mid-run can be given the events from any point on.

The tasks run outside any store transaction (``mockserver.store``): a run's writes are its own steps, not
part of the request that started it, which has already returned (and whose rollback must not undo them).
"""

from __future__ import annotations

import asyncio
import typing as t
from dataclasses import dataclass, field

from mockserver.runs import Run
from mockserver.sse import delta_delay
from mockserver.store import outside_transactions

E = t.TypeVar("E")

FOLLOW_TIMEOUT = 60.0
"""Longest a stream waits for the next event of its run, beyond the stream delay, before it gives up."""


@dataclass(eq=False)
class RunLog(t.Generic[E]):
    """The events of one run, in order, for every stream that follows it."""

    run: Run
    events: list[E] = field(default_factory=list)
    ended: bool = False
    _signal: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: E) -> None:
        self.events.append(event)
        self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

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
        async for _ in self.follow_from(len(self.events)):
            pass
        return self.ended


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
