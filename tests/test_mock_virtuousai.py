"""The VirtuousAI family of the mock: threads, cursors, FastAPI errors, streamed turns, cancel, attachments.

Plain requests run in-process and every response is checked against the contract with openapi-core.
Streaming runs against the mock as a real server process, because only a real connection delivers
frames while the turn is still running (httpx's in-process transport buffers the whole response).
"""

from __future__ import annotations

import json
import uuid

import anyio
import httpx
import pytest

from tests.contract import assert_conforms

pytestmark = pytest.mark.anyio
SPEC = "virtuousai-chat.yaml"
BASE = "/virtuousai/api/v1"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def vai(mock_app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://mock{BASE}",
                                 headers={"Authorization": "Bearer key-1"}) as client:
        yield client


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> httpx.Response:
    response = await client.request(method, path, **kwargs)
    assert response.headers.get("x-request-id", "").startswith("req_")
    assert_conforms(SPEC, response)
    return response


def chat_request(text: str, chat_id: str = "chat-1") -> dict:
    return {"trigger": "submit-message", "id": chat_id,
            "messages": [{"id": "m-1", "role": "user", "parts": [{"type": "text", "text": text}]}]}


def frames_of(raw: str) -> list:
    """The ``data:`` payloads of an SSE body, JSON-decoded except ``[DONE]``."""
    payloads = [line[len("data: "):] for line in raw.splitlines() if line.startswith("data: ")]
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


async def new_thread(client: httpx.AsyncClient, **body) -> dict:
    response = await call(client, "POST", "/chat/threads", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def stream(client: httpx.AsyncClient, thread_id: str, text: str) -> list:
    response = await call(client, "POST", f"/chat/threads/{thread_id}/turns/stream", json=chat_request(text))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    return frames_of(response.text)


# --- threads -------------------------------------------------------------------------------------


async def test_thread_create_get_patch_delete(vai: httpx.AsyncClient) -> None:
    thread = await new_thread(vai, title="Plans", metadata={"team": "web"}, systemPrompt="Be brief")
    assert uuid.UUID(thread["id"]) and thread["title"] == "Plans" and thread["metadata"] == {"team": "web"}
    assert thread["lastTurnId"] is None and thread["crystallizeEligible"] is False
    path = f"/chat/threads/{thread['id']}"
    assert (await call(vai, "GET", path)).json() == thread
    patched = (await call(vai, "PATCH", path, json={"title": "New", "metadata": None})).json()
    assert patched["title"] == "New" and patched["metadata"] == {} and patched["systemPrompt"] == "Be brief"
    assert patched["updatedAt"] >= thread["updatedAt"] and patched["createdAt"] == thread["createdAt"]
    assert (await call(vai, "GET", path.upper().replace("/CHAT/THREADS/", "/chat/threads/"))).status_code == 200
    deleted = await call(vai, "DELETE", path)
    assert deleted.status_code == 204 and deleted.content == b""
    for method, suffix, body in [("GET", "", None), ("PATCH", "", {}), ("DELETE", "", None),
                                 ("GET", "/messages", None), ("POST", "/turns/stream", chat_request("hi"))]:
        gone = await call(vai, method, path + suffix, json=body)
        assert (gone.status_code, gone.json()) == (404, {"detail": "Thread not found"})


async def test_threads_walk_newest_activity_first_and_cursor_survives_new_threads(vai: httpx.AsyncClient) -> None:
    made = [(await new_thread(vai, title=f"t{i}"))["id"] for i in range(7)]
    await stream(vai, made[2], "bring me to the front")
    expected = [made[2]] + [tid for tid in reversed(made) if tid != made[2]]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await call(vai, "GET", "/chat/threads", params=params)).json()
        seen += [thread["id"] for thread in page["items"]]
        await new_thread(vai, title="added mid-walk")  # newer than the walk's position: not repeated
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 3
    assert seen == expected


