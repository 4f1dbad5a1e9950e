"""The Noxus family of the mock: page/size lists, blocking and streamed replies, etags and events, FastAPI errors.

Plain requests run in-process (runs with no delay between deltas) and every response is checked against
the contract with openapi-core. What needs a run still in progress runs against the mock as a real server
process, reading streams over real connections as they arrive (httpx's in-process transport buffers the
whole response).
"""

from __future__ import annotations

import json
import typing as t
import uuid

import httpx
import pytest

from mockserver.app import MockApp
from mockserver.families.noxus import FAMILY, MAX_DELTAS, REPLY_PREAMBLE, reply_deltas, reply_to
from mockserver.quota import Limits, Usage
from mockserver.store import MemoryStore
from tests.contract import assert_conforms
from tests.servers import running_server

pytestmark = pytest.mark.anyio
SPEC = "noxus-conversations.yaml"
BASE = "/noxus/v1/conversations"
SETTINGS = {"model": ["preset:cost"], "temperature": 0.4, "max_tokens": 64000,
            "tools": [{"type": "web_research", "enabled": True}]}
LONG_PROMPT = "Tell me everything about agents. " + " ".join(f"word{n}" for n in range(150))
STREAM_DELAY = "0.02"  # a long reply is about 55 deltas: its run lasts over a second


@pytest.fixture(scope="module")
def live_mock() -> t.Iterator[str]:
    """The mock as a server process whose runs last long enough to act while they stream."""
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0", "--family", "noxus",
                        "--stream-delay", STREAM_DELAY) as url:
        yield url


@pytest.fixture
async def nx(mock_app, monkeypatch) -> t.AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    transport = httpx.ASGITransport(app=mock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock",
                                 headers={"X-API-Key": "key-1"}) as client:
        yield client


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: t.Any) -> httpx.Response:
    response = await client.request(method, path, **kwargs)
    assert response.headers.get("x-request-id", "").startswith("req_")
    assert_conforms(SPEC, response)
    return response


