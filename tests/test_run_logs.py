"""Run logs (``mockserver.run_log.RunLogs``) on both store backends: followed from any position while the
run goes on, ended for every follower, forgotten when the run ends; on Redis, by a ``RunLogs`` of another
worker too (a stream it follows with ``XREAD BLOCK``), and expiring after the run."""

from __future__ import annotations

import asyncio
import typing as t

import pytest

from mockserver.run_log import RunLogs
from mockserver.runs import RunRegistry

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def two_workers(backend) -> tuple[t.Any, RunRegistry, RunLogs, RunLogs]:
    """A fresh store, the runs and logs of a driving worker on it, and the logs another worker sees (the
    same, in memory: one process)."""
    store = backend.store()
    driving = RunLogs(store)
    return store, RunRegistry(store), driving, RunLogs(store) if backend.name == "redis" else driving


async def collect(log, start: int = 0) -> list[tuple[int, dict]]:
    return [item async for item in log.follow_from(start)]


async def test_a_log_is_followed_from_any_position_by_any_worker_until_it_ends(backend) -> None:
    store, runs, driving, other = two_workers(backend)
    run = runs.start("t", "s", "r1")
    log = driving.open(run, {"etag": "e1"})
    log.add({"n": 0})
    log.add({"n": 1})
    joined = other.current("t", "s")
    assert joined is not None and joined.meta == {"etag": "e1"} and len(joined) == 2
    whole, tail = (asyncio.ensure_future(collect(joined)), asyncio.ensure_future(collect(joined, 1)))
    await asyncio.sleep(0.05)
    log.add({"n": 2})
    runs.finish(run)
    driving.close(log)
    done = await asyncio.wait_for(asyncio.gather(whole, tail), 10)
    assert done == [[(0, {"n": 0}), (1, {"n": 1}), (2, {"n": 2})], [(1, {"n": 1}), (2, {"n": 2})]]
    assert joined.ended and other.current("t", "s") is None and driving.current("t", "s") is None
    if backend.name == "redis":
        ttls = [store.redis.pttl(key) for key in store.redis.scan_iter(match=f"{store.root}:*")]
        assert len(ttls) == 1 and 0 < ttls[0] <= 60_000, "the stream expires a minute after its run"


async def test_ending_the_current_log_from_another_worker_ends_every_follower(backend) -> None:
    store, runs, driving, other = two_workers(backend)
    run = runs.start("t", "s", "r2")
    log = driving.open(run)
    log.add({"n": 0})
    joined = other.current("t", "s")
    assert joined is not None
    following = asyncio.ensure_future(collect(joined))
    await asyncio.sleep(0.05)
    other.end_current("t", "s")
    assert await asyncio.wait_for(following, 10) == [(0, {"n": 0})]
    assert joined.ended and other.current("t", "s") is None
