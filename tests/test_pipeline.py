"""The fast path (``mockserver.pipeline``) answers exactly as Connexion's own middleware stack does.

Two mocks get the same requests in lockstep: the real one, and one whose families are served only by
their Connexion ``AsyncApp``. Ids and clocks are made deterministic, so status, headers and body must be
identical byte for byte, for valid requests and for every kind of error. Another test checks that the
requests expected to take the fast path do take it.
"""

from __future__ import annotations

import itertools
import json
import re
import typing as t
import uuid

import orjson
import pytest

import mockserver.app
from mockserver.app import create_app
from mockserver.families import openai as openai_family
from mockserver.pipeline import FamilyApp

pytestmark = pytest.mark.anyio
OPENAI = "/openai/v1"
VAI = "/virtuousai/api/v1"


class Exchange(t.NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


async def send(app: t.Callable, method: str, path: str, *, query: bytes = b"", body: bytes | None = None,
               headers: list[tuple[bytes, bytes]] | None = None) -> Exchange:
    raw_headers = [(b"host", b"mock")] + (headers if headers is not None else [(b"authorization", b"Bearer k1")])
    if body is not None:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "headers": raw_headers, "server": ("mock", 80), "client": ("127.0.0.1", 5000)}
    pending = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive() -> dict:
        return pending.pop() if pending else {"type": "http.disconnect"}

    status, response_headers, chunks = 0, [], []

    async def sink(message: dict) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status, response_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, sink)
    kept = [(k, v) for k, v in response_headers if k != b"x-request-id"]
    return Exchange(status, kept, re.sub(rb'"durationSeconds":[0-9.e-]+', b'"durationSeconds":0', b"".join(chunks)))


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> tuple[t.Callable, t.Callable, t.Callable[[int], None]]:
    """(fast mock, Connexion-only mock, reset): ``reset(n)`` makes both mocks' next ids the same."""
    from mockserver.families import virtuousai

    counter = itertools.count()
    monkeypatch.setattr(openai_family, "new_id", lambda prefix: f"{prefix}_{next(counter):048x}")
    monkeypatch.setattr(openai_family, "unix_seconds", lambda: 1_700_000_000)
    monkeypatch.setattr(virtuousai, "new_uuid", lambda: str(uuid.UUID(int=next(counter), version=4)))
    monkeypatch.setattr(virtuousai, "iso_now", lambda: "2026-01-01T00:00:00.000000Z")
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    fast = create_app()
    real_build = mockserver.app.build_family_app
    monkeypatch.setattr(mockserver.app, "build_family_app",
                        lambda family, store: real_build(family, store, fast_path=False))
    slow = create_app()
    assert all(isinstance(app, FamilyApp) and app.compiled for app in fast.family_apps.values())
    assert not any(app.compiled for app in slow.family_apps.values())

    def reset(step: int) -> None:
        nonlocal counter
        counter = itertools.count(1000 * step)

    return fast, slow, reset


def _json(value: t.Any) -> bytes:
    return json.dumps(value).encode()


JSON = [(b"content-type", b"application/json")]
AUTH = [(b"authorization", b"Bearer k1")]


