"""``python -m bench``: every benchmark of the mock in one run, printed as tables and saved as JSON.

1. Throughput and latency, side by side, same load generator (wrk if installed, else ``bench.load``):
   GET a conversation, POST one message item, GET a page of 20 items from a conversation of 100 and of
   100,000 items; against the mock (``bench.serve_mock``: the real app, validation and auth on, one
   uvicorn worker, access log off), a bare Starlette app serving the same JSON (``bench.bare``) and, when
   npm is available, Stoplight Prism mocking the same contract.
2. Start-up: seconds from ``convo-mock serve`` starting to its first 200, every family loaded.
3. Memory: RSS growth per stored short message at 100,000 and 1,000,000 items (``bench.memory``).
4. Conformance: wall time and requests (test cases) per second of ``convo-conformance run openai``
   against the mock with default settings.
5. Abuse (only when asked, ``--only ...,abuse``): ``bench.abuse``, what hostile clients cost the mock and
   its other clients (RSS per item and tenant, time to the limits, others' p99 under each abuse).

Results go to ``bench/results.json`` (``--out``). Every server binds 127.0.0.1 on a free port and is
stopped at the end. Each cell is measured ``--rounds`` times (default 2), interleaved, and the medians are
reported. A full run takes about six minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.load import LoadResult, RequestSpec, run_load, wrk_available
from bench.profile import profile_under_load

ROOT = Path(__file__).resolve().parents[1]
OPENAI_SPEC = ROOT / "openapi" / "openai-conversations.yaml"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
AUTH = ("Authorization", "Bearer bench")
JSON_BODY = ("Content-Type", "application/json")
POST_BODY = b'{"items": [{"role": "user", "content": "hello"}]}'
SIZES = (0, 100, 100_000)


@dataclass
class Server:
    """A server process under test and what it printed about itself."""

    name: str
    process: subprocess.Popen
    url: str
    base: str
    conversations: dict[int, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        stop_process(self.process)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _start_python_server(name: str, module: str, timeout: float = 120.0) -> Server:
    """Start ``python -m module`` (which prints one JSON line with url, base and conversations)."""
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0", "--sizes", ",".join(map(str, SIZES))],
                               cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("{"):
            info = json.loads(line)
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            server = Server(name, process, info["url"], info["base"],
                            {int(k): v for k, v in info["conversations"].items()}, lines)
            _wait_until_answering(server.url + "/", process)
            return server
    process.kill()
    raise RuntimeError(f"{module} did not start:\n{''.join(lines)}")


def _drain(process: subprocess.Popen, lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if len(lines) < 1000:
            lines.append(line)


def _wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server not answering at {url}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prism_command() -> list[str] | None:
    """How to run Prism: ``$PRISM`` if set, else ``npx`` (None when npm is not installed)."""
    if os.environ.get("PRISM"):
        return os.environ["PRISM"].split()
    if shutil.which("npx") is None:
        return None
    return ["npx", "--yes", PRISM_PACKAGE]


def _start_prism(command: list[str]) -> Server:
    port = _free_port()
    process = subprocess.Popen([*command, "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(OPENAI_SPEC)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
    server = Server("prism", process, f"http://127.0.0.1:{port}", "", {size: "conv_bench" for size in SIZES}, lines)
    try:
        _wait_until_answering(server.url + "/", process, timeout=240)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"Prism did not start: {exc}\n{''.join(lines)[-2000:]}") from None
    return server


# --- throughput and latency ------------------------------------------------------------------------


REQUESTS = {
    "get_conversation": "GET a conversation",
    "post_item": "POST one message item",
    "list_100": "GET 20 items of 100",
    "list_100k": "GET 20 items of 100,000",
}


def request_for(kind: str, server: Server) -> RequestSpec:
    prefix = f"{server.url}{server.base}/conversations"
    if kind == "get_conversation":
        return RequestSpec("GET", f"{prefix}/{server.conversations[0]}", (AUTH,))
    if kind == "post_item":
        return RequestSpec("POST", f"{prefix}/{server.conversations[0]}/items", (AUTH, JSON_BODY), POST_BODY)
    size = 100 if kind == "list_100" else 100_000
    return RequestSpec("GET", f"{prefix}/{server.conversations[size]}/items?limit=20", (AUTH,))


def _check(request: RequestSpec) -> None:
    response = httpx.request(request.method, request.url, headers=dict(request.headers), content=request.body or None)
    if response.status_code != 200:
        raise RuntimeError(f"{request.method} {request.url} answered {response.status_code}: {response.text[:300]}")


def throughput(servers: list[Server], duration: float, warmup: float, connections: int, rounds: int) -> dict:
    """Every request against every server, servers side by side, ``rounds`` times; medians per cell."""
    runs: dict[str, dict[str, list[dict]]] = {kind: {server.name: [] for server in servers} for kind in REQUESTS}
    for round_number in range(1, rounds + 1):
        for kind in REQUESTS:
            for server in servers:
                request = request_for(kind, server)
                _check(request)
                if warmup:
                    run_load(request, warmup, connections)
                result: LoadResult = run_load(request, duration, connections)
                runs[kind][server.name].append(result.as_dict())
                print(f"  [{round_number}/{rounds}] {REQUESTS[kind]:<24} {server.name:<6} {result.rps:9.0f} req/s  "
                      f"p50 {result.p50_us / 1000:6.2f} ms  p99 {result.p99_us / 1000:6.2f} ms  "
                      f"errors {result.errors + result.non_2xx}", flush=True)
    results: dict[str, dict[str, dict]] = {}
    for kind, by_server in runs.items():
        results[kind] = {}
        for name, cells in by_server.items():
            results[kind][name] = {
                "rps": round(statistics.median(c["rps"] for c in cells), 1),
                "p50_us": statistics.median(c["p50_us"] for c in cells),
                "p99_us": statistics.median(c["p99_us"] for c in cells),
                "errors": sum(c["errors"] + c["non_2xx"] for c in cells),
                "tool": cells[0]["tool"],
                "rounds": cells,
            }
    return results


def ratios(results: dict) -> dict:
    out: dict[str, dict[str, float | None]] = {}
    for kind, by_server in results.items():
        mock = by_server.get("mock", {}).get("rps")
        out[kind] = {f"mock/{other}": round(mock / by_server[other]["rps"], 3) if mock and other in by_server
                     and by_server[other]["rps"] else None for other in ("bare", "prism")}
    list_100, list_100k = results.get("list_100", {}).get("mock"), results.get("list_100k", {}).get("mock")
    if list_100 and list_100k:
        out["list_100k_over_list_100"] = {"p50": round(list_100k["p50_us"] / list_100["p50_us"], 3),
                                          "time_per_request": round(list_100["rps"] / list_100k["rps"], 3)}
    return out


# --- start-up, memory, conformance ---------------------------------------------------------------------


def _serve_mock() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0"],
                               cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "listening on http://" in line:
            threading.Thread(target=_drain, args=(process, []), daemon=True).start()
            return process, line.split("listening on ")[1].strip()
    process.kill()
    raise RuntimeError("convo-mock serve did not start")


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server the bench started: SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def startup(runs: int) -> dict:
    """Seconds from starting ``convo-mock serve`` to its first 200 (creating an OpenAI conversation)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process, url = _serve_mock()
        try:
            with httpx.Client(timeout=5) as client:
                while True:
                    try:
                        response = client.post(f"{url}/openai/v1/conversations", headers=dict([AUTH]))
                        if response.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.perf_counter() - started > 60:
                        raise RuntimeError("no 200 within 60 s")
                    time.sleep(0.002)
            times.append(time.perf_counter() - started)
        finally:
            stop_process(process)
    return {"runs": [round(x, 3) for x in times], "median_seconds": round(statistics.median(times), 3)}


