"""The PostHog Max family of the mock: streamed runs, status, queue, cancel, DRF errors, limit/offset pages.

Plain requests run in-process (runs with no delay between chunks) and every response is checked against
the contract with openapi-core. What needs a run still in progress runs against the mock as a real server
process, reading the stream over a real connection as it arrives (httpx's in-process transport buffers
the whole response).
"""

from __future__ import annotations

import json
import typing as t
import uuid
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from tests.contract import assert_conforms
from tests.servers import running_server

pytestmark = pytest.mark.anyio
SPEC = "posthog-max.yaml"
BASE = "/posthog/api/environments/@current/conversations"
LONG_PROMPT = "Tell me everything about funnels. " + " ".join(f"word{n}" for n in range(300))
STREAM_DELAY = "0.05"  # a long reply is cut into at most 40 chunks: its run lasts about 2 s


@pytest.fixture(scope="module")
def live_mock() -> t.Iterator[str]:
    """The mock as a server process whose runs last long enough to act while they stream."""
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0", "--family", "posthog",
                        "--stream-delay", STREAM_DELAY) as url:
        yield url


@pytest.fixture
async def ph(mock_app, monkeypatch) -> httpx.AsyncClient:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock",
                                 headers={"Authorization": "Bearer key-1"}) as client:
        yield client


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> httpx.Response:
    response = await client.request(method, path, **kwargs)
    assert response.headers.get("x-request-id", "").startswith("req_")
    assert_conforms(SPEC, response)
    return response


def events_of(raw: str) -> list[tuple[str, dict]]:
    """The ``(event, data)`` pairs of an SSE body."""
    events = []
    for block in raw.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            events.append((lines.get("event", "message"), json.loads(lines["data"])))
    return events


def message(content: str | None, conversation: str, **extra) -> dict:
    return {"content": content, "conversation": conversation, "trace_id": str(uuid.uuid4()), **extra}


async def run(client: httpx.AsyncClient, content: str | None, conversation: str, **extra) -> list[tuple[str, dict]]:
    response = await call(client, "POST", f"{BASE}/", json=message(content, conversation, **extra))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return events_of(response.text)