def openai_requests(conversation: str, item: str) -> list[tuple]:
    """(method, path, query, body, headers) covering OpenAI's operations, valid and not."""
    c = f"{OPENAI}/conversations/{conversation}"
    msg = {"items": [{"role": "user", "content": "hi"}]}
    return [
        ("GET", c, b"", None, AUTH),
        ("GET", c, b"", None, []),
        ("GET", c, b"", None, [(b"authorization", b"Bearer")]),
        ("GET", c, b"", None, [(b"authorization", b"Basic abc")]),
        ("GET", c, b"", None, [(b"authorization", b"Bearer    ")]),
        ("GET", c, b"", None, [(b"AUTHORIZATION", b"bearer k1")]),
        ("GET", c, b"", None, [(b"authorization", b"Bearer k2")]),
        ("GET", f"{OPENAI}/conversations/conv_unknown", b"", None, AUTH),
        ("GET", c + "/items", b"", None, AUTH),
        ("GET", c + "/items", b"limit=2&order=asc", None, AUTH),
        ("GET", c + "/items", b"limit=2&order=asc&after=" + item.encode(), None, AUTH),
        ("GET", c + "/items", b"limit=0", None, AUTH),
        ("GET", c + "/items", b"limit=101", None, AUTH),
        ("GET", c + "/items", b"limit=abc", None, AUTH),
        ("GET", c + "/items", b"limit=1&limit=3", None, AUTH),
        ("GET", c + "/items", b"order=sideways", None, AUTH),
        ("GET", c + "/items", b"after=msg_nope", None, AUTH),
        ("GET", c + "/items", b"include=message.output_text.logprobs&include=bogus", None, AUTH),
        ("GET", c + "/items", b"include=message.output_text.logprobs", None, AUTH),
        ("GET", c + "/items", b"unknown=1&limit=%31", None, AUTH),
        ("GET", f"{c}/items/{item}", b"", None, AUTH),
        ("GET", f"{c}/items/msg_nope", b"", None, AUTH),
        ("POST", c + "/items", b"", _json(msg), AUTH + JSON),
        ("POST", c + "/items", b"include=bogus", _json(msg), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": []}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": [{"role": "wizard", "content": "x"}]}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": [{"content": "x"}]}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": [{"type": "item_reference", "id": item}]}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": [{"type": "item_reference", "id": "msg_x"}]}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": msg["items"] * 21}), AUTH + JSON),
        ("POST", c + "/items", b"", _json({"items": [{"role": "assistant", "content": [
            {"type": "output_text", "text": "x", "annotations": [{"n": 2**64}]}]}]}), AUTH + JSON),
        ("POST", c + "/items", b"", b'{"items": [{"role": "user", "content": "x"}], "extra": 1}', AUTH + JSON),
        ("POST", c + "/items", b"", b'{"items": [', AUTH + JSON),
        ("POST", c + "/items", b"", b'{"items": [{"role": "user", "content": NaN}]}', AUTH + JSON),
        ("POST", c + "/items", b"", b"[]", AUTH + JSON),
        ("POST", c + "/items", b"", b"null", AUTH + JSON),
        ("POST", c + "/items", b"", b"", AUTH + JSON),
        ("POST", c + "/items", b"", _json(msg), AUTH),
        ("POST", c + "/items", b"", _json(msg), AUTH + [(b"content-type", b"text/plain")]),
        ("POST", c + "/items", b"", b"items=1", AUTH + [(b"content-type", b"application/x-www-form-urlencoded")]),
        ("POST", c + "/items", b"", _json(msg), AUTH + [(b"content-type", b"application/json; charset=latin-1")]),
        ("POST", c + "/items", b"", _json(msg), AUTH + [(b"content-type", b"Application/JSON")]),
        ("POST", c + "/items", b"", _json(msg), AUTH + [(b"content-type", b"bogus")]),
        ("POST", c, b"", _json({"metadata": {"a": "1"}}), AUTH + JSON),
        ("POST", c, b"", _json({"metadata": None}), AUTH + JSON),
        ("POST", c, b"", _json({"metadata": {"k" * 65: "v"}}), AUTH + JSON),
        ("POST", c, b"", _json({"metadata": {str(i): "v" for i in range(17)}}), AUTH + JSON),
        ("POST", c, b"", None, AUTH),
        ("POST", f"{OPENAI}/conversations", b"", None, AUTH),
        ("POST", f"{OPENAI}/conversations", b"", _json({}), AUTH + JSON),
        ("POST", f"{OPENAI}/conversations", b"", _json({"items": msg["items"], "metadata": {"x": "y"}}), AUTH + JSON),
        ("POST", f"{OPENAI}/conversations", b"", b"null", AUTH + JSON),
        ("PUT", c, b"", None, AUTH),
        ("HEAD", c, b"", None, AUTH),
        ("OPTIONS", c, b"", None, AUTH),
        ("GET", c + "/", b"", None, AUTH),
        ("GET", f"{OPENAI}/conversations", b"", None, AUTH),
        ("GET", f"{OPENAI}/conversations/", b"", None, AUTH),
        ("GET", f"{OPENAI}/nowhere", b"", None, AUTH),
        ("GET", f"{OPENAI}/openapi.json", b"", None, []),
        ("GET", f"{OPENAI}/ui/", b"", None, []),
        ("GET", f"{OPENAI}", b"", None, AUTH),
        ("GET", "/", b"", None, []),
        ("GET", "/elsewhere", b"", None, []),
        ("DELETE", f"{c}/items/{item}", b"", None, AUTH),
        ("DELETE", f"{c}/items/{item}", b"", None, AUTH),
        ("DELETE", c, b"", None, AUTH),
        ("GET", c, b"", None, AUTH),
    ]


async def _lockstep(apps: tuple, requests: t.Iterable[tuple]) -> int:
    fast, slow, reset = apps
    compared = 0
    for step, (method, path, query, body, headers) in enumerate(requests, start=100):
        reset(step)
        got = await send(fast, method, path, query=query, body=body, headers=headers)
        reset(step)
        expected = await send(slow, method, path, query=query, body=body, headers=headers)
        assert got == expected, (method, path, query, body, headers)
        compared += 1
    return compared


