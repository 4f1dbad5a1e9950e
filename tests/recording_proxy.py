"""A recording reverse proxy for the suite's own tests: forwards every request to a server and notes
(method, path) with the ids the server made up replaced by `{id}`, so two runs can be compared.

Runs in a thread of the test process on a free loopback port; answers are passed on whole (no streams).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# Ids the mock makes up (`conv_<hex>`, `msg_<hex>`, UUIDs): they differ between runs by design.
_IDS = re.compile(r"[a-z]+_[0-9a-f]{16,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


def normalise(path: str) -> str:
    return _IDS.sub("{id}", path)


class _Proxy(BaseHTTPRequestHandler):
    server: _RecordingServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one answer in two writes must not wait on delayed ACKs

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append((self.command, normalise(self.path)))
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP]
        answer = self.server.upstream.request(self.command, self.server.target + self.path, headers=headers,
                                              content=body)
        self.send_response(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = do_OPTIONS = do_HEAD = _forward


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.target = target.rstrip("/")
        self.upstream = httpx.Client(timeout=30)
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()


@contextmanager
def recording_proxy(target: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Proxy to `target` (a root URL); yields the proxy's root URL and the list it records into."""
    server = _RecordingServer(target)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen
    finally:
        server.shutdown()
        server.server_close()
        server.upstream.close()
        thread.join(timeout=10)
