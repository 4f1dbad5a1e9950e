"""One active turn per thread, whatever the interleaving: cancel, a new turn and deletion racing a stream.

The stream is driven in-process through an ASGI ``send`` that holds a chosen frame until the test lets it
go, which is what a client that stops reading does to a real server (the handler waits in ``send``
with its frame already yielded). That makes each race of issue 10 item 1 happen deterministically, with
a short text and no sleeping.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from mockserver.app import create_app
from mockserver.families.virtuousai import ChatHandlers, reply_to, split_deltas
from mockserver.runs import RunRegistry

pytestmark = pytest.mark.anyio
BASE = "/virtuousai/api/v1"
TEXT = "a " + "x" * 5_000 + " b c d"
KEY = "race-key"


def chat_request(text: str) -> dict:
    return {"trigger": "submit-message", "id": "chat-1",
            "messages": [{"id": "m-1", "role": "user", "parts": [{"type": "text", "text": text}]}]}


class HeldStream:
    """A streamed turn whose client stops reading at the frame holding ``held_delta`` until ``release``."""

    def __init__(self, app, thread_id: str, text: str, held_delta: str) -> None:
        self.app, self.thread_id, self.text = app, thread_id, text
        self.marker = b'"delta":' + json.dumps(held_delta, separators=(",", ":")).encode()
        self.reached, self.released, self.done = anyio.Event(), anyio.Event(), anyio.Event()
        self.status: int | None = None
        self.held = False
        self.body = b""

    async def run(self) -> None:
        body = json.dumps(chat_request(self.text)).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": f"{BASE}/chat/threads/{self.thread_id}/turns/stream", "raw_path": b"",
                 "query_string": b"", "root_path": "", "server": ("mock", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"mock"), (b"content-type", b"application/json"),
                             (b"x-api-key", KEY.encode()), (b"content-length", str(len(body)).encode())]}
        sent_body = False

        async def receive() -> dict:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self.done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                self.body += chunk
                if self.marker in chunk and not self.released.is_set():
                    self.held = True
                    self.reached.set()
                    await self.released.wait()

        try:
            await self.app(scope, receive, send)
        finally:
            self.reached.set()
            self.done.set()

    def frames(self) -> list:
        payloads = [line[len("data: "):] for line in self.body.decode().splitlines() if line.startswith("data: ")]
        return [p if p == "[DONE]" else json.loads(p) for p in payloads]

    def kinds(self) -> list[str]:
        return [f if isinstance(f, str) else f["type"] for f in self.frames()]


@pytest.fixture
async def setup(monkeypatch) -> AsyncIterator[tuple]:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    app = create_app(["virtuousai"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://mock{BASE}",
                                 headers={"X-API-Key": KEY}) as client, anyio.create_task_group() as tasks:
        yield app, client, tasks
        tasks.cancel_scope.cancel()


def last_delta(text: str) -> str:
    return split_deltas(reply_to(text))[-1]


async def start_held(app, tasks, thread_id: str, text: str, held: str) -> HeldStream:
    stream = HeldStream(app, thread_id, text, held)
    tasks.start_soon(stream.run)
    with anyio.fail_after(10):
        await stream.reached.wait()
    assert stream.status == 200 and stream.held, stream.body[-300:]
    return stream


async def finish(stream: HeldStream) -> None:
    stream.released.set()
    with anyio.fail_after(10):
        await stream.done.wait()


async def test_cancel_while_the_last_frame_waits_for_the_reader_wins(setup) -> None:
    app, client, tasks = setup
    tid = (await client.post("/chat/threads", json={})).json()["id"]
    stream = await start_held(app, tasks, tid, TEXT, last_delta(TEXT))
    cancelled = await client.post(f"/chat/threads/{tid}/turns/cancel", json={"partialText": "PARTIAL"})
    assert cancelled.status_code == 204
    await finish(stream)

    kinds = stream.kinds()
    assert kinds[-2:] == ["abort", "[DONE]"] and "finish" not in kinds and "text-end" not in kinds
    thread = (await client.get(f"/chat/threads/{tid}")).json()
    turn = (await client.get(f"/chat/turns/{thread['lastTurnId']}")).json()
    assert thread["lastTurnStatus"] == turn["status"] == "cancelled" and thread["crystallizeEligible"] is False
    messages = (await client.get(f"/chat/threads/{tid}/messages")).json()["items"]
    assert [(m["role"], m["content"]) for m in messages] == [("user", TEXT), ("assistant", "PARTIAL")]
    assert turn["outputMessageId"] == messages[-1]["id"]


async def test_an_old_stream_ending_never_frees_the_thread_of_a_newer_turn(setup) -> None:
    app, client, tasks = setup
    tid = (await client.post("/chat/threads", json={})).json()["id"]
    first = await start_held(app, tasks, tid, TEXT, last_delta(TEXT))
    assert (await client.post(f"/chat/threads/{tid}/turns/cancel", json={})).status_code == 204
    second_text = "second " + "y" * 100 + " turn of the thread"
    second = await start_held(app, tasks, tid, second_text, split_deltas(reply_to(second_text))[0])
    await finish(first)  # the cancelled first turn's stream ends while the second streams

    third = await client.post(f"/chat/threads/{tid}/turns/stream", json=chat_request("third"))
    assert third.status_code == 409, "the second turn still holds the thread"
    assert (await client.post(f"/chat/threads/{tid}/turns/cancel", json={})).status_code == 204
    await finish(second)
    assert second.kinds()[-2:] == ["abort", "[DONE]"]

    messages = (await client.get(f"/chat/threads/{tid}/messages")).json()["items"]
    statuses = [(await client.get(f"/chat/turns/{m['turnId']}")).json()["status"] for m in messages]
    assert statuses == ["cancelled", "cancelled"]
    assert [m["role"] for m in messages] == ["user", "user"], "no turn got a reply after being cancelled"
    assert len(app_handlers_runs(app)) == 0


async def test_a_turn_completes_once_and_then_cannot_be_cancelled(setup) -> None:
    app, client, tasks = setup
    tid = (await client.post("/chat/threads", json={})).json()["id"]
    stream = await start_held(app, tasks, tid, TEXT, last_delta(TEXT))
    await finish(stream)
    assert stream.kinds()[-3:] == ["text-end", "finish", "[DONE]"]
    assert (await client.post(f"/chat/threads/{tid}/turns/cancel", json={})).status_code == 409
    messages = (await client.get(f"/chat/threads/{tid}/messages")).json()["items"]
    assert [m["role"] for m in messages] == ["user", "assistant"]


async def test_deleting_the_thread_mid_stream_aborts_it_and_leaves_nothing(setup) -> None:
    app, client, tasks = setup
    tid = (await client.post("/chat/threads", json={})).json()["id"]
    stream = await start_held(app, tasks, tid, TEXT, split_deltas(reply_to(TEXT))[1])
    assert (await client.delete(f"/chat/threads/{tid}")).status_code == 204
    await finish(stream)
    assert stream.kinds()[-2:] == ["abort", "[DONE]"]
    store = app.stores["virtuousai"]
    assert store.usage(KEY).records == 0 and list(store.tenants()) in ([], [KEY])
    assert store.find(KEY, "turns") is None and len(app_handlers_runs(app)) == 0


def app_handlers_runs(app) -> RunRegistry:
    """The run registry of the app's VirtuousAI handlers (the one object holding the family's store)."""
    found = [o for o in gc.get_referrers(app.stores["virtuousai"]) if isinstance(o, ChatHandlers)]
    assert len(found) == 1, found
    return found[0].runs


async def test_a_stream_dropped_before_its_first_frame_still_ends_its_turn(setup) -> None:
    """The client is gone before the response starts, so the stream's body never runs: the turn must not
    hold its thread for ever."""
    app, client, tasks = setup
    tid = (await client.post("/chat/threads", json={})).json()["id"]
    body = json.dumps(chat_request("hello")).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": f"{BASE}/chat/threads/{tid}/turns/stream",
             "raw_path": b"", "query_string": b"", "root_path": "", "server": ("mock", 80),
             "client": ("127.0.0.1", 1),
             "headers": [(b"host", b"mock"), (b"content-type", b"application/json"), (b"x-api-key", KEY.encode()),
                         (b"content-length", str(len(body)).encode())]}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        raise OSError("client went away")

    with pytest.raises(Exception):  # noqa: B017 - whatever the server stack makes of the broken connection
        await app(scope, receive, send)
    gc.collect()
    thread = (await client.get(f"/chat/threads/{tid}")).json()
    assert thread["lastTurnStatus"] == "completed"
    again = await client.post(f"/chat/threads/{tid}/turns/stream", json=chat_request("again"))
    assert again.status_code == 200
