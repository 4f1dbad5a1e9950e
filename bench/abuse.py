"""What abuse costs the mock: memory per stored item and tenant, how fast the limits bite, others' latency.

``python -m bench.abuse [--seconds 4] [--unlimited] [--out bench/abuse.json]`` starts ``convo-mock serve``
on a free loopback port and measures, printing a table and writing JSON:

1. Memory: the server's RSS growth per stored 1 KB message (``--items`` of them, 20 per request) and per
   tenant (``--tenants`` keys, one conversation of one message each), and the rate an abusive client
   stores at, hence the time it needs to fill a gigabyte, or to hit a store cap if the server has one
   (the first 4xx answer to a write that was accepted before).
2. For each abuse, run for ``--seconds`` while a normal client GETs a conversation in a loop: the normal
   client's p50/p99 against a quiet baseline, the server's peak RSS growth, and what the abusive client
   saw: bodies of 64 MB (chunked and declared) → how many bytes the server took before its 413 and how
   long that took; ``--slowloris`` connections sending one header byte a second → when they were closed;
   1 MB headers → 431; slow readers of a 4 MB page → RSS held while they do not read, and after.

Every connection is to 127.0.0.1, every loop bounded by count and time. The mock runs with its default
limits except short timeouts (``--header-timeout``/``--send-timeout`` 2 s) so a run takes about a minute;
``--unlimited`` raises every limit out of reach to show what the same abuse cost without them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.run import stop_process

ROOT = Path(__file__).resolve().parents[1]
BASE = "/openai/v1"
ABUSER_KEY = "abuser"
NORMAL_KEY = "normal"
MB = 1024 * 1024
TIMEOUTS = ("--header-timeout", "2", "--send-timeout", "2", "--body-timeout", "5")
UNLIMITED = ("--max-body-bytes", str(1 << 40), "--max-url-bytes", str(1 << 30), "--max-header-bytes", str(1 << 30),
             "--header-timeout", "1e6", "--body-timeout", "1e6", "--send-timeout", "1e6",
             "--max-connections", "100000")


def rss(pid: int) -> int:
    """Resident set size of a process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def mock_server(flags: t.Sequence[str]) -> Iterator[tuple[subprocess.Popen, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--family", "openai",
                                *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if "listening on " in line:
                url = line.split("listening on ")[1].strip()
                break
        if not url:
            raise RuntimeError("the mock did not start")
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield process, url
    finally:
        stop_process(process, timeout=15)


def client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url + BASE, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def memory(process: subprocess.Popen, url: str, items: int, tenants: int) -> dict:
    """RSS growth per stored item and per tenant, and how fast a client can store."""
    text = "m" * 1024
    with client(url, ABUSER_KEY) as abuser:
        conversation = abuser.post("/conversations", json={}).json()["id"]
        before, started, stored, refused = rss(process.pid), time.monotonic(), 0, None
        while stored < items:
            response = abuser.post(f"/conversations/{conversation}/items",
                                   json={"items": [{"role": "user", "content": text}] * 20})
            if response.status_code != 200:
                refused = {"after_items": stored, "status": response.status_code, "body": response.text[:200]}
                break
            stored += 20
        item_seconds = time.monotonic() - started
        per_item = (rss(process.pid) - before) / max(stored, 1)
    before, started, made = rss(process.pid), time.monotonic(), 0
    tenant_refused = None
    for index in range(tenants):
        with client(url, f"tenant-{index}") as tenant:
            response = tenant.post("/conversations", json={"items": [{"role": "user", "content": "hi"}]})
        if response.status_code != 200:
            tenant_refused = {"after_tenants": made, "status": response.status_code}
            break
        made += 1
    tenant_seconds = time.monotonic() - started
    per_tenant = (rss(process.pid) - before) / max(made, 1)
    stored_bytes_per_second = stored * len(text) / item_seconds
    return {"items": stored, "rss_bytes_per_item": round(per_item), "items_per_second": round(stored / item_seconds),
            "seconds_to_grow_1_gb": round(MB * 1024 / max(per_item * stored / item_seconds, 1), 1),
            "stored_text_bytes_per_second": round(stored_bytes_per_second), "item_cap": refused,
            "tenants": made, "rss_bytes_per_tenant": round(per_tenant),
            "tenants_per_second": round(made / tenant_seconds, 1), "tenant_cap": tenant_refused}


def normal_latencies(url: str, conversation: str, stop: threading.Event, process: subprocess.Popen,
                     peak: list[int]) -> list[float]:
    """A well-behaved client's GETs until ``stop``, each one's seconds; samples the server's RSS peak."""
    latencies: list[float] = []
    with client(url, NORMAL_KEY) as normal:
        while not stop.is_set() and len(latencies) < 100_000:
            started = time.perf_counter()
            try:
                normal.get(f"/conversations/{conversation}")
                latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                latencies.append(float("inf"))
            peak[0] = max(peak[0], rss(process.pid))
            time.sleep(0.005)
    return latencies


def summary(latencies: list[float]) -> dict:
    finite = sorted(x for x in latencies if x != float("inf"))
    if not finite:
        return {"requests": 0, "failed": len(latencies)}
    p99 = finite[min(len(finite) - 1, int(len(finite) * 0.99))]
    return {"requests": len(latencies), "failed": len(latencies) - len(finite),
            "p50_ms": round(statistics.median(finite) * 1000, 2), "p99_ms": round(p99 * 1000, 2),
            "max_ms": round(finite[-1] * 1000, 2)}


def under_abuse(process: subprocess.Popen, url: str, seconds: float,
                abuse: Callable[[str, threading.Event], dict]) -> dict:
    """Run ``abuse`` for ``seconds`` while a normal client measures its latency."""
    with client(url, NORMAL_KEY) as normal:
        conversation = normal.post("/conversations", json={}).json()["id"]
    stop = threading.Event()
    before = rss(process.pid)
    peak = [before]
    result: dict = {}
    abuser = threading.Thread(target=lambda: result.update(abuse(url, stop)), daemon=True)
    abuser.start()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    latencies = normal_latencies(url, conversation, stop, process, peak)
    abuser.join(timeout=60)
    timer.cancel()
    return {"normal_client": summary(latencies), "rss_peak_growth_mb": round((peak[0] - before) / MB, 1),
            "abuser": result}


def address(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].split(":")
    return host, int(port)


def read_status(sock: socket.socket) -> int | None:
    received = b""
    try:
        while b"\r\n" not in received and len(received) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except OSError:
        return None
    parts = received.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def oversized_bodies(url: str, stop: threading.Event, size: int = 64 * MB) -> dict:
    """Chunked 64 MB bodies, one after the other: bytes the server took before refusing, and how fast."""
    chunk = b"x" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    taken: list[int] = []
    seconds: list[float] = []
    statuses: dict[str, int] = {}
    while not stop.is_set() and len(taken) < 50:
        with socket.create_connection(address(url), timeout=30) as sock:
            started, sent = time.monotonic(), 0
            sock.sendall(f"POST {BASE}/conversations HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {ABUSER_KEY}\r\n"
                         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            try:
                while sent < size and not stop.is_set():
                    sock.sendall(frame)
                    sent += len(chunk)
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass
            status = read_status(sock)
            seconds.append(time.monotonic() - started)
            taken.append(sent)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    declared = None
    with socket.create_connection(address(url), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(f"POST {BASE}/conversations HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {ABUSER_KEY}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {300 * MB}\r\n\r\n".encode())
        sock.settimeout(3)
        status = read_status(sock)
        declared = {"status": status, "seconds": round(time.monotonic() - started, 3)}
    return {"bodies": len(taken), "statuses": statuses, "median_mb_client_sent_before_answer": round(
            statistics.median(taken) / MB, 1) if taken else None,
            "median_seconds_to_answer": round(statistics.median(seconds), 3) if seconds else None,
            "declared_300_mb": declared}


def slowloris(url: str, stop: threading.Event, connections: int = 200) -> dict:
    """``connections`` sockets sending one header byte a second: how long until the server closes them."""
    head = f"GET {BASE}/conversations/c HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {ABUSER_KEY}\r\n".encode()
    opened = time.monotonic()
    sockets = []
    for _ in range(connections):
        try:
            sock = socket.create_connection(address(url), timeout=5)
            sock.setblocking(False)
            sockets.append(sock)
        except OSError:
            break
    closed_after: dict[int, float] = {}
    step = 0
    while not stop.is_set() and len(closed_after) < len(sockets):
        for index, sock in enumerate(sockets):
            if index in closed_after:
                continue
            try:
                sock.send(head[step % len(head):step % len(head) + 1])
                if sock.recv(1024) == b"":
                    closed_after[index] = time.monotonic() - opened
            except BlockingIOError:
                pass
            except OSError:
                closed_after[index] = time.monotonic() - opened
        step += 1
        stop.wait(1.0)
    for sock in sockets:
        sock.close()
    times = sorted(closed_after.values())
    return {"connections": len(sockets), "closed_by_server": len(times),
            "median_seconds_until_closed": round(statistics.median(times), 1) if times else None}


def big_headers(url: str, stop: threading.Event, size: int = MB) -> dict:
    """Requests with a 1 MB header, one after the other."""
    statuses: dict[str, int] = {}
    seconds: list[float] = []
    request = (f"GET {BASE}/conversations/c HTTP/1.1\r\nHost: mock\r\nX-Big: {'h' * size}\r\n\r\n").encode()
    while not stop.is_set() and len(seconds) < 200:
        with socket.create_connection(address(url), timeout=30) as sock:
            started = time.monotonic()
            try:
                sock.sendall(request)
            except OSError:
                pass
            status = read_status(sock)
            seconds.append(time.monotonic() - started)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"requests": len(seconds), "statuses": statuses,
            "median_seconds_to_answer": round(statistics.median(seconds), 3) if seconds else None}


def slow_readers(process: subprocess.Popen, url: str, readers: int, wait: float) -> dict:
    """``readers`` clients GET a 4 MB page and never read it: RSS while they hold it and ``wait`` s later."""
    text = "r" * 200_000
    with client(url, ABUSER_KEY) as abuser:
        conversation = abuser.post("/conversations", json={}).json()["id"]
        abuser.post(f"/conversations/{conversation}/items", json={"items": [{"role": "user", "content": text}] * 20})
        page_bytes = len(abuser.get(f"/conversations/{conversation}/items?limit=20").content)
    before = rss(process.pid)
    sockets = []
    for _ in range(readers):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(address(url))
        sock.sendall(f"GET {BASE}/conversations/{conversation}/items?limit=20 HTTP/1.1\r\nHost: mock\r\n"
                     f"Authorization: Bearer {ABUSER_KEY}\r\n\r\n".encode())
        sockets.append(sock)
    time.sleep(1)
    held = rss(process.pid) - before
    time.sleep(wait)
    after = rss(process.pid) - before
    truncated = 0
    for sock in sockets:
        sock.settimeout(0.5)
        received = 0
        try:
            while received <= page_bytes:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass
        truncated += received < page_bytes
        sock.close()
    return {"readers": readers, "page_mb": round(page_bytes / MB, 2), "rss_growth_held_mb": round(held / MB, 1),
            f"rss_growth_after_{wait:g}s_mb": round(after / MB, 1), "responses_dropped_by_server": truncated}


def run(args: argparse.Namespace) -> dict:
    flags = UNLIMITED if args.unlimited else TIMEOUTS
    results: dict = {"limits": "unlimited" if args.unlimited else "default (timeouts 2 s)", "flags": list(flags)}
    with mock_server(flags) as (process, url):
        results["memory"] = memory(process, url, args.items, args.tenants)
        stop = threading.Event()
        results["baseline"] = under_abuse(process, url, args.seconds, lambda _url, s: (s.wait(), {})[1])
        results["oversized_bodies"] = under_abuse(process, url, args.seconds, oversized_bodies)
        results["slowloris"] = under_abuse(process, url, args.seconds,
                                           lambda u, s: slowloris(u, s, args.slowloris))
        results["big_headers"] = under_abuse(process, url, args.seconds, big_headers)
        results["slow_readers"] = slow_readers(process, url, args.readers, wait=4.0)
        stop.set()
    return results


def print_table(results: dict) -> None:
    memory = results["memory"]
    print(f"limits: {results['limits']}")
    print(f"memory: {memory['rss_bytes_per_item']} B RSS per stored 1 KB item, {memory['rss_bytes_per_tenant']} B "
          f"per tenant; {memory['items_per_second']} items/s stored -> 1 GB RSS in {memory['seconds_to_grow_1_gb']} s;"
          f" caps hit: items {memory['item_cap']}, tenants {memory['tenant_cap']}")
    print(f"{'abuse':<18}{'normal p50 ms':>14}{'p99 ms':>9}{'max ms':>9}{'failed':>8}{'RSS peak +MB':>14}  abuser saw")
    for name in ("baseline", "oversized_bodies", "slowloris", "big_headers"):
        row = results[name]
        normal = row["normal_client"]
        print(f"{name:<18}{normal.get('p50_ms', '-'):>14}{normal.get('p99_ms', '-'):>9}{normal.get('max_ms', '-'):>9}"
              f"{normal['failed']:>8}{row['rss_peak_growth_mb']:>14}  {json.dumps(row['abuser'])}")
    print(f"slow readers: {json.dumps(results['slow_readers'])}")


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds each abuse runs (default 4)")
    parser.add_argument("--items", type=int, default=20_000, help="1 KB items stored for the memory figure")
    parser.add_argument("--tenants", type=int, default=1_000, help="tenants created for the memory figure")
    parser.add_argument("--slowloris", type=int, default=200, help="slowloris connections (default 200)")
    parser.add_argument("--readers", type=int, default=10, help="slow readers of a 4 MB page (default 10)")
    parser.add_argument("--unlimited", action="store_true", help="raise every limit out of reach (the old mock)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = run(args)
    print_table(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
