"""Bodies a careless or hostile client sends (issue 10 items 2 and 3): no 500, nothing poisoned stored.

- Every operation with a body, of every family, answers a JSON body sent without Content-Type, or with a
  mixed-case or parameterised JSON media type, exactly as it answers the same body sent as
  ``application/json``: two mocks with the same state (``tests.test_pipeline.DeterministicIds``) get the
  canonical and the varied request, and must answer byte for byte alike, never with a 5xx. The resource in
  the path exists (created first with the family's own create operation), so the handler really runs.
- JSON nested past ``MAX_BODY_DEPTH`` in free-form fields (VirtuousAI ``metadata``, OpenAI ``annotations``),
  with or without a 19-digit number at the bottom, is refused with the family's 400 and stores nothing;
  lists stay readable. 64 levels are accepted.
- A body that is not UTF-8 gets FastAPI's 400 at VirtuousAI and OpenAI's ``invalid_json`` 400.
"""

from __future__ import annotations

import asyncio
import typing as t
import warnings

import orjson
import pytest

from mockserver.app import MockApp
from mockserver.families import discover
from mockserver.validation import MAX_BODY_DEPTH, json_depth
from tests.test_pipeline import (
    DeterministicIds,
    Exchange,
    _ids_in,
    _path_examples,
    _request_parts,
    _with_header,
    contract_operations,
    send,
)

OPENAI = "/openai/v1"
VAI = "/virtuousai/api/v1"
# Each family reads the header its vendor does; vk_: a key every family takes (Venna takes only vk_).
AUTH = [(b"authorization", b"Bearer vk_k1"), (b"x-api-key", b"vk_k1")]
JSON = [(b"content-type", b"application/json")]
VARIANTS = [None, b"", b"Application/JSON", b"APPLICATION/JSON; Charset=UTF-8", b"application/json; charset=utf-8"]
"""Content-Type values that must mean JSON (None: the header is absent; an empty one counts as absent)."""