async def test_bulk_delete_counts_what_it_deleted(vai: httpx.AsyncClient) -> None:
    ids = [(await new_thread(vai))["id"] for _ in range(4)]
    not_uuid = await call(vai, "POST", "/chat/threads/bulk-delete", json={"threadIds": [ids[0], "not-a-uuid"]})
    assert not_uuid.status_code == 422 and not_uuid.json()["detail"][0]["loc"] == ["body", "threadIds", 1]
    assert not_uuid.json()["detail"][0]["type"] == "uuid_parsing"
    body = {"threadIds": [ids[0], ids[1], ids[1].replace("-", ""), UNKNOWN]}
    assert (await call(vai, "POST", "/chat/threads/bulk-delete", json=body)).json() == {"deletedCount": 2}
    assert (await call(vai, "GET", f"/chat/threads/{ids[0]}")).status_code == 404
    assert (await call(vai, "POST", "/chat/threads/bulk-delete", json={})).json() == {"deletedCount": 0}
    everything = await call(vai, "POST", "/chat/threads/bulk-delete", json={"all": True, "threadIds": [ids[2]]})
    assert everything.json() == {"deletedCount": 2}
    assert (await call(vai, "GET", "/chat/threads")).json() == {"items": [], "nextCursor": None}


# --- auth and tenants ----------------------------------------------------------------------------


@pytest.mark.parametrize("credential", [{"Authorization": "Bearer k9"}, {"X-API-Key": "k9"}, {"vai_token": "k9"},
                                        {"Cookie": "vai_token=k9"}])
async def test_every_credential_form_names_the_same_tenant(mock_app, credential: dict) -> None:
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://mock{BASE}") as anonymous:
        refused = await call(anonymous, "GET", "/chat/threads")
        assert (refused.status_code, refused.json()) == (401, {"detail": "Not authenticated"})
        owner = httpx.AsyncClient(transport=transport, base_url=f"http://mock{BASE}", headers={"X-API-Key": "k9"})
        async with owner:
            thread = await new_thread(owner)
        found = await anonymous.get(f"/chat/threads/{thread['id']}", headers=credential)
        assert found.status_code == 200


async def test_another_key_sees_nothing(vai: httpx.AsyncClient, mock_app) -> None:
    thread = await new_thread(vai)
    await stream(vai, thread["id"], "private words")
    turn_id = (await call(vai, "GET", f"/chat/threads/{thread['id']}")).json()["lastTurnId"]
    attachment = (await call(vai, "POST", f"/chat/threads/{thread['id']}/attachments",
                             params={"artifact_id": str(uuid.uuid4())}, json={})).json()
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://mock{BASE}",
                                 headers={"Authorization": "Bearer key-2"}) as other:
        tid = thread["id"]
        for method, path, body in [("GET", f"/chat/threads/{tid}", None), ("PATCH", f"/chat/threads/{tid}", {}),
                                   ("GET", f"/chat/threads/{tid}/messages", None),
                                   ("GET", f"/chat/turns/{turn_id}", None),
                                   ("GET", f"/chat/attachments/{attachment['id']}", None),
                                   ("POST", f"/chat/threads/{tid}/feedback", {"rating": "negative"}),
                                   ("DELETE", f"/chat/threads/{tid}", None)]:
            assert (await call(other, method, path, json=body)).status_code == 404, (method, path)
        assert (await call(other, "POST", "/chat/threads/bulk-delete", json={"all": True})).json()["deletedCount"] == 0
        assert (await call(other, "GET", "/chat/threads")).json()["items"] == []
    assert (await call(vai, "GET", f"/chat/threads/{tid}")).status_code == 200