def memory(counts: str) -> dict:
    completed = subprocess.run([sys.executable, "-m", "bench.memory", "--counts", counts], cwd=ROOT, env=_env(),
                               capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def abuse() -> dict:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "abuse.json"
        subprocess.run([sys.executable, "-m", "bench.abuse", "--out", str(out)], cwd=ROOT, env=_env(),
                       capture_output=True, text=True, check=True, timeout=900)
        return json.loads(out.read_text())


def conformance() -> dict:
    process, url = _serve_mock()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            started = time.perf_counter()
            completed = subprocess.run(
                [sys.executable, "-m", "conformance", "run", "openai", "--base-url", f"{url}/openai/v1",
                 "--api-key", "bench", "--json", str(report)], cwd=ROOT, env=_env(), capture_output=True, text=True,
                timeout=1200, check=False)
            wall = time.perf_counter() - started
            summary = json.loads(report.read_text())["summary"] if report.exists() else {}
    finally:
        stop_process(process)
    requests = summary.get("requests_sent", 0)
    return {"exit_code": completed.returncode, "wall_seconds": round(wall, 2), "requests": requests,
            "checks_run": summary.get("checks_run"), "failed": summary.get("failed"),
            "cases_per_second": round(requests / wall, 1) if wall else None}


# --- report ----------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem_gib = round(mem_kib / 1024 / 1024, 1)
    versions = {}
    for package in ("connexion", "starlette", "uvicorn", "orjson", "jsonschema", "jsonschema_rs"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            versions[package] = version(package)
    wrk = ""
    if wrk_available():
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0].strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "os": platform.platform(),
            "python": platform.python_version(), "load_generator": wrk or "bench.load (Python)", "packages": versions}


