"""What every family's mock variants share: the variant record, ways to change one behaviour, and serving.

A family's variants module (``tests/<family>_variants.py``) defines ``BROKEN`` and ``FAITHFUL`` as
``{name: Variant}`` and ends with ``serve_variant(VARIANTS)``, so ``python -m tests.<family>_variants NAME
--port 0`` serves one on a free loopback port and prints its URL (for ``tests.servers.running_server``).
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import tempfile
import typing as t
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.errors import ErrorResponse, MockError
from mockserver.family import Family
from mockserver.store import MemoryStore


@dataclasses.dataclass(frozen=True)
class Variant:
    """One changed behaviour: what it is, the check that must catch it ("" for faithful ones), and the app."""

    description: str
    caught_by: str
    family: Callable[[], Family]
    store: Callable[[], MemoryStore] = MemoryStore
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app


def with_handlers(family: Family, handlers: type) -> Callable[[], Family]:
    """``family`` served by another handler class (a subclass of the family's own)."""
    return lambda: dataclasses.replace(family, create_handlers=lambda store: handlers(store).operations())


def with_errors(family: Family, render: Callable[[MockError], ErrorResponse]) -> Callable[[], Family]:
    """``family`` rendering its errors with ``render``."""
    return lambda: dataclasses.replace(family, render_error=render)


def with_spec(family: Family, edit: Callable[[dict], None]) -> Callable[[], Family]:
    """``family`` served from a copy of its contract changed by ``edit`` (written to a temporary file)."""

    def build() -> Family:
        spec = yaml.safe_load(family.spec_path.read_text())
        edit(spec)
        path = Path(tempfile.mkdtemp(prefix="variant-spec-")) / family.spec_path.name
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return dataclasses.replace(family, spec_file=str(path))

    return build


class TenantBlindStore(MemoryStore):
    """Every key sees every other key's data."""

    def collection(self, tenant: str, name: str):
        return super().collection("everyone", name)

    def find(self, tenant: str, name: str):
        return super().find("everyone", name)

    def drop(self, tenant: str, name: str) -> None:
        super().drop("everyone", name)


def no_key_needed(credential_headers: t.Sequence[bytes] = (b"authorization",)) -> Callable[[ASGIApp], ASGIApp]:
    """Requests without any of ``credential_headers`` are served as if they had a Bearer key."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not any(name in credential_headers for name, _ in scope["headers"]):
                scope = {**scope, "headers": [*scope["headers"], (b"authorization", b"Bearer anonymous")]}
            await app(scope, receive, send)

        return serve

    return wrap


def serve_variant(variants: Mapping[str, Variant], description: str, argv: list[str] | None = None) -> None:
    """Command line: serve the named variant on 127.0.0.1 and print its URL."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("variant", choices=sorted(variants))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    import uvicorn

    from mockserver.app import MockApp

    variant = variants[args.variant]
    app = variant.wrap(MockApp([variant.family()], store_factory=variant.store))
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    print(f"variant {args.variant} listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
