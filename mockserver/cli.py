"""``convo-mock``: run the mock server.

    convo-mock serve [--host 127.0.0.1] [--port 4010] [--family NAME ...] [--access-log] [--stream-delay S]
                     [--max-body-bytes N] [--max-url-bytes N] [--max-header-bytes N] [--header-timeout S]
                     [--body-timeout S] [--send-timeout S] [--max-unsent-bytes N] [--keep-alive-timeout S]
                     [--max-connections N]
                     [--shutdown-timeout S]
                     [--tenant-max-records N] [--tenant-max-bytes N] [--max-records N] [--max-bytes N]
                     [--prefer FAMILY:PREFERENCE ...] [--faults FILE] [--seed N]
                     [--fixtures FILE] [--admin-token TOKEN] [--journal-size N]
                     [--store memory|redis://HOST:PORT/DB] [--workers N]

``--port 0`` picks a free port; the URLs printed at start-up are the ones to use. Every limit also reads
``CONVO_MOCK_<NAME>`` from the environment (``CONVO_MOCK_MAX_BODY_BYTES``); a flag wins over the variable.
The admin API (``/__admin``) is open on loopback; beyond it the mock refuses to start without
``--admin-token`` (or ``CONVO_MOCK_ADMIN_TOKEN``). ``--access-log`` prints one line per request.
The caps on stored records and bytes (per API key, and in total) default as ``mockserver.quota``
documents; 0 lifts one. ``--prefer venna:code=501`` makes a family answer as if every request sent that
``Prefer`` header (``mockserver.preferences``); ``--faults FILE`` loads fault rules (``mockserver.faults``),
drawn from ``--seed``. ``--store redis://…`` keeps the state in Redis (shared by ``--workers N`` processes
and by other instances using the same URL; kept across restarts); the memory store, the default, serves
from one process only.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import socket
import sys
import typing as t
from dataclasses import fields, replace

from mockserver import __version__
from mockserver.admin.api import PREFIX as ADMIN_PREFIX
from mockserver.admin.journal import DEFAULT_CAPACITY
from mockserver.limits import Limits, env_variable
from mockserver.quota import (
    TENANT_BYTES_VARIABLE,
    TENANT_RECORDS_VARIABLE,
    TOTAL_BYTES_VARIABLE,
    TOTAL_RECORDS_VARIABLE,
)
from mockserver.quota import Limits as StoreCaps
from mockserver.sse import DEFAULT_DELAY, DELAY_VARIABLE

if t.TYPE_CHECKING:
    from mockserver.app import MockApp


def parser() -> argparse.ArgumentParser:
    """``convo-mock``'s command line."""
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
    serve.add_argument("--access-log", action="store_true",
                       help="print one line per request: method, path, status, duration, request id")
    serve.add_argument("--fixtures", metavar="FILE",
                       help="load this fixture document (YAML or JSON) at start; the mock is ready once it is")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help=f"token the admin API ({ADMIN_PREFIX}) requires; needed when --host is not loopback "
                            f"(env {ADMIN_TOKEN_VARIABLE}, which keeps it out of ps)")
    serve.add_argument("--journal-size", type=int, metavar="N", default=DEFAULT_CAPACITY,
                       help=f"requests the journal keeps ({ADMIN_PREFIX}/journal; default {DEFAULT_CAPACITY}; 0 turns "
                            "it off)")
    serve.add_argument("--stream-delay", type=float, metavar="SECONDS",
                       help=f"pause between streamed text deltas (default {DEFAULT_DELAY}; 0 streams at once)")
    _add_selection_flags(serve)
    serve.add_argument("--store", default=None, metavar="LOCATION",
                       help="where state lives: 'memory' (default; one process) or a Redis URL such as "
                            "redis://127.0.0.1:6379/0, shared by every worker and instance using it "
                            "(env CONVO_MOCK_STORE)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes serving the one port (default 1); more than one needs --store redis://…")
    _add_limit_flags(serve)
    _add_cap_flags(serve)
    return parser


ADMIN_TOKEN_VARIABLE = "CONVO_MOCK_ADMIN_TOKEN"


def _add_selection_flags(serve: argparse.ArgumentParser) -> None:
    selection = serve.add_argument_group(
        "response selection and faults", "Only responses each operation declares in its contract are sent.")
    selection.add_argument("--prefer", action="append", metavar="FAMILY:PREFERENCE", default=[],
                           help="a family's default Prefer header, e.g. openai:code=429 or venna:code=501 or "
                                "openai:delay=200 (repeatable); a request's own Prefer header wins, key by key")
    selection.add_argument("--faults", metavar="FILE",
                           help="fault rules (YAML or JSON; format in convo_contracts/fault-rules.schema.json)")
    selection.add_argument("--seed", type=int, metavar="N",
                           help="seed of the fault rules' random draws (default: the file's seed, else random)")


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


