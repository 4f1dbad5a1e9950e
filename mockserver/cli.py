"""``convo-mock``: run the mock server.

    convo-mock serve [--host 127.0.0.1] [--port 4010] [--family NAME ...] [--access-log] [--stream-delay S]
                     [--max-body-bytes N] [--max-url-bytes N] [--max-header-bytes N] [--header-timeout S]
                     [--body-timeout S] [--send-timeout S] [--max-unsent-bytes N] [--keep-alive-timeout S]
                     [--max-connections N]
                     [--shutdown-timeout S]
                     [--tenant-max-records N] [--tenant-max-bytes N] [--max-records N] [--max-bytes N]
                     [--store memory|redis://HOST:PORT/DB] [--workers N]

``--port 0`` picks a free port; the URLs printed at start-up are the ones to use. Every limit also reads
``CONVO_MOCK_<NAME>`` from the environment (``CONVO_MOCK_MAX_BODY_BYTES``); a flag wins over the variable.
The caps on stored records and bytes (per API key, and in total) default as ``mockserver.quota``
documents; 0 lifts one. ``--store redis://…`` keeps the state in Redis (shared by ``--workers N`` processes
and by other instances using the same URL; kept across restarts); the memory store, the default, serves
from one process only.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from dataclasses import fields, replace

from mockserver import __version__
from mockserver.limits import Limits, env_variable
from mockserver.quota import (
    TENANT_BYTES_VARIABLE,
    TENANT_RECORDS_VARIABLE,
    TOTAL_BYTES_VARIABLE,
    TOTAL_RECORDS_VARIABLE,
)
from mockserver.quota import Limits as StoreCaps
from mockserver.sse import DEFAULT_DELAY, DELAY_VARIABLE


def _parser() -> argparse.ArgumentParser:
    from mockserver.families import discover

    families = ", ".join(discover())
    parser = argparse.ArgumentParser(prog="convo-mock", description="Stateful mock server for LLM conversation APIs.")
    parser.add_argument("--version", action="version", version=f"convo-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve every family (or the ones named) over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4010, help="port to bind; 0 picks a free one (default 4010)")
    serve.add_argument("--family", action="append", metavar="NAME",
                       help=f"serve only this family (repeatable); available: {families}")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--stream-delay", type=float, metavar="SECONDS",
                       help=f"pause between streamed text deltas (default {DEFAULT_DELAY}; 0 streams at once)")
    serve.add_argument("--store", default=None, metavar="LOCATION",
                       help="where state lives: 'memory' (default; one process) or a Redis URL such as "
                            "redis://127.0.0.1:6379/0, shared by every worker and instance using it "
                            "(env CONVO_MOCK_STORE)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes serving the one port (default 1); more than one needs --store redis://…")
    _add_limit_flags(serve)
    _add_cap_flags(serve)
    return parser


_CAP_VARIABLES = (TENANT_RECORDS_VARIABLE, TENANT_BYTES_VARIABLE, TOTAL_RECORDS_VARIABLE, TOTAL_BYTES_VARIABLE)


def _add_cap_flags(serve: argparse.ArgumentParser) -> None:
    caps = serve.add_argument_group(
        "stored data", "Caps on what the store holds; past one a write is refused in the family's envelope "
                       "(429) and changes nothing. 0 lifts a cap.")
    defaults = StoreCaps()
    for flag, variable, default, what in (
            ("--tenant-max-records", TENANT_RECORDS_VARIABLE, defaults.tenant_records, "records one API key may store"),
            ("--tenant-max-bytes", TENANT_BYTES_VARIABLE, defaults.tenant_bytes, "JSON bytes one API key may store"),
            ("--max-records", TOTAL_RECORDS_VARIABLE, defaults.total_records, "records stored in all"),
            ("--max-bytes", TOTAL_BYTES_VARIABLE, defaults.total_bytes, "JSON bytes stored in all")):
        caps.add_argument(flag, type=int, metavar="N", dest=variable,
                          help=f"cap on the {what} (default {default}; env {variable})")


_LIMIT_HELP = {
    "max_body_bytes": "largest request body; beyond, 413 in the family's error envelope",
    "max_url_bytes": "longest request target (path and query); beyond, 414 in the envelope",
    "max_header_bytes": "largest header section; beyond, 431 in the envelope",
    "header_timeout": "seconds to send a whole request head, from connecting (or the next request's first "
                      "byte); then the connection is closed",
    "body_timeout": "seconds to send the whole body once the head is in; then 408 and closed",
    "send_timeout": "seconds a client may stop reading its response; then the connection is dropped",
    "max_unsent_bytes": "response bytes waiting for all readers together; above, a reader stalled for a second "
                        "is dropped",
    "keep_alive_timeout": "seconds an idle kept-alive connection stays open",
    "max_connections": "connections and requests in flight served at once; beyond, 503 in the envelope",
    "shutdown_timeout": "seconds SIGTERM/Ctrl+C waits for requests and streams in flight before cancelling them",
}


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    limits = serve.add_argument_group(
        "limits", "Every limit is also read from the environment variable named (a flag wins); the defaults "
                  "keep a laptop responsive under abusive clients. Requests the HTTP layer refuses are answered "
                  "in the error envelope of the family the path belongs to.")
    defaults = Limits()
    for item in fields(Limits):
        kind = int if item.type in (int, "int") else float
        flag = "--" + item.name.replace("_", "-")
        limits.add_argument(flag, dest=item.name, type=kind, metavar="N" if kind is int else "SECONDS",
                            help=f"{_LIMIT_HELP[item.name]} (default {getattr(defaults, item.name)}; "
                                 f"{env_variable(item.name)})")


def _limits(args: argparse.Namespace) -> Limits:
    limits = Limits.from_environment()
    overrides = {item.name: getattr(args, item.name) for item in fields(Limits) if getattr(args, item.name) is not None}
    limits = replace(limits, **overrides)
    limits.check()
    return limits


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.stream_delay is not None:
        if args.stream_delay < 0:
            print("convo-mock: --stream-delay must not be negative", file=sys.stderr)
            return 2
        os.environ[DELAY_VARIABLE] = str(args.stream_delay)
    for variable in _CAP_VARIABLES:
        value = getattr(args, variable)
        if value is not None:
            if value < 0:
                print(f"convo-mock: caps must not be negative ({variable})", file=sys.stderr)
                return 2
            os.environ[variable] = str(value)
    try:
        limits = _limits(args)
    except ValueError as exc:
        print(f"convo-mock: {exc}", file=sys.stderr)
        return 2
    from mockserver.app import create_app
    from mockserver.redis_client import STORE_VARIABLE, check_reachable, is_redis_url
    from mockserver.server import serve
    from mockserver.workers import export_configuration, serve_workers, store_for

    location = args.store if args.store is not None else os.environ.get(STORE_VARIABLE, "memory")
    if args.workers < 1:
        print("convo-mock: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not is_redis_url(location):
        print(f"convo-mock: --workers {args.workers} needs a store the workers share: with the memory store each "
              "worker would keep its own state, and a client would see records appear and vanish. Use "
              "--store redis://HOST:6379/0 (or --workers 1).", file=sys.stderr)
        return 2
    try:
        stores = store_for(location)
        if is_redis_url(location):
            check_reachable(location)
        app = create_app(args.family, store_for=stores)
    except (KeyError, ValueError, ConnectionError) as exc:
        print(f"convo-mock: {exc.args[0]}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"convo-mock: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"convo-mock {__version__} listening on http://{host}:{port}")
    for served in app.families:
        print(f"  {served.name:<10} http://{host}:{port}{served.base_path}   ({served.description})")
    if is_redis_url(location):
        print(f"State in {location} ({args.workers} worker{'s' if args.workers > 1 else ''}).")
    print("Any non-empty API key works; each key is its own tenant. Ctrl+C stops.", flush=True)
    if args.workers > 1:
        export_configuration(args.family, location, limits)
        serve_workers(sock, limits, args.workers, access_log=args.access_log)
    else:
        serve(app, sock, limits, access_log=args.access_log)
    return 0
