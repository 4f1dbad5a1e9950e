"""``Prefer: code=…/example=…/delay=…`` and ``convo-mock serve --prefer``: any declared response of any operation
of any family, on request, and nothing the contract does not declare."""

from __future__ import annotations

import re
import subprocess
import sys
import typing as t
from dataclasses import replace

import httpx
import orjson
import pytest
from openapi_schema_validator import OAS30Validator

from mockserver.app import MockApp, create_app
from mockserver.declared import declared_operations, example_from_schema
from mockserver.families import discover
from mockserver.preferences import MAX_DELAY_MS, Preference, family_defaults, parse
from tests.contract import assert_conforms
from tests.servers import ROOT, running_server

pytestmark = pytest.mark.anyio

FAMILIES = discover()
THREAD = "3f1c2a4e-8b7d-4e2a-9c1f-5d6e7f8a9b0c"
CONVERSATION = "0d4f7f8e-1c2b-4a3d-9e8f-7a6b5c4d3e2f"
STREAM_BODY = {"trigger": "submit-message", "id": THREAD,
               "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hello!"}]}]}


class Call(t.NamedTuple):
    """A request the contract accepts, with its family's credential."""

    family: str
    method: str
    path: str
    headers: dict[str, str]
    body: t.Any = None


OPENAI_KEY = {"authorization": "Bearer key-1"}
VAI_KEY = {"x-api-key": "key-1"}
CALLS = {
    "openai-create": Call("openai", "POST", "/openai/v1/conversations", OPENAI_KEY, {}),
    "openai-get": Call("openai", "GET", "/openai/v1/conversations/conv_123", OPENAI_KEY),
    "openai-items": Call("openai", "GET", "/openai/v1/conversations/conv_123/items?limit=2", OPENAI_KEY),
    "virtuousai-list": Call("virtuousai", "GET", "/virtuousai/api/v1/chat/threads", VAI_KEY),
    "virtuousai-create": Call("virtuousai", "POST", "/virtuousai/api/v1/chat/threads", VAI_KEY, {"title": "t"}),
    "virtuousai-delete": Call("virtuousai", "DELETE", f"/virtuousai/api/v1/chat/threads/{THREAD}", VAI_KEY),
    "virtuousai-stream": Call("virtuousai", "POST", f"/virtuousai/api/v1/chat/threads/{THREAD}/turns/stream", VAI_KEY,
                              STREAM_BODY),
    "posthog-list": Call("posthog", "GET", "/posthog/api/environments/@current/conversations/", OPENAI_KEY),
    "posthog-retrieve": Call("posthog", "GET", f"/posthog/api/environments/@current/conversations/{CONVERSATION}/",
                             OPENAI_KEY),
}


async def send(app: MockApp, call: Call, prefer: str | None = None, headers: dict[str, str] | None = None
               ) -> httpx.Response:
    extra = {"prefer": prefer} if prefer is not None else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:4010") as client:
        return await client.request(call.method, call.path, json=call.body,
                                    headers={**call.headers, **extra, **(headers or {})})


def spec_file(family: str) -> str:
    return FAMILIES[family].spec_file


# --- every declared response, straight from the contract ------------------------------------------


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_every_declared_response_of_every_operation_is_valid_against_its_contract(family_name: str) -> None:
    family = FAMILIES[family_name]
    operations = declared_operations(family)
    assert operations
    checked = 0
    for operation in operations.values():
        # The path a client would send (a body may name it: Venna's 501 names the route).
        sent_path = family.base_path.rstrip("/") + re.sub(r"\{[^}]+\}", "x", operation.path)
        for status, declared in operation.responses.items():
            response = operation.respond(status, sent_path)
            assert response.status_code == status
            for name in declared.headers:
                assert name.lower() in response.headers, (operation.operation_id, status, name)
            if declared.media_type is None:
                assert response.body == b""
                continue
            assert response.headers["content-type"].startswith(declared.media_type)
            if declared.media_type.endswith("json") and declared.schema is not None:
                body = orjson.loads(response.body)
                assert operation.is_valid(status, body), (operation.operation_id, status, body)
            checked += 1
    assert checked > 20


