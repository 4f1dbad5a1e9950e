"""``python -m bench.scale``: the mock on the memory store, on Redis with 1 worker and on Redis with 2
workers, side by side in one run; and what a stored item costs Redis.

1. Throughput and latency of GET a conversation and POST one message item (the requests of ``bench.run``),
   same load generator (wrk if installed, else ``bench.load``), each cell ``--rounds`` times interleaved,
   medians reported; the scaling ratio Redis 2 workers / Redis 1 worker.
2. Redis memory per stored item: ``INFO memory`` (``used_memory`` and ``used_memory_rss``) before and after
   storing ``--items`` short message items through the mock's API (20 per request), per item. OpenAI
   items are stored twice by design (the conversation's list and the tenant's item index).

Every server (``convo-mock serve`` as a user runs it, and a ``redis-server`` of its own without
persistence) binds 127.0.0.1 on a free port and is stopped at the end. Results go to
``bench/results-scale.json`` (``--out``). On a machine of 2 cores, Redis and the load generator take
their share of the same cores the workers use: the ratio is what this machine gives, not the ceiling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import httpx
import redis

from bench.load import RequestSpec, run_load
from bench.run import AUTH, JSON_BODY, POST_BODY, ROOT, Server, _drain, _env, _wait_until_answering, machine
from tests.redis_server import redis_server

REQUESTS = {"get_conversation": "GET a conversation", "post_item": "POST one message item"}
STARTUP_SECONDS = 180.0


def _start(name: str, *flags: str) -> Server:
    """``convo-mock serve --port 0 <flags>``, with one conversation seeded through its API."""
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0",
                                *flags], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "listening on http://" in line:
            url = line.split("listening on ", 1)[1].strip()
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            _wait_until_answering(url + "/", process, timeout=STARTUP_SECONDS)
            created = httpx.post(f"{url}/openai/v1/conversations", headers=dict((AUTH, JSON_BODY)),
                                 content=b'{"items": [{"role": "user", "content": "hello"}]}', timeout=30)
            created.raise_for_status()
            return Server(name, process, url, "/openai/v1", {0: created.json()["id"]}, lines)
    process.kill()
    raise RuntimeError(f"{name} did not start:\n{''.join(lines)}")


def request_for(kind: str, server: Server) -> RequestSpec:
    prefix = f"{server.url}{server.base}/conversations/{server.conversations[0]}"
    if kind == "get_conversation":
        return RequestSpec("GET", prefix, (AUTH,))
    return RequestSpec("POST", f"{prefix}/items", (AUTH, JSON_BODY), POST_BODY)


def throughput(servers: list[Server], duration: float, warmup: float, connections: int, rounds: int) -> dict:
    runs: dict[str, dict[str, list[dict]]] = {kind: {s.name: [] for s in servers} for kind in REQUESTS}
    for round_number in range(1, rounds + 1):
        for kind in REQUESTS:
            for server in servers:
                request = request_for(kind, server)
                if warmup:
                    run_load(request, warmup, connections)
                result = run_load(request, duration, connections)
                runs[kind][server.name].append(result.as_dict())
                print(f"  [{round_number}/{rounds}] {REQUESTS[kind]:<22} {server.name:<9} {result.rps:8.0f} req/s  "
                      f"p50 {result.p50_us / 1000:6.2f} ms  p99 {result.p99_us / 1000:6.2f} ms  "
                      f"errors {result.errors + result.non_2xx}", flush=True)
    return {kind: {name: {"rps": round(statistics.median(c["rps"] for c in cells), 1),
                          "p50_us": statistics.median(c["p50_us"] for c in cells),
                          "p99_us": statistics.median(c["p99_us"] for c in cells),
                          "errors": sum(c["errors"] + c["non_2xx"] for c in cells), "rounds": cells}
                   for name, cells in by_server.items()}
            for kind, by_server in runs.items()}


def redis_memory_per_item(server: Server, redis_url: str, items: int) -> dict:
    """Store ``items`` message items in a new conversation through the API; Redis memory growth per item."""
    connection = redis.Redis.from_url(redis_url)
    before = connection.info("memory")
    batch = [{"role": "user", "content": "hello, this is a short message"}] * 20
    with httpx.Client(base_url=server.url + server.base, headers=dict((AUTH, JSON_BODY)), timeout=60) as client:
        conversation = client.post("/conversations", json={}).json()["id"]
        for _ in range(items // len(batch)):
            client.post(f"/conversations/{conversation}/items", json={"items": batch}).raise_for_status()
    after = connection.info("memory")
    stored = items // len(batch) * len(batch)
    return {"items": stored, "text": batch[0]["content"],
            "used_memory_bytes_per_item": round((after["used_memory"] - before["used_memory"]) / stored, 1),
            "rss_bytes_per_item": round((after["used_memory_rss"] - before["used_memory_rss"]) / stored, 1)}


def table(results: dict) -> str:
    rows = ["| request | server | req/s | p50 ms | p99 ms |", "| --- | --- | ---: | ---: | ---: |"]
    for kind, by_server in results.items():
        for name, cell in by_server.items():
            rows.append(f"| {REQUESTS[kind]} | {name} | {cell['rps']:,.0f} | {cell['p50_us'] / 1000:.2f} | "
                        f"{cell['p99_us'] / 1000:.2f} |")
    return "\n".join(rows)


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per cell (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each cell (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="times each cell is measured; medians are reported")
    parser.add_argument("--items", type=int, default=100_000, help="items stored for the memory figure")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-scale.json")
    args = parser.parse_args(argv)
    data: dict[str, t.Any] = {"machine": machine(), "settings": {
        "duration_seconds": args.duration, "warmup_seconds": args.warmup, "connections": args.connections,
        "rounds": args.rounds}}
    servers: list[Server] = []
    with redis_server() as url:
        redis_version = redis.Redis.from_url(url).info("server")["redis_version"]
        data["machine"]["redis"] = redis_version
        try:
            base = url.rsplit("/", 1)[0]
            servers.append(_start("memory"))
            servers.append(_start("redis-1w", "--store", f"{base}/1"))
            servers.append(_start("redis-2w", "--store", f"{base}/2", "--workers", "2"))
            print("throughput and latency:", flush=True)
            data["throughput"] = throughput(servers, args.duration, args.warmup, args.connections, args.rounds)
            print(f"redis memory per item ({args.items:,} items) …", flush=True)
            data["redis_memory"] = redis_memory_per_item(servers[1], f"{base}/1", args.items)
        finally:
            for server in servers:
                server.stop()
    data["scaling_2w_over_1w"] = {kind: round(cells["redis-2w"]["rps"] / cells["redis-1w"]["rps"], 2)
                                  for kind, cells in data["throughput"].items()}
    data["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print()
    print(table(data["throughput"]))
    print()
    print(f"- Redis 2 workers / 1 worker: {data['scaling_2w_over_1w']}")
    memory = data["redis_memory"]
    print(f"- Redis memory per stored item (\"{memory['text']}\", {memory['items']:,} items): "
          f"{memory['used_memory_bytes_per_item']:.0f} B used_memory, {memory['rss_bytes_per_item']:.0f} B RSS")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
