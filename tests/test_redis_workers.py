"""``convo-mock serve --store redis://… --workers N`` as a user runs it: several worker processes share one
Redis store, lose no concurrent write, and the data outlives the mock; several workers on the memory
store are refused. The conformance suite of every family passes against 2 workers on Redis: their runs
(streaming turns, replays, tails) go through Redis too (``mockserver.redis_runs``), so it cannot matter
which worker a request reaches."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.servers import ROOT, running_server

OPENAI = "/openai/v1"
WRITERS, ITEMS_EACH = 32, 6
STARTUP = 180.0
"""Seconds for a server with workers to answer: each worker imports the app anew, slow on a busy machine."""


def serve_args(redis_url: str, *extra: str) -> list[str]:
    return ["-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0", "--store", redis_url, *extra]


def fresh_database(redis_url: str, number: int) -> str:
    """``redis_url`` on database ``number``, emptied: each test starts from nothing."""
    url = redis_url.rsplit("/", 1)[0] + f"/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


def all_items(client: httpx.Client, conversation: str) -> list[dict]:
    items: list[dict] = []
    after = None
    for _ in range(WRITERS * ITEMS_EACH // 100 + 3):
        params = {"limit": 100, "order": "asc", **({"after": after} if after else {})}
        page = client.get(f"/conversations/{conversation}/items", params=params).json()
        items += page["data"]
        if not page["has_more"]:
            return items
        after = page["last_id"]
    raise AssertionError("the item list did not end")


def store_clients(url: str, at_least: int, seconds: float = STARTUP) -> set[str]:
    """The mock's processes connected to the store, once ``at_least`` are or ``seconds`` have passed. Each
    worker connects when it starts, which can be after the first answer (the other worker may still be
    importing the app), and which worker the kernel hands each connection to is not ours to choose."""
    deadline = time.monotonic() + seconds
    while True:
        names = {client["name"].removesuffix(":reader") for client in redis.Redis.from_url(url).client_list()
                 if client["name"].startswith("convo-mock:")}
        if len(names) >= at_least or time.monotonic() > deadline:
            return names
        time.sleep(0.2)


async def write_concurrently(base: str, conversation: str) -> list[list[str]]:
    """``WRITERS`` clients, each on its own connection, each appending ``ITEMS_EACH`` items one by one."""
    async def writer(number: int) -> list[str]:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": "Bearer fleet"}, timeout=30) as client:
            written = []
            for n in range(ITEMS_EACH):
                answer = await client.post(f"/conversations/{conversation}/items",
                                           json={"items": [{"role": "user", "content": f"w{number}-{n}"}]})
                assert answer.status_code == 200, answer.text
                written.append(answer.json()["data"][0]["id"])
            return written

    return list(await asyncio.gather(*(writer(number) for number in range(WRITERS))))


def test_32_concurrent_writers_over_2_workers_lose_nothing(redis_url: str) -> None:
    url = fresh_database(redis_url, 1)
    with running_server(*serve_args(url, "--workers", "2"), timeout=STARTUP) as root:
        base = root + OPENAI
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer fleet"}, timeout=30) as client:
            conversation = client.post("/conversations", json={}).json()["id"]
            written = asyncio.run(write_concurrently(base, conversation))
            items = all_items(client, conversation)
        names = store_clients(url, at_least=3)
    assert len(names) >= 3, f"the supervisor and both workers connect to the store: {names}"
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == WRITERS * ITEMS_EACH, "every write is stored once, under its own id"
    assert set(ids) == {item for writer in written for item in writer}
    position = {item_id: index for index, item_id in enumerate(ids)}
    for writer in written:  # each writer's items in the order it wrote them
        assert [position[item] for item in writer] == sorted(position[item] for item in writer)


def test_the_data_outlives_the_mock(redis_url: str) -> None:
    url = fresh_database(redis_url, 2)
    headers = {"Authorization": "Bearer keeper"}
    with running_server(*serve_args(url)) as root, httpx.Client(base_url=root + OPENAI, headers=headers) as client:
        conversation = client.post("/conversations", json={"metadata": {"k": "v"},
                                                           "items": [{"role": "user", "content": "hello"}]}).json()
        items = client.get(f"/conversations/{conversation['id']}/items").json()
    with running_server(*serve_args(url, "--workers", "2")) as root, \
            httpx.Client(base_url=root + OPENAI, headers=headers) as client:
        assert client.get(f"/conversations/{conversation['id']}").json() == conversation
        assert client.get(f"/conversations/{conversation['id']}/items").json() == items
        assert client.delete(f"/conversations/{conversation['id']}").status_code == 200
    leftover = [key for key in redis.Redis.from_url(url).keys("*") if not key.endswith(b":usage")]
    assert leftover == [], "deleting the tenant's last conversation leaves no key behind"
    assert redis.Redis.from_url(url).hgetall("convo-mock:usage") == {b"records": b"0", b"bytes": b"0"}


def serve_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_several_workers_need_a_shared_store() -> None:
    refused = serve_command("--workers", "2")
    assert refused.returncode == 2 and "--store redis://" in refused.stderr
    assert "memory store each worker would keep its own state" in refused.stderr
    wrong = serve_command("--store", "mysql://x")
    assert wrong.returncode == 2 and "'memory' or a redis:// URL" in wrong.stderr


def test_an_unreachable_redis_is_said_at_start() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        unreachable = serve_command("--store", f"redis://127.0.0.1:{port}/0")
    assert unreachable.returncode == 2 and "cannot reach the Redis store" in unreachable.stderr


FAMILY_PATHS = {"openai": "/openai/v1", "virtuousai": "/virtuousai/api/v1", "posthog": "/posthog",
                "noxus": "/noxus", "venna": "/venna/v1"}
FAMILY_KEYS = {"venna": ("vk_fleet_one", "vk_fleet_two")}
"""The two API keys the suite uses (Venna's keys have its prefix); ``fleet-one``/``fleet-two`` elsewhere."""


@pytest.fixture(scope="module")
def two_workers_on_redis(redis_url: str) -> Iterator[str]:
    with running_server(*serve_args(fresh_database(redis_url, 3), "--workers", "2"), timeout=STARTUP) as root:
        yield root


@pytest.mark.parametrize("family", sorted(FAMILY_PATHS))
def test_the_conformance_suite_passes_against_2_workers_on_redis(two_workers_on_redis: str, family: str,
                                                                 tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    keys = FAMILY_KEYS.get(family, ("fleet-one", "fleet-two"))
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", family, "--base-url", two_workers_on_redis + FAMILY_PATHS[family],
         "--api-key", keys[0], "--api-key-2", keys[1], "--max-examples", "20", "--seed", "2",
         "--json", str(report_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["failures"] == [] and report["summary"]["passed"] > 0
