"""Runs (``mockserver.runs``) and their logs (``mockserver.run_log``) kept in Redis, so that every worker
sharing a ``RedisStore`` sees them.

A run is one key per ``(tenant, scope)``, ``{store root}:run:{len}:{tenant}:{scope}``, holding
``<run id> <start time>`` while the run is active. Each transition is one atomic Redis command or script:

* ``start``: ``SET … NX`` (the scope is claimed, or it is busy — on whichever worker its run is);
* ``cancel``: ``GETDEL`` (the run ends, the scope is free; the worker driving the run sees it at its next
  ``run.active``, which is polled between deltas);
* ``finish``: delete the key only if it still holds this run (a script), so a run ends exactly once;
* ``run.active`` of the driving worker: the key still holds the run (a script that also renews its lease).

Every key has a lease (``RUN_LEASE``), renewed whenever the driving worker looks, so a worker killed
mid-run leaves a busy scope for at most that long. A store ``clear`` deletes the cleared tenants' run
keys: the runs end as cancelled on every worker, each seeing it at its next look.

A run's log is a Redis stream, ``{root}:log:{run id}``, beside the in-memory log its own worker follows:
the driving worker adds event n (from 1) as entry ``n-0`` and, at the end, an ``end`` entry; the stream
expires ``LOG_KEPT_MS`` after that (or after its last event, if its worker dies). A scope's current log is
named by ``{root}:logof:{len}:{tenant}:{scope}`` (its run id and ``meta``), deleted when the log ends. A
request on another worker follows the stream with ``XREAD BLOCK`` on a connection of its own from any
position; a cancel from another worker writes the ``end`` entry itself, and the driving worker, seeing its
run cancelled at its next look, writes nothing more.
"""

from __future__ import annotations

import json
import re
import time
import typing as t
from dataclasses import dataclass

import redis

from mockserver.redis_client import blocking_reader
from mockserver.redis_store import RedisStore
from mockserver.run_log import FOLLOW_TIMEOUT, JSON_EVENTS, Codec, E, RunLog, RunLogs
from mockserver.runs import Run, RunRegistry, RunState, ScopeBusy
from mockserver.sse import delta_delay
from mockserver.store import on_rollback

RUN_LEASE_MS = 600_000
"""How long a run's key (and its log) outlives the last look (the last event) of the worker driving it."""
LOG_KEPT_MS = 60_000
"""How long a run's stream stays readable after the run ended, for the followers still reading it."""

_STILL_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
_GLOB = re.compile(r"([*?\[\]\\])")


class RedisRunRegistry(RunRegistry):
    """``RunRegistry`` whose active runs live in the Redis database of a ``RedisStore``."""

    def __init__(self, store: RedisStore) -> None:  # made by RunRegistry(store)
        self.redis = store.redis
        self._root = f"{store.root}:run"
        self._still_held = self.redis.register_script(_STILL_HELD)
        self._release = self.redis.register_script(_RELEASE)
        store.on_clear(self.cancel_all)

    def _tenant_prefix(self, tenant: str) -> str:
        return f"{self._root}:{len(tenant)}:{tenant}:"

    def _key(self, tenant: str, scope: str) -> str:
        return self._tenant_prefix(tenant) + scope

    def _run(self, tenant: str, scope: str, value: bytes | str, state: RunState = RunState.ACTIVE) -> Run:
        run_id, _, started = (value.decode() if isinstance(value, bytes) else value).partition(" ")
        age = max(0.0, time.time() - float(started or time.time()))
        return Run(run_id, tenant, scope, time.monotonic() - age, state)

    def cancel_all(self, tenant: str | None = None) -> None:
        prefix = self._root + ":" if tenant is None else self._tenant_prefix(tenant)
        pattern = _GLOB.sub(r"\\\1", prefix) + "*"  # the key's own characters matched literally
        keys = list(self.redis.scan_iter(match=pattern, count=500))
        if keys:
            self.redis.delete(*keys)

    def start(self, tenant: str, scope: str, run_id: str) -> Run:
        key = self._key(tenant, scope)
        value = f"{run_id} {time.time()}"
        if not self.redis.set(key, value, nx=True, px=RUN_LEASE_MS):
            raise ScopeBusy(scope)
        run = Run(run_id, tenant, scope, token=value)
        run.still_held = lambda: bool(self._still_held(keys=[key], args=[value, RUN_LEASE_MS]))
        on_rollback(lambda: self._discard(run))
        return run

    def _discard(self, run: Run) -> None:
        if run.state is RunState.ACTIVE:
            run.state = RunState.CANCELLED
        self._release(keys=[self._key(run.tenant, run.scope)], args=[run.token])

    def active(self, tenant: str, scope: str) -> Run | None:
        value = self.redis.get(self._key(tenant, scope))
        return None if value is None else self._run(tenant, scope, value)

    def cancel(self, tenant: str, scope: str) -> Run | None:
        key = self._key(tenant, scope)
        value = self.redis.getdel(key)
        if value is None:
            return None
        on_rollback(lambda: self._restore(key, value))
        return self._run(tenant, scope, value, RunState.CANCELLED)

    def _restore(self, key: str, value: bytes | str) -> None:
        """Undo ``cancel``: the run holds its scope again (unless, impossibly, another took it meanwhile)."""
        self.redis.set(key, value, nx=True, px=RUN_LEASE_MS)

    def finish(self, run: Run) -> bool:
        if run.state is not RunState.ACTIVE:
            return False
        if not self._release(keys=[self._key(run.tenant, run.scope)], args=[run.token]):
            run.state = RunState.CANCELLED
            return False
        run.state = RunState.FINISHED
        return True

    def __len__(self) -> int:
        return sum(1 for _ in self.redis.scan_iter(match=self._root + ":*", count=500))


