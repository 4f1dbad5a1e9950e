"""The admin API (``/__admin``), fixtures, the journal and the access log, through HTTP and the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from convo_contracts import contract_path
from mockserver.admin.api import PREFIX
from mockserver.app import MockApp, create_app
from mockserver.examples import fixture_families, fixture_path
from mockserver.families import discover
from mockserver.faults import RULES_SCHEMA_FILE
from mockserver.testing import RunningMock
from tests.contract import assert_conforms

ROOT = Path(__file__).resolve().parents[1]
OPENAI_CONVERSATION = {"items": [{"role": "user", "content": "Hello!"}], "metadata": {"topic": "t"}}


@pytest.fixture(scope="module")
def mock() -> Iterator[RunningMock]:
    with RunningMock.start() as running:
        yield running


def stores_of(mock: RunningMock) -> dict[str, object]:
    """The served app's stores (read-only use: what each family holds, by tenant)."""
    app = mock._server.config.app.app  # BodySizeLimit → MockApp
    assert isinstance(app, MockApp)
    return app.stores


def tenants(mock: RunningMock, family: str) -> set[str]:
    """The API keys holding data in ``family`` (the empty tenant is no key's: PostHog's global owner index)."""
    return set(stores_of(mock)[family].tenants()) - {""}  # type: ignore[attr-defined]


