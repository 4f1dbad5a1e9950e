"""A real ``redis-server`` (Debian's package) on a free 127.0.0.1 port, for the tests; stopped after.

No persistence to disk (``--save ''``, no AOF): each run starts empty. ``redis-server`` missing is an
error naming the package to install, never a silent skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.servers import stop_process

_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    """Start ``redis-server`` and yield its URL (``redis://127.0.0.1:<port>/0``)."""
    program = shutil.which("redis-server")
    if program is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server (.ci/run does)")
    with tempfile.TemporaryDirectory(prefix="convo-redis-") as folder:
        for _ in range(3):  # a port another process takes between probing and binding: try another
            port = _free_port()
            process = subprocess.Popen(
                [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                 "--dir", folder, "--protected-mode", "yes", "--loglevel", "warning"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            url = f"redis://127.0.0.1:{port}/0"
            connection = redis.Redis.from_url(url)
            deadline = time.monotonic() + _START_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    connection.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            else:
                output = b""
                if process.poll() is None:
                    process.kill()
                if process.stdout is not None:
                    output = process.stdout.read() or b""
                process.wait()
                connection.close()
                if b"Address already in use" in output:
                    continue
                raise RuntimeError(f"redis-server did not start on port {port}: {output.decode(errors='replace')}")
            try:
                yield url
            finally:
                connection.close()
                stop_process(process)
                if process.stdout is not None:
                    process.stdout.close()
            return
        raise RuntimeError("redis-server: no free port after three tries")