async def _create_both(apps: tuple, path: str, body: dict) -> dict:
    fast, slow, reset = apps
    reset(1)
    created = await send(fast, "POST", path, body=_json(body), headers=AUTH + JSON)
    reset(1)
    assert await send(slow, "POST", path, body=_json(body), headers=AUTH + JSON) == created
    assert created.status == 200, created.body
    return orjson.loads(created.body)


async def test_openai_fast_path_answers_as_connexion(apps: tuple) -> None:
    conversation = await _create_both(apps, f"{OPENAI}/conversations",
                                      {"items": [{"role": "user", "content": f"m{i}"} for i in range(5)]})
    items = orjson.loads((await send(apps[0], "GET", f"{OPENAI}/conversations/{conversation['id']}/items")).body)
    assert await _lockstep(apps, openai_requests(conversation["id"], items["data"][2]["id"])) > 60


async def test_virtuousai_fast_path_answers_as_connexion(apps: tuple) -> None:
    thread = await _create_both(apps, f"{VAI}/chat/threads", {"title": "t"})
    t_path = f"{VAI}/chat/threads/{thread['id']}"
    chat = {"trigger": "submit-message", "id": "c1",
            "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hello there"}]}]}
    artifact = "12345678-1234-4234-8234-123456789abc"
    requests = [
        ("GET", t_path, b"", None, AUTH),
        ("GET", t_path.upper().replace("/CHAT/THREADS/", "/chat/threads/"), b"", None, AUTH),
        ("GET", f"{VAI}/chat/threads/not-a-uuid", b"", None, AUTH),
        ("GET", t_path, b"", None, [(b"x-api-key", b"k1")]),
        ("GET", t_path, b"", None, [(b"cookie", b"vai_token=k1")]),
        ("GET", t_path, b"", None, []),
        ("PATCH", t_path, b"", _json({"title": "new", "metadata": None}), AUTH + JSON),
        ("PATCH", t_path, b"", _json({"title": 5}), AUTH + JSON),
        ("GET", f"{VAI}/chat/threads", b"limit=1", None, AUTH),
        ("GET", f"{VAI}/chat/threads", b"limit=0", None, AUTH),
        ("GET", f"{VAI}/chat/threads", b"cursor=garbage", None, AUTH),
        ("POST", t_path + "/turns/stream", b"", _json(chat), AUTH + JSON + [(b"x-user-timezone", b"Europe/Paris")]),
        ("POST", t_path + "/turns/stream", b"", _json({"trigger": "submit-message"}), AUTH + JSON),
        ("GET", t_path + "/messages", b"limit=1", None, AUTH),
        ("POST", t_path + "/turns/cancel", b"", _json({}), AUTH + JSON),
        ("POST", t_path + "/attachments", b"artifact_id=" + artifact.encode(), _json({}), AUTH + JSON),
        ("GET", t_path + "/attachments", b"", None, AUTH),
        ("POST", t_path + "/feedback", b"", _json({"rating": "up"}), AUTH + JSON),
        ("POST", t_path + "/crystallize", b"", _json({}), AUTH + JSON),
        ("POST", f"{VAI}/chat/threads/bulk-delete", b"", _json({"threadIds": ["x"]}), AUTH + JSON),
        ("GET", f"{VAI}/chat/threads/bulk-delete", b"", None, AUTH),
        ("DELETE", t_path, b"", None, AUTH),
        ("DELETE", t_path, b"", None, AUTH),
        ("GET", f"{VAI}/openapi.json", b"", None, []),
    ]
    assert await _lockstep(apps, requests) == len(requests)


def test_matched_operations_take_the_fast_path() -> None:
    family_apps = create_app().family_apps
    openai_app, vai_app = family_apps["openai"], family_apps["virtuousai"]

    def matched(app: FamilyApp, method: str, path: str) -> str | None:
        found = app.match({"type": "http", "method": method, "path": path, "root_path": ""})
        return found[0].operation_id if found else None

    assert matched(openai_app, "GET", f"{OPENAI}/conversations/x") == "getConversation"
    assert matched(openai_app, "POST", f"{OPENAI}/conversations/x") == "updateConversation"
    assert matched(openai_app, "POST", f"{OPENAI}/conversations/x/items") == "createConversationItems"
    assert matched(openai_app, "GET", f"{OPENAI}/conversations/x/items") == "listConversationItems"
    assert matched(vai_app, "POST", f"{VAI}/chat/threads/bulk-delete").startswith("bulk_delete_threads")
    for method, path in [("HEAD", "/conversations/x"), ("PUT", "/conversations/x"), ("GET", "/conversations/x/"),
                         ("GET", "/openapi.json"), ("GET", "/ui/"), ("GET", "/conversations"), ("GET", "")]:
        assert matched(openai_app, method, OPENAI + path) is None, (method, path)