class SharedRunLog(RunLog[E]):
    """The log of a run driven by this worker: followed here in memory, and copied to the run's stream."""

    def __init__(self, run: Run, meta: dict[str, str], connection: redis.Redis, stream: str, pointer: str,
                 codec: Codec[E]) -> None:
        super().__init__(run, meta)
        self._redis, self._stream, self._pointer, self._codec = connection, stream, pointer, codec

    def add(self, event: E) -> None:
        super().add(event)
        pipe = self._redis.pipeline(transaction=False)
        pipe.xadd(self._stream, {"e": self._codec.encode(event)}, id=f"{len(self)}-0")
        pipe.pexpire(self._stream, RUN_LEASE_MS)
        pipe.pexpire(self._pointer, RUN_LEASE_MS)
        pipe.execute(raise_on_error=False)  # a stream another worker ended (a cancel) takes nothing more

    def end(self) -> None:
        if self.ended:
            return
        super().end()
        _end_stream(self._redis, self._stream, self._pointer, self.run.run_id)


def _end_stream(connection: redis.Redis, stream: str, pointer: str, run_id: str) -> None:
    pipe = connection.pipeline(transaction=False)
    pipe.xadd(stream, {"end": b"1"})  # an id after every event's, whoever writes it
    pipe.pexpire(stream, LOG_KEPT_MS)
    pipe.execute(raise_on_error=False)
    current = connection.get(pointer)
    if current is not None and json.loads(current)["run"] == run_id:
        connection.delete(pointer)  # a newer run's pointer would hold another id


@dataclass(eq=False)
class FollowedRunLog(RunLog[E]):
    """The log of a run driven by another worker, read from its stream (it takes no events here)."""

    connection: t.Any = None
    stream: str = ""
    codec: Codec[t.Any] = JSON_EVENTS

    def add(self, event: E) -> None:
        raise TypeError("only the worker driving a run writes its log")

    def __len__(self) -> int:
        return max(0, int(self.connection.xlen(self.stream)) - int(self.ended))

    async def follow_from(self, start: int = 0) -> t.AsyncIterator[tuple[int, E]]:
        last = max(0, min(start, len(self)))
        reader = blocking_reader(self.connection)
        try:
            while True:
                answer: t.Any = await reader.xread({self.stream: f"{last}-0"}, count=100,
                                            block=int((FOLLOW_TIMEOUT + delta_delay()) * 1000))
                if not answer:
                    return
                for entry_id, fields in answer[0][1]:
                    if b"end" in fields:
                        self.ended = True
                        return
                    last = int(entry_id.split(b"-")[0])
                    yield last - 1, t.cast(E, self.codec.decode(fields[b"e"]))
        finally:
            await reader.aclose()


class RedisRunLogs(RunLogs[E]):
    """``RunLogs`` whose logs are Redis streams too, so that a request on any worker joins a run."""

    def __init__(self, store: RedisStore, codec: Codec[E] = JSON_EVENTS) -> None:
        super().__init__(store, codec)
        self.redis: redis.Redis = store.redis
        self._root, self._codec = store.root, codec

    def _pointer(self, tenant: str, scope: str) -> str:
        return f"{self._root}:logof:{len(tenant)}:{tenant}:{scope}"

    def _stream(self, run_id: str) -> str:
        return f"{self._root}:log:{run_id}"

    def open(self, run: Run, meta: dict[str, str] | None = None) -> RunLog[E]:
        pointer = self._pointer(run.tenant, run.scope)
        log = SharedRunLog(run, dict(meta or {}), self.redis, self._stream(run.run_id), pointer, self._codec)
        self._logs[(run.tenant, run.scope)] = log
        self.redis.set(pointer, json.dumps({"run": run.run_id, "started": time.time(), "meta": log.meta}),
                       px=RUN_LEASE_MS)
        return log

    def current(self, tenant: str, scope: str) -> RunLog[E] | None:
        local = super().current(tenant, scope)
        if local is not None:
            return local
        found = self.redis.get(self._pointer(tenant, scope))
        if found is None:
            return None
        named = json.loads(found)
        run = Run(named["run"], tenant, scope, time.monotonic() - max(0.0, time.time() - named["started"]))
        return FollowedRunLog(run, named["meta"], connection=self.redis, stream=self._stream(named["run"]),
                              codec=self._codec)

    def end_current(self, tenant: str, scope: str) -> None:
        local = self._logs.get((tenant, scope))
        if local is not None:
            self.close(local)
            return
        found = self.redis.get(self._pointer(tenant, scope))
        if found is not None:
            run_id = json.loads(found)["run"]
            _end_stream(self.redis, self._stream(run_id), self._pointer(tenant, scope), run_id)
