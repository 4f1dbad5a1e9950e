"""The Venna gateway family of the mock, in-process: wrapped items and index cursors, the x402 challenge,
workspaces per credential, OpenAI's envelope for other errors, the declared 501 body; every answer checked
against the contract."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import yaml
from openapi_core.validation.response.exceptions import InvalidData

from convo_contracts import contract_path
from mockserver.app import MockApp, create_app
from mockserver.families import discover
from mockserver.families.venna import declared_body, gateway_route, tenant_of
from mockserver.quota import Limits, Usage
from mockserver.store import MemoryStore
from tests.contract import assert_conforms

pytestmark = pytest.mark.anyio
SPEC = "venna-conversations.yaml"
BASE = "/venna/v1"
KEY = {"Authorization": "Bearer vk_workspace_1"}
BEARER = {"type": "http", "scheme": "bearer"}
PAYMENT = {"type": "apiKey", "in": "header", "name": "PAYMENT-SIGNATURE"}
CHALLENGE = {"x402Version": 2, "error": "payment required: authorize a USDC maximum to continue",
             "accepts": [{"scheme": "upto", "network": "base", "asset": "USDC"}]}


def b64(value: object, *, urlsafe: bool = False) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") if urlsafe else base64.b64encode(raw).decode()


def jwt(claims: dict) -> str:
    return f"{b64({'alg': 'HS256'}, urlsafe=True)}.{b64(claims, urlsafe=True)}.c2lnbmF0dXJl"


def payment_signature(nonce: str) -> str:
    return b64({"x402Version": 2, "scheme": "upto", "payload": {"signature": "0xabc", "nonce": nonce}})


@pytest.fixture
async def client(mock_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock_app), base_url=f"http://mock{BASE}",
                                 headers=KEY) as venna:
        yield venna


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> httpx.Response:
    """Send a request; check the answer's content type and its conformance to the contract."""
    response = await client.request(method, path, **kwargs)
    assert response.headers["content-type"].startswith("application/json")
    assert_conforms(SPEC, response)
    return response


def message(text: str, role: str = "user") -> dict:
    return {"type": "message", "role": role, "content": text}


async def new_conversation(client: httpx.AsyncClient, headers: dict | None = None, **body) -> dict:
    response = await call(client, "POST", "/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def add(client: httpx.AsyncClient, conversation_id: str, items: list[dict]) -> dict:
    response = await call(client, "POST", f"/conversations/{conversation_id}/items", json={"items": items})
    assert response.status_code == 200, response.text
    return response.json()


# --- conversations: OpenAI's ---------------------------------------------------------------------


async def test_create_get_update_delete_then_every_operation_is_404(client: httpx.AsyncClient) -> None:
    created = await new_conversation(client, metadata={"a": "1", "b": "2"})
    assert created["id"].startswith("conv_") and len(created["id"]) == 53
    assert created["object"] == "conversation" and abs(created["created_at"] - time.time()) < 60
    assert created["metadata"] == {"a": "1", "b": "2"}
    path = f"/conversations/{created['id']}"
    assert (await call(client, "GET", path)).json() == created
    updated = await call(client, "POST", path, json={"metadata": {"c": "3"}})
    assert updated.json() == {**created, "metadata": {"c": "3"}}, "update replaces the metadata"
    assert (await call(client, "GET", path)).json()["metadata"] == {"c": "3"}
    deleted = await call(client, "DELETE", path)
    assert deleted.json() == {"id": created["id"], "object": "conversation.deleted", "deleted": True}
    for method, suffix, body in [("GET", "", None), ("POST", "", {"metadata": {}}), ("DELETE", "", None),
                                 ("GET", "/items", None), ("POST", "/items", {"items": [message("late")]})]:
        response = await call(client, method, path + suffix, json=body)
        assert response.status_code == 404, (method, suffix)
        assert response.json() == {"error": {"message": f"Conversation with id '{created['id']}' not found.",
                                             "type": "invalid_request_error", "param": None, "code": None}}


async def test_create_takes_no_body_an_empty_one_and_ignores_unknown_fields(client: httpx.AsyncClient) -> None:
    bare = await call(client, "POST", "/conversations")
    assert bare.status_code == 200 and bare.json()["metadata"] == {}
    assert (await new_conversation(client))["metadata"] == {}
    assert (await new_conversation(client, model="venna-1"))["metadata"] == {}


# --- items: wrapped, indexed, exactly as sent ----------------------------------------------------


async def test_items_are_wrapped_and_kept_exactly_as_sent(client: httpx.AsyncClient) -> None:
    first = message("Hello!")
    conversation = await new_conversation(client, items=[first])
    parts = {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hi", "annotations": [{"x": [1, None]}]},
                         {"type": "input_image", "image_url": "https://example.com/a.png"}]}
    unicode = message("naïve — 🙂 \u0000 end", role="developer")
    added = await add(client, conversation["id"], [parts, unicode])
    assert added == {"object": "list", "has_more": False, "first_id": "1", "last_id": "2",
                     "data": [{"type": "input", "index": 1, "data": parts},
                              {"type": "input", "index": 2, "data": unicode}]}, "only the new items"
    listed = await call(client, "GET", f"/conversations/{conversation['id']}/items", params={"order": "asc"})
    assert [item["data"] for item in listed.json()["data"]] == [first, parts, unicode]
    assert [item["index"] for item in listed.json()["data"]] == [0, 1, 2]