# --- FastAPI errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, kwargs, loc, kind", [
    ("GET", "/chat/threads", {"params": {"limit": "101"}}, ["query", "limit"], "less_than_equal"),
    ("GET", "/chat/threads", {"params": {"limit": "0"}}, ["query", "limit"], "greater_than_equal"),
    ("GET", "/chat/threads", {"params": {"limit": "many"}}, ["query", "limit"], "int_parsing"),
    ("GET", "/chat/threads", {"params": {"cursor": "not-a-cursor"}}, ["query", "cursor"], "value_error"),
    ("GET", "/chat/threads/not-a-uuid", {}, ["path", "thread_id"], "uuid_parsing"),
    ("GET", "/chat/turns/123", {}, ["path", "turn_id"], "uuid_parsing"),
    ("POST", "/chat/threads/{tid}/feedback", {"json": {}}, ["body", "rating"], "missing"),
    ("POST", "/chat/threads/{tid}/feedback", {"json": {"rating": "great"}}, ["body", "rating"], "enum"),
    ("POST", "/chat/threads/bulk-delete", {"json": {"threadIds": ["x"] * 101}}, ["body", "threadIds"], "too_long"),
    ("POST", "/chat/threads/bulk-delete", {"json": {"all": "maybe"}}, ["body", "all"], "bool_parsing"),
    ("POST", "/chat/threads", {"json": []}, ["body"], "model_attributes_type"),
    ("POST", "/chat/threads", {"content": b'{"title": ', "headers": {"content-type": "application/json"}},
     ["body", 10], "json_invalid"),
    ("POST", "/chat/threads/{tid}/attachments", {"json": {}}, ["query", "artifact_id"], "missing"),
    ("POST", "/chat/threads/{tid}/attachments", {"json": {}, "params": {"artifact_id": "x"}},
     ["query", "artifact_id"], "uuid_parsing"),
    ("GET", "/chat/threads/{tid}/attachments", {"params": {"offset": "-1"}}, ["query", "offset"],
     "greater_than_equal"),
    ("GET", "/chat/threads/{tid}/messages", {"params": {"limit": "201"}}, ["query", "limit"], "less_than_equal"),
    ("POST", "/chat/threads/{tid}/turns/stream", {"json": {"trigger": "submit-message", "id": "c", "messages": []}},
     ["body", "messages"], "too_short"),
    ("POST", "/chat/threads/{tid}/turns/stream", {"json": {**chat_request("x"), "messages": [
        {"id": "a", "role": "assistant", "parts": [{"type": "text", "text": "hi"}]}]}}, ["body", "messages"],
     "value_error"),
])
async def test_validation_errors_are_fastapi_422s(vai: httpx.AsyncClient, method, path, kwargs, loc, kind) -> None:
    thread = await new_thread(vai)
    response = await call(vai, method, path.format(tid=thread["id"]), **kwargs)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert (error["loc"], error["type"]) == (loc, kind)
    assert isinstance(error["msg"], str) and error["msg"]


async def test_other_errors_are_a_detail_string(vai: httpx.AsyncClient) -> None:
    for method, path, status, detail in [("GET", "/chat/nothing-here", 404, "Not Found"),
                                         ("PUT", "/chat/threads", 405, "Method Not Allowed"),
                                         ("GET", f"/chat/turns/{UNKNOWN}", 404, "Turn not found"),
                                         ("GET", f"/chat/attachments/{UNKNOWN}", 404, "Attachment not found")]:
        response = await vai.request(method, path)
        assert (response.status_code, response.json()) == (status, {"detail": detail})
        assert response.headers["content-type"] == "application/json"


# --- turns (in-process: the whole stream at once) ------------------------------------------------


async def test_a_streamed_turn_stores_both_messages_and_completes(vai: httpx.AsyncClient) -> None:
    thread = await new_thread(vai)
    frames = await stream(vai, thread["id"], "What is the capital of France?")
    kinds = [frame if frame == "[DONE]" else frame["type"] for frame in frames]
    assert kinds[:2] == ["start", "text-start"] and kinds[-3:] == ["text-end", "finish", "[DONE]"]
    assert set(kinds[2:-3]) == {"text-delta"} and len(kinds) - 5 >= 3
    reply = "".join(frame["delta"] for frame in frames[2:-3])
    messages = (await call(vai, "GET", f"/chat/threads/{thread['id']}/messages")).json()
    assert messages["nextCursor"] is None
    user, assistant = messages["items"]
    assert (user["role"], user["content"]) == ("user", "What is the capital of France?")
    assert (assistant["role"], assistant["content"], assistant["id"]) == ("assistant", reply, frames[0]["messageId"])
    assert user["format"] == assistant["format"] == "pydantic_ai"
    after = (await call(vai, "GET", f"/chat/threads/{thread['id']}")).json()
    assert after["lastTurnStatus"] == "completed" and after["crystallizeEligible"] is True
    assert after["lastMessagePreview"] == reply[:100] and after["lastMessageAt"] == assistant["createdAt"]
    turn = (await call(vai, "GET", f"/chat/turns/{after['lastTurnId']}")).json()
    assert turn["status"] == "completed" and turn["usage"] == frames[-2]["messageMetadata"]["usage"]
    assert (turn["inputMessageId"], turn["outputMessageId"]) == (user["id"], assistant["id"])
    assert turn["startedAt"] <= turn["completedAt"] and user["turnId"] == assistant["turnId"] == turn["id"]
    again = await stream(vai, thread["id"], "What is the capital of France?")
    assert "".join(f["delta"] for f in again if isinstance(f, dict) and f["type"] == "text-delta") == reply


