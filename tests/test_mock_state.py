"""What the mock keeps: deletes free everything they delete, reads create nothing, caps refuse writes.

Every family is driven in-process; the assertions look into the app's stores (``MockApp.stores``) for the
sizes the issue asks about, and check each refusal against the contract and the family's envelope.
"""

from __future__ import annotations

import httpx
import pytest

from mockserver.app import MockApp, create_app
from mockserver.families import discover
from mockserver.quota import Limits, Usage
from mockserver.store import MemoryStore
from tests.contract import assert_conforms
from tests.servers import running_server

pytestmark = pytest.mark.anyio
OPENAI, VAI = "/openai/v1", "/virtuousai/api/v1"
OPENAI_SPEC, VAI_SPEC = "openai-conversations.yaml", "virtuousai-chat.yaml"
KEY = "state-key"


def client_for(app: MockApp, base: str, key: str = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://mock{base}",
                             headers={"Authorization": f"Bearer {key}"})


def capped_app(**caps: int | None) -> MockApp:
    limits = Limits(**{"tenant_records": None, "tenant_bytes": None, "total_records": None, "total_bytes": None,
                       **caps})
    total = Usage()
    return MockApp(list(discover().values()), store_factory=lambda: MemoryStore(limits, total=total))


def chat_request(text: str) -> dict:
    return {"trigger": "submit-message", "id": "chat-1",
            "messages": [{"id": "m-1", "role": "user", "parts": [{"type": "text", "text": text}]}]}


# --- deletes free what they delete ---------------------------------------------------------------


async def test_a_deleted_conversations_items_cannot_be_referenced_and_nothing_of_it_stays(monkeypatch) -> None:
    app = create_app()
    store = app.stores["openai"]
    async with client_for(app, OPENAI) as client:
        kept = (await client.post("/conversations", json={"items": [{"role": "user", "content": "keep"}]})).json()
        kept_index = len(store.find(KEY, "items"))
        items = [{"role": "user", "content": "secret " + "s" * 1000} for _ in range(20)]
        doomed = (await client.post("/conversations", json={"items": items})).json()
        listed = (await client.get(f"/conversations/{doomed['id']}/items", params={"limit": 1})).json()
        item_id = listed["data"][0]["id"]
        assert (await client.delete(f"/conversations/{doomed['id']}")).status_code == 200

        refused = await client.post(f"/conversations/{kept['id']}/items",
                                    json={"items": [{"type": "item_reference", "id": item_id}]})
        assert_conforms(OPENAI_SPEC, refused)
        assert refused.status_code == 404 and "secret" not in refused.text
        assert refused.json()["error"]["message"] == f"Item with id '{item_id}' not found."
        assert refused.json()["error"]["param"] == "items[0].id"

    assert len(store.find(KEY, "items")) == kept_index == 1, "the item index holds only the kept conversation's item"
    assert store.usage(KEY).records == 2, "the kept conversation and its item"
    assert store.find(KEY, f"conversation-items/{doomed['id']}") is None


async def test_a_deleted_item_cannot_be_referenced(openai_client: httpx.AsyncClient) -> None:
    one = {"items": [{"role": "user", "content": "x"}]}
    conversation = (await openai_client.post("/conversations", json=one)).json()
    item_id = (await openai_client.get(f"/conversations/{conversation['id']}/items")).json()["data"][0]["id"]
    assert (await openai_client.delete(f"/conversations/{conversation['id']}/items/{item_id}")).status_code == 200
    refused = await openai_client.post("/conversations", json={"items": [{"type": "item_reference", "id": item_id}]})
    assert refused.status_code == 404 and refused.json()["error"]["param"] == "items[0].id"


async def test_deleting_a_thread_frees_its_messages_turns_attachments_and_feedback() -> None:
    app = create_app()
    store = app.stores["virtuousai"]
    async with client_for(app, VAI) as client:
        tid = (await client.post("/chat/threads", json={"title": "doomed"})).json()["id"]
        streamed = await client.post(f"/chat/threads/{tid}/turns/stream", json=chat_request("hello there"))
        assert streamed.status_code == 200
        thread = (await client.get(f"/chat/threads/{tid}")).json()
        assert thread["lastTurnStatus"] == "completed"
        artifact = "3f1b2a40-1111-4222-8333-444455556666"
        attachment = (await client.post(f"/chat/threads/{tid}/attachments", params={"artifact_id": artifact},
                                        json={})).json()
        feedback = await client.post(f"/chat/threads/{tid}/feedback",
                                     json={"rating": "positive", "turnId": thread["lastTurnId"]})
        assert feedback.status_code == 200
        assert store.usage(KEY).records == 6  # thread, turn, its two messages, attachment, feedback
        assert (await client.delete(f"/chat/threads/{tid}")).status_code == 204
        assert (await client.get(f"/chat/turns/{thread['lastTurnId']}")).status_code == 404
        assert (await client.get(f"/chat/attachments/{attachment['id']}")).status_code == 404
    assert store.usage(KEY) == Usage(0, 0)
    for name in ("turns", "attachments", f"messages/{tid}", f"turns/{tid}", f"attachments/{tid}", f"feedback/{tid}"):
        assert store.find(KEY, name) is None, name
    assert len(store.find(KEY, "threads") or []) == 0


