"""The one place the mock talks to Redis from: clients by URL, one per process.

``client(url)`` returns a ``redis.Redis`` for ``redis://host:port/db`` (``rediss://`` and ``unix://`` too),
shared by everything in the process that uses that URL (the family stores now; pub/sub or streams for
runs and run logs, ``mockserver.redis_runs``); ``blocking_reader(connection)`` makes an asyncio client to
the same server for one reader that blocks (``XREAD BLOCK``), which the reader closes. A client made
in a parent process is not reused in a child: the pool is keyed by process id, and its connections are
named ``convo-mock:<pid>`` (``CLIENT LIST`` shows which process holds which).

Replies are bytes (``decode_responses=False``): records are JSON bytes and cursors compare as bytes.
"""

from __future__ import annotations

import os
import threading

import redis
import redis.asyncio

STORE_VARIABLE = "CONVO_MOCK_STORE"
"""Where the mock keeps its state: ``memory`` (the default) or a Redis URL."""

_CLIENTS: dict[tuple[int, str], redis.Redis] = {}
_LOCK = threading.Lock()


def is_redis_url(location: str) -> bool:
    """Whether ``location`` names a Redis server (rather than ``memory``)."""
    return location.startswith(("redis://", "rediss://", "unix://"))


def client(url: str) -> redis.Redis:
    """The process's client for ``url`` (made on first use; a connection pool underneath)."""
    key = (os.getpid(), url)
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is None:
            found = _CLIENTS[key] = redis.Redis.from_url(url, decode_responses=False, health_check_interval=30,
                                                         client_name=f"convo-mock:{os.getpid()}")
        return found


def check_reachable(url: str) -> None:
    """Raise ``ConnectionError`` with a plain message unless the server at ``url`` answers PING."""
    try:
        client(url).ping()
    except redis.RedisError as exc:
        raise ConnectionError(f"cannot reach the Redis store at {url}: {exc}") from exc


_ADDRESS = ("host", "port", "db", "username", "password", "path")


def blocking_reader(connection: redis.Redis) -> redis.asyncio.Redis:
    """A new asyncio client to ``connection``'s server, for one reader that waits on the server (one
    connection of its own, so that it blocks nothing else); the reader closes it (``aclose``)."""
    pool = connection.connection_pool
    with _LOCK:
        url = next((url for (pid, url), made in _CLIENTS.items() if made is connection and pid == os.getpid()), None)
    name = f"convo-mock:{os.getpid()}:reader"
    if url is not None:
        return redis.asyncio.Redis.from_url(url, decode_responses=False, client_name=name)
    address = {key: value for key, value in pool.connection_kwargs.items() if key in _ADDRESS}
    if "path" in address:
        address["unix_socket_path"] = address.pop("path")
    return redis.asyncio.Redis(**address, decode_responses=False, client_name=name)