def test_an_example_built_from_a_schema_is_the_same_every_time_and_meets_its_bounds() -> None:
    schema = {"type": "object", "required": ["n", "s"], "properties": {
        "n": {"type": "integer", "minimum": 3}, "s": {"type": "string", "minLength": 10, "format": "uuid"},
        "kind": {"type": "string", "enum": [None, "b", "c"], "nullable": True},
        "list": {"type": "array", "minItems": 2, "items": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
        "one": {"oneOf": [{"type": "boolean"}, {"type": "string"}]}}}
    first = example_from_schema(schema)
    assert first == example_from_schema(schema)
    assert first["n"] == 3 and first["kind"] == "b" and len(first["list"]) == 2 and first["one"] is False
    assert not list(OAS30Validator(schema).iter_errors(first))


# --- through HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call_name", sorted(CALLS))
async def test_prefer_code_answers_each_declared_status_as_the_contract_declares_it(call_name: str) -> None:
    call = CALLS[call_name]
    app = create_app()
    family = FAMILIES[call.family]
    operation = next(op for op in declared_operations(family).values()
                     if op.method.upper() == call.method and _matches(family.base_path + op.path, call.path))
    for status in operation.statuses:
        response = await send(app, call, f"code={status}")
        assert response.status_code == status, (status, response.text)
        assert_conforms(spec_file(call.family), response)


def _matches(template: str, path: str) -> bool:
    parts, sent = template.strip("/").split("/"), path.split("?")[0].strip("/").split("/")
    return len(parts) == len(sent) and all(p == s or p.startswith("{") for p, s in zip(parts, sent, strict=True))


async def test_a_selected_response_runs_no_handler_and_stores_nothing() -> None:
    app = create_app()
    created = await send(app, CALLS["virtuousai-create"], "code=200")
    assert created.status_code == 200
    streamed = await send(app, CALLS["virtuousai-stream"], "code=500")
    assert streamed.status_code == 500 and streamed.json() == {"detail": "Internal Server Error"}
    listed = await send(app, CALLS["virtuousai-list"])
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await send(app, CALLS["virtuousai-create"])).status_code == 200  # without Prefer: stored
    assert len((await send(app, CALLS["virtuousai-list"])).json()["items"]) == 1


@pytest.mark.parametrize(("call_name", "status", "body_key"), [
    ("openai-create", 400, "error"), ("virtuousai-list", 422, "detail"), ("posthog-list", 400, "detail")])
async def test_an_undeclared_code_is_the_familys_validation_error_naming_the_declared_ones(
        call_name: str, status: int, body_key: str) -> None:
    app = create_app()
    response = await send(app, CALLS[call_name], "code=418")
    assert response.status_code == status
    assert "418" in response.text and "declared: 200" in response.text and body_key in response.json()
    assert_conforms(spec_file(CALLS[call_name].family), response)


async def test_an_undeclared_code_on_a_write_stores_nothing() -> None:
    app = create_app()
    assert (await send(app, CALLS["virtuousai-create"], "code=201")).status_code == 422
    assert (await send(app, CALLS["virtuousai-list"])).json()["items"] == []


async def test_prefer_example_picks_the_named_example_and_its_status() -> None:
    app = create_app()
    quota = await send(app, CALLS["openai-create"], "example=insufficient_quota")
    assert quota.status_code == 429
    assert quota.json()["error"]["code"] == "insufficient_quota"
    both = await send(app, CALLS["openai-create"], 'code=429; example="rate_limit_exceeded"')
    assert both.status_code == 429 and both.json()["error"]["type"] == "rate_limit_exceeded"
    assert both.headers["retry-after"] == "1"
    overloaded = await send(app, CALLS["openai-get"], "example=overloaded")
    assert overloaded.status_code == 503
    for prefer in ("example=nope", "code=500, example=insufficient_quota"):
        refused = await send(app, CALLS["openai-create"], prefer)
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "prefer", prefer


async def test_missing_credentials_win_over_a_preferred_code_unless_that_code_is_asked() -> None:
    app = create_app()
    call = CALLS["openai-create"]._replace(headers={})
    for prefer in ("code=429", "code=500", "example=insufficient_quota"):
        response = await send(app, call, prefer)
        assert response.status_code == 401 and "API key" in response.text, prefer
    asked = await send(app, CALLS["openai-create"], "code=401")
    assert asked.status_code == 401
    assert_conforms(spec_file("openai"), asked)


async def test_an_invalid_request_gets_its_validation_error_before_any_preference() -> None:
    app = create_app()
    response = await send(app, CALLS["openai-items"]._replace(path="/openai/v1/conversations/conv_1/items?limit=1000"),
                          "code=429")
    assert response.status_code == 400 and response.json()["error"]["code"] == "integer_above_max_value"