async def test_message_cursor_walk_in_conversation_order(vai: httpx.AsyncClient) -> None:
    thread = await new_thread(vai)
    for n in range(3):
        await stream(vai, thread["id"], f"question {n}")
    contents, cursor = [], None
    while True:
        page = (await call(vai, "GET", f"/chat/threads/{thread['id']}/messages",
                           params={"limit": 4, **({"cursor": cursor} if cursor else {})})).json()
        contents += [(m["role"], m["content"].rsplit(" ", 2)[-2:]) for m in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [role for role, _ in contents] == ["user", "assistant"] * 3
    assert [words for _, words in contents][::2] == [["question", str(n)] for n in range(3)]


async def test_attachments_feedback_and_crystallize(vai: httpx.AsyncClient) -> None:
    thread = await new_thread(vai)
    tid = thread["id"]
    refused = await call(vai, "POST", f"/chat/threads/{tid}/crystallize", json={})
    assert refused.status_code == 400 and isinstance(refused.json()["detail"], str)
    await stream(vai, tid, "hello")
    message_id = (await call(vai, "GET", f"/chat/threads/{tid}/messages")).json()["items"][1]["id"]
    turn_id = (await call(vai, "GET", f"/chat/threads/{tid}")).json()["lastTurnId"]
    crystallized = await call(vai, "POST", f"/chat/threads/{tid}/crystallize", json={"name": "Daily"})
    assert crystallized.status_code == 200 and uuid.UUID(crystallized.json()["automationId"])

    artifact = str(uuid.uuid4())
    first = (await call(vai, "POST", f"/chat/threads/{tid}/attachments", params={"artifact_id": artifact},
                        json={"messageId": message_id})).json()
    second = (await call(vai, "POST", f"/chat/threads/{tid}/attachments", params={"artifact_id": artifact},
                         json={})).json()
    derived = ("originalFilename", "mimeType", "sizeBytes")
    assert [first[k] for k in derived] == [second[k] for k in derived], "same artifact, same file"
    assert (first["scope"], second["scope"], first["artifactId"]) == ("message", "thread", artifact)
    wrong = await call(vai, "POST", f"/chat/threads/{tid}/attachments", params={"artifact_id": artifact},
                       json={"messageId": UNKNOWN})
    assert wrong.status_code == 404
    listed = (await call(vai, "GET", f"/chat/threads/{tid}/attachments", params={"offset": 1, "limit": 5})).json()
    assert [a["id"] for a in listed] == [second["id"]]
    assert (await call(vai, "GET", f"/chat/attachments/{first['id']}")).json() == first
    assert (await call(vai, "DELETE", f"/chat/attachments/{first['id']}")).status_code == 204
    assert (await call(vai, "GET", f"/chat/attachments/{first['id']}")).status_code == 404

    feedback = await call(vai, "POST", f"/chat/threads/{tid}/feedback",
                          json={"rating": "positive", "messageId": message_id, "turnId": turn_id, "comment": "ok"})
    assert feedback.status_code == 200
    assert (feedback.json()["rating"], feedback.json()["turnId"]) == ("positive", turn_id)
    for foreign in ({"messageId": UNKNOWN}, {"turnId": UNKNOWN}):
        assert (await call(vai, "POST", f"/chat/threads/{tid}/feedback",
                           json={"rating": "negative", **foreign})).status_code == 404


async def test_cancel_without_an_active_turn_is_409(vai: httpx.AsyncClient) -> None:
    thread = await new_thread(vai)
    response = await call(vai, "POST", f"/chat/threads/{thread['id']}/turns/cancel", json={})
    assert (response.status_code, response.json()) == (409, {"detail": "No active turn to cancel"})


# --- turns over a real connection ----------------------------------------------------------------

LONG_PROMPT = "Tell me everything about rivers. " + " ".join(f"word{n}" for n in range(300))


async def read_frames(response: httpx.Response):
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            payload = line[len("data: "):]
            yield payload if payload == "[DONE]" else json.loads(payload)


async def test_stream_arrives_incrementally_and_blocks_a_second_turn(mock_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"{mock_server}{BASE}", headers={"X-API-Key": "stream-key"},
                                 timeout=30) as client:
        tid = (await client.post("/chat/threads", json={})).json()["id"]
        async with client.stream("POST", f"/chat/threads/{tid}/turns/stream", json=chat_request(LONG_PROMPT)) as live:
            frames = read_frames(live)
            assert (await anext(frames))["type"] == "start"
            while (await anext(frames))["type"] != "text-delta":
                pass
            during = (await client.get(f"/chat/threads/{tid}")).json()
            assert during["lastTurnStatus"] == "running", "the first delta arrived while the turn was still running"
            blocked = await client.post(f"/chat/threads/{tid}/turns/stream", json=chat_request("me too"))
            assert blocked.status_code == 409 and isinstance(blocked.json()["detail"], str)
            rest = [frame async for frame in frames]
        assert rest[-1] == "[DONE]" and rest[-2]["type"] == "finish"
        assert (await client.get(f"/chat/threads/{tid}")).json()["lastTurnStatus"] == "completed"


async def test_cancel_mid_stream_keeps_the_partial_text(mock_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"{mock_server}{BASE}", headers={"X-API-Key": "cancel-key"},
                                 timeout=30) as client:
        tid = (await client.post("/chat/threads", json={})).json()["id"]
        received = ""
        async with client.stream("POST", f"/chat/threads/{tid}/turns/stream", json=chat_request(LONG_PROMPT)) as live:
            frames = read_frames(live)
            async for frame in frames:
                if isinstance(frame, dict) and frame["type"] == "text-delta":
                    received += frame["delta"]
                    if len(received) > 40:
                        break
            cancelled = await client.post(f"/chat/threads/{tid}/turns/cancel", json={"partialText": received})
            assert cancelled.status_code == 204
            rest = [frame async for frame in frames]
        assert rest[-1] == "[DONE]" and {"type": "abort"} in rest and not any(
            isinstance(f, dict) and f["type"] in ("text-end", "finish") for f in rest)
        thread = (await client.get(f"/chat/threads/{tid}")).json()
        turn = (await client.get(f"/chat/turns/{thread['lastTurnId']}")).json()
        assert thread["lastTurnStatus"] == turn["status"] == "cancelled" and thread["crystallizeEligible"] is False
        messages = (await client.get(f"/chat/threads/{tid}/messages")).json()["items"]
        assert [(m["role"], m["content"]) for m in messages][-1] == ("assistant", received)
        assert turn["outputMessageId"] == messages[-1]["id"]
        again = await client.post(f"/chat/threads/{tid}/turns/cancel", json={})
        assert again.status_code == 409


async def test_a_client_that_leaves_mid_stream_still_gets_its_turn_completed(mock_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"{mock_server}{BASE}", headers={"X-API-Key": "leave-key"},
                                 timeout=30) as client:
        tid = (await client.post("/chat/threads", json={})).json()["id"]
        async with client.stream("POST", f"/chat/threads/{tid}/turns/stream", json=chat_request(LONG_PROMPT)) as live:
            async for frame in read_frames(live):
                if frame != "[DONE]" and frame["type"] == "text-delta":
                    break
        for _ in range(100):
            thread = (await client.get(f"/chat/threads/{tid}")).json()
            if thread["lastTurnStatus"] == "completed":
                break
            await anyio.sleep(0.05)
        assert thread["lastTurnStatus"] == "completed"
        messages = (await client.get(f"/chat/threads/{tid}/messages")).json()["items"]
        assert messages[-1]["role"] == "assistant" and messages[-1]["content"].endswith("word299")


async def test_metadata_round_trips_exactly_including_integers_beyond_64_bits(vai: httpx.AsyncClient) -> None:
    metadata = {"big": 2**100, "edge": 2**63 - 1, "negative": -(10**25), "ratio": 0.1, "nested": {"list": [1, "a"]}}
    thread = await new_thread(vai, metadata=metadata)
    assert thread["metadata"] == metadata
    fetched = await call(vai, "GET", f"/chat/threads/{thread['id']}")
    assert json.loads(fetched.text)["metadata"] == metadata
