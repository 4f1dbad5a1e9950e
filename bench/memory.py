"""Memory per stored item: RSS growth of the mock as one conversation fills with short messages.

``python -m bench.memory --counts 100000,1000000`` builds the real app, adds ``hello`` user messages 20 at a
time through its request path (in-process) and prints one JSON line: the resident set size before, and
after each count, and the growth per item. Run in a process of its own, so nothing else is resident.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import typing as t

import orjson

from bench.asgi import asgi_call, seed_conversation
from mockserver.app import create_app
from mockserver.quota import TENANT_RECORDS_VARIABLE

TEXT = "hello"


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def measure(counts: t.Sequence[int]) -> dict:
    os.environ[TENANT_RECORDS_VARIABLE] = "0"  # one key stores every item: lift its cap (mockserver.quota)
    app = create_app()
    conversation_id = await seed_conversation(app, 20, text=TEXT)  # warm every code path and cache first
    base = "/openai/v1/conversations/" + conversation_id + "/items"
    batch = {"items": [{"role": "user", "content": TEXT}] * 20}
    gc.collect()
    before = rss_bytes()
    stored = 0
    points = []
    for target in sorted(counts):
        while stored < target:
            status, body = await asgi_call(app, "POST", base, batch)
            if status != 200:
                raise RuntimeError(f"adding items failed: {status} {body[:200]!r}")
            stored += 20
        gc.collect()
        grown = rss_bytes() - before
        points.append({"items": stored, "rss_growth_bytes": grown, "bytes_per_item": round(grown / stored, 1)})
    status, body = await asgi_call(app, "GET", base, query=b"limit=1")
    assert status == 200 and orjson.loads(body)["data"], "the stored items are readable"
    return {"text": TEXT, "rss_before_bytes": before, "points": points}


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="100000,1000000")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure([int(c) for c in args.counts.split(",")]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