def _admin_token(args: argparse.Namespace) -> str | None:
    return args.admin_token or os.environ.get(ADMIN_TOKEN_VARIABLE) or None


def app_from_arguments(args: argparse.Namespace, location: str, *, fixtures: bytes | None = None) -> MockApp:
    """The app ``convo-mock serve``'s flags describe, its state where ``location`` (``--store``) says (what
    each worker of ``--workers N`` builds too); ``KeyError`` for an unknown family, ``ValueError`` for a bad
    store location, preference or fault rule file."""
    from mockserver.app import create_app
    from mockserver.families import discover
    from mockserver.preferences import family_defaults
    from mockserver.workers import store_for

    served = args.family or list(discover())
    preferences = family_defaults(args.prefer, served)
    app = create_app(args.family, preferences=preferences, seed=args.seed, store_for=store_for(location),
                     journal_size=args.journal_size, admin_token=_admin_token(args),
                     access_log=_print_line if args.access_log else None, fixtures=fixtures)
    if args.faults:
        app.faults.load(args.faults)
    return app


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
    admin_token = _admin_token(args)
    if admin_token is None and not _is_loopback(args.host):
        print(f"convo-mock: listening on {args.host} (beyond loopback) needs --admin-token (or "
              f"{ADMIN_TOKEN_VARIABLE}): the admin API can erase and read every tenant's data", file=sys.stderr)
        return 2
    if args.journal_size < 0:
        print("convo-mock: --journal-size must not be negative", file=sys.stderr)
        return 2
    fixtures = None
    if args.fixtures is not None:
        try:
            with open(args.fixtures, "rb") as handle:
                fixtures = handle.read()
        except OSError as exc:
            print(f"convo-mock: cannot read --fixtures {args.fixtures}: {exc.strerror}", file=sys.stderr)
            return 2
    from mockserver.admin.fixtures import FixtureError, parse
    from mockserver.redis_client import STORE_VARIABLE, check_reachable, is_redis_url
    from mockserver.server import serve
    from mockserver.workers import export_configuration, serve_workers

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
        if is_redis_url(location):
            check_reachable(location)
        # With several workers, the fixtures are loaded once, here, into the store they share.
        app = app_from_arguments(args, location, fixtures=fixtures if args.workers == 1 else None)
    except KeyError as exc:
        print(f"convo-mock: {exc.args[0]}", file=sys.stderr)
        return 2
    except (ValueError, ConnectionError) as exc:  # a bad --store, --prefer or fault rule file; Redis unreachable
        print(f"convo-mock: {exc}", file=sys.stderr)
        return 2
    if fixtures is not None:
        try:
            parse(fixtures, [served.name for served in app.families])  # malformed: refused before listening
        except FixtureError as exc:
            print(f"convo-mock: --fixtures {args.fixtures}: {exc.message}", file=sys.stderr)
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
    for name, preference in app.preferences.items():
        print(f"  {name} answers as if every request sent Prefer: {preference.as_header()}")
    if app.faults.active:
        print(f"  fault rules from {args.faults} ({len(app.faults.as_dict()['rules'])} rules, seed {app.faults.seed})")
    print(f"  admin      http://{host}:{port}{ADMIN_PREFIX}   (reset, fixtures, journal, health; "
          f"{'token required' if admin_token else 'open'})")
    if is_redis_url(location):
        print(f"State in {location} ({args.workers} worker{'s' if args.workers > 1 else ''}).")
    print("Any non-empty API key works; each key is its own tenant. Ctrl+C stops.", flush=True)
    if args.workers > 1:
        if fixtures is not None:
            try:
                asyncio.run(app.load_fixtures(fixtures))
            except FixtureError as exc:
                print(f"convo-mock: --fixtures {args.fixtures}: {exc.message}", file=sys.stderr)
                return 1
        export_configuration(sys.argv[1:] if argv is None else argv, limits)
        serve_workers(sock, limits, args.workers)
    elif not serve(app, sock, limits):
        print("convo-mock: start-up failed (see above)", file=sys.stderr)
        return 1
    return 0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _print_line(line: str) -> None:
    """An access-log line, on standard output as it happens."""
    print(line, flush=True)
