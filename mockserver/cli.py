"""``convo-mock``: run the mock server.

    convo-mock serve [--host 127.0.0.1] [--port 4010] [--family NAME ...] [--access-log] [--stream-delay S]

``--port 0`` picks a free port; the URLs printed at start-up are the ones to use.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from mockserver import __version__
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.stream_delay is not None:
        if args.stream_delay < 0:
            print("convo-mock: --stream-delay must not be negative", file=sys.stderr)
            return 2
        os.environ[DELAY_VARIABLE] = str(args.stream_delay)
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
