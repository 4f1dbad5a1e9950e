"""Hostile HTTP servers for the suite's own tests: they break the rules a transport must survive.

Each runs in a thread of the test process on a free loopback port (`hostile_server(behaviour)` yields its
base URL). The first `honest` requests get a plain 404 error (so the suite's reachability probe passes),
then every request meets the behaviour:

- `endless`: 200 `application/json` headers, then a body that never ends, as fast as the socket takes it;
- `hang`: 200 headers, then nothing, the connection held open;
- `slow`: a 404 error body, but only after `delay` seconds;
- `nul`: a 500 whose body holds a NUL and other characters XML cannot hold.

Handlers stop when the client goes away or the server is shut down; every wait is bounded.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

ERROR_BODY = (
    b'{"error": {"message": "No conversation found", "type": "invalid_request_error", "param": null, "code": null}}'
)
NUL_BODY = b'{"error": "boom \x00 \x01 \x1b[31m \xff"}'
MAX_HOLD = 60.0


class _Handler(socketserver.BaseRequestHandler):
    server: _HostileServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        while not self.server.stopping.is_set():
            if not self._read_request(sock):
                return
            with self.server.lock:
                self.server.count += 1
                honest = self.server.count <= self.server.honest
            behaviour = "honest" if honest else self.server.behaviour
            try:
                if not getattr(self, "_" + behaviour)(sock):
                    return
            except OSError:
                return

    def _read_request(self, sock: socket.socket) -> bool:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                body += chunk
        except (OSError, ValueError):
            return False
        return True

    @staticmethod
    def _answer(sock: socket.socket, status: str, body: bytes) -> bool:
        sock.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return True

    def _honest(self, sock: socket.socket) -> bool:
        return self._answer(sock, "404 Not Found", ERROR_BODY)

    def _nul(self, sock: socket.socket) -> bool:
        return self._answer(sock, "500 Internal Server Error", NUL_BODY)

    def _slow(self, sock: socket.socket) -> bool:
        if self.server.stopping.wait(self.server.delay):
            return False
        return self._answer(sock, "404 Not Found", ERROR_BODY)

    def _endless(self, sock: socket.socket) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        chunk = b'{"data": [' + b'"0123456789abcdef", ' * 4000
        deadline = time.monotonic() + MAX_HOLD
        while not self.server.stopping.is_set() and time.monotonic() < deadline:
            sock.sendall(chunk)
        return False

    def _hang(self, sock: socket.socket) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        self.server.stopping.wait(MAX_HOLD)
        return False


class _HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str, honest: int, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.honest = honest
        self.delay = delay
        self.count = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()


@contextmanager
def hostile_server(behaviour: str, *, honest: int = 1, delay: float = 20.0) -> Iterator[str]:
    """Serve `behaviour` (see the module docstring) after `honest` plain answers; yields the base URL."""
    server = _HostileServer(behaviour, honest, delay)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
