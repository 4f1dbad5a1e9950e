"""``convo-mock``: run the mock server.

    convo-mock serve [--host 127.0.0.1] [--port 4010] [--family NAME ...] [--access-log] [--stream-delay S]
                     [--tenant-max-records N] [--tenant-max-bytes N] [--max-records N] [--max-bytes N]

``--port 0`` picks a free port; the URLs printed at start-up are the ones to use. The caps on stored
records and bytes (per API key, and in total) default as ``mockserver.quota`` documents; 0 lifts one.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from mockserver import __version__
from mockserver.quota import (
    TENANT_BYTES_VARIABLE,
    TENANT_RECORDS_VARIABLE,
    TOTAL_BYTES_VARIABLE,
    TOTAL_RECORDS_VARIABLE,
    Limits,
)
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
    defaults = Limits()
    for flag, variable, default, what in (
            ("--tenant-max-records", TENANT_RECORDS_VARIABLE, defaults.tenant_records, "records one API key may store"),
            ("--tenant-max-bytes", TENANT_BYTES_VARIABLE, defaults.tenant_bytes, "JSON bytes one API key may store"),
            ("--max-records", TOTAL_RECORDS_VARIABLE, defaults.total_records, "records stored in all"),
            ("--max-bytes", TOTAL_BYTES_VARIABLE, defaults.total_bytes, "JSON bytes stored in all")):
        serve.add_argument(flag, type=int, metavar="N", dest=variable,
                           help=f"cap on the {what} (default {default}; 0 lifts it; env {variable})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.stream_delay is not None:
        if args.stream_delay < 0:
            print("convo-mock: --stream-delay must not be negative", file=sys.stderr)
            return 2
        os.environ[DELAY_VARIABLE] = str(args.stream_delay)
    for variable in (TENANT_RECORDS_VARIABLE, TENANT_BYTES_VARIABLE, TOTAL_RECORDS_VARIABLE, TOTAL_BYTES_VARIABLE):
        value = getattr(args, variable)
        if value is not None:
            if value < 0:
                print(f"convo-mock: caps must not be negative ({variable})", file=sys.stderr)
                return 2
            os.environ[variable] = str(value)
    import uvicorn

    from mockserver.app import create_app

    try:
        app = create_app(args.family)
    except KeyError as exc:
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
    print("Any non-empty API key works; each key is its own tenant. Ctrl+C stops.", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
