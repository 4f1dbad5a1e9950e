"""The OpenAI family of the mock, in-process: behaviour, errors in OpenAI's envelope, contract conformance."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.contract import assert_conforms

pytestmark = pytest.mark.anyio
SPEC = "openai-conversations.yaml"


async def call(client: httpx.AsyncClient, method: str, path: str, in_spec: bool = True, **kwargs) -> httpx.Response:
    """Send a request and check the response against the contract (for routes it has) before returning it."""
    response = await client.request(method, path, **kwargs)
    assert response.headers.get("x-request-id", "").startswith("req_")
    assert response.headers["content-type"].startswith("application/json")
    if in_spec:
        assert_conforms(SPEC, response)
    return response


async def new_conversation(client: httpx.AsyncClient, n_items: int = 0, **body) -> dict:
    items = [{"role": "user", "content": f"message {i}"} for i in range(n_items)]
    response = await call(client, "POST", "/conversations", json={"items": items[:20], **body})
    assert response.status_code == 200, response.text
    conversation = response.json()
    for start in range(20, n_items, 20):
        added = await call(client, "POST", f"/conversations/{conversation['id']}/items",
                           json={"items": items[start:start + 20]})
        assert added.status_code == 200
    return conversation


async def test_create_get_update_delete(openai_client: httpx.AsyncClient) -> None:
    created = await new_conversation(openai_client, metadata={"a": "1", "b": "2"})
    assert created["id"].startswith("conv_") and len(created["id"]) == 53
    assert abs(created["created_at"] - time.time()) < 60
    assert created["metadata"] == {"a": "1", "b": "2"}
    path = f"/conversations/{created['id']}"
    assert (await call(openai_client, "GET", path)).json() == created
    updated = await call(openai_client, "POST", path, json={"metadata": {"c": "3"}})
    assert updated.json()["metadata"] == {"c": "3"}, "update replaces metadata"
    cleared = await call(openai_client, "POST", path, json={"metadata": None})
    assert cleared.json()["metadata"] == {}
    deleted = await call(openai_client, "DELETE", path)
    assert deleted.json() == {"id": created["id"], "object": "conversation.deleted", "deleted": True}
    for method, suffix, body in [("GET", "", None), ("POST", "", {"metadata": {}}), ("DELETE", "", None),
                                 ("GET", "/items", None), ("POST", "/items", {"items": []})]:
        response = await call(openai_client, method, path + suffix, json=body)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"Conversation with id '{created['id']}' not found."


async def test_created_without_body_has_empty_metadata(openai_client: httpx.AsyncClient) -> None:
    response = await call(openai_client, "POST", "/conversations")
    assert response.status_code == 200 and response.json()["metadata"] == {}


async def test_items_are_stored_as_parts_with_vendor_ids(openai_client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(openai_client)
    items = [
        {"role": "user", "content": "plain"},
        {"type": "message", "role": "assistant", "content": "answer"},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"},
                                                             {"type": "input_image", "image_url": "https://x/y.png"}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "done"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thought"}]},
    ]
    response = await call(openai_client, "POST", f"/conversations/{conversation['id']}/items", json={"items": items})
    page = response.json()
    assert [item["id"].split("_")[0] for item in page["data"]] == ["msg", "msg", "msg", "fc", "fco", "rs"]
    assert all(len(item["id"].split("_")[1]) == 48 for item in page["data"])
    assert all(item["status"] == "completed" for item in page["data"])
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]
    assert page["has_more"] is False
    assert page["data"][0]["content"] == [{"type": "input_text", "text": "plain"}]
    assert page["data"][1]["content"] == [{"type": "output_text", "text": "answer", "annotations": [], "logprobs": []}]
    assert page["data"][2]["content"][1]["detail"] == "auto"

    reference = await call(openai_client, "POST", f"/conversations/{conversation['id']}/items",
                           json={"items": [{"type": "item_reference", "id": page["data"][3]["id"]}]})
    copied = reference.json()["data"][0]
    assert copied["type"] == "function_call" and copied["name"] == "f" and copied["id"] != page["data"][3]["id"]
    missing = await call(openai_client, "POST", f"/conversations/{conversation['id']}/items",
                         json={"items": [{"type": "item_reference", "id": "msg_missing"}]})
    assert missing.status_code == 404


@pytest.mark.parametrize("total,limit", [(0, 20), (1, 1), (5, 2), (20, 20), (21, 20), (45, 7), (100, 100)])
@pytest.mark.parametrize("order", ["asc", "desc", None])
async def test_cursor_walk_yields_every_item_once(openai_client: httpx.AsyncClient, total: int, limit: int,
                                                  order: str | None) -> None:
    conversation = await new_conversation(openai_client, total)
    path = f"/conversations/{conversation['id']}/items"
    oldest_first = (await call(openai_client, "GET", path, params={"order": "asc", "limit": 100})).json()["data"]
    expected = [item["id"] for item in oldest_first]
    if order != "asc":
        expected.reverse()
    seen: list[str] = []
    params: dict = {"limit": limit} | ({"order": order} if order else {})
    for _ in range(total + 2):
        page = (await call(openai_client, "GET", path, params=params)).json()
        ids = [item["id"] for item in page["data"]]
        assert len(ids) <= limit
        assert page["first_id"] == (ids[0] if ids else None) and page["last_id"] == (ids[-1] if ids else None)
        seen += ids
        if not page["has_more"]:
            break
        assert ids, "has_more with an empty page"
        params["after"] = page["last_id"]
    assert seen == expected


async def test_integers_beyond_64_bits_are_echoed_not_500(openai_client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(openai_client)
    part = {"type": "output_text", "text": "x", "annotations": [{"n": 2**64}]}
    response = await call(openai_client, "POST", f"/conversations/{conversation['id']}/items",
                          json={"items": [{"role": "assistant", "content": [part]}]})
    assert response.status_code == 200 and response.json()["data"][0]["content"][0]["annotations"] == [{"n": 2**64}]


async def test_deleted_item_is_gone_and_cursor_on_it_still_works(openai_client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(openai_client, 6)
    path = f"/conversations/{conversation['id']}/items"
    ids = [item["id"] for item in (await call(openai_client, "GET", path, params={"order": "asc"})).json()["data"]]
    parent = await call(openai_client, "DELETE", f"{path}/{ids[2]}")
    assert parent.json() == conversation, "item delete returns the parent conversation"
    assert (await call(openai_client, "GET", f"{path}/{ids[2]}")).status_code == 404
    assert (await call(openai_client, "DELETE", f"{path}/{ids[2]}")).status_code == 404
    after_deleted = await call(openai_client, "GET", path, params={"order": "asc", "after": ids[2]})
    assert [item["id"] for item in after_deleted.json()["data"]] == ids[3:]
    remaining = await call(openai_client, "GET", path, params={"order": "asc"})
    assert [item["id"] for item in remaining.json()["data"]] == ids[:2] + ids[3:]


LIMIT_CASES = [
    ("GET", "/items?limit=0", None, "limit", "integer_below_min_value"),
    ("GET", "/items?limit=101", None, "limit", "integer_above_max_value"),
    ("GET", "/items?limit=ten", None, "limit", "invalid_type"),
    ("GET", "/items?order=sideways", None, "order", "invalid_value"),
    ("POST", "", {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties"),
    ("POST", "", {"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65, "property_name_above_max_length"),
    ("POST", "", {"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
    ("POST", "", {"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
    ("POST", "", {}, "metadata", "missing_required_parameter"),
    ("POST", "", {"metadata": {}, "extra": 1}, "extra", "unknown_parameter"),
    ("POST", "/items", {"items": [{"role": "user", "content": "x"}] * 21}, "items", "array_above_max_length"),
    ("POST", "/items", {"items": [{"role": "user"}]}, "items[0].content", "missing_required_parameter"),
    ("POST", "/items", {"items": [{"role": "robot", "content": "x"}]}, "items[0].role", "invalid_value"),
    ("POST", "/items", {"items": [{"content": "x"}]}, "items[0]", "invalid_value"),
    ("POST", "/items", {"items": [{"type": "hologram"}]}, "items[0].type", "invalid_value"),
    ("POST", "/items", {"items": [{"type": "function_call", "name": "f"}]}, "items[0].call_id",
     "missing_required_parameter"),
    ("POST", "/items", {"items": [{"role": "user", "content": [{"type": "input_text"}]}]},
     "items[0].content[0].text", "missing_required_parameter"),
    ("POST", "/items", {"items": "nope"}, "items", "invalid_type"),
    ("POST", "/items", None, "items", "missing_required_parameter"),
]


@pytest.mark.parametrize("method,suffix,body,param,code", LIMIT_CASES)
async def test_invalid_requests_get_openai_400s(openai_client: httpx.AsyncClient, method: str, suffix: str,
                                                body: dict | None, param: str, code: str) -> None:
    conversation = await new_conversation(openai_client)
    response = await call(openai_client, method, f"/conversations/{conversation['id']}{suffix}", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"]


async def test_limits_at_the_boundary_are_accepted(openai_client: httpx.AsyncClient) -> None:
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    conversation = await new_conversation(openai_client, 20, metadata=metadata)
    assert conversation["metadata"] == metadata
    page = await call(openai_client, "GET", f"/conversations/{conversation['id']}/items", params={"limit": 100})
    assert len(page.json()["data"]) == 20


async def test_bad_json_and_unknown_routes_use_the_envelope(openai_client: httpx.AsyncClient) -> None:
    bad = await call(openai_client, "POST", "/conversations", content=b'{"items": [,]}',
                     headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert bad.json()["error"]["param"] is None
    form = await call(openai_client, "POST", "/conversations", content=b"{}",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 400 and "Content-Type: application/json" in form.json()["error"]["message"]
    unknown = await call(openai_client, "GET", "/conversations/x/y/z", in_spec=False)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "invalid_request_error"
    wrong_method = await call(openai_client, "PUT", "/conversations", in_spec=False)
    assert wrong_method.status_code == 405 and set(wrong_method.json()["error"]) == {"message", "type", "param",
                                                                                     "code"}


async def test_missing_key_is_401_and_keys_are_tenants(openai_client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(openai_client, 2)
    path = f"/conversations/{conversation['id']}"
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        response = await call(openai_client, "GET", path, headers=headers)
        assert response.status_code == 401
        assert "You didn't provide an API key" in response.json()["error"]["message"]
    other = {"Authorization": "Bearer key-2"}
    assert (await call(openai_client, "GET", path, headers=other)).status_code == 404
    assert (await call(openai_client, "GET", path + "/items", headers=other)).status_code == 404
    assert (await call(openai_client, "DELETE", path, headers=other)).status_code == 404
    assert (await call(openai_client, "POST", path, json={"metadata": {"x": "y"}}, headers=other)).status_code == 404
    assert (await call(openai_client, "GET", path)).json() == conversation, "the other tenant changed nothing"


async def test_root_lists_families_and_other_paths_are_json_404(mock_app) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock_app), base_url="http://mock") as client:
        root = await client.get("/")
        listed = {family["name"]: family for family in root.json()["families"]}
        assert listed["openai"]["base_path"] == "/openai/v1"
        elsewhere = await client.get("/v1/conversations")
        assert elsewhere.status_code == 404 and "/openai/v1" in elsewhere.json()["message"]
        assert "error" not in elsewhere.json(), "outside every family: no vendor's envelope"
        assert elsewhere.headers["x-request-id"].startswith("req_")
