"""The mock in a test process: served on a free 127.0.0.1 port from a background thread, driven over
its admin API. What the pytest plugin's ``convo_mock`` fixture hands out; usable without pytest::

    with RunningMock.start() as mock:
        client = OpenAI(base_url=mock.base_url("openai"), api_key="sk-test")
        ...
        assert mock.journal(operation="createConversation")
        mock.reset(tenant="sk-test")
"""

from __future__ import annotations

import socket
import threading
import time
import typing as t
from pathlib import Path

import httpx
import uvicorn

from mockserver.admin.api import PREFIX as ADMIN_PREFIX
from mockserver.limits import Limits
from mockserver.server import server_config

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class RunningMock:
    """A mock server running in this process; every method is a call to its admin API."""

    def __init__(self, url: str, base_paths: dict[str, str], server: uvicorn.Server, thread: threading.Thread) -> None:
        self.url = url
        """The root URL, e.g. ``http://127.0.0.1:40123``."""
        self.base_urls = {name: url + path for name, path in base_paths.items()}
        """Every family's base URL (what its SDK takes), by family name."""
        self._server, self._thread = server, thread
        self._admin = httpx.Client(base_url=url + ADMIN_PREFIX, timeout=60.0)

    @classmethod
    def start(cls, families: t.Sequence[str] | None = None, **options: t.Any) -> RunningMock:
        """Serve ``families`` (all by default) with ``MockApp`` ``options``; returns once it is ready."""
        from mockserver.app import create_app

        app = create_app(families, **options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(server_config(app, Limits()))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="convo-mock", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the mock did not start (fixtures refused, or no free port)")
            time.sleep(0.02)
        return cls(f"http://127.0.0.1:{port}", {f.name: f.base_path for f in app.families}, server, thread)

    def base_url(self, family: str) -> str:
        return self.base_urls[family]

    def reset(self, family: str | None = None, tenant: str | None = None) -> None:
        """Forget stored data: everything, one family's, one tenant's (API key's), or both narrowed."""
        body = {key: value for key, value in (("family", family), ("tenant", tenant)) if value is not None}
        self._admin.post("/reset", json=body).raise_for_status()

    def load_fixtures(self, document: str | bytes | Path) -> list[dict[str, t.Any]]:
        """Load a fixture document (its text, or a path to it); raises ``httpx.HTTPStatusError`` with the
        admin API's 422 if a request of it was refused (then nothing of it is kept)."""
        content = document.read_bytes() if isinstance(document, Path) else document
        response = self._admin.post("/fixtures", content=content, headers={"content-type": "application/yaml"})
        response.raise_for_status()
        return response.json()["loaded"]

    def journal(self, *, tenant: str | None = None, family: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, t.Any]]:
        """The requests served, oldest first, filtered (``tenant`` is the full key; entries show it masked)."""
        params = {key: str(value) for key, value in
                  (("tenant", tenant), ("family", family), ("operation", operation), ("limit", limit))
                  if value is not None}
        response = self._admin.get("/journal", params=params)
        response.raise_for_status()
        return response.json()["requests"]

    def clear_journal(self) -> None:
        self._admin.delete("/journal").raise_for_status()

    def stop(self) -> None:
        self._admin.close()
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)

    def __enter__(self) -> RunningMock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
