"""Shared fixtures: the mock as an in-process ASGI app and as a real server process."""

from __future__ import annotations

import asyncio
import typing as t
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from mockserver.app import create_app
from tests.servers import running_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mock_app():
    return create_app()


@pytest.fixture
async def openai_client(mock_app) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the in-process mock, authenticated as tenant ``key-1``."""
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/openai/v1",
                                 headers={"Authorization": "Bearer key-1"}) as client:
        yield client


@pytest.fixture(scope="session")
def mock_server() -> Iterator[str]:
    """The mock running as a server process; yields its root URL."""
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for this test session (one per xdist worker), stopped at the end."""
    from tests.redis_server import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(scope="module", params=["memory", "redis"])
def backend(request: pytest.FixtureRequest):
    """Each store backend in turn (``tests.store_backends``): the store's property tests run on both."""
    from tests.store_backends import Backend, RedisBackend

    if request.param == "memory":
        return Backend()
    return RedisBackend(request.getfixturevalue("redis_url"))


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every positive pause asked of ``asyncio.sleep`` (taken at once: no test waits for real)."""
    pauses: list[float] = []
    original = asyncio.sleep

    async def record(delay: float, result: t.Any = None) -> t.Any:
        if delay > 0:
            pauses.append(round(delay, 6))
        return await original(0, result)

    monkeypatch.setattr(asyncio, "sleep", record)
    return pauses