def create_conversation(mock: RunningMock, key: str) -> str:
    response = httpx.post(mock.base_url("openai") + "/conversations", json=OPENAI_CONVERSATION,
                          headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def new_key(label: str) -> str:
    return f"sk-{label}-{uuid.uuid4().hex[:12]}"


# --- health, contract, routing -------------------------------------------------------------------


def test_health_and_readiness(mock: RunningMock) -> None:
    assert httpx.get(mock.url + PREFIX + "/health").json() == {"status": "ok"}
    ready = httpx.get(mock.url + PREFIX + "/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "families": sorted(discover())}


def test_every_admin_route_is_in_the_admin_contract(mock: RunningMock) -> None:
    served = httpx.get(mock.url + PREFIX + "/openapi.yaml")
    assert served.status_code == 200
    contract = yaml.safe_load(served.text)
    assert contract["openapi"] == "3.0.3"
    validate(contract)
    declared = {(method.upper(), PREFIX + path) for path, item in contract["paths"].items() for method in item}
    app = create_app()
    assert set(app.admin.routes) == declared


def test_admin_answers_conform_to_the_admin_contract() -> None:
    with RunningMock.start(journal_size=10, admin_token="t0ken") as own:
        admin, token = own.url + PREFIX, {"Authorization": "Bearer t0ken"}
        key = new_key("conform")
        create_conversation(own, key)
        fixture = json.dumps({"families": {"openai": {key: [{"path": "/conversations", "body": {}}]}}})
        answers = [
            httpx.get(admin + "/health"), httpx.get(admin + "/ready"),
            httpx.get(admin + "/journal", headers=token), httpx.get(admin + "/journal?limit=x", headers=token),
            httpx.get(admin + "/journal"),
            httpx.post(admin + "/fixtures", content=fixture, headers=token),
            httpx.post(admin + "/fixtures", content="[]", headers=token),
            httpx.post(admin + "/reset", json={"family": "openai", "tenant": key}, headers=token),
            httpx.post(admin + "/reset", json={"family": "nope"}, headers=token),
            httpx.delete(admin + "/journal", headers=token),
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 400, 401, 201, 422, 200, 404, 204]
    for answer in answers:
        assert_conforms("admin.yaml", answer)


def test_unknown_admin_route_and_wrong_method_are_json(mock: RunningMock) -> None:
    missing = httpx.get(mock.url + PREFIX + "/nothing")
    assert missing.status_code == 404 and missing.json()["service"] == "convo-mock"
    wrong = httpx.put(mock.url + PREFIX + "/journal")
    assert wrong.status_code == 405 and wrong.json()["allowed"] == ["DELETE", "GET"]


# --- reset ---------------------------------------------------------------------------------------


def test_reset_one_tenant_keeps_the_others(mock: RunningMock) -> None:
    mine, theirs = new_key("mine"), new_key("theirs")
    mine_id, their_id = create_conversation(mock, mine), create_conversation(mock, theirs)
    answer = httpx.post(mock.url + PREFIX + "/reset", json={"tenant": mine})
    assert answer.status_code == 200
    assert answer.json()["reset"]["tenant"] == "sk-…" + mine[-2:]  # masked
    url = mock.base_url("openai") + "/conversations/"
    assert httpx.get(url + mine_id, headers={"Authorization": f"Bearer {mine}"}).status_code == 404
    assert httpx.get(url + their_id, headers={"Authorization": f"Bearer {theirs}"}).status_code == 200
    assert mine not in tenants(mock, "openai") and theirs in tenants(mock, "openai")


def test_reset_one_family_keeps_the_other_families(mock: RunningMock) -> None:
    key = new_key("fam")
    conversation = create_conversation(mock, key)
    thread = httpx.post(mock.base_url("virtuousai") + "/chat/threads", json={"title": "x"},
                        headers={"X-API-Key": key})
    assert thread.status_code == 200
    assert httpx.post(mock.url + PREFIX + "/reset", json={"family": "openai", "tenant": key}).status_code == 200
    assert key not in tenants(mock, "openai") and key in tenants(mock, "virtuousai")
    assert httpx.get(mock.base_url("openai") + "/conversations/" + conversation,
                     headers={"Authorization": f"Bearer {key}"}).status_code == 404


def test_reset_everything() -> None:
    with RunningMock.start() as own:
        for label in ("a", "b"):
            create_conversation(own, new_key(label))
        own.reset()
        assert all(not list(store.tenants()) for store in stores_of(own).values())  # type: ignore[attr-defined]


def test_reset_of_an_unknown_key_creates_nothing(mock: RunningMock) -> None:
    before = {family: tenants(mock, family) for family in stores_of(mock)}
    unknown = new_key("nobody")
    assert httpx.post(mock.url + PREFIX + "/reset", json={"tenant": unknown}).status_code == 200
    assert httpx.get(mock.base_url("openai") + "/conversations/conv_x",
                     headers={"Authorization": f"Bearer {unknown}"}).status_code == 404
    assert {family: tenants(mock, family) for family in stores_of(mock)} == before


@pytest.mark.parametrize("body, status", [
    ({"family": "nope"}, 404), ({"tenant": ""}, 400), ({"tenant": 3}, 400), ({"other": 1}, 400), ([], 400)])
def test_bad_reset_requests_are_refused(mock: RunningMock, body: object, status: int) -> None:
    key = new_key("kept")
    create_conversation(mock, key)
    answer = httpx.post(mock.url + PREFIX + "/reset", json=body)
    assert answer.status_code == status and answer.json()["status"] == status
    assert key in tenants(mock, "openai")


def test_reset_ends_a_stream_in_flight_cleanly(mock: RunningMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0.2")  # read when a stream starts: about 5 s of deltas
    key = new_key("vai")
    headers = {"X-API-Key": key}
    base = mock.base_url("virtuousai")
    thread = httpx.post(base + "/chat/threads", json={"title": "t"}, headers=headers).json()["id"]
    body = {"trigger": "submit-message", "id": thread,
            "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hello there!"}]}]}
    frames: list[str] = []
    with httpx.stream("POST", f"{base}/chat/threads/{thread}/turns/stream", json=body, headers=headers,
                      timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                frames.append(line[6:])
                if '"text-delta"' in line and len([f for f in frames if "text-delta" in f]) == 1:
                    assert httpx.post(mock.url + PREFIX + "/reset", json={"tenant": key}).status_code == 200
            if len(frames) > 200:
                break
    assert frames[-2:] == ['{"type":"abort"}', "[DONE]"]
    assert not any('"finish"' in frame for frame in frames)
    time.sleep(0.3)  # nothing is written after the stream ended either
    assert key not in tenants(mock, "virtuousai")
    assert httpx.get(f"{base}/chat/threads/{thread}", headers=headers).status_code == 404
    again = httpx.post(base + "/chat/threads", json={"title": "t"}, headers=headers)  # the key works on
    assert again.status_code == 200


def test_reset_ends_a_posthog_run_in_flight_cleanly(mock: RunningMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0.2")
    key = new_key("phx")
    headers = {"Authorization": f"Bearer {key}"}
    conversations = mock.base_url("posthog") + "/api/environments/@current/conversations/"
    conversation = str(uuid.uuid4())
    body = {"content": "What is a funnel?", "conversation": conversation, "trace_id": str(uuid.uuid4())}
    events: list[str] = []
    with httpx.stream("POST", conversations, json=body, headers=headers, timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
                if '"type":"ai"' in line.replace(" ", "") and sum('"ai"' in e for e in events) == 1:
                    assert httpx.post(mock.url + PREFIX + "/reset", json={"tenant": key}).status_code == 200
            if len(events) > 200:
                break
    assert not any('"id"' in event and '"ai"' in event for event in events)  # no final ai message
    time.sleep(0.3)
    assert key not in tenants(mock, "posthog")
    assert httpx.get(conversations + conversation + "/", headers=headers).status_code == 404
    again = httpx.post(conversations, json={**body, "trace_id": str(uuid.uuid4())}, headers=headers, timeout=30)
    assert again.status_code == 200  # the same id starts afresh: no run of the forgotten data holds it


def test_reset_ends_a_noxus_reply_in_flight_cleanly(mock: RunningMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0.2")
    key = new_key("nx")
    headers = {"X-API-Key": key}
    conversations = mock.base_url("noxus") + "/v1/conversations"
    made = httpx.post(conversations, json={"name": "busy"}, headers=headers)
    assert made.status_code == 200, made.text
    conversation = made.json()["id"]
    prompt = {"content": " ".join(["word"] * 60)}  # a reply of many deltas: seconds at 0.2 s each
    blocking: list[httpx.Response] = []
    frames: list[str] = []
    with httpx.stream("POST", f"{conversations}/{conversation}/stream", json=prompt, headers=headers,
                      timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                frames.append(line[6:])
                if sum('"text-delta"' in frame for frame in frames) == 1 and not blocking:
                    # a blocking call on another conversation of the key waits for its own reply
                    other = httpx.post(conversations, json={"name": "other"}, headers=headers).json()["id"]
                    waiter = threading.Thread(target=lambda url: blocking.append(httpx.post(
                        url, json=prompt, headers=headers, timeout=30)), args=(f"{conversations}/{other}/chat",))
                    waiter.start()
                    time.sleep(0.5)  # the blocking call's run has started
                    assert httpx.post(mock.url + PREFIX + "/reset", json={"tenant": key}).status_code == 200
            if len(frames) > 300:
                break
    waiter.join(timeout=30)
    assert frames[-2:] == ['{"type":"abort"}', "[DONE]"], frames[-3:]
    assert not any('"type":"finish"' in frame for frame in frames)
    assert len(blocking) == 1 and blocking[0].status_code == 404, blocking
    assert blocking[0].json() == {"detail": "Conversation not found"}
    time.sleep(0.5)  # nothing is written after the runs ended either
    assert key not in tenants(mock, "noxus")
    assert httpx.get(f"{conversations}/{conversation}", headers=headers).status_code == 404
    again = httpx.post(conversations, json={"name": "again"}, headers=headers).json()["id"]
    done = httpx.post(f"{conversations}/{again}", json={"content": "hi"}, headers=headers, timeout=30)
    assert done.status_code == 200 and len(done.json()["messages"]) == 2  # the key works on, no run in the way


def test_reset_forgets_one_venna_workspace(mock: RunningMock) -> None:
    mine, theirs = (f"vk_{new_key(label).replace('-', '_')}" for label in ("mine", "theirs"))
    conversations = mock.base_url("venna") + "/conversations"
    made = {}
    for key in (mine, theirs):
        headers = {"Authorization": f"Bearer {key}"}
        answer = httpx.post(conversations, json={"items": [{"type": "message", "role": "user", "content": "a"}]},
                            headers=headers)
        assert answer.status_code == 200, answer.text
        made[key] = answer.json()["id"]
    reset = httpx.post(mock.url + PREFIX + "/reset", json={"family": "venna", "tenant": mine})
    assert reset.status_code == 200 and reset.json()["reset"]["families"] == ["venna"]
    assert mine not in tenants(mock, "venna") and theirs in tenants(mock, "venna")
    mine_headers = {"Authorization": f"Bearer {mine}"}
    assert httpx.get(f"{conversations}/{made[mine]}", headers=mine_headers).status_code == 404
    kept = httpx.get(f"{conversations}/{made[theirs]}/items", headers={"Authorization": f"Bearer {theirs}"})
    assert kept.status_code == 200 and [item["index"] for item in kept.json()["data"]] == [0]
    again = httpx.post(conversations, json={"items": [{"type": "message", "role": "user", "content": "b"}]},
                       headers=mine_headers).json()["id"]
    items = httpx.get(f"{conversations}/{again}/items", headers=mine_headers).json()["data"]
    assert [(item["index"], item["data"]["content"]) for item in items] == [(0, "b")]


# --- faults --------------------------------------------------------------------------------------

FAULT_SCHEMA_NAMES = {"rule": "FaultRule", "latency": "FaultLatency", "stream": "FaultStream"}


def _as_openapi_30(node: object) -> object:
    """A JSON Schema 2020-12 node said in OpenAPI 3.0, as the admin contract says the fault rule schema."""
    if isinstance(node, list):
        return [_as_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    said: dict[str, object] = {}
    for key, value in node.items():
        if key in ("$schema", "$id", "$defs", "title", "propertyNames"):
            continue
        if key == "$ref":
            said[key] = "#/components/schemas/" + FAULT_SCHEMA_NAMES[value.rsplit("/", 1)[1]]
        elif key == "const":
            said["enum"] = [value]
        elif key == "exclusiveMinimum":
            said.update(minimum=value, exclusiveMinimum=True)
        else:
            said[key] = _as_openapi_30(value)
    return said


def test_the_admin_contract_says_the_fault_rule_schema() -> None:
    schema = json.loads(contract_path(RULES_SCHEMA_FILE).read_text())
    components = yaml.safe_load(contract_path("admin.yaml").read_text())["components"]["schemas"]
    assert components["FaultRules"] == _as_openapi_30(schema)
    for name, said in FAULT_SCHEMA_NAMES.items():
        assert components[said] == _as_openapi_30(schema["$defs"][name]), said


def _statuses(mock: RunningMock, url: str, headers: dict[str, str], count: int) -> list[tuple[int, str | None]]:
    answers = [httpx.get(url, headers=headers) for _ in range(count)]
    for answer in answers:
        assert_conforms("openai-conversations.yaml", answer)
    return [(answer.status_code, answer.headers.get("retry-after")) for answer in answers]


def test_fault_rules_over_http_misbehave_the_same_way_twice() -> None:
    rule = {"family": "openai", "operation": "getConversation", "errors": {"429": 0.3, "503": 0.3}}
    with RunningMock.start() as own:
        admin = own.url + PREFIX
        before = httpx.get(admin + "/faults")
        assert before.status_code == 200 and before.json()["rules"] == []
        key = new_key("faults")
        url = own.base_url("openai") + "/conversations/" + create_conversation(own, key)
        headers = {"Authorization": f"Bearer {key}"}

        put = httpx.put(admin + "/faults", json={"seed": 7, "rules": [rule]})
        assert put.status_code == 200 and put.json() == {"seed": 7, "rules": [rule]}
        assert httpx.get(admin + "/faults").json() == {"seed": 7, "rules": [rule]}
        first = _statuses(own, url, headers, 16)
        assert {status for status, _ in first} == {200, 429, 503}
        assert all(retry == "1" for status, retry in first if status == 429)  # OpenAI sends Retry-After
        again = httpx.put(admin + "/faults", content=yaml.safe_dump({"seed": 7, "rules": [rule]}),
                          headers={"content-type": "application/yaml"})
        assert again.status_code == 200
        assert _statuses(own, url, headers, 16) == first  # the same rules and seed: the same misbehaviour

        cleared = httpx.delete(admin + "/faults")
        assert cleared.status_code == 204
        assert httpx.get(admin + "/faults").json()["rules"] == []
        assert {status for status, _ in _statuses(own, url, headers, 5)} == {200}
        for answer in (before, put, cleared):
            assert_conforms("admin.yaml", answer)


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"rules": [{"family": "openai", "operation": "getConversation", "errors": {"502": 0.5}}]}, 422,
     "status 502 is not declared by the operation"),
    ({"rules": [{"family": "nope", "errors": {"429": 0.5}}]}, 422, "no family 'nope'"),
    ({"rules": [{"family": "openai", "errors": {"429": 2}}]}, 422, "fault rules: at rules/0/errors/429"),
    ("rules: [unclosed", 400, "neither JSON nor YAML"),
    ("", 400, "fault rule document"),
    ("[]", 400, "fault rule document"),
])
def test_a_refused_fault_document_changes_nothing(body: object, status: int, words: str) -> None:
    kept = {"seed": 3, "rules": [{"family": "posthog", "errors": {"429": 0.1}}]}
    with RunningMock.start() as own:
        admin = own.url + PREFIX
        assert httpx.put(admin + "/faults", json=kept).status_code == 200
        content = body if isinstance(body, str) else json.dumps(body)
        refused = httpx.put(admin + "/faults", content=content)
        assert refused.status_code == status, refused.text
        assert refused.json()["service"] == "convo-mock" and words in refused.json()["message"]
        assert_conforms("admin.yaml", refused)
        assert httpx.get(admin + "/faults").json() == kept


# --- fixtures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(discover()))
def test_every_family_has_an_example_fixture_that_loads(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    assert family in fixture_families(), f"no example fixture mockserver/examples/fixtures/{family}.yaml"
    example = fixture_path(family)
    document = yaml.safe_load(example.read_text())
    assert set(document["families"]) == {family}
    with RunningMock.start() as own:
        loaded = own.load_fixtures(example)
        expected = sum(len(requests) for requests in document["families"][family].values())
        assert len(loaded) == expected and all(200 <= step["status"] < 300 for step in loaded)
        assert tenants(own, family) == set(document["families"][family])
        journal = own.journal()
        assert journal == []  # seeding is not a client's request
        own.load_fixtures(example)  # twice: a document can be loaded again (ids a client mints are fresh)


def test_seeded_data_is_what_a_client_would_have_made(mock: RunningMock) -> None:
    key = new_key("seed")
    document = {"fixtures": 1, "families": {"openai": {key: [
        {"name": "first", "path": "/conversations", "body": OPENAI_CONVERSATION},
        {"path": "/conversations/${first.id}/items",
         "body": {"items": [{"role": "assistant", "content": "Reply to ${first.id}"}]}},
    ]}}}
    loaded = mock.load_fixtures(json.dumps(document))
    conversation = loaded[0]["id"]
    headers = {"Authorization": f"Bearer {key}"}
    items = httpx.get(mock.base_url("openai") + f"/conversations/{conversation}/items?order=asc",
                      headers=headers).json()["data"]
    assert [item["role"] for item in items] == ["user", "assistant"]
    assert items[1]["content"][0]["text"] == f"Reply to {conversation}"
    made = httpx.get(mock.base_url("openai") + f"/conversations/{conversation}", headers=headers).json()
    assert made["metadata"] == {"topic": "t"} and made["object"] == "conversation"


def test_a_refused_fixture_request_keeps_nothing_of_the_load(mock: RunningMock) -> None:
    key = new_key("refused")
    document = {"fixtures": 1, "families": {"openai": {key: [
        {"name": "first", "path": "/conversations", "body": OPENAI_CONVERSATION},
        {"path": "/conversations", "body": {"metadata": {str(n): "v" for n in range(17)}}},  # 17 pairs: 400
    ]}}}
    answer = httpx.post(mock.url + PREFIX + "/fixtures", content=json.dumps(document))
    assert answer.status_code == 422
    failed = answer.json()["failed"]
    assert failed["request"] == 2 and failed["status"] == 400 and "error" in failed["answer"]
    assert key not in tenants(mock, "openai")


@pytest.mark.parametrize("document", [
    "not: [valid", "[]", '{"families": {"nope": {}}}', '{"families": {"openai": {"k": [{"path": "x"}]}}}',
    '{"fixtures": 2, "families": {}}', '{"families": {"openai": {"k": [{"path": "/c", "bogus": 1}]}}}',
    '{"families": {"openai": {"k": [{"path": "/conversations/${missing.id}"}]}}}',
])
def test_malformed_fixture_documents_are_refused(mock: RunningMock, document: str) -> None:
    answer = httpx.post(mock.url + PREFIX + "/fixtures", content=document)
    assert answer.status_code == 422, answer.text
    assert answer.json()["service"] == "convo-mock"


# --- journal -------------------------------------------------------------------------------------


def test_journal_notes_requests_with_the_key_masked_and_filters() -> None:
    with RunningMock.start(journal_size=50) as own:
        mine, theirs = new_key("journal"), new_key("other")
        conversation = create_conversation(own, mine)
        create_conversation(own, theirs)
        httpx.get(own.base_url("openai") + f"/conversations/{conversation}",
                  headers={"Authorization": f"Bearer {mine}"})
        httpx.get(own.base_url("posthog") + "/api/environments/@current/conversations/?personal_api_key=" + mine)
        entries = own.journal(tenant=mine)
        assert [(e["method"], e["operation"], e["status"]) for e in entries] == [
            ("POST", "createConversation", 200), ("GET", "getConversation", 200),
            ("GET", "environments_conversations_list", 200)]
        first = entries[0]
        assert first["family"] == "openai" and first["tenant"] == "sk-…" + mine[-2:]
        assert json.loads(first["request_body"]) == OPENAI_CONVERSATION
        assert json.loads(first["response_body"])["id"] == conversation
        assert re.fullmatch(r"req_[0-9a-f]{32}", first["request_id"]) and first["complete"]
        assert first["duration_ms"] >= 0
        assert mine not in json.dumps(own.journal())  # the key never appears whole, query included
        assert entries[2]["query"] == "personal_api_key=sk-…" + mine[-2:]
        assert [e["operation"] for e in own.journal(family="openai", operation="createConversation")] == [
            "createConversation", "createConversation"]
        assert len(own.journal(limit=1)) == 1
        own.clear_journal()
        assert own.journal() == []


def test_journal_lists_a_stream_still_being_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0.05")
    with RunningMock.start(journal_size=5) as own:
        key = new_key("open")
        headers = {"X-API-Key": key}
        base = own.base_url("virtuousai")
        thread = httpx.post(base + "/chat/threads", json={"title": "t"}, headers=headers).json()["id"]
        body = {"trigger": "submit-message", "id": thread,
                "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hello there!"}]}]}
        with httpx.stream("POST", f"{base}/chat/threads/{thread}/turns/stream", json=body, headers=headers,
                          timeout=30) as stream:
            lines = stream.iter_lines()
            next(lines)
            streaming = own.journal(tenant=key)[-1]
            assert streaming["operation"].startswith("stream_turn") and streaming["status"] == 200
            assert not streaming["complete"] and streaming["duration_ms"] is None
            assert re.fullmatch(r"req_[0-9a-f]{32}", streaming["request_id"])
            for _ in lines:
                pass
        for _ in range(100):  # the server notes the end just after the client has read it
            done = own.journal(tenant=key)[-1]
            if done["complete"]:
                break
            time.sleep(0.05)
        assert done["number"] == streaming["number"] and done["complete"] and done["duration_ms"] > 0
        assert done["tenant"] == "sk-…" + key[-2:]