# --- reads create nothing ------------------------------------------------------------------------

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


async def test_requests_by_unknown_keys_that_only_read_leave_no_state() -> None:
    app = create_app()
    for n in range(5):
        async with client_for(app, OPENAI, f"reader-{n}") as client:
            assert (await client.get("/conversations/conv_unknown")).status_code == 404
            assert (await client.get("/conversations/conv_unknown/items")).status_code == 404
            assert (await client.get("/conversations/conv_unknown/items/msg_x")).status_code == 404
            assert (await client.delete("/conversations/conv_unknown")).status_code == 404
            assert (await client.delete("/conversations/conv_unknown/items/msg_x")).status_code == 404
            assert (await client.post("/conversations/conv_unknown/items",
                                      json={"items": [{"role": "user", "content": "x"}]})).status_code == 404
        async with client_for(app, VAI, f"reader-{n}") as client:
            assert (await client.get("/chat/threads")).status_code == 200
            for path in (f"/chat/threads/{UNKNOWN_UUID}", f"/chat/threads/{UNKNOWN_UUID}/messages",
                         f"/chat/turns/{UNKNOWN_UUID}", f"/chat/attachments/{UNKNOWN_UUID}",
                         f"/chat/threads/{UNKNOWN_UUID}/attachments"):
                assert (await client.get(path)).status_code == 404, path
            assert (await client.delete(f"/chat/attachments/{UNKNOWN_UUID}")).status_code == 404
            assert (await client.post(f"/chat/threads/{UNKNOWN_UUID}/turns/cancel", json={})).status_code == 404
            assert (await client.post("/chat/threads/bulk-delete", json={"all": True})).status_code == 200
    for store in app.stores.values():
        assert list(store.tenants()) == []


# --- caps -------------------------------------------------------------------------------------------


async def test_openai_refuses_past_the_cap_with_insufficient_quota_and_stores_nothing_of_it() -> None:
    app = capped_app(tenant_records=4)
    store = app.stores["openai"]
    async with client_for(app, OPENAI) as client:
        two = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
        conversation = (await client.post("/conversations", json={"items": two})).json()
        refused = await client.post(f"/conversations/{conversation['id']}/items", json={"items": two})
        assert_conforms(OPENAI_SPEC, refused)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("insufficient_quota", "insufficient_quota", None)
        assert error["message"].startswith("You exceeded your current quota")
        assert len((await client.get(f"/conversations/{conversation['id']}/items")).json()["data"]) == 2
        assert store.usage(KEY).records == 3

        refused = await client.post("/conversations", json={"items": two})
        assert refused.status_code == 429 and store.usage(KEY).records == 3, "no half-made conversation"
        assert len(store.find(KEY, "conversations")) == 1
        assert (await client.post(f"/conversations/{conversation['id']}/items",
                                  json={"items": two[:1]})).status_code == 200
    async with client_for(app, OPENAI, "other-key") as other:
        assert (await other.post("/conversations", json={"items": two})).status_code == 200


async def test_the_total_cap_is_shared_by_tenants_and_families() -> None:
    app = capped_app(total_records=3)
    async with client_for(app, OPENAI, "a") as openai, client_for(app, VAI, "b") as vai:
        created = await openai.post("/conversations", json={"items": [{"role": "user", "content": "x"}]})
        assert created.status_code == 200
        assert (await vai.post("/chat/threads", json={})).status_code == 200
        refused = await vai.post("/chat/threads", json={})
        assert_conforms(VAI_SPEC, refused)
        assert refused.status_code == 429 and isinstance(refused.json()["detail"], str)
        assert (await openai.delete(f"/conversations/{created.json()['id']}")).status_code == 200
        assert (await vai.post("/chat/threads", json={})).status_code == 200, "a delete makes room again"


async def test_virtuousai_refuses_a_turn_past_the_cap_before_storing_any_of_it() -> None:
    app = capped_app(tenant_records=3)
    store = app.stores["virtuousai"]
    async with client_for(app, VAI) as client:
        tid = (await client.post("/chat/threads", json={})).json()["id"]
        assert (await client.post(f"/chat/threads/{tid}/feedback", json={"rating": "positive"})).status_code == 200
        before = (await client.get(f"/chat/threads/{tid}")).json()
        refused = await client.post(f"/chat/threads/{tid}/turns/stream", json=chat_request("hello"))
        assert_conforms(VAI_SPEC, refused)
        assert refused.status_code == 429 and isinstance(refused.json()["detail"], str)
        assert (await client.get(f"/chat/threads/{tid}")).json() == before
        assert store.find(KEY, "turns") is None and store.find(KEY, f"messages/{tid}") is None
        assert store.usage(KEY).records == 2


async def test_the_command_line_sets_the_caps() -> None:
    with running_server("-m", "mockserver", "serve", "--port", "0", "--tenant-max-records", "2") as url:
        async with httpx.AsyncClient(base_url=url + VAI, headers={"X-API-Key": "cli"}, timeout=30) as client:
            statuses = [(await client.post("/chat/threads", json={})).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
