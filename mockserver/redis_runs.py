"""Runs (``mockserver.runs``) kept in Redis, so that every worker sharing a ``RedisStore`` sees them.

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
"""

from __future__ import annotations

import re
import time
import typing as t

from mockserver.runs import Run, RunRegistry, RunState, ScopeBusy
from mockserver.store import on_rollback

RUN_LEASE_MS = 600_000
"""How long a run's key outlives the last look of the worker driving it."""

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

    def __init__(self, store: t.Any = None) -> None:
        self.redis = store.redis
        self._root = f"{store.root}:run"
        self._still_held = self.redis.register_script(_STILL_HELD)
        self._release = self.redis.register_script(_RELEASE)
        store.on_clear(self.cancel_all)

    def _tenant_prefix(self, tenant: str) -> str:
        return f"{self._root}:{len(tenant)}:{tenant}:"

    def _key(self, tenant: str, scope: str) -> str:
        return self._tenant_prefix(tenant) + scope

    def _run(self, tenant: str, scope: str, value: bytes, state: RunState = RunState.ACTIVE) -> Run:
        run_id, _, started = value.decode().partition(" ")
        age = max(0.0, time.time() - float(started or time.time()))
        return Run(run_id, tenant, scope, time.monotonic() - age, state)

    def cancel_all(self, tenant: str | None = None) -> None:
        pattern = (self._root + ":*" if tenant is None
                   else _GLOB.sub(r"\\\1", self._tenant_prefix(tenant)) + "*")
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
        on_rollback(lambda: self.redis.set(key, value, nx=True, px=RUN_LEASE_MS))
        return self._run(tenant, scope, value, RunState.CANCELLED)

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