async def create(client: httpx.AsyncClient, name: str = "Demo", settings: t.Any = SETTINGS, **params: str) -> dict:
    response = await call(client, "POST", BASE, json={"name": name, "settings": settings}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def add_message(client: httpx.AsyncClient, conversation_id: str, content: str | None = "Hello") -> dict:
    response = await call(client, "POST", f"{BASE}/{conversation_id}", json={"content": content})
    assert response.status_code == 200, response.text
    return response.json()


def frames_of(raw: str) -> list[dict[str, str]]:
    """The SSE frames of a body, each as its fields (``id``, ``event``, ``data``)."""
    frames = []
    for block in raw.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            frames.append(fields)
    return frames


def text_of_vercel(frames: list[dict[str, str]]) -> str:
    chunks = [json.loads(f["data"]) for f in frames if f["data"] != "[DONE]"]
    return "".join(c["delta"] for c in chunks if c["type"] == "text-delta")


def text_of_json(frames: list[dict[str, str]]) -> str:
    envelopes = [json.loads(f["data"]) for f in frames if f.get("event") == "message"]
    return "".join(e["data"]["delta"] for e in envelopes if e["event"] == "text-delta")


def reply_text(message: dict) -> str:
    return message["message_parts"][0]["content"]


# --- auth and the SDK's start-up calls -----------------------------------------------------------


async def test_a_missing_key_is_fastapis_401_challenging_an_api_key(nx: httpx.AsyncClient) -> None:
    response = await call(nx, "GET", BASE, headers={"X-API-Key": ""})
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "APIKey"
    bearer = await call(nx, "GET", BASE, headers={"X-API-Key": "", "Authorization": "Bearer key-1"})
    assert bearer.status_code == 401  # Noxus reads X-API-Key only


async def test_the_sdk_start_up_calls_answer_outside_the_contract(nx: httpx.AsyncClient) -> None:
    nodes = await nx.get("/noxus/v1/nodes")
    assert nodes.status_code == 200 and nodes.json() == []
    me = (await nx.get("/noxus/v1/admin/me")).json()
    assert me["tenant_admin"] is False and uuid.UUID(me["id"]) and "key-1" not in json.dumps(me)
    assert (await nx.get("/noxus/v1/admin/me", headers={"X-API-Key": ""})).status_code == 401


# --- create, get, update, delete -----------------------------------------------------------------


async def test_create_round_trips_both_generations_of_settings_and_unknown_tools(nx: httpx.AsyncClient) -> None:
    current = {**SETTINGS, "tools": [{"type": "a_tool_from_the_future", "enabled": False, "knob": [1, {"x": None}]}],
               "pii_lock": True, "guardrail_action": {"value": "flag", "label": "Flag"}}
    made = await create(nx, "Current", current)
    assert made["settings"] == current and made["messages"] == [] and made["status"] == "idle"
    assert made["assistant_id"] is None and made["etag"] and made["created_at"] == made["last_updated_at"]
    older = {"model_selection": ["gpt-4o"], "temperature": 0.2, "max_tokens": 10, "extra_instructions": "Be brief",
             "tools": [{"name": "Web Research", "description": "Search the web", "enabled": True,
                        "type": "web_research"}]}
    assert (await create(nx, "Older", older))["settings"] == older
    fetched = await call(nx, "GET", f"{BASE}/{made['id']}")
    assert fetched.json() == made


async def test_any_well_formed_agent_id_is_an_agent_of_the_workspace(nx: httpx.AsyncClient) -> None:
    agent = str(uuid.uuid4())
    made = await create(nx, "For an agent", None, assistant_id=agent.upper())
    assert made["assistant_id"] == agent and made["settings"]["model"] == ["preset:cost"]
    assert made["settings"]["tools"] == []
    both = await create(nx, "Both", SETTINGS, assistant_id=agent)  # the mock's choice: accepted
    assert both["assistant_id"] == agent and both["settings"] == SETTINGS
    neither = await call(nx, "POST", BASE, json={"name": "Neither"})
    assert neither.status_code == 200 and neither.json()["settings"]["model"] == ["preset:cost"]


async def test_update_renames_replaces_settings_and_moves_the_etag(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    renamed = await call(nx, "PATCH", f"{BASE}/{made['id']}", json={"name": "Renamed", "settings": None})
    body = renamed.json()
    assert renamed.status_code == 200 and body["name"] == "Renamed" and body["settings"] == SETTINGS
    assert body["etag"] != made["etag"] and body["last_updated_at"] > made["last_updated_at"]
    new_settings = {"model": ["preset:quality"], "temperature": 1, "tools": []}
    replaced = (await call(nx, "PATCH", f"{BASE}/{made['id']}", json={"settings": new_settings})).json()
    assert replaced["settings"] == new_settings and replaced["name"] == "Renamed"
    unchanged = (await call(nx, "PATCH", f"{BASE}/{made['id']}", json={"name": None})).json()
    assert unchanged["etag"] == replaced["etag"]
    assert (await call(nx, "GET", f"{BASE}/{made['id']}")).json() == unchanged


async def test_delete_answers_json_and_forgets_everything(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    await add_message(nx, made["id"])
    deleted = await call(nx, "DELETE", f"{BASE}/{made['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"id": made["id"], "deleted": True}
    for method in ("GET", "DELETE", "PATCH", "POST"):
        body = {"content": "x"} if method == "POST" else {"name": "x"} if method == "PATCH" else None
        gone = await call(nx, method, f"{BASE}/{made['id']}", json=body)
        assert gone.status_code == 404 and gone.json() == {"detail": "Conversation not found"}
    assert (await call(nx, "GET", BASE)).json()["total"] == 0


async def test_another_keys_conversation_is_404_everywhere(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    await add_message(nx, made["id"])
    other = {"X-API-Key": "key-2"}
    for method, path, body in [("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None),
                               ("POST", "", {"content": "x"}), ("POST", "/chat", {"content": "x"}),
                               ("POST", "/stream", {"content": "x"}), ("GET", "/events", None)]:
        response = await call(nx, method, f"{BASE}/{made['id']}{path}", json=body, headers=other)
        assert response.status_code == 404, (method, path)
    assert (await call(nx, "GET", BASE, headers=other)).json()["total"] == 0
    assert len((await call(nx, "GET", f"{BASE}/{made['id']}")).json()["messages"]) == 2


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "kwargs", "loc", "kind"), [
    ("GET", "", {"params": {"size": 0}}, ["query", "size"], "greater_than_equal"),
    ("GET", "", {"params": {"size": 101}}, ["query", "size"], "less_than_equal"),
    ("GET", "", {"params": {"page": 0}}, ["query", "page"], "greater_than_equal"),
    ("GET", "", {"params": {"page": "two"}}, ["query", "page"], "int_parsing"),
    ("POST", "", {"json": {"settings": None}}, ["body", "name"], "missing"),
    ("POST", "", {"json": {"name": "x", "settings": {"temperature": 1, "tools": []}}},
     ["body", "settings", "model"], "missing"),
    ("POST", "", {"json": {"name": "x", "settings": {"model": ["m"], "tools": []}}},
     ["body", "settings", "temperature"], "missing"),
    ("POST", "", {"json": {"name": "x", "settings": {"model": ["m"], "temperature": 1, "tools": [{}]}}},
     ["body", "settings", "tools", 0, "type"], "missing"),
    ("POST", "", {"json": {"name": "x"}, "params": {"assistant_id": "agent-7"}}, ["query", "assistant_id"],
     "uuid_parsing"),
])
async def test_bad_input_is_fastapis_422(nx: httpx.AsyncClient, method: str, path: str, kwargs: dict,
                                         loc: list, kind: str) -> None:
    response = await call(nx, method, BASE + path, **kwargs)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == loc and detail[0]["type"] == kind, detail


@pytest.mark.parametrize(("suffix", "body", "loc", "kind"), [
    ("", {}, ["body", "content"], "missing"),
    ("/chat", {"content": "x", "tool": "weather"}, ["body", "tool"], "enum"),
    ("/stream", {"content": "x", "files": [{"name": "a.txt", "url": None}]}, ["body", "files", 0], "value_error"),
    ("", {"content": "x", "files": [{"url": "https://example.com/a.txt"}]}, ["body", "files", 0, "name"], "missing"),
    ("/chat", {"content": 7}, ["body", "content"], "string_type"),
])
async def test_a_bad_message_is_422_and_stores_nothing(nx: httpx.AsyncClient, suffix: str, body: dict, loc: list,
                                                       kind: str) -> None:
    made = await create(nx)
    response = await call(nx, "POST", f"{BASE}/{made['id']}{suffix}", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc and response.json()["detail"][0]["type"] == kind
    assert (await call(nx, "GET", f"{BASE}/{made['id']}")).json() == made


async def test_a_path_id_that_is_not_a_uuid_is_422(nx: httpx.AsyncClient) -> None:
    response = await call(nx, "GET", f"{BASE}/conv-1")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "conversation_id"]
    assert response.json()["detail"][0]["type"] == "uuid_parsing"


# --- replies -------------------------------------------------------------------------------------


async def test_add_message_returns_the_conversation_with_both_messages_last(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    first = await add_message(nx, made["id"], "What  is\nNoxus?")
    user, reply = first["messages"]
    assert reply_text(user) == "What  is\nNoxus?" and user["message_parts"][0]["role"] == "user"
    assert reply["message_parts"][0]["role"] == "assistant"
    assert reply_text(reply) == REPLY_PREAMBLE + "What is Noxus?"
    assert reply["pydantic_message_parts"][0]["kind"] == "response"
    assert user["pydantic_message_parts"][0]["parts"][0]["part_kind"] == "user-prompt"
    assert first["etag"] != made["etag"] and first["last_updated_at"] > made["last_updated_at"]
    assert first["status"] == "idle"
    second = await add_message(nx, made["id"], "And again?")
    assert second["messages"][:2] == first["messages"] and len(second["messages"]) == 4
    assert second["etag"] not in (first["etag"], made["etag"])
    assert (await call(nx, "GET", f"{BASE}/{made['id']}")).json() == second


async def test_chat_returns_only_this_turns_reply_and_stores_it(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    await add_message(nx, made["id"], "earlier")
    response = await call(nx, "POST", f"{BASE}/{made['id']}/chat", json={"content": "now", "tool": "web_research"})
    chat = response.json()
    stored = (await call(nx, "GET", f"{BASE}/{made['id']}")).json()
    assert len(stored["messages"]) == 4 and stored["messages"][-1]["id"] == chat["id"]
    assert chat["parts"] == stored["messages"][-1]["pydantic_message_parts"]
    assert chat["parts"][0]["parts"][0]["content"] == REPLY_PREAMBLE + "now"
    assert stored["messages"][-2]["message_parts"][0]["tool"] == "web_research"


async def test_a_message_of_files_only_is_stored_without_their_content(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    files = [{"name": "a.txt", "b64_content": "aGVsbG8=", "size": 5, "type": "text/plain", "status": "success"},
             {"name": "b.pdf", "url": "https://example.com/b.pdf"}]
    user, reply = (await add_message_with(nx, made["id"], {"content": None, "files": files}))["messages"]
    stored = user["message_parts"][0]["files"]
    assert [f["name"] for f in stored] == ["a.txt", "b.pdf"] and all("b64_content" not in f for f in stored)
    assert stored[1]["url"] == "https://example.com/b.pdf" and all(uuid.UUID(f["id"]) for f in stored)
    assert reply_text(user) == "" and reply_text(reply).startswith(REPLY_PREAMBLE)


async def add_message_with(client: httpx.AsyncClient, conversation_id: str, body: dict) -> dict:
    response = await call(client, "POST", f"{BASE}/{conversation_id}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("fmt", [None, "vercel"])
async def test_a_vercel_stream_is_the_ui_message_stream_of_the_stored_reply(nx: httpx.AsyncClient,
                                                                           fmt: str | None) -> None:
    made = await create(nx)
    params = {"format": fmt} if fmt else {}
    response = await call(nx, "POST", f"{BASE}/{made['id']}/stream", json={"content": "Stream me"}, params=params)
    assert response.status_code == 200 and response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    frames = frames_of(response.text)
    assert frames[-1] == {"data": "[DONE]"}
    types = [json.loads(f["data"])["type"] for f in frames[:-1]]
    deltas = types.count("text-delta")
    assert deltas > 1 and types == ["start", "start-step", "text-start", *["text-delta"] * deltas, "text-end",
                                    "finish-step", "finish"]
    stored = (await call(nx, "GET", f"{BASE}/{made['id']}")).json()
    assert text_of_vercel(frames) == reply_text(stored["messages"][-1])
    assert json.loads(frames[0]["data"])["messageId"] == stored["messages"][-1]["id"]
    run_etag = frames[0]["id"].rsplit("-", 1)[0]
    assert [f.get("id") for f in frames[:-1]] == [f"{run_etag}-{n}" for n in range(1, len(frames))]
    assert stored["etag"] != run_etag and stored["status"] == "idle"


async def test_a_json_stream_wraps_every_chunk_and_ends_with_done(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    response = await call(nx, "POST", f"{BASE}/{made['id']}/stream", json={"content": "Stream me"},
                          params={"format": "json"})
    assert response.status_code == 200 and "x-vercel-ai-ui-message-stream" not in response.headers
    frames = frames_of(response.text)
    assert frames[-1] == {"event": "done", "data": "{}"}
    assert all(f["event"] == "message" for f in frames[:-1])
    envelopes = [json.loads(f["data"]) for f in frames[:-1]]
    assert all(set(e) == {"event", "data"} and "type" not in e["data"] for e in envelopes)
    assert envelopes[0]["event"] == "start" and envelopes[-1] == {"event": "finish", "data": {"finishReason": "stop"}}
    stored = (await call(nx, "GET", f"{BASE}/{made['id']}")).json()
    assert text_of_json(frames) == reply_text(stored["messages"][-1])


async def test_events_without_a_run_is_only_the_terminator(nx: httpx.AsyncClient) -> None:
    made = await create(nx)
    for fmt, expected in (("json", [{"event": "done", "data": "{}"}]), ("vercel", [{"data": "[DONE]"}])):
        response = await call(nx, "GET", f"{BASE}/{made['id']}/events", params={"format": fmt, "etag": made["etag"]})
        assert response.status_code == 200 and frames_of(response.text) == expected


def test_a_long_reply_comes_in_at_most_max_deltas_deltas() -> None:
    for words in (1, 10, 3 * MAX_DELTAS, 50_000):
        reply = reply_to(" ".join(f"w{n}" for n in range(words)))
        deltas = reply_deltas(reply)
        assert "".join(deltas) == reply and 1 < len(deltas) <= MAX_DELTAS


def capped(tenant_records: int) -> MockApp:
    limits = Limits(tenant_records=tenant_records, tenant_bytes=None, total_records=None, total_bytes=None)
    return MockApp([FAMILY], store_factory=lambda: MemoryStore(limits, total=Usage()))


async def test_a_message_past_the_storage_cap_is_429_and_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    app = capped(tenant_records=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock",
                                 headers={"X-API-Key": "key-1"}) as client:
        made = await create(client)
        for path in ("", "/chat", "/stream"):
            refused = await call(client, "POST", f"{BASE}/{made['id']}{path}", json={"content": "hi"})
            assert refused.status_code == 429 and isinstance(refused.json()["detail"], str)
        assert (await call(client, "GET", f"{BASE}/{made['id']}")).json() == made
        assert (await call(client, "GET", BASE)).json()["total"] == 0
        assert app.stores["noxus"].usage("key-1").records == 1


async def test_a_reply_that_no_longer_fits_when_it_ends_is_429(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    app = capped(tenant_records=2)
    monkeypatch.setattr(app.stores["noxus"], "check_room", lambda *args: None)  # room when the run starts
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock",
                                 headers={"X-API-Key": "key-1"}) as client:
        made = await create(client)
        refused = await call(client, "POST", f"{BASE}/{made['id']}", json={"content": "hi"})
        assert refused.status_code == 429 and "at most 2 records" in refused.json()["detail"]
        after = (await call(client, "GET", f"{BASE}/{made['id']}")).json()
        assert after["status"] == "idle" and len(after["messages"]) == 1 and after["etag"] != made["etag"]
        await call(client, "DELETE", f"{BASE}/{made['id']}")
        again = await create(client)
        streamed = await call(client, "POST", f"{BASE}/{again['id']}/stream", params={"format": "json"},
                              json={"content": "hi"})
        envelopes = [json.loads(f["data"]) for f in frames_of(streamed.text) if f.get("event") == "message"]
        assert [e["event"] for e in envelopes][-3:] == ["error", "finish-step", "finish"]
        assert envelopes[-1]["data"] == {"finishReason": "error"}


# --- pages ---------------------------------------------------------------------------------------


async def test_list_hides_conversations_without_messages(nx: httpx.AsyncClient) -> None:
    first, second = await create(nx, "one"), await create(nx, "two")
    empty = (await call(nx, "GET", BASE)).json()
    assert empty == {"items": [], "total": 0, "page": 1, "size": 50, "pages": 0}
    await add_message(nx, first["id"])
    listed = (await call(nx, "GET", BASE)).json()
    assert [c["id"] for c in listed["items"]] == [first["id"]] and listed["total"] == 1 and listed["pages"] == 1
    item = listed["items"][0]
    assert len(item["messages"]) == 2 and uuid.UUID(item["user_id"]) and uuid.UUID(item["api_key_id"])
    await add_message(nx, second["id"])
    assert (await call(nx, "GET", BASE)).json()["total"] == 2


async def test_pages_are_exact_most_recently_updated_first(nx: httpx.AsyncClient) -> None:
    made = [await create(nx, f"c{n}") for n in range(5)]
    for conversation in made:
        await add_message(nx, conversation["id"])
    await call(nx, "PATCH", f"{BASE}/{made[1]['id']}", json={"name": "moved to the front"})
    expected = [made[1]["id"], made[4]["id"], made[3]["id"], made[2]["id"], made[0]["id"]]
    seen = []
    for page in (1, 2, 3):
        body = (await call(nx, "GET", BASE, params={"page": page, "size": 2, "page_size": 99})).json()
        assert (body["total"], body["page"], body["size"], body["pages"]) == (5, page, 2, 3)
        seen += [c["id"] for c in body["items"]]
    assert seen == expected
    past = (await call(nx, "GET", BASE, params={"page": 4, "size": 2})).json()
    assert past == {"items": [], "total": 5, "page": 4, "size": 2, "pages": 3}
    whole = (await call(nx, "GET", BASE, params={"size": 100})).json()
    assert [c["id"] for c in whole["items"]] == expected and whole["pages"] == 1


# --- runs in progress (a real server) ------------------------------------------------------------


def live_client(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30)


async def sse_frames(response: httpx.Response) -> t.AsyncIterator[dict[str, str]]:
    """The frames of a stream as they arrive."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in fields:
                yield fields
            fields = {}
        elif ": " in line:
            name, value = line.split(": ", 1)
            fields[name] = value


async def test_while_a_reply_streams_other_messages_and_delete_are_409(live_mock: str) -> None:
    async with live_client(live_mock, "nx-busy") as client:
        made = (await client.post(BASE, json={"name": "busy", "settings": SETTINGS})).json()
        url = f"{BASE}/{made['id']}"
        async with client.stream("POST", f"{url}/stream", json={"content": LONG_PROMPT},
                                 params={"format": "json"}) as live:
            frames = sse_frames(live)
            assert json.loads((await anext(frames))["data"])["event"] == "start"
            during = (await client.get(url)).json()
            assert during["status"] == "running" and len(during["messages"]) == 1
            assert during["etag"] != made["etag"]
            for path, body in (("", {"content": "x"}), ("/chat", {"content": "x"}), ("/stream", {"content": "x"})):
                busy = await client.post(url + path, json=body)
                assert busy.status_code == 409 and busy.json() == {
                    "detail": "A reply is already being generated for this conversation"}
            assert (await client.delete(url)).status_code == 409
            renamed = await client.patch(url, json={"name": "renamed mid-run"})
            assert renamed.status_code == 200
            rest = [frame async for frame in frames]
        assert rest[-1] == {"event": "done", "data": "{}"}
        after = (await client.get(url)).json()
        assert after["status"] == "idle" and after["name"] == "renamed mid-run" and len(after["messages"]) == 2
        assert (await client.post(url, json={"content": "now it is free"})).status_code == 200


async def test_events_joins_a_run_mid_way_from_an_etag(live_mock: str) -> None:
    async with live_client(live_mock, "nx-events") as client:
        made = (await client.post(BASE, json={"name": "tail", "settings": SETTINGS})).json()
        url = f"{BASE}/{made['id']}"
        async with client.stream("POST", f"{url}/stream", json={"content": LONG_PROMPT}) as live:
            frames = sse_frames(live)
            seen = [await anext(frames) for _ in range(6)]
            run_etag = (await client.get(url)).json()["etag"]
            assert seen[0]["id"] == f"{run_etag}-1"
            # both join while the run goes on; each is then read to its end
            events = f"{url}/events"
            async with client.stream("GET", events, params={"format": "json", "etag": seen[4]["id"]}) as tail, \
                    client.stream("GET", events, params={"format": "json", "etag": run_etag}) as whole:
                resumed = [frame async for frame in sse_frames(tail)]
                from_start = [frame async for frame in sse_frames(whole)]
            original = seen + [frame async for frame in frames]
        assert original[-1] == {"data": "[DONE]"} and from_start[-1] == resumed[-1] == {"event": "done", "data": "{}"}
        assert [f["id"] for f in resumed[:-1]] == [f["id"] for f in original[5:-1]]
        assert [f["id"] for f in from_start[:-1]] == [f["id"] for f in original[:-1]]
        assert [json.loads(f["data"]) for f in from_start[:-1]] == [
            {"event": chunk["type"], "data": {k: v for k, v in chunk.items() if k != "type"}}
            for chunk in (json.loads(f["data"]) for f in original[:-1])]
        stored = (await client.get(url)).json()["messages"][-1]
        assert text_of_json(from_start) == text_of_vercel(original) == reply_text(stored)


async def test_a_blocking_reply_completes_when_its_client_leaves(live_mock: str) -> None:
    async with live_client(live_mock, "nx-leave") as client:
        made = (await client.post(BASE, json={"name": "leave", "settings": SETTINGS})).json()
        url = f"{BASE}/{made['id']}"
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url, json={"content": LONG_PROMPT}, timeout=httpx.Timeout(30, read=0.2))
        async with client.stream("GET", f"{url}/events", params={"format": "vercel"}) as tail:
            assert tail.headers["x-vercel-ai-ui-message-stream"] == "v1"
            frames = [frame async for frame in sse_frames(tail)]
        assert frames[-1] == {"data": "[DONE]"}
        after = (await client.get(url)).json()
        assert after["status"] == "idle" and len(after["messages"]) == 2
        assert reply_text(after["messages"][-1]) == text_of_vercel(frames)
