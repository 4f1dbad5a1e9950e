"""Load generation: wrk when it is installed, otherwise a small keep-alive HTTP/1.1 client of our own.

Both run in their own process (so the server under test keeps its core), hold a fixed number of
keep-alive connections busy for a fixed time and report the same numbers: requests, requests per
second, latency p50 and p99 in microseconds, and errors (connection errors and 4xx/5xx answers).

The fallback runs as ``python -m bench.load URL --method GET --duration 5 --connections 16 [--body JSON]
[--header 'Name: value']`` and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    errors: int
    non_2xx: int
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 1)}


@dataclass(frozen=True)
class RequestSpec:
    """One request to repeat: method, URL, headers and body."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_load(request: RequestSpec, duration: float, connections: int) -> LoadResult:
    """Load the server with ``request`` for ``duration`` seconds over ``connections`` connections."""
    if wrk_available():
        return _run_wrk(request, duration, connections)
    return _run_fallback(request, duration, connections)


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII text


def _run_wrk(request: RequestSpec, duration: float, connections: int) -> LoadResult:
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    if request.body:
        lines.append(f"wrk.body = {_lua_string(request.body.decode())}")
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in request.headers]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n" + WRK_REPORT)
    try:
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s", "-s", script.name,
             request.url], capture_output=True, text=True, timeout=duration + 30, check=False)
    finally:
        Path(script.name).unlink(missing_ok=True)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH "):
            data = json.loads(line[len("BENCH "):])
            return LoadResult(tool="wrk", **data)
    raise RuntimeError(f"wrk failed: {completed.stdout}\n{completed.stderr}")


def _run_fallback(request: RequestSpec, duration: float, connections: int) -> LoadResult:
    command = [sys.executable, "-m", "bench.load", request.url, "--method", request.method,
               "--duration", str(duration), "--connections", str(connections)]
    for name, value in request.headers:
        command += ["--header", f"{name}: {value}"]
    if request.body:
        command += ["--body", request.body.decode()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False,
                               cwd=Path(__file__).resolve().parents[1])
    if completed.returncode != 0:
        raise RuntimeError(f"load process failed: {completed.stderr}")
    return LoadResult(**json.loads(completed.stdout.strip().splitlines()[-1]))


# --- the fallback load process -----------------------------------------------------------------------


async def _connection(host: str, port: int, payload: bytes, deadline: float, latencies: list[float],
                      counts: dict[str, int]) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        counts["errors"] += 1
        return
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                counts["non_2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        counts["errors"] += 1
    finally:
        writer.close()


async def _load(request: RequestSpec, duration: float, connections: int) -> LoadResult:
    url = urlsplit(request.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    target = url.path + (f"?{url.query}" if url.query else "")
    headers = [("Host", f"{host}:{port}"), *request.headers]
    if request.body:
        headers.append(("Content-Length", str(len(request.body))))
    head = f"{request.method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    payload = head.encode() + request.body
    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0}
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(_connection(host, port, payload, deadline, latencies, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6 if latencies else 0.0

    return LoadResult(len(latencies), elapsed, percentile(50), percentile(99), counts["errors"], counts["non_2xx"],
                      "bench.load")


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body", default="")
    args = parser.parse_args(argv)
    headers = tuple((name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in args.header))
    request = RequestSpec(args.method, args.url, headers, args.body.encode())
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_load(request, args.duration, args.connections))
    else:
        result = uvloop.run(_load(request, args.duration, args.connections))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