def test_journal_is_bounded_and_can_be_off() -> None:
    with RunningMock.start(journal_size=3) as own:
        for _ in range(5):
            httpx.get(own.base_url("openai") + "/conversations/conv_x", headers={"Authorization": "Bearer k"})
        assert [e["number"] for e in own.journal()] == [3, 4, 5]
    with RunningMock.start(journal_size=0) as off:
        assert httpx.get(off.url + PREFIX + "/journal").status_code == 404


# --- admin token ---------------------------------------------------------------------------------


def test_with_a_token_the_admin_api_needs_it_but_probes_do_not() -> None:
    with RunningMock.start(admin_token="s3cret") as own:
        admin = own.url + PREFIX
        assert httpx.post(admin + "/reset").status_code == 401
        assert httpx.get(admin + "/journal", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.post(admin + "/reset", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert httpx.get(admin + "/journal", headers={"X-Admin-Token": "s3cret"}).status_code == 200
        assert httpx.get(admin + "/health").status_code == 200
        assert httpx.get(admin + "/ready").status_code == 200


# --- the command line ----------------------------------------------------------------------------


class Serving:
    """``convo-mock serve`` as a process, its output collected line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args], cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url: str | None = None
        self._started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match:
                self.url = match.group(1)
                self._started.set()
        self._started.set()

    def wait_ready(self, timeout: float = 60) -> str:
        assert self._started.wait(timeout) and self.url, "".join(self.lines)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + PREFIX + "/ready", timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, "".join(self.lines)
            time.sleep(0.1)
        raise AssertionError("not ready: " + "".join(self.lines))

    def wait_line(self, pattern: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=20)


def test_access_log_prints_one_line_per_request() -> None:
    server = Serving("--access-log")
    try:
        url = server.wait_ready()
        answer = httpx.get(url + "/openai/v1/conversations/conv_nope", headers={"Authorization": "Bearer k"})
        request_id = answer.headers["x-request-id"]
        line = server.wait_line(re.escape(request_id))
        assert re.fullmatch(rf"GET /openai/v1/conversations/conv_nope 404 \d+\.\dms {request_id}\n", line), line
    finally:
        server.stop()


def test_fixtures_at_start_are_served_and_the_mock_is_ready_after_them(tmp_path: Path) -> None:
    key = new_key("start")
    fixture = tmp_path / "seed.yaml"
    fixture.write_text(yaml.safe_dump({"fixtures": 1, "families": {"virtuousai": {key: [
        {"path": "/chat/threads", "body": {"title": "Seeded at start"}}]}}}))
    server = Serving("--fixtures", str(fixture), "--family", "virtuousai")
    try:
        url = server.wait_ready()
        threads = httpx.get(url + "/virtuousai/api/v1/chat/threads", headers={"X-API-Key": key}).json()
        assert [thread["title"] for thread in threads["items"]] == ["Seeded at start"]
        journal = httpx.get(url + PREFIX + "/journal").json()["requests"]
        assert [entry["operation"] for entry in journal] == ["list_threads_api_v1_chat_threads_get"]
    finally:
        server.stop()


def test_fixtures_refused_at_start_stop_the_mock(tmp_path: Path) -> None:
    refused = tmp_path / "refused.yaml"
    refused.write_text(yaml.safe_dump({"families": {"openai": {"k": [
        {"path": "/conversations", "body": {"items": "not a list"}}]}}}))
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--fixtures", str(refused)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "fixtures not loaded" in result.stdout + result.stderr
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("families: {unknown: {}}")
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--fixtures", str(malformed)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown family 'unknown'" in result.stderr


def test_beyond_loopback_the_admin_token_is_required() -> None:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if k != "CONVO_MOCK_ADMIN_TOKEN"})
    assert result.returncode == 2 and "--admin-token" in result.stderr


def test_the_admin_token_from_the_environment_is_required_on_loopback_too() -> None:
    server = Serving(env={"CONVO_MOCK_ADMIN_TOKEN": "from-env"})
    try:
        url = server.wait_ready()
        assert httpx.get(url + PREFIX + "/journal").status_code == 401
        assert httpx.get(url + PREFIX + "/journal", headers={"Authorization": "Bearer from-env"}).status_code == 200
    finally:
        server.stop()