def assert_run_grammar(events: list[tuple[str, dict]], content: str, *, new: bool) -> str:
    """The stream of one run; returns the final ai message's id."""
    names = [name for name, _ in events]
    assert names.count("conversation") == (1 if new else 0)
    if new:
        assert names[0] == "conversation" and events[0][1]["status"] == "in_progress" and events[0][1]["title"] is None
    messages = [data for name, data in events if name == "message"]
    human, *chunks, final = messages
    assert human["type"] == "human" and human["content"] == content and uuid.UUID(human["id"])
    assert uuid.UUID(human["trace_id"])
    assert chunks and all(chunk["type"] == "ai" and "id" not in chunk for chunk in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after["content"].startswith(before["content"]) and len(after["content"]) > len(before["content"])
    assert final["type"] == "ai" and uuid.UUID(final["id"]) and final["content"] == chunks[-1]["content"]
    assert " ".join(content.split()) in final["content"]
    return final["id"]


# --- auth, projects, trailing slash --------------------------------------------------------------


async def test_a_missing_key_is_the_exceptions_hog_401(ph: httpx.AsyncClient) -> None:
    response = await call(ph, "GET", f"{BASE}/", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json() == {"type": "authentication_error", "code": "not_authenticated",
                               "detail": "Authentication credentials were not provided.", "attr": None}


async def test_the_key_may_come_in_the_query_string(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    response = await call(ph, "GET", f"{BASE}/?personal_api_key=key-1", headers={"Authorization": ""})
    assert response.status_code == 200 and [c["id"] for c in response.json()["results"]] == [conversation]


async def test_trailing_slash_is_optional_without_redirect(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    response = await ph.post(BASE, json=message("No slash", conversation))
    assert response.status_code == 200 and events_of(response.text)[0][0] == "conversation"
    for path in (f"{BASE}/{conversation}", f"{BASE}/{conversation}/", f"{BASE}/{conversation}/queue",
                 f"{BASE}/{conversation}/queue/"):
        got = await ph.get(path)  # the contract's paths end with a slash: openapi-core cannot check the others
        assert got.status_code == 200, path


async def test_current_is_project_1_and_other_projects_are_apart(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "In project one", conversation)
    one = await call(ph, "GET", "/posthog/api/environments/1/conversations/")
    assert [c["id"] for c in one.json()["results"]] == [conversation]
    two = await call(ph, "GET", "/posthog/api/environments/2/conversations/")
    assert two.json()["count"] == 0
    assert (await call(ph, "GET", f"/posthog/api/environments/2/conversations/{conversation}/")).status_code == 404
    taken = await call(ph, "POST", "/posthog/api/environments/2/conversations/", json=message("x", conversation))
    assert taken.status_code == 400 and taken.json() == {"error": "Cannot access other users' conversations"}
    for bad in ("abc", "-1", "1" * 40):
        missing = await call(ph, "GET", f"/posthog/api/environments/{bad}/conversations/")
        assert missing.status_code == 404 and missing.json()["detail"] == "Project not found."


# --- create and stream ---------------------------------------------------------------------------


async def test_a_new_conversation_streams_its_run_and_ends_idle_with_a_title(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    content = "What is a   funnel in PostHog?"
    events = await run(ph, content, conversation)
    assert events[0][1]["id"] == conversation
    final_id = assert_run_grammar(events, content, new=True)
    fetched = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    assert fetched["status"] == "idle" and fetched["title"] == "What is a funnel in PostHog?"
    assert fetched["updated_at"] > events[0][1]["updated_at"] and fetched["type"] == "assistant"
    assert [(m["type"], m["id"]) for m in fetched["messages"]] == [("human", events[1][1]["id"]), ("ai", final_id)]
    assert fetched["messages"][1]["content"] == events[-1][1]["content"]
    assert fetched["messages"][0]["ui_context"] is None  # stored messages keep their null keys


async def test_a_second_message_streams_without_a_conversation_event(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "First", conversation)
    first = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    assert_run_grammar(await run(ph, "Second question", conversation), "Second question", new=False)
    second = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    assert [m["content"] for m in second["messages"] if m["type"] == "human"] == ["First", "Second question"]
    assert second["title"] == "First" and second["updated_at"] > first["updated_at"]


async def test_the_reply_is_deterministic(ph: httpx.AsyncClient) -> None:
    one = await run(ph, "Same words", str(uuid.uuid4()))
    two = await run(ph, "Same words", str(uuid.uuid4()))
    assert one[-1][1]["content"] == two[-1][1]["content"]


async def test_research_mode_makes_a_deep_research_conversation(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    events = await run(ph, "Research this", conversation, agent_mode="research")
    assert events[0][1]["type"] == "deep_research"
    await run(ph, "Now plainly", conversation)
    assert (await call(ph, "GET", f"{BASE}/{conversation}/")).json()["type"] == "assistant"


@pytest.mark.parametrize(("body", "code", "attr"), [
    ({"content": "", "trace_id": str(uuid.uuid4())}, "blank", "content"),
    ({"content": "   ", "trace_id": str(uuid.uuid4())}, "blank", "content"),
    ({"content": "x" * 40001, "trace_id": str(uuid.uuid4())}, "max_length", "content"),
    ({"trace_id": str(uuid.uuid4())}, "required", "content"),
    ({"content": "hi"}, "required", "trace_id"),
    ({"content": "hi", "trace_id": "not-a-uuid"}, "invalid_input", "trace_id"),
    ({"content": "hi", "trace_id": str(uuid.uuid4()), "agent_mode": "telepathy"}, "invalid_choice", "agent_mode"),
    ({"content": "hi", "trace_id": str(uuid.uuid4()), "contextual_tools": []}, "not_a_dict", "contextual_tools"),
    ({"content": 5, "trace_id": str(uuid.uuid4())}, "invalid_input", "content"),
])
async def test_invalid_messages_are_drf_validation_errors(ph: httpx.AsyncClient, body: dict, code: str,
                                                           attr: str) -> None:
    response = await call(ph, "POST", f"{BASE}/", json={"conversation": str(uuid.uuid4()), **body})
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"type", "code", "detail", "attr"} and error["type"] == "validation_error"
    assert (error["code"], error["attr"]) == (code, attr)


async def test_bodies_that_are_not_json_objects(ph: httpx.AsyncClient) -> None:
    broken = await call(ph, "POST", f"{BASE}/", content=b"{nope", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["code"] == "parse_error"
    assert broken.json()["type"] == "invalid_request"
    listed = await call(ph, "POST", f"{BASE}/", json=[1])
    assert listed.status_code == 400 and listed.json()["attr"] is None
    empty = await call(ph, "POST", f"{BASE}/")
    assert empty.status_code == 400 and (empty.json()["code"], empty.json()["attr"]) == ("required", "content")


async def test_decision_order_for_unknown_idle_and_foreign_conversations(ph: httpx.AsyncClient) -> None:
    unknown = await call(ph, "POST", f"{BASE}/", json=message(None, str(uuid.uuid4())))
    assert unknown.status_code == 400
    assert unknown.json() == {"error": "Cannot stream from non-existent conversation"}
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    idle = await call(ph, "POST", f"{BASE}/", json=message(None, conversation))
    assert idle.status_code == 400 and idle.json() == {
        "type": "validation_error", "code": "invalid_input",
        "detail": "Cannot continue streaming from an idle conversation", "attr": None}
    foreign = await call(ph, "POST", f"{BASE}/", json=message("mine now", conversation),
                         headers={"Authorization": "Bearer key-2"})
    assert foreign.status_code == 400 and foreign.json() == {"error": "Cannot access other users' conversations"}
    nothing_changed = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    assert len(nothing_changed["messages"]) == 2


async def test_another_keys_conversation_is_not_readable_listable_or_usable(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Secret", conversation)
    other = {"Authorization": "Bearer key-2"}
    assert (await call(ph, "GET", f"{BASE}/{conversation}/", headers=other)).status_code == 404
    assert (await call(ph, "GET", f"{BASE}/", headers=other)).json()["count"] == 0
    appended = await call(ph, "POST", f"{BASE}/{conversation}/append_message/", json={"content": "x"}, headers=other)
    assert appended.status_code == 404 and appended.json()["code"] == "not_found"
    assert (await call(ph, "PATCH", f"{BASE}/{conversation}/cancel/", headers=other)).status_code == 404
    for method, suffix, body in [("GET", "queue/", None), ("POST", "queue/", {"content": "x"}),
                                 ("POST", "queue/clear/", None), ("DELETE", "queue/some-id/", None),
                                 ("PATCH", "queue/some-id/", {"content": "x"})]:
        response = await call(ph, method, f"{BASE}/{conversation}/{suffix}", json=body, headers=other)
        assert response.status_code == 403, (method, suffix)
        assert response.json() == {"error": "Cannot access other users' conversations"}
    assert (await call(ph, "GET", f"{BASE}/{conversation}/queue/")).json()["messages"] == []


async def test_unknown_and_malformed_conversation_ids(ph: httpx.AsyncClient) -> None:
    for conversation in (str(uuid.uuid4()), "not-a-uuid"):
        assert (await call(ph, "GET", f"{BASE}/{conversation}/")).json()["detail"] == "Not found."
        queue = await call(ph, "GET", f"{BASE}/{conversation}/queue/")
        assert queue.status_code == 404 and queue.json() == {"error": "Conversation not found"}
        cancel = await call(ph, "PATCH", f"{BASE}/{conversation}/cancel/")
        assert cancel.status_code == 404 and cancel.json()["type"] == "invalid_request"


# --- append, cancel, queue -----------------------------------------------------------------------


async def test_append_message_stores_an_ai_message_without_a_run(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    appended = await call(ph, "POST", f"{BASE}/{conversation}/append_message/",
                          json={"content": "  Ticket #42 opened "})
    assert appended.status_code == 201 and set(appended.json()) == {"id"}
    fetched = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    assert fetched["messages"][-1] == {"content": "Ticket #42 opened", "id": appended.json()["id"], "meta": None,
                                       "parent_tool_call_id": None, "tool_calls": None, "type": "ai"}
    assert fetched["status"] == "idle"
    too_long = await call(ph, "POST", f"{BASE}/{conversation}/append_message/", json={"content": "x" * 10001})
    assert too_long.status_code == 400 and too_long.json()["code"] == "max_length"


async def test_cancel_on_an_idle_conversation_changes_nothing(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    before = (await call(ph, "GET", f"{BASE}/{conversation}/")).json()
    cancelled = await call(ph, "PATCH", f"{BASE}/{conversation}/cancel/")
    assert cancelled.status_code == 204 and cancelled.content == b""
    assert (await call(ph, "GET", f"{BASE}/{conversation}/")).json() == before


async def test_queue_add_update_delete_clear_and_limit(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    path = f"{BASE}/{conversation}/queue/"
    assert (await call(ph, "GET", path)).json() == {"messages": [], "max_queue_messages": 2}
    first = (await call(ph, "POST", path, json={"content": "one", "agent_mode": "sql"},
                        headers={"X-POSTHOG-SESSION-ID": "s-1"})).json()["messages"]
    assert first[0]["content"] == "one" and first[0]["agent_mode"] == "sql" and first[0]["session_id"] == "s-1"
    both = (await call(ph, "POST", path, json={"content": "two"})).json()["messages"]
    assert [m["content"] for m in both] == ["one", "two"]
    full = await call(ph, "POST", path, json={"content": "three"})
    assert full.status_code == 409
    assert full.json() == {"error": "queue_full", "detail": "Only two messages can be queued at a time."}
    blank = await call(ph, "POST", path, json={"content": " "})
    assert blank.status_code == 400 and blank.json()["code"] == "blank"
    one_id = both[0]["id"]
    updated = (await call(ph, "PATCH", f"{path}{one_id}/", json={"content": "uno"})).json()["messages"]
    assert updated[0] == {**both[0], "content": "uno"} and updated[1] == both[1]
    missing = await call(ph, "PATCH", f"{path}nope/", json={"content": "x"})
    assert missing.status_code == 404 and missing.json() == {"detail": "Queue message not found."}
    remaining = await call(ph, "DELETE", f"{path}{one_id}/")
    assert remaining.status_code == 200 and [m["content"] for m in remaining.json()["messages"]] == ["two"]
    assert (await call(ph, "DELETE", f"{path}{one_id}/")).status_code == 404
    cleared = await call(ph, "POST", f"{path}clear/")
    assert cleared.status_code == 200 and cleared.json() == {"messages": [], "max_queue_messages": 2}


# --- lists ---------------------------------------------------------------------------------------


async def test_limit_offset_walk_newest_first_with_absolute_urls(ph: httpx.AsyncClient) -> None:
    created = []
    for n in range(5):
        conversation = str(uuid.uuid4())
        await run(ph, f"Question {n}", conversation)
        created.append(conversation)
    await run(ph, "Bump the first", created[0])  # updated_at moves: newest again
    expected = [created[0], *reversed(created[1:])]
    seen, url, pages = [], f"{BASE}/?limit=2", 0
    while url and pages < 10:
        page = (await call(ph, "GET", url)).json()
        assert page["count"] == 5
        seen += [c["id"] for c in page["results"]]
        if page["next"]:
            parts = urlsplit(page["next"])
            assert parts.scheme == "http" and parts.netloc == "mock" and parts.path == f"{BASE}/"
            assert parse_qs(parts.query) == {"limit": ["2"], "offset": [str(len(seen))]}
        url, pages = page["next"], pages + 1
    assert seen == expected and pages == 3
    last = (await call(ph, "GET", f"{BASE}/?limit=2&offset=4")).json()
    assert last["next"] is None and parse_qs(urlsplit(last["previous"]).query) == {"limit": ["2"], "offset": ["2"]}
    second = (await call(ph, "GET", f"{BASE}/?limit=2&offset=1")).json()
    assert "offset" not in parse_qs(urlsplit(second["previous"]).query)
    assert (await call(ph, "GET", f"{BASE}/")).json()["previous"] is None
    everything = (await call(ph, "GET", f"{BASE}/?limit={10**15}")).json()
    assert [c["id"] for c in everything["results"]] == expected and everything["next"] is None
    beyond = (await call(ph, "GET", f"{BASE}/?offset=50")).json()
    assert beyond["results"] == [] and beyond["count"] == 5
    for query in ("limit=0", "offset=-1", "limit=abc"):
        bad = await call(ph, "GET", f"{BASE}/?{query}")
        assert bad.status_code == 400 and bad.json()["attr"] == query.split("=")[0]


# --- runs in progress, over a real connection ----------------------------------------------------


async def sse_events(response: httpx.Response):
    """``(event, data)`` pairs as they arrive."""
    name = "message"
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: "):])
            name = "message"


async def wait_for_status(client: httpx.AsyncClient, conversation: str, status: str) -> dict:
    fetched: dict = {}
    for _ in range(200):
        fetched = (await client.get(f"{BASE}/{conversation}/")).json()
        if fetched.get("status") == status:
            break
        await anyio.sleep(0.05)
    return fetched


def live_client(mock_server: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=mock_server, headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def test_a_run_streams_as_it_happens_and_blocks_a_second_message(live_mock: str) -> None:
    async with live_client(live_mock, "ph-stream") as client:
        conversation = str(uuid.uuid4())
        async with client.stream("POST", f"{BASE}/", json=message(LONG_PROMPT, conversation)) as live:
            events = sse_events(live)
            assert (await anext(events))[0] == "conversation"
            assert (await anext(events))[1]["type"] == "human"
            first_chunk = await anext(events)
            assert first_chunk[1]["type"] == "ai" and "id" not in first_chunk[1]
            # still untitled and running: not listed nor retrievable, and a message is refused
            assert (await client.get(f"{BASE}/{conversation}/")).status_code == 404
            assert (await client.get(f"{BASE}/")).json()["count"] == 0
            busy = await client.post(f"{BASE}/", json=message("me too", conversation))
            assert busy.status_code == 409 and busy.json() == {
                "type": "server_error", "code": "conflict", "detail": "Cannot resume streaming with a new message",
                "attr": None}
            # a reconnect replays the run from its start, without the conversation event
            async with client.stream("POST", f"{BASE}/", json=message(None, conversation)) as again:
                replay = [event async for event in sse_events(again)]
            rest = [event async for event in events]
        assert [name for name, _ in replay].count("conversation") == 0
        assert replay[0][1]["type"] == "human" and replay[-1] == rest[-1] and "id" in rest[-1][1]
        fetched = (await client.get(f"{BASE}/{conversation}/")).json()
        assert fetched["status"] == "idle" and fetched["messages"][-1]["content"] == rest[-1][1]["content"]


async def test_cancel_mid_stream_ends_the_stream_and_clears_the_queue(live_mock: str) -> None:
    async with live_client(live_mock, "ph-cancel") as client:
        conversation = str(uuid.uuid4())
        async with client.stream("POST", f"{BASE}/", json=message(LONG_PROMPT, conversation)) as live:
            events = sse_events(live)
            while (await anext(events))[1].get("type") != "ai":
                pass
            queued = await client.post(f"{BASE}/{conversation}/queue/", json={"content": "later"})
            assert queued.status_code == 200
            cancelled = await client.patch(f"{BASE}/{conversation}/cancel/")
            assert cancelled.status_code == 204
            rest = [event async for event in events]
        assert all("id" not in data for _, data in rest), "no final message after a cancel"
        assert (await client.get(f"{BASE}/{conversation}/queue/")).json()["messages"] == []
        # untitled (its only run was cancelled), so not retrievable; but idle: a new message runs
        events_after = [event async for event in _stream_all(client, message("Again", conversation))]
        assert events_after[0][1]["type"] == "human" and "id" in events_after[-1][1]
        fetched = (await client.get(f"{BASE}/{conversation}/")).json()
        assert [m["content"] for m in fetched["messages"] if m["type"] == "human"] == [LONG_PROMPT, "Again"]
        assert fetched["title"] == LONG_PROMPT[:60], "the title comes from the first message"


async def _stream_all(client: httpx.AsyncClient, body: dict):
    async with client.stream("POST", f"{BASE}/", json=body) as response:
        assert response.status_code == 200
        async for event in sse_events(response):
            yield event


async def test_queued_messages_run_in_order_after_the_run(live_mock: str) -> None:
    async with live_client(live_mock, "ph-queue") as client:
        conversation = str(uuid.uuid4())
        async with client.stream("POST", f"{BASE}/", json=message(LONG_PROMPT, conversation)) as live:
            events = sse_events(live)
            await anext(events)
            for content in ("queued one", "queued two"):
                queued = await client.post(f"{BASE}/{conversation}/queue/", json={"content": content})
                assert queued.status_code == 200
            third = await client.post(f"{BASE}/{conversation}/queue/", json={"content": "three"})
            assert third.status_code == 409 and third.json()["error"] == "queue_full"
            rest = [event async for event in events]
        assert rest[-1][1]["type"] == "ai" and "id" in rest[-1][1]
        fetched = await wait_for_status(client, conversation, "idle")
        assert fetched["status"] == "idle"
        humans = [m["content"] for m in fetched["messages"] if m["type"] == "human"]
        ais = [m for m in fetched["messages"] if m["type"] == "ai"]
        assert humans == [LONG_PROMPT, "queued one", "queued two"] and len(ais) == 3
        assert ais[2]["content"].endswith("queued two")
        assert (await client.get(f"{BASE}/{conversation}/queue/")).json()["messages"] == []


async def test_a_client_that_leaves_does_not_stop_the_run(live_mock: str) -> None:
    async with live_client(live_mock, "ph-leave") as client:
        conversation = str(uuid.uuid4())
        async with client.stream("POST", f"{BASE}/", json=message(LONG_PROMPT, conversation)) as live:
            async for _, data in sse_events(live):
                if data.get("type") == "ai":
                    break
        fetched = await wait_for_status(client, conversation, "idle")
        assert fetched["status"] == "idle" and fetched["messages"][-1]["content"].endswith("word299")


async def test_cancel_and_clear_ignore_any_body(ph: httpx.AsyncClient) -> None:
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    for content in (b"[null, null]", b"{broken", b"\xff"):
        headers = {"content-type": "application/json"}
        cancelled = await call(ph, "PATCH", f"{BASE}/{conversation}/cancel/", content=content, headers=headers)
        assert cancelled.status_code == 204, cancelled.text
        cleared = await call(ph, "POST", f"{BASE}/{conversation}/queue/clear/", content=content, headers=headers)
        assert cleared.status_code == 200, cleared.text


def test_a_long_reply_streams_in_a_bounded_number_of_cumulative_chunks() -> None:
    from mockserver.families.posthog import MAX_CHUNKS, cumulative_chunks, reply_to

    for words in (1, 2, 10, 119, 120, 121, 7000):
        reply = reply_to(" ".join(f"w{n}" for n in range(words)))
        chunks = cumulative_chunks(reply)
        assert 1 <= len(chunks) <= MAX_CHUNKS and chunks[-1] == reply
        assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(chunks, chunks[1:], strict=False))


async def test_no_path_redirects_even_where_the_router_would_loop(ph: httpx.AsyncClient) -> None:
    # Starlette's `$` also matches before a final newline: `…/queue/%0A/` would redirect to `…/queue/%0A`,
    # which the optional slash sends back to `…/queue/%0A/`, forever
    conversation = str(uuid.uuid4())
    await run(ph, "Hello", conversation)
    for path in (f"{BASE}/{conversation}/queue/%0A", f"{BASE}/{conversation}/queue/%0A/", f"{BASE}//"):
        response = await ph.delete(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert "location" not in response.headers and response.json()
