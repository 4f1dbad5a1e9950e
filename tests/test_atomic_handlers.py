"""Handlers are all-or-nothing: a handler that fails half-way leaves the store exactly as it found it.

For each family, on both request paths (the fast path and Connexion's own stack), a handler is made to
fail after its first write — the JSON response builder, the id generator on its second call, or the
response class is replaced by one that raises — and the test checks that the request answers 500 in the
family's envelope, that the store (every tenant, collection, record, order, sequence number and usage
counter, the indexes included) is exactly as before, and that the next requests answer normally.
"""

from __future__ import annotations

import copy
import itertools
import typing as t

import httpx
import pytest

import mockserver.app
import mockserver.families.openai as openai_family
import mockserver.families.virtuousai as vai_family
from mockserver.app import MockApp
from mockserver.families import discover
from mockserver.quota import Usage
from mockserver.store import MemoryCollection, MemoryStore

pytestmark = pytest.mark.anyio
OPENAI, VAI = "/openai/v1", "/virtuousai/api/v1"
KEY = "atomic-key"


class Injected(RuntimeError):
    """The failure a test injects into a handler."""


def raises(*_args: t.Any, **_kwargs: t.Any) -> t.NoReturn:
    raise Injected("injected failure")


def fails_on_call(number: int, real: t.Callable) -> t.Callable:
    """``real``, except that its ``number``-th call raises."""
    calls = itertools.count(1)

    def patched(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if next(calls) == number:
            raise Injected(f"injected failure on call {number}")
        return real(*args, **kwargs)

    return patched


def collection_state(collection: MemoryCollection) -> tuple:
    return (copy.deepcopy(list(collection._records.items())), list(collection._keys), list(collection._seqs),
            dict(collection._seq_of), collection._next_seq, (collection._usage.records, collection._usage.bytes),
            collection._ledger is not None, collection._cursor_keys)


def snapshot(store: MemoryStore) -> dict:
    """Everything a ``MemoryStore`` holds, down to sequence numbers and usage counters."""
    tenants = {
        tenant: ((space.usage.records, space.usage.bytes),
                 {name: collection_state(found) for name, found in space.collections.items()})
        for tenant, space in store._tenants.items()}
    total = store.total_usage()
    return {"tenants": tenants, "store": (total.records, total.bytes),
            "process": (store._total.records, store._total.bytes)}


def make_app(fast_path: bool, monkeypatch: pytest.MonkeyPatch) -> MockApp:
    real_build = mockserver.app.build_family_app
    with monkeypatch.context() as patch:
        patch.setattr(mockserver.app, "build_family_app",
                      lambda family, store, **options: real_build(family, store, fast_path=fast_path, **options))
        total = Usage()  # the app's stores count "in all" here, not in the process's counter, which a store of
        # another test, collected by the garbage collector in the middle of a request here, would change
        return MockApp(list(discover().values()), store_for=lambda family: MemoryStore(total=total))


def client_for(app: MockApp, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://mock{base}",
                             headers={"Authorization": f"Bearer {KEY}"})


CHAT_HANDLERS: list[vai_family.ChatHandlers] = []


@pytest.fixture(params=[True, False], ids=["fast-path", "connexion"])
def app(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> MockApp:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    real_init = vai_family.ChatHandlers.__init__

    def recording_init(self: vai_family.ChatHandlers, store: t.Any) -> None:
        real_init(self, store)
        CHAT_HANDLERS.append(self)

    CHAT_HANDLERS.clear()
    with monkeypatch.context() as patch:
        patch.setattr(vai_family.ChatHandlers, "__init__", recording_init)
        return make_app(request.param, monkeypatch)


async def fails_cleanly(client: httpx.AsyncClient, store: MemoryStore, method: str, path: str,
                        body: t.Any = None) -> None:
    """The request answers 500 and leaves the store exactly as it was."""
    before = snapshot(store)
    response = await client.request(method, path, json=body)
    assert response.status_code == 500, response.text
    assert snapshot(store) == before


# --- OpenAI ------------------------------------------------------------------------------------


def conversation_with_items() -> dict:
    return {"metadata": {"topic": "t"}, "items": [{"role": "user", "content": "one"},
                                                  {"role": "assistant", "content": "two"}]}


@pytest.mark.parametrize("tenant_is_new", [True, False], ids=["new-tenant", "existing-tenant"])
async def test_openai_create_conversation_failing_after_its_first_write_stores_nothing(
        app: MockApp, monkeypatch: pytest.MonkeyPatch, tenant_is_new: bool) -> None:
    store = app.stores["openai"]
    async with client_for(app, OPENAI) as client:
        if not tenant_is_new:
            assert (await client.post("/conversations", json=conversation_with_items())).status_code == 200
        # the conversation is inserted, then the id of its second item fails
        monkeypatch.setattr(openai_family, "new_id", fails_on_call(3, openai_family.new_id))
        await fails_cleanly(client, store, "POST", "/conversations", conversation_with_items())
        monkeypatch.undo()
        # the response builder fails after everything is stored
        monkeypatch.setattr(openai_family, "json_response", raises)
        await fails_cleanly(client, store, "POST", "/conversations", conversation_with_items())
        monkeypatch.undo()
        if tenant_is_new:
            assert KEY not in store.tenants()
        created = await client.post("/conversations", json=conversation_with_items())
        assert created.status_code == 200
        listed = await client.get(f"/conversations/{created.json()['id']}/items")
        assert listed.status_code == 200 and len(listed.json()["data"]) == 2


async def test_openai_deletes_and_updates_failing_half_way_keep_everything(
        app: MockApp, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.stores["openai"]
    async with client_for(app, OPENAI) as client:
        first = (await client.post("/conversations", json=conversation_with_items())).json()
        second = (await client.post("/conversations", json=conversation_with_items())).json()
        item_id = (await client.get(f"/conversations/{first['id']}/items")).json()["data"][0]["id"]
        monkeypatch.setattr(openai_family, "json_response", raises)
        await fails_cleanly(client, store, "DELETE", f"/conversations/{first['id']}")
        await fails_cleanly(client, store, "DELETE", f"/conversations/{first['id']}/items/{item_id}")
        await fails_cleanly(client, store, "POST", f"/conversations/{first['id']}", {"metadata": {"x": "y"}})
        await fails_cleanly(client, store, "POST", f"/conversations/{second['id']}/items",
                            {"items": [{"type": "item_reference", "id": item_id}]})
        monkeypatch.undo()

        # the deleted-then-restored item is still in the conversation, and in the index item_reference reads
        assert (await client.get(f"/conversations/{first['id']}/items/{item_id}")).status_code == 200
        referenced = await client.post(f"/conversations/{second['id']}/items",
                                       json={"items": [{"type": "item_reference", "id": item_id}]})
        assert referenced.status_code == 200
        assert (await client.delete(f"/conversations/{first['id']}")).status_code == 200
        assert (await client.get(f"/conversations/{first['id']}")).status_code == 404


# --- VirtuousAI --------------------------------------------------------------------------------


def chat_request(text: str) -> dict:
    return {"trigger": "submit-message", "id": "chat-1",
            "messages": [{"id": "m-1", "role": "user", "parts": [{"type": "text", "text": text}]}]}


async def test_virtuousai_stream_turn_failing_half_way_stores_nothing_and_leaves_no_active_turn(
        app: MockApp, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.stores["virtuousai"]
    async with client_for(app, VAI) as client:
        thread = (await client.post("/chat/threads", json={"title": "t"})).json()
        stream = f"/chat/threads/{thread['id']}/turns/stream"
        # the turn is stored and its run started, then the user message's id fails
        monkeypatch.setattr(vai_family, "new_uuid", fails_on_call(2, vai_family.new_uuid))
        await fails_cleanly(client, store, "POST", stream, chat_request("hello"))
        monkeypatch.undo()
        # everything of the turn is stored, then building the stream fails
        monkeypatch.setattr(vai_family, "event_stream", raises)
        await fails_cleanly(client, store, "POST", stream, chat_request("hello"))
        monkeypatch.undo()

        cancel = await client.post(f"/chat/threads/{thread['id']}/turns/cancel", json={})
        assert cancel.status_code == 409  # no turn was left active
        streamed = await client.post(stream, json=chat_request("hello again"))
        assert streamed.status_code == 200 and '"finish"' in streamed.text
        messages = (await client.get(f"/chat/threads/{thread['id']}/messages")).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant"]


async def test_virtuousai_deletes_cancels_and_creates_failing_half_way_keep_everything(
        app: MockApp, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.stores["virtuousai"]
    async with client_for(app, VAI) as client:
        thread = (await client.post("/chat/threads", json={"title": "t"})).json()
        other = (await client.post("/chat/threads", json={"title": "u"})).json()
        base = f"/chat/threads/{thread['id']}"
        assert (await client.post(f"{base}/turns/stream", json=chat_request("hello"))).status_code == 200
        artifact = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
        attachment = (await client.post(f"{base}/attachments", params={"artifact_id": artifact}, json={})).json()

        monkeypatch.setattr(vai_family, "Response", raises)
        await fails_cleanly(client, store, "DELETE", base)
        await fails_cleanly(client, store, "DELETE", f"/chat/attachments/{attachment['id']}")
        monkeypatch.undo()
        monkeypatch.setattr(vai_family, "json_response", raises)
        await fails_cleanly(client, store, "POST", "/chat/threads/bulk-delete", {"all": True})
        await fails_cleanly(client, store, "PATCH", base, {"title": "renamed"})
        await fails_cleanly(client, store, "POST", f"{base}/attachments?artifact_id={artifact}", {})
        await fails_cleanly(client, store, "POST", f"{base}/feedback", {"rating": "positive"})
        await fails_cleanly(client, store, "POST", "/chat/threads", {"title": "new"})
        monkeypatch.undo()

        assert (await client.get(f"/chat/attachments/{attachment['id']}")).status_code == 200
        listed = (await client.get("/chat/threads")).json()["items"]
        assert {t["id"] for t in listed} == {thread["id"], other["id"]}
        assert (await client.delete(base)).status_code == 204
        assert (await client.get(f"/chat/attachments/{attachment['id']}")).status_code == 404


async def test_virtuousai_cancel_failing_half_way_leaves_the_turn_running(
        app: MockApp, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.stores["virtuousai"]
    (handlers,) = CHAT_HANDLERS
    async with client_for(app, VAI) as client:
        thread = (await client.post("/chat/threads", json={"title": "t"})).json()
        base = f"/chat/threads/{thread['id']}"
        # a turn left active, as a stream still being read would leave it
        run = handlers.runs.start(KEY, thread["id"], "00000000-0000-4000-8000-000000000000")
        monkeypatch.setattr(vai_family, "Response", raises)
        await fails_cleanly(client, store, "POST", f"{base}/turns/cancel", {"partialText": "PARTIAL"})
        monkeypatch.undo()
        assert run.active and handlers.runs.active(KEY, thread["id"]) is run
        messages = (await client.get(f"{base}/messages")).json()["items"]
        assert messages == []