async def test_the_connexion_path_selects_as_the_fast_path_does() -> None:
    from mockserver.connexion_app import build_family_app
    from mockserver.store import MemoryStore

    family = FAMILIES["openai"]
    slow = build_family_app(family, MemoryStore(), fast_path=False)
    assert not slow.compiled
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=slow), base_url="http://mock") as client:
        selected = await client.post("/openai/v1/conversations", json={}, headers={**OPENAI_KEY, "prefer": "code=503"})
        refused = await client.post("/openai/v1/conversations", json={}, headers={**OPENAI_KEY, "prefer": "code=418"})
    assert selected.status_code == 503 and selected.json()["error"]["type"] == "server_error"
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "prefer"


async def test_prefer_delay_waits_before_the_answer_and_is_capped(slept: list[float]) -> None:
    app = create_app()
    assert (await send(app, CALLS["openai-create"], "delay=250")).status_code == 200
    assert slept == [0.25]
    assert (await send(app, CALLS["openai-create"], "code=429, delay=10")).status_code == 429
    assert (await send(app, CALLS["openai-create"], f"delay={MAX_DELAY_MS * 10}")).status_code == 200
    assert slept == [0.25, 0.01, MAX_DELAY_MS / 1000]
    refused = await send(app, CALLS["openai-create"], "delay=-5")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "prefer"


async def test_a_family_default_is_merged_under_the_requests_own_preference(slept: list[float]) -> None:
    app = create_app(preferences={"openai": Preference(code=503)})
    assert (await send(app, CALLS["openai-create"])).status_code == 503
    assert (await send(app, CALLS["openai-create"], "delay=20")).status_code == 503
    assert slept == [0.02]
    assert (await send(app, CALLS["openai-create"], "code=200")).status_code == 200
    assert (await send(app, CALLS["virtuousai-list"])).status_code == 200  # other families keep their behaviour


# --- parsing ----------------------------------------------------------------------------------------


def test_prefer_values_are_read_as_prism_reads_them() -> None:
    assert parse(["code=429"]) == Preference(code=429)
    assert parse(['Code = 501 ; example="not implemented", respond-async, dynamic=true']) == Preference(
        code=501, example="not implemented")
    assert parse(["code=404", "delay=5"]) == Preference(code=404, delay_ms=5)
    assert parse(["return=minimal"]).empty
    assert Preference(code=501, delay_ms=3).under(Preference(delay_ms=7)) == Preference(code=501, delay_ms=7)


def test_family_defaults_refuse_what_they_cannot_use() -> None:
    assert family_defaults(["openai:code=429", "openai:delay=5"], ["openai"]) == {
        "openai": Preference(code=429, delay_ms=5)}
    for option in ("openai", "nope:code=429", "openai:code=abc", "openai:return=minimal"):
        with pytest.raises(ValueError, match="--prefer"):
            family_defaults([option], ["openai"])


# --- the command line -------------------------------------------------------------------------------


def test_serve_prefer_makes_a_family_answer_a_declared_code_until_a_request_asks_otherwise() -> None:
    with running_server("-m", "mockserver", "serve", "--port", "0", "--prefer", "openai:code=503",
                        "--prefer", "posthog:example=throttled") as url:
        with httpx.Client(base_url=url, headers=OPENAI_KEY, timeout=10) as client:
            first = client.post("/openai/v1/conversations", json={})
            assert first.status_code == 503 and first.json()["error"]["type"] == "server_error"
            assert client.post("/openai/v1/conversations", json={}, headers={"prefer": "code=200"}).status_code == 200
            assert client.get("/posthog/api/environments/@current/conversations/").status_code == 429
            assert client.get("/virtuousai/api/v1/chat/threads", headers=VAI_KEY).status_code == 200


def test_serve_refuses_a_preference_it_cannot_use() -> None:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--prefer", "openai:code=x"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--prefer 'openai:code=x'" in result.stderr and "not an HTTP status code" in result.stderr


async def test_a_familys_declared_body_renders_the_bodies_that_depend_on_the_request() -> None:
    def declared_body(method: str, path: str, status: int) -> t.Any:
        if status != 503:
            return None
        return {"error": {"message": f"{method} {path} is not available", "type": "server_error", "param": None,
                          "code": None}}

    app = MockApp([replace(FAMILIES["openai"], declared_body=declared_body)])
    own = await send(app, CALLS["openai-get"], "code=503")
    assert own.json()["error"]["message"] == "GET /openai/v1/conversations/conv_123 is not available"
    default = await send(app, CALLS["openai-get"], "code=500")
    assert default.json()["error"]["message"].startswith("The server had an error")
    named = await send(app, CALLS["openai-get"], "code=503, example=overloaded")
    assert named.json()["error"]["message"].startswith("The engine is currently overloaded")
