"""Fault rules (``convo-mock serve --faults FILE --seed N`` and ``MockApp.faults``): declared errors with a
probability, latency, stream faults, the same way on every run with the same seed, and nothing undeclared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from convo_contracts import contract_path
from mockserver.app import MockApp, create_app
from mockserver.examples import faults_path
from mockserver.faults import RULES_SCHEMA_FILE, FaultRuleError, rules_schema
from tests.contract import assert_conforms
from tests.servers import ROOT, running_server

pytestmark = pytest.mark.anyio

KEY = {"authorization": "Bearer key-1"}
VAI_KEY = {"x-api-key": "key-1"}


def stream_body(thread: str) -> dict:
    return {"trigger": "submit-message", "id": thread,
            "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hello there, mock!"}]}]}

STREAM_OP = "stream_turn_api_v1_chat_threads__thread_id__turns_stream_post"


async def create(app: MockApp, count: int = 1, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:4010") as client:
        return [await client.post("/openai/v1/conversations", json={"metadata": {"n": str(n)}},
                                  headers={**KEY, **(headers or {})}) for n in range(count)]


def rules(*items: dict, seed: int | None = None) -> dict:
    return {**({"seed": seed} if seed is not None else {}), "rules": list(items)}


# --- declared errors --------------------------------------------------------------------------------


async def test_an_error_rule_answers_the_declared_error_and_stores_nothing() -> None:
    app = create_app()
    app.faults.replace(rules({"family": "openai", "operation": "createConversation", "errors": {"500": 1}}))
    answered = await create(app, 3)
    assert [r.status_code for r in answered] == [500, 500, 500]
    assert answered[0].json()["error"]["type"] == "server_error"
    assert_conforms("openai-conversations.yaml", answered[0])
    app.faults.clear()
    assert not app.faults.active
    created = (await create(app))[0]
    assert created.status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        assert (await client.get("/openai/v1/conversations/" + created.json()["id"], headers=KEY)).status_code == 200


async def test_a_star_rule_fires_on_every_operation_with_retry_after_where_declared() -> None:
    app = create_app()
    app.faults.replace({"rules": [{"family": "openai", "errors": {429: 1}},
                                  {"family": "posthog", "operation": "*", "errors": {"429": 1}}]})
    limited = (await create(app))[0]
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["type"] == "rate_limit_exceeded"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        throttled = await client.get("/posthog/api/environments/@current/conversations/", headers=KEY)
        untouched = await client.get("/virtuousai/api/v1/chat/threads", headers=VAI_KEY)
    assert throttled.status_code == 429 and throttled.json()["type"] == "throttled_error"
    assert "retry-after" not in throttled.headers  # PostHog sends none
    assert untouched.status_code == 200


async def test_an_operation_rule_wins_over_the_star_rule_and_prefer_wins_over_both() -> None:
    app = create_app()
    app.faults.replace(rules({"family": "openai", "errors": {"503": 1}},
                             {"family": "openai", "operation": "createConversation", "errors": {"500": 1}}))
    assert (await create(app))[0].status_code == 500
    assert (await create(app, headers={"prefer": "code=429"}))[0].status_code == 429
    assert (await create(app, headers={"prefer": "code=200"}))[0].status_code == 200


async def test_the_same_seed_misbehaves_the_same_way_and_another_seed_differently() -> None:
    document = rules({"family": "openai", "operation": "createConversation", "errors": {"429": 0.3, "500": 0.2}})

    async def statuses(seed: int) -> list[int]:
        app = create_app(seed=seed)
        app.faults.replace(document)
        return [r.status_code for r in await create(app, 40)]

    first = await statuses(7)
    assert set(first) == {200, 429, 500}
    assert await statuses(7) == first
    assert await statuses(8) != first


async def test_the_files_seed_is_used_unless_one_is_given_and_as_dict_shows_it() -> None:
    app = create_app()
    app.faults.replace(rules({"family": "openai", "errors": {"429": 0.5}}, seed=42))
    assert app.faults.as_dict() == {"seed": 42, "rules": [{"family": "openai", "errors": {"429": 0.5}}]}
    fixed = create_app(seed=3)
    fixed.faults.replace(rules({"family": "openai", "errors": {"429": 0.5}}, seed=42))
    assert fixed.faults.seed == 3
    unseeded = create_app()
    unseeded.faults.replace(app.faults.as_dict())  # a run is replayed from what as_dict shows
    assert [r.status_code for r in await create(unseeded, 20)] == [r.status_code for r in await create(app, 20)]


# --- refused rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "message"), [
    ({"family": "openai", "operation": "createConversation", "errors": {"502": 0.1}},
     "status 502 is not declared by the operation; declared error statuses: 400, 401, 404"),
    ({"family": "openai", "errors": {"418": 0.1}}, "status 418 is not declared by any operation"),
    ({"family": "virtuousai", "operation": "list_threads_api_v1_chat_threads_get", "errors": {"404": 1}},
     "status 404 is not declared"),
    ({"family": "nope", "errors": {"500": 0.1}}, "no family 'nope' is served"),
    ({"family": "openai", "operation": "listConversations"}, "no operation 'listConversations'"),
    ({"family": "openai", "errors": {"429": 0.7, "500": 0.7}}, "add up to 1.4, above 1"),
    ({"family": "openai", "operation": "createConversation", "stream": {"first_event_ms": 10}},
     "declares no text/event-stream response"),
    ({"family": "openai", "errors": {"200": 0.5}}, "at rules/1/errors"),
    ({"family": "openai", "latency": {"distribution": "pareto", "ms": 5}}, "at rules/1/latency"),
    ({"family": "openai", "latency": {"distribution": "uniform", "min_ms": 9, "max_ms": 1}}, "min_ms is above max_ms"),
])
def test_a_rule_the_contract_does_not_allow_is_refused_whole_with_a_clear_message(rule: dict, message: str) -> None:
    app = create_app()
    kept = rules({"family": "openai", "errors": {"429": 0.5}}, seed=1)
    app.faults.replace(kept)
    with pytest.raises(FaultRuleError, match=message.replace("(", r"\(").replace(".", r"\.")):
        app.faults.replace(rules({"family": "posthog", "errors": {"500": 0.1}}, rule))
    assert app.faults.as_dict() == kept


def test_the_rule_schema_is_shipped_with_the_contracts_and_is_a_valid_json_schema() -> None:
    schema = json.loads(contract_path(RULES_SCHEMA_FILE).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == rules_schema()
    example = yaml.safe_load(faults_path().read_text())
    jsonschema.Draft202012Validator(schema).validate(example)
    create_app().faults.replace(example)


# --- latency ----------------------------------------------------------------------------------------


async def test_latency_is_drawn_from_its_distribution_before_the_answer(slept: list[float]) -> None:
    app = create_app(seed=11)
    app.faults.replace(rules({"family": "openai", "operation": "createConversation",
                              "latency": {"distribution": "fixed", "ms": 120}}))
    await create(app, 2)
    assert slept == [0.12, 0.12]
    slept.clear()
    app.faults.replace(rules({"family": "openai", "latency": {"distribution": "uniform", "min_ms": 50, "max_ms": 80}}))
    await create(app, 20)
    assert len(slept) == 20 and all(0.05 <= s <= 0.08 for s in slept) and len(set(slept)) > 10
    uniform = list(slept)
    slept.clear()
    app.faults.replace(rules({"family": "openai", "latency": {"distribution": "uniform", "min_ms": 50, "max_ms": 80}}))
    await create(app, 20)
    assert slept == uniform  # replacing the rules restarts each rule's sequence
    slept.clear()
    app.faults.replace(rules({"family": "openai", "latency": {"distribution": "lognormal", "median_ms": 100,
                                                              "sigma": 1.5, "max_ms": 400}}))
    await create(app, 40)
    assert len(slept) == 40 and max(slept) == 0.4 and min(slept) < 0.1


async def test_prefer_delay_and_rule_latency_add_up_and_an_error_waits_too(slept: list[float]) -> None:
    app = create_app()
    app.faults.replace(rules({"family": "openai", "errors": {"503": 1},
                              "latency": {"distribution": "fixed", "ms": 30}}))
    answered = (await create(app, headers={"prefer": "delay=20"}))[0]
    assert answered.status_code == 503 and slept == [0.05]


# --- streams ----------------------------------------------------------------------------------------


async def stream_turn(app: MockApp) -> tuple[list[str], Exception | None]:
    """The frames of one VirtuousAI turn, and the error that ended it early (if any)."""
    frames: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        thread = (await client.post("/virtuousai/api/v1/chat/threads", json={}, headers=VAI_KEY)).json()["id"]
        try:
            async with client.stream("POST", f"/virtuousai/api/v1/chat/threads/{thread}/turns/stream",
                                     json=stream_body(thread), headers=VAI_KEY) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        frames.append(line[6:])
        except Exception as exc:  # noqa: BLE001 - the drop under test
            return frames, exc
    return frames, None


async def test_stream_faults_pause_before_the_first_event_per_event_and_in_a_stall(
        slept: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    app = create_app()
    plain, _ = await stream_turn(app)
    assert plain[-1] == "[DONE]" and slept == []
    app.faults.replace(rules({"family": "virtuousai", "operation": STREAM_OP, "stream": {
        "first_event_ms": 1500, "event_ms": 7, "stall": {"after_events": 3, "ms": 4000}}}))
    frames, error = await stream_turn(app)
    assert error is None and frames[-1] == "[DONE]" and len(frames) == len(plain)
    assert slept[:4] == [1.5, 0.007, 0.007, 4.0] and slept[4:] == [0.007] * (len(frames) - 3)


async def test_a_dropped_stream_ends_with_an_error_instead_of_its_last_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    app = create_app()
    app.faults.replace(rules({"family": "virtuousai", "operation": "*", "stream": {"drop": {"after_events": 2}}}))
    frames, error = await stream_turn(app)  # in process, httpx reads the whole body first: no frame arrives
    assert error is not None and "dropped after 2 events" in str(error.__cause__ or error)
    assert "[DONE]" not in frames


async def test_stream_fault_probabilities_are_drawn_per_request_from_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")

    async def outcomes(seed: int) -> list[bool]:
        app = create_app(seed=seed)
        app.faults.replace(rules({"family": "virtuousai", "operation": STREAM_OP,
                                  "stream": {"drop": {"after_events": 1, "probability": 0.5}}}))
        dropped = []
        for _ in range(12):
            _, error = await stream_turn(app)
            dropped.append(error is not None)
        return dropped

    first = await outcomes(5)
    assert True in first and False in first
    assert await outcomes(5) == first


# --- the command line, over a real connection --------------------------------------------------------


def test_serve_faults_drops_a_stream_mid_way_and_answers_declared_errors(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(rules(
        {"family": "virtuousai", "operation": STREAM_OP, "stream": {"drop": {"after_events": 2}}},
        {"family": "posthog", "errors": {500: 1}})))
    with running_server("-m", "mockserver", "serve", "--port", "0", "--faults", str(path), "--seed", "9",
                        "--stream-delay", "0") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            frames: list[str] = []
            thread = client.post("/virtuousai/api/v1/chat/threads", json={}, headers=VAI_KEY).json()["id"]
            with pytest.raises(httpx.RemoteProtocolError):
                with client.stream("POST", f"/virtuousai/api/v1/chat/threads/{thread}/turns/stream",
                                   json=stream_body(thread), headers=VAI_KEY) as response:
                    assert response.status_code == 200
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            frames.append(line)
            assert len(frames) == 2
            failed = client.get("/posthog/api/environments/@current/conversations/", headers=KEY)
            assert failed.status_code == 500 and failed.json()["type"] == "server_error"
            assert client.post("/openai/v1/conversations", json={}, headers=KEY).status_code == 200


def test_serve_refuses_a_fault_file_with_an_undeclared_status(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(rules({"family": "openai", "operation": "getConversation", "errors": {"502": 0.5}})))
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--faults", str(path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "fault rule 0 (openai getConversation): status 502 is not declared by the operation" in result.stderr
