"""Where the mock keeps its state, and serving it from several worker processes.

``store_for(location)`` turns ``--store`` (``memory`` or a Redis URL) into the per-family store maker
``create_app`` takes. ``serve_workers`` runs N uvicorn workers on one listening socket: uvicorn's
supervisor starts each with ``spawn`` (restarting one that dies, stopping all on SIGINT/SIGTERM), so a
worker rebuilds the app from the import string ``mockserver.workers:build_app``, reading its
configuration from the environment ``convo-mock serve`` set before starting them: the command line itself
(``CONVO_MOCK_SERVE_ARGV``, parsed again by ``mockserver.cli``, so a worker's app is built from the same flags
as a single process's: families, store, preferences, fault rules, admin token, journal, access log), the
HTTP limits and the caps (their ``CONVO_MOCK_*`` variables). Fixtures are loaded once, by ``convo-mock
serve`` before the workers start, into the store they share. Several workers need a shared store: Redis.
"""

from __future__ import annotations

import json
import os
import socket
import typing as t
from dataclasses import fields

import uvicorn
from uvicorn.supervisors import Multiprocess

from mockserver.limits import Limits, Refusals, env_variable
from mockserver.redis_client import STORE_VARIABLE, check_reachable, is_redis_url
from mockserver.server import GuardedHttpProtocol, guarded_app
from mockserver.store import Store

WORKER_HEALTHCHECK_SECONDS = 120
"""How long the supervisor waits for a worker's answer before it takes the worker for hung and replaces it.
uvicorn's 5 s default kills workers still importing the app on a busy machine, over and over."""

ARGV_VARIABLE = "CONVO_MOCK_SERVE_ARGV"
"""The ``convo-mock`` command line the workers were started with, as a JSON list."""


def store_for(location: str) -> t.Callable[[str], Store] | None:
    """The per-family store maker for ``--store``: None (memory, the default) or Redis stores named by family."""
    if location in ("", "memory"):
        return None
    if not is_redis_url(location):
        raise ValueError(f"--store must be 'memory' or a redis:// URL, not {location!r}")
    from mockserver.redis_store import RedisStore

    return lambda family: RedisStore.from_url(location, family)


def export_configuration(argv: t.Sequence[str], limits: Limits) -> None:
    """Put what a worker needs in the environment it inherits."""
    os.environ[ARGV_VARIABLE] = json.dumps(list(argv))
    for item in fields(Limits):
        os.environ[env_variable(item.name)] = str(getattr(limits, item.name))


class WorkerHttpProtocol(GuardedHttpProtocol):
    """The guarded protocol of a worker; ``build_app`` sets its limits and families (an importable class,
    as uvicorn's workers need)."""


def build_app() -> t.Any:
    """The app one worker serves, built from the environment (``export_configuration``)."""
    from mockserver.cli import app_from_arguments, parser

    args = parser().parse_args(json.loads(os.environ[ARGV_VARIABLE]))
    location = args.store if args.store is not None else os.environ.get(STORE_VARIABLE, "memory")
    if is_redis_url(location):
        check_reachable(location)  # connected from the start, not the first request: unreachable is said now
    app = app_from_arguments(args, location)
    limits = Limits.from_environment()
    refusals = Refusals(app.families)
    WorkerHttpProtocol.limits, WorkerHttpProtocol.refusals = limits, refusals
    return guarded_app(app, refusals, limits)


def serve_workers(sock: socket.socket, limits: Limits, workers: int) -> None:
    """Serve on the bound socket with ``workers`` processes until SIGINT/SIGTERM. ``max_connections`` is
    per worker."""
    config = uvicorn.Config(
        "mockserver.workers:build_app", factory=True, workers=workers, http=WorkerHttpProtocol,
        log_level="warning", access_log=False, lifespan="on",  # the app's own access log (--access-log)
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]  # a float works: call_later
        timeout_graceful_shutdown=limits.shutdown_timeout,  # type: ignore[arg-type]  # a float works: wait_for
    )
    Multiprocess(config, sockets=[sock]).run()