async def test_index_continues_across_calls_and_is_per_conversation(client: httpx.AsyncClient) -> None:
    one, two = await new_conversation(client), await new_conversation(client, items=[message("x")])
    indexes = []
    for size in (3, 1, 4):
        indexes += [item["index"] for item in (await add(client, one["id"], [message("m")] * size))["data"]]
    assert indexes == list(range(8)), "0-based, increasing, never restarting"
    assert [item["index"] for item in (await add(client, two["id"], [message("y")]))["data"]] == [1]


async def test_a_refused_append_stores_nothing_and_uses_no_index(client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(client, items=[message("a")])
    items = f"/conversations/{conversation['id']}/items"
    bad = await call(client, "POST", items, json={"items": [message("b"), {"type": "message", "role": "user"}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "items[1].content"
    assert (await add(client, conversation["id"], [message("c")]))["first_id"] == "1"


@pytest.mark.parametrize(("total", "limit"), [(0, 5), (1, 1), (7, 3), (20, 20), (25, 7), (41, 100)])
async def test_index_cursor_walks_yield_every_item_once(client: httpx.AsyncClient, total: int, limit: int) -> None:
    conversation = await new_conversation(client)
    for start in range(0, total, 20):
        await add(client, conversation["id"], [message(f"m{n}") for n in range(start, min(total, start + 20))])
    for order, expected in (("asc", list(range(total))), ("desc", list(range(total))[::-1])):
        seen: list[int] = []
        after = None
        for _ in range(total + 2):  # bounded: a walk of `total` items needs at most total + 1 pages
            params = {"order": order, "limit": limit, **({"after": after} if after is not None else {})}
            page = (await call(client, "GET", f"/conversations/{conversation['id']}/items", params=params)).json()
            indexes = [item["index"] for item in page["data"]]
            seen += indexes
            assert [item["data"]["content"] for item in page["data"]] == [f"m{n}" for n in indexes]
            assert (page["first_id"], page["last_id"]) == ((str(indexes[0]), str(indexes[-1])) if indexes
                                                          else (None, None))
            assert page["has_more"] == (len(seen) < total)
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert seen == expected, order


async def test_default_page_is_20_newest_first_and_after_need_not_be_an_item(client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(client)
    await add(client, conversation["id"], [message(str(n)) for n in range(20)])
    await add(client, conversation["id"], [message(str(n)) for n in range(20, 25)])
    items = f"/conversations/{conversation['id']}/items"
    default = (await call(client, "GET", items)).json()
    assert [item["index"] for item in default["data"]] == list(range(24, 4, -1)) and default["has_more"] is True
    beyond = (await call(client, "GET", items, params={"after": "1000", "limit": 3})).json()
    assert [item["index"] for item in beyond["data"]] == [24, 23, 22]
    past_end = (await call(client, "GET", items, params={"after": "1000", "order": "asc"})).json()
    assert past_end == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    before_start = (await call(client, "GET", items, params={"after": "0"})).json()
    assert before_start["data"] == [] and before_start["has_more"] is False


# --- refusals in OpenAI's envelope ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix", "kwargs", "param", "code"), [
    ("GET", "/items", {"params": {"limit": 0}}, "limit", "integer_below_min_value"),
    ("GET", "/items", {"params": {"limit": 101}}, "limit", "integer_above_max_value"),
    ("GET", "/items", {"params": {"order": "up"}}, "order", "invalid_value"),
    ("GET", "/items", {"params": {"after": "msg_1"}}, "after", "invalid_value"),
    ("POST", "", {"json": {}}, "metadata", "missing_required_parameter"),
    ("POST", "", {"json": {"metadata": {f"k{n}": "v" for n in range(17)}}}, "metadata",
     "object_above_max_properties"),
    ("POST", "", {"json": {"metadata": {"k" * 65: "v"}}}, "metadata." + "k" * 65, "property_name_above_max_length"),
    ("POST", "", {"json": {"metadata": {"k": "v" * 513}}}, "metadata.k", "string_above_max_length"),
    ("POST", "", {"json": {"metadata": {"k": 1}}}, "metadata.k", "invalid_type"),
    ("POST", "/items", {"json": {"items": [message("m")] * 21}}, "items", "array_above_max_length"),
    ("POST", "/items", {"json": {"items": [{"role": "user", "content": "no type"}]}}, "items[0].type",
     "missing_required_parameter"),
    ("POST", "/items", {"json": {"items": [message("m", role="tool")]}}, "items[0].role", "invalid_value"),
    ("POST", "/items", {"json": {"items": [{**message("m"), "id": "msg_1"}]}}, "items[0].id", "unknown_parameter"),
    ("POST", "/items", {"content": b'{"items": [', "headers": {"Content-Type": "application/json"}}, None,
     "invalid_json"),
])
async def test_invalid_requests_are_400_in_the_envelope_and_change_nothing(
        client: httpx.AsyncClient, method: str, suffix: str, kwargs: dict, param: str | None, code: str) -> None:
    conversation = await new_conversation(client, metadata={"kept": "yes"}, items=[message("kept")])
    path = f"/conversations/{conversation['id']}"
    response = await call(client, method, path + suffix, **kwargs)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert (await call(client, "GET", path)).json() == conversation
    assert (await call(client, "GET", path + "/items")).json()["last_id"] == "0"


async def test_limits_at_the_boundary_are_accepted(client: httpx.AsyncClient) -> None:
    metadata = {f"{n:064d}": "v" * 512 for n in range(16)}
    conversation = await new_conversation(client, metadata=metadata, items=[message("m")] * 20)
    assert conversation["metadata"] == metadata
    assert (await add(client, conversation["id"], [message("m")] * 20))["last_id"] == "39"


async def test_a_write_past_the_storage_cap_is_429_and_stores_nothing() -> None:
    limits = Limits(tenant_records=None, tenant_bytes=20_000, total_records=None, total_bytes=None)
    app = MockApp([discover()["venna"]], store_factory=lambda: MemoryStore(limits, total=Usage()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://mock{BASE}",
                                 headers=KEY) as client:
        conversation = await new_conversation(client)
        refused = await call(client, "POST", f"/conversations/{conversation['id']}/items",
                             json={"items": [message("x" * 2000)] * 20})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "insufficient_quota"
        listed = await call(client, "GET", f"/conversations/{conversation['id']}/items")
        assert listed.json()["data"] == []


# --- credentials: x402 challenge, workspaces ------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Bearer sk-openai-style"},
    {"Authorization": "Bearer vk_"}, {"Authorization": "Bearer vk_has space"}, {"Authorization": "Basic dms6eA=="},
    {"Authorization": "Bearer a.b"}, {"Authorization": "Bearer a..c"}, {"Authorization": "", "PAYMENT-SIGNATURE": ""},
    {"Authorization": "", "PAYMENT-SIGNATURE": "not base64!"},
    {"Authorization": "", "PAYMENT-SIGNATURE": base64.b64encode(b"[1, 2]").decode()},
    {"Authorization": "", "PAYMENT-SIGNATURE": base64.b64encode(b"\xff\xfe").decode()},
    {"Authorization": "", "PAYMENT-SIGNATURE": base64.b64encode(b"[" * 20000 + b"]" * 20000).decode()},
], ids=lambda headers: repr(headers)[:60])
async def test_no_valid_credential_gets_the_x402_challenge_everywhere(client: httpx.AsyncClient,
                                                                      headers: dict) -> None:
    conversation = await new_conversation(client)
    path = f"/conversations/{conversation['id']}"
    for method, target, body in [("POST", "/conversations", {}), ("GET", path, None),
                                 ("POST", path, {"metadata": {"x": "y"}}), ("DELETE", path, None),
                                 ("GET", path + "/items", None), ("POST", path + "/items", {"items": []}),
                                 ("POST", path + "/items", {"items": "not even valid"})]:
        response = await call(client, method, target, json=body, headers=headers)
        assert response.status_code == 402, (method, target, response.text)
        assert response.json() == CHALLENGE
        assert json.loads(base64.b64decode(response.headers["payment-required"])) == CHALLENGE
    assert (await call(client, "GET", path)).json() == conversation, "nothing changed"


async def test_each_key_jwt_account_and_payment_signature_is_its_own_workspace(client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(client, items=[message("mine")])
    path = f"/conversations/{conversation['id']}"
    alice, alice_later = jwt({"sub": "acct_alice", "exp": 1}), jwt({"sub": "acct_alice", "exp": 2})
    others = [{"Authorization": "Bearer vk_workspace_2"}, {"Authorization": f"Bearer {alice}"},
              {"Authorization": "Bearer a.b.c"}, {"Authorization": "", "PAYMENT-SIGNATURE": payment_signature("1")}]
    for headers in others:
        for method, suffix, body in [("GET", "", None), ("POST", "", {"metadata": {"x": "y"}}),
                                     ("GET", "/items", None), ("POST", "/items", {"items": [message("theirs")]}),
                                     ("DELETE", "", None)]:
            response = await call(client, method, path + suffix, json=body, headers=headers)
            assert response.status_code == 404, (headers, method, suffix)
        own = await new_conversation(client, headers=headers)
        assert (await call(client, "GET", f"/conversations/{own['id']}", headers=headers)).json() == own
        assert (await call(client, "GET", f"/conversations/{own['id']}")).status_code == 404
    assert (await call(client, "GET", path)).json() == conversation
    assert (await call(client, "GET", path + "/items")).json()["last_id"] == "0", "no other workspace added items"

    made_by_alice = (await call(client, "POST", "/conversations", json={},
                                headers={"Authorization": f"Bearer {alice}"})).json()
    again = await call(client, "GET", f"/conversations/{made_by_alice['id']}",
                       headers={"Authorization": f"Bearer {alice_later}"})
    assert again.status_code == 200, "a new JWT of the same account sees the account's conversations"
    other_payment = await call(client, "GET", f"/conversations/{made_by_alice['id']}",
                               headers={"Authorization": "", "PAYMENT-SIGNATURE": payment_signature("2")})
    assert other_payment.status_code == 404


def test_tenant_of_decides_by_the_credential_shape() -> None:
    assert tenant_of(BEARER, "vk_abc-DEF_1") == "vk_abc-DEF_1", "a key names its workspace, as in every family"
    assert tenant_of(BEARER, " vk_abc ") == "vk_abc"
    assert tenant_of(BEARER, jwt({"sub": "acct_1"})) == "account:acct_1"
    assert tenant_of(BEARER, "x.y.z") == "x.y.z", "a JWT whose payload names no account is its own"
    assert tenant_of(BEARER, jwt({"sub": 7})) == jwt({"sub": 7})
    signature = payment_signature("n")
    assert tenant_of(PAYMENT, signature) == signature
    for refused in ("", "vk_", "vk_a b", "sk-1", "x.y", "x.y.", ".y.z", "x.y.z.w", "vk_é"):
        assert tenant_of(BEARER, refused) is None, refused
    for refused in ("", "!!", "e30", base64.b64encode(b"null").decode(), base64.b64encode(b'"s"').decode()):
        assert tenant_of(PAYMENT, refused) is None, refused
    assert tenant_of(PAYMENT, base64.b64encode(b"{}").decode()) == "e30="


# --- the declared 501 ----------------------------------------------------------------------------

OPERATIONS = [
    ("POST", "/venna/v1/conversations", "POST /v1/conversations"),
    ("GET", "/venna/v1/conversations/conv_1", "GET /v1/conversations/{id}"),
    ("post", "/venna/v1/conversations/conv_1/", "POST /v1/conversations/{id}"),
    ("DELETE", "/v1/conversations/abc", "DELETE /v1/conversations/{id}"),
    ("GET", "/venna/v1/conversations/conv_1/items?limit=2", "GET /v1/conversations/{id}/items"),
    ("POST", "/venna/v1/conversations/conv%2F1/items", "POST /v1/conversations/{id}/items"),
]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_declared_501_names_the_operation_in_the_not_implemented_envelope(method: str, path: str,
                                                                         operation: str) -> None:
    body = declared_body(method, path, 501)
    assert body == {"error": {"code": "not_implemented", "type": "not_implemented", "param": None,
                              "message": f"Endpoint '{operation}' is not implemented yet on Venna gateway"}}
    served = BASE + operation.split(" ", 1)[1][len("/v1"):].replace("{id}", "conv_1")
    request = httpx.Request(method.upper(), "http://127.0.0.1:4010" + served, headers=KEY,
                            json={"metadata": {}, "items": []} if method.upper() == "POST" else None)
    response = httpx.Response(501, json=body, request=request)
    assert_conforms(SPEC, response)


def test_declared_bodies_of_other_statuses_are_the_contracts_examples() -> None:
    for status in (200, 400, 402, 404, 429):
        assert declared_body("GET", "/venna/v1/conversations/conv_1", status) is None


def test_a_501_with_another_message_breaks_the_contract() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:4010/venna/v1/conversations/conv_1", headers=KEY)
    for error in ({"code": "not_implemented", "type": "not_implemented", "param": None, "message": "nope"},
                  {"code": "server_error", "type": "not_implemented", "param": None,
                   "message": "Endpoint 'GET /v1/conversations/{id}' is not implemented yet on Venna gateway"}):
        with pytest.raises(InvalidData):
            assert_conforms(SPEC, httpx.Response(501, json={"error": error}, request=request))


def test_gateway_route_keeps_paths_it_does_not_know() -> None:
    assert gateway_route("/venna/v1/models") == "/v1/models"
    assert gateway_route("/venna/v1/conversations/a/items/b") == "/v1/conversations/a/items/b"


async def test_the_family_is_served_beside_the_others() -> None:
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as root:
        listed = (await root.get("/")).text
    assert "/venna/v1" in listed


def test_the_contracts_402_example_is_what_the_mock_sends() -> None:
    declared = yaml.safe_load(contract_path(SPEC).read_text())["components"]
    assert declared["responses"]["PaymentRequired"]["content"]["application/json"]["example"] == CHALLENGE
    assert json.loads(base64.b64decode(declared["headers"]["PaymentRequired"]["example"])) == CHALLENGE
