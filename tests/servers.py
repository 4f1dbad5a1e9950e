"""Start a server as a real process on a free loopback port, and stop it again.

The server command must print a line containing ``http://127.0.0.1:<port>`` once it listens (as
``convo-mock serve --port 0`` does); that URL is returned. Only the host and port are read from it, so
the order in which a server lists its families does not matter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


@contextmanager
def running_server(*args: str, timeout: float = 30.0, extra_path: Sequence[str] = (),
                   program: Path | None = None) -> Iterator[str]:
    """Run ``python <args>`` (with ``--port 0`` among them) and yield ``http://127.0.0.1:<port>``;
    ``extra_path`` goes before the repository on the server's ``PYTHONPATH``. With ``program`` (an installed
    command), run ``program <args>`` instead, from its own folder and without ``PYTHONPATH``: as a user would."""
    if program is None:
        command, cwd = [sys.executable, *args], ROOT
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*extra_path, str(ROOT)]), "PYTHONUNBUFFERED": "1"}
    else:
        command, cwd = [str(program), *args], program.parent
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(0))
                ready.set()
        ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    try:
        if not ready.wait(timeout) or not found:
            raise RuntimeError(f"server did not start: {' '.join(args)}\n{''.join(lines)}")
        url = found[0]
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"server not answering at {url}\n{''.join(lines)}") from None
                time.sleep(0.05)
        yield url
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server the test started: SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
