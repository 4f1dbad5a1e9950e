"""``python -m bench.journal``: what the admin API and the request journal cost, side by side.

Serves the mock three ways, each as ``bench.serve_mock`` does (one uvicorn worker, seeded conversations):
``baseline`` — the code of a git ref (``--baseline main``: extracted with ``git archive`` into a temporary
folder, nothing of the repository changed), ``journal`` — this tree with the journal on (the default,
1,000 requests), ``no-journal`` — this tree with ``--journal-size 0``. Then GET a conversation and POST
one message item against each, interleaved over ``--rounds`` rounds (the servers share the machine with
whatever else runs), and prints the medians and each server's ratio to the baseline.

Throughput over HTTP swings with every other process on a shared machine, so the same three are also
measured in-process: the CPU time (``time.process_time``) the app spends per request, over ``--requests``
GETs and POSTs through the app's ASGI interface (``bench.asgi``), each in a fresh process, interleaved
``--rounds`` times. That figure is what the journal adds to each request, whatever the load beside it.

Families are plug-ins found through the installed package's entry points, so a baseline that registers
other families than this tree needs its own interpreter: ``--baseline-python`` names one where the baseline
is installed (e.g. a venv holding its wheel and borrowing this venv's dependencies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from bench.load import RequestSpec, run_load
from bench.run import AUTH, JSON_BODY, POST_BODY, ROOT

KINDS = ("get_conversation", "post_item")


def _extract(ref: str, into: Path) -> Path:
    archive = into / "baseline.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), ref], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def _start(tree: Path, *extra: str, python: str = sys.executable) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([python, "-m", "bench.serve_mock", "--port", "0", "--sizes", "0", *extra],
                               cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            info = json.loads(line)
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return process, info["url"] + info["base"], info["conversations"]["0"]
    process.kill()
    raise RuntimeError(f"server in {tree} did not start")


def _request(kind: str, base: str, conversation: str) -> RequestSpec:
    if kind == "get_conversation":
        return RequestSpec("GET", f"{base}/conversations/{conversation}", (AUTH,))
    return RequestSpec("POST", f"{base}/conversations/{conversation}/items", (AUTH, JSON_BODY), POST_BODY)


CPU_SCRIPT = """
import asyncio, json, sys, time
from bench.asgi import asgi_call, seed_conversation
from mockserver.app import create_app

size, count = sys.argv[1], int(sys.argv[2])
app = create_app() if size == "default" else create_app(journal_size=int(size))

async def measure():
    conversation = await seed_conversation(app, 0)
    path = "/openai/v1/conversations/" + conversation
    body = {"items": [{"role": "user", "content": "hello"}]}
    for _ in range(200):
        await asgi_call(app, "GET", path)
    started = time.process_time()
    for _ in range(count):
        status, _ = await asgi_call(app, "GET", path)
    get = time.process_time() - started
    started = time.process_time()
    for _ in range(count):
        status, _ = await asgi_call(app, "POST", path + "/items", body)
    post = time.process_time() - started
    assert status == 200, status
    print(json.dumps({"get_conversation": get / count * 1e6, "post_item": post / count * 1e6}))

asyncio.run(measure())
"""


def _cpu_per_request(tree: Path, journal_size: str, count: int, python: str = sys.executable) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run([python, "-c", CPU_SCRIPT, journal_size, str(count)], cwd=tree, env=env,
                            capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_side_by_side(baseline_tree: Path, rounds: int, count: int,
                     baseline_python: str = sys.executable) -> dict[str, dict[str, float]]:
    """Median CPU microseconds per request, by request kind and variant."""
    variants = {"baseline": (baseline_tree, "default", baseline_python), "journal": (ROOT, "default", sys.executable),
                "no-journal": (ROOT, "0", sys.executable)}
    samples: dict[str, dict[str, list[float]]] = {kind: {name: [] for name in variants} for kind in KINDS}
    for round_number in range(1, rounds + 1):
        for name, (tree, size, python) in variants.items():
            measured = _cpu_per_request(tree, size, count, python)
            for kind in KINDS:
                samples[kind][name].append(measured[kind])
            print(f"  [{round_number}/{rounds}] in-process {name:<11} " + "  ".join(
                f"{kind} {measured[kind]:6.1f} µs" for kind in KINDS), flush=True)
    return {kind: {name: statistics.median(values) for name, values in by.items()} for kind, by in samples.items()}


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_side_by_side(baseline_tree: Path, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Requests per second of each server, by request kind and server, one sample per round; and, under
    ``<kind>:cpu_us``, the server process's CPU microseconds per request served (steadier than req/s when
    other processes compete for the cores)."""
    servers = {
        "baseline": _start(baseline_tree, python=args.baseline_python),
        "journal": _start(ROOT),
        "no-journal": _start(ROOT, "--journal-size", "0"),
    }
    rps: dict[str, dict[str, list[float]]] = {
        key: {name: [] for name in servers} for kind in KINDS for key in (kind, kind + ":cpu_us")}
    try:
        for round_number in range(1, args.rounds + 1):
            for kind in KINDS:
                for name, (process, base, conversation) in servers.items():
                    request = _request(kind, base, conversation)
                    run_load(request, args.warmup, args.connections)
                    cpu_before = _cpu_seconds(process.pid)
                    result = run_load(request, args.duration, args.connections)
                    cpu_us = (_cpu_seconds(process.pid) - cpu_before) / max(1, result.requests) * 1e6
                    rps[kind][name].append(result.rps)
                    rps[kind + ":cpu_us"][name].append(cpu_us)
                    print(f"  [{round_number}/{args.rounds}] {kind:<17} {name:<11} {result.rps:8.0f} req/s  "
                          f"{cpu_us:6.1f} CPU µs/request  errors {result.errors + result.non_2xx}", flush=True)
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    return rps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.journal", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git ref to compare with (default main)")
    parser.add_argument("--baseline-python", default=sys.executable,
                        help="the interpreter to run the baseline with (one where the baseline is installed)")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000, help="requests per kind in-process (default 3000)")
    parser.add_argument("--only", choices=("http", "cpu"), help="only one of the two measurements")
    parser.add_argument("--out", type=Path, help="write the medians here as JSON")
    args = parser.parse_args(argv)
    rps: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        baseline_tree = _extract(args.baseline, Path(folder))
        if args.only != "http":
            cpu = cpu_side_by_side(baseline_tree, args.rounds, args.requests, args.baseline_python)
        if args.only != "cpu":
            rps = http_side_by_side(baseline_tree, args)
    medians = {kind: {name: statistics.median(values) for name, values in by.items()} for kind, by in rps.items()}
    if medians:
        print(f"\nover HTTP, medians of {args.rounds} rounds (ratio to {args.baseline}); req/s, then server CPU µs "
              "per request:")
        for kind, by in medians.items():
            cells = "  ".join(f"{name} {value:7.1f} ({value / by['baseline']:.2f})" for name, value in by.items())
            print(f"  {kind:<24} {cells}")
    if cpu:
        print(f"median CPU µs per request, in-process, over {args.rounds} rounds (ratio to {args.baseline}):")
        for kind, by in cpu.items():
            cells = "  ".join(f"{name} {value:6.1f} ({value / by['baseline']:.2f})" for name, value in by.items())
            print(f"  {kind:<17} {cells}")
    if args.out:
        args.out.write_text(json.dumps({"baseline": args.baseline, "rounds": args.rounds, "rps": rps,
                                        "rps_medians": medians, "cpu_us_per_request": cpu}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