def table(results: dict, ratio: dict) -> str:
    rows = ["| request | server | req/s | p50 ms | p99 ms | mock/bare | mock/prism |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for kind, by_server in results.items():
        for name, result in by_server.items():
            extra: tuple[str, ...] = ("", "")
            if name == "mock":
                extra = tuple(f"{v:.2f}" if v is not None else "–" for v in ratio[kind].values())
            rows.append(f"| {REQUESTS[kind]} | {name} | {result['rps']:,.0f} | {result['p50_us'] / 1000:.2f} | "
                        f"{result['p99_us'] / 1000:.2f} | {extra[0]} | {extra[1]} |")
    return "\n".join(rows)


def summary_lines(data: dict) -> list[str]:
    lines = []
    ratio = data.get("ratios", {}).get("list_100k_over_list_100")
    if ratio:
        lines.append(f"- Items page at 100,000 items vs 100 items: {ratio['time_per_request']:.2f}× the time per "
                     f"request, p50 {ratio['p50']:.2f}×")
    if "startup" in data:
        lines.append(f"- Start-up to first 200 (all families): {data['startup']['median_seconds']:.2f} s "
                     f"(median of {len(data['startup']['runs'])})")
    if "memory" in data:
        points = ", ".join(f"{p['bytes_per_item']:.0f} B/item at {p['items']:,}" for p in data["memory"]["points"])
        lines.append(f"- RSS growth per stored short message (\"{data['memory']['text']}\"): {points}")
    if "conformance" in data:
        c = data["conformance"]
        lines.append(f"- `convo-conformance run openai` (defaults): {c['wall_seconds']:.1f} s wall, {c['requests']:,} "
                     f"requests, {c['cases_per_second']:.0f} cases/s, exit {c['exit_code']}")
    m = data["machine"]
    lines.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
                 f"{m['load_generator']}")
    return lines


@contextlib.contextmanager
def started(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per cell (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each cell (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="times each cell is measured; medians are reported")
    parser.add_argument("--profile", action="store_true",
                        help="also sample the mock with py-spy under each request's load (needs the bench extra)")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism even when npm is available")
    parser.add_argument("--only", default="throughput,startup,memory,conformance",
                        help="comma-separated parts to run (default: all but abuse; add abuse to run it)")
    parser.add_argument("--memory-counts", default="100000,1000000")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    data: dict[str, t.Any] = {"machine": machine(), "settings": {
        "duration_seconds": args.duration, "warmup_seconds": args.warmup, "connections": args.connections,
        "rounds": args.rounds,
        "server_workers": 1, "access_log": False}}
    print(f"machine: {data['machine']}", flush=True)
    if "throughput" in parts:
        print("throughput and latency:", flush=True)
        servers: list[Server] = []
        with started(servers):
            servers.append(_start_python_server("mock", "bench.serve_mock"))
            servers.append(_start_python_server("bare", "bench.bare"))
            command = None if args.no_prism else prism_command()
            if command:
                try:
                    servers.append(_start_prism(command))
                except RuntimeError as exc:
                    print(f"  Prism skipped: {exc}", flush=True)
                    data["prism_skipped"] = str(exc)[:500]
            else:
                data["prism_skipped"] = "npm not available" if not args.no_prism else "--no-prism"
            data["throughput"] = throughput(servers, args.duration, args.warmup, args.connections, args.rounds)
            if args.profile:
                print("profiles of the mock (py-spy, separate from the measured cells):", flush=True)
                data["profiles"] = {}
                for kind in REQUESTS:
                    profile = profile_under_load(servers[0].process.pid, request_for(kind, servers[0]),
                                                 args.duration, args.connections)
                    data["profiles"][kind] = profile
                    top = ", ".join(f"{name.split(' (')[0]} {share}%" for name, share in profile.get("self", [])[:6])
                    print(f"  {REQUESTS[kind]:<26} self time: {top or profile.get('error')}", flush=True)
        data["ratios"] = ratios(data["throughput"])
    if "startup" in parts:
        print("start-up …", flush=True)
        data["startup"] = startup(args.startup_runs)
        print(f"  {data['startup']}", flush=True)
    if "memory" in parts:
        print("memory …", flush=True)
        data["memory"] = memory(args.memory_counts)
        print(f"  {data['memory']['points']}", flush=True)
    if "conformance" in parts:
        print("conformance …", flush=True)
        data["conformance"] = conformance()
        print(f"  {data['conformance']}", flush=True)
    if "abuse" in parts:
        print("abuse …", flush=True)
        data["abuse"] = abuse()
        print(f"  {json.dumps(data['abuse'])[:2000]}", flush=True)
    data["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print()
    if "throughput" in data:
        print(table(data["throughput"], data["ratios"]))
        print()
    print("\n".join(summary_lines(data)))
    print(f"\nwritten to {args.out}")
    return 0