@pytest.mark.parametrize("family_name", sorted(discover()))
def test_json_without_exact_content_type_is_json(family_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    family = discover()[family_name]
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    ids = DeterministicIds(monkeypatch)
    canonical, varied = MockApp([family]), MockApp([family])
    operations = contract_operations(family)
    step = 0

    def both(method: str, path: str, query: bytes, body: bytes | None, headers: list,
             variant_headers: list) -> tuple[Exchange, Exchange]:
        nonlocal step
        step += 1
        ids.reset(step)
        expected = asyncio.run(send(canonical, method, path, query=query, body=body, headers=headers))
        ids.reset(step)
        got = asyncio.run(send(varied, method, path, query=query, body=body, headers=variant_headers))
        return expected, got

    def example(operation: t.Any, **fixed: t.Any) -> tuple:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            method, path, query, body, headers = _request_parts(operation.as_strategy(**fixed).example(),
                                                                family.base_path)
        headers = _with_header(_with_header(_with_header(headers, b"authorization", b"Bearer vk_k1"), b"x-api-key",
                                            b"vk_k1"), b"content-type", b"application/json")
        return method, path, query, body, headers

    known: list[str] = []
    for operation in operations:  # the family's resources, so that operations on one reach their handler
        examples = _path_examples(operation)  # a scope every path has (a project id) is its contract example
        if operation.method.upper() == "POST" and {p.name for p in operation.path_parameters} <= set(examples):
            for _ in range(5):
                method, path, query, body, headers = example(operation, path_parameters=examples or None)
                expected, _ = both(method, path, query, body, headers, headers)
                known += _ids_in(expected.body)
    assert known, "no create operation answered with an id"
    succeeded = 0
    for operation in operations:
        if not len(operation.body):
            continue
        examples = _path_examples(operation)
        fixed = {"path_parameters": {p.name: examples.get(p.name, known[0]) for p in operation.path_parameters}}
        for _ in range(5):  # a few generated bodies: one the handler accepts, if it comes
            method, path, query, body, headers = example(operation, **fixed)
            if not body:
                continue
            for content_type in VARIANTS:
                variant = _with_header(headers, b"content-type", content_type)
                expected, got = both(method, path, query, body, headers, variant)
                assert got.status < 500 and got == expected, (operation.label, content_type, body, got)
            if expected.status < 300:
                succeeded += 1
                break
    assert succeeded >= 2, "the handlers of several body operations ran"


def _deep(levels: int, bottom: t.Any = 1) -> t.Any:
    value = bottom
    for _ in range(levels):
        value = [value]
    return value


def _dumps_deep(value: t.Any) -> bytes:
    """JSON of a value too deep for orjson's encoder."""
    import json
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps(value).encode()
    finally:
        sys.setrecursionlimit(limit)


async def _call(app: MockApp, method: str, path: str, body: t.Any = None, raw: bytes | None = None,
                query: bytes = b"") -> tuple[int, t.Any]:
    content = raw if raw is not None else (None if body is None else _dumps_deep(body))
    answer = await send(app, method, path, query=query, body=content, headers=AUTH + JSON if content else AUTH)
    return answer.status, orjson.loads(answer.body) if answer.body else None


@pytest.mark.parametrize("levels", [1_000, 990, MAX_BODY_DEPTH])
@pytest.mark.parametrize("bottom", [1, 1234567890123456789])
def test_deep_metadata_is_refused_before_it_is_stored(levels: int, bottom: int) -> None:
    app = MockApp([discover()["virtuousai"]])

    async def scenario() -> None:
        metadata = {"deep": _deep(levels, bottom)}
        status, answer = await _call(app, "POST", f"{VAI}/chat/threads", {"title": "t", "metadata": metadata})
        if json_depth({"metadata": metadata}) <= MAX_BODY_DEPTH:
            assert status == 200 and answer["metadata"] == metadata
        else:
            assert (status, answer) == (400, {"detail": "There was an error parsing the body"})
        accepted = json_depth({"metadata": metadata}) <= MAX_BODY_DEPTH
        status, listed = await _call(app, "GET", f"{VAI}/chat/threads")
        assert status == 200 and len(listed["items"]) == (1 if accepted else 0)
        thread = (await _call(app, "POST", f"{VAI}/chat/threads", {"title": "ok"}))[1]
        status, answer = await _call(app, "PATCH", f"{VAI}/chat/threads/{thread['id']}", {"metadata": metadata})
        assert status == (200 if accepted else 400)
        assert (await _call(app, "GET", f"{VAI}/chat/threads/{thread['id']}"))[0] == 200
        assert (await _call(app, "GET", f"{VAI}/chat/threads"))[0] == 200

    asyncio.run(scenario())


def test_deepest_accepted_body_is_max_depth() -> None:
    app = MockApp([discover()["virtuousai"]])

    async def scenario() -> None:
        for levels, expected in ((MAX_BODY_DEPTH - 2, 200), (MAX_BODY_DEPTH - 1, 400)):
            body = {"metadata": {"deep": _deep(levels)}}  # body + metadata + levels
            assert json_depth(body) == levels + 2
            status, _ = await _call(app, "POST", f"{VAI}/chat/threads", body)
            assert status == expected, (levels, status)
        status, listed = await _call(app, "GET", f"{VAI}/chat/threads")
        assert status == 200 and len(listed["items"]) == 1

    asyncio.run(scenario())


@pytest.mark.parametrize("bottom", [1, 1234567890123456789])
def test_deep_annotations_are_refused_before_they_are_stored(bottom: int) -> None:
    app = MockApp([discover()["openai"]])

    async def scenario() -> None:
        status, conversation = await _call(app, "POST", f"{OPENAI}/conversations", {})
        assert status == 200
        items = f"{OPENAI}/conversations/{conversation['id']}/items"
        part = {"type": "output_text", "text": "x", "annotations": [_deep(990, bottom)]}
        status, answer = await _call(app, "POST", items, {"items": [{"role": "assistant", "content": [part]}]})
        assert status == 400 and answer["error"]["code"] == "invalid_json", answer
        status, created = await _call(app, "POST", f"{OPENAI}/conversations",
                                      {"items": [{"role": "assistant", "content": [part]}]})
        assert status == 400
        status, page = await _call(app, "GET", items)
        assert status == 200 and page["data"] == []

    asyncio.run(scenario())


def test_body_that_is_not_utf8_is_refused_in_each_envelope() -> None:
    app = MockApp(list(discover().values()))

    async def scenario() -> None:
        status, answer = await _call(app, "POST", f"{VAI}/chat/threads", raw=b'{"title": "caf\xe9"}')
        assert (status, answer) == (400, {"detail": "There was an error parsing the body"})
        status, answer = await _call(app, "POST", f"{OPENAI}/conversations", raw=b'{"metadata": {"a": "\xff"}}')
        assert status == 400 and answer["error"]["code"] == "invalid_json"
        status, listed = await _call(app, "GET", f"{VAI}/chat/threads")
        assert status == 200 and listed["items"] == []

    asyncio.run(scenario())
