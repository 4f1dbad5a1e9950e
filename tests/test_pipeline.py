"""The fast path (``mockserver.pipeline``) answers exactly as Connexion's own middleware stack does.

For every family the mock discovers (so a new family is covered with no new test code), hypothesis and
schemathesis generate requests from the family's contract — valid and invalid (schemathesis's positive and
negative modes), on every operation — and vary what the contract leaves open: the credentials, the
Content-Type (absent, mixed case, with parameters, foreign), and the body (empty, truncated, not UTF-8, nested
deeper than the mock takes, huge integers). Each request goes in lockstep to two fresh mocks of the family
holding the same state: the real one, and one built with ``fast_path=False`` (everything through Connexion).
Status, headers (but ``x-request-id``) and body must be identical byte for byte.

Determinism: ids and clocks come from ``mockserver.ids``, whose sources (``secrets``, ``uuid``, ``time``,
``datetime``) are replaced by counters and a fixed clock, reset to the same value before each request to
each mock; so both mocks hand out the same ids. A family with a source of randomness of its own would show up
here as a difference. The one value masked is a JSON number under a key containing ``duration`` (elapsed
wall time, e.g. ``durationSeconds``). Path parameters are drawn half of the time from the ids the seed
requests created (every ``POST`` without path parameters, or whose path parameters all have an ``example`` in
the contract, run first), so operations on existing resources are reached too; a path parameter with an
``example`` (a scope such as a project id) takes it then. Another test checks that the requests expected to
take the fast path do take it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import typing as t
import uuid
import warnings
from datetime import datetime, timezone
from types import SimpleNamespace

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

import mockserver.app
import mockserver.ids
from mockserver.app import MockApp, create_app
from mockserver.families import discover
from mockserver.family import Family
from mockserver.pipeline import FamilyApp

OPENAI = "/openai/v1"
VAI = "/virtuousai/api/v1"
FAMILIES = sorted(discover())
EXAMPLES_PER_FAMILY = 300
SEEDS_PER_CREATE = 6
DEEP = b"[" * 70 + b"1" + b"]" * 70
BODY_VARIANTS = [b"", b"{", b"null", b"[]", b"\xff\xfe{}", b'{"a": "\xe9t\xe9"}', DEEP,
                 b'{"metadata": ' + b"[" * 70 + b"1234567890123456789" + b"]" * 70 + b"}"]
CONTENT_TYPES = [None, b"", b"Application/JSON", b"application/json; charset=utf-8", b"APPLICATION/JSON; Charset=UTF-8",
                 b"text/plain", b"application/x-www-form-urlencoded"]
# vk_ keys: keys every family takes (Venna takes only vk_ keys, JWTs and payment signatures)
AUTH = [b"Bearer vk_k1", b"Bearer vk_k2", None, b"Basic abc", b"Bearer "]


class Exchange(t.NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


_DURATION = re.compile(rb'("[A-Za-z_]*[dD]uration[A-Za-z_]*":)-?[0-9.eE+-]+')


async def send(app: t.Callable, method: str, path: str, *, query: bytes = b"", body: bytes | None = None,
               headers: list[tuple[bytes, bytes]] | None = None) -> Exchange:
    raw_headers = [(b"host", b"mock")] + (headers if headers is not None else [(b"authorization", b"Bearer vk_k1")])
    if body is not None:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "headers": raw_headers, "server": ("mock", 80), "client": ("127.0.0.1", 5000)}
    pending = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive() -> dict:
        return pending.pop() if pending else {"type": "http.disconnect"}

    status, response_headers, chunks = 0, [], []

    async def sink(message: dict) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status, response_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, sink)
    kept = [(k, v) for k, v in response_headers if k not in (b"x-request-id", b"date")]
    return Exchange(status, kept, _DURATION.sub(rb"\g<1>0", b"".join(chunks)))


class DeterministicIds:
    """Replaces the sources of ``mockserver.ids`` with counters and a fixed clock; ``reset(n)`` restarts them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counter = itertools.count()
        monkeypatch.setattr(mockserver.ids, "secrets", SimpleNamespace(
            token_hex=lambda size: f"{next(self.counter):0{2 * size}x}"))
        monkeypatch.setattr(mockserver.ids, "uuid", SimpleNamespace(
            uuid4=lambda: uuid.UUID(int=next(self.counter), version=4)))
        monkeypatch.setattr(mockserver.ids, "time", SimpleNamespace(time=lambda: 1_700_000_000.0))

        class FrozenDatetime(datetime):
            @classmethod
            def now(cls, tz: t.Any = None) -> datetime:  # type: ignore[override]
                return datetime(2026, 1, 1, tzinfo=tz or timezone.utc)

        monkeypatch.setattr(mockserver.ids, "datetime", FrozenDatetime)

    def reset(self, step: int) -> None:
        self.counter = itertools.count(1_000_000 * step)


class Pair:
    """Two fresh mocks of one family (fast path, and Connexion only) fed the same requests in lockstep."""

    def __init__(self, family: Family, ids: DeterministicIds, monkeypatch: pytest.MonkeyPatch) -> None:
        self.family, self.ids, self.step = family, ids, 0
        self.fast = MockApp([family])
        real_build = mockserver.app.build_family_app
        with monkeypatch.context() as patch:
            patch.setattr(mockserver.app, "build_family_app",
                          lambda family, store, **options: real_build(family, store, fast_path=False, **options))
            self.slow = MockApp([family])
        assert all(isinstance(app, FamilyApp) and app.compiled for app in self.fast.family_apps.values())
        assert not any(t.cast(FamilyApp, app).compiled for app in self.slow.family_apps.values())

    async def both(self, method: str, path: str, query: bytes, body: bytes | None,
                   headers: list[tuple[bytes, bytes]]) -> Exchange:
        self.step += 1
        self.ids.reset(self.step)
        got = await send(self.fast, method, path, query=query, body=body, headers=headers)
        await settled()  # the fast mock's background work takes its ids before they are reset for the other's
        self.ids.reset(self.step)
        expected = await send(self.slow, method, path, query=query, body=body, headers=headers)
        await settled()
        assert got == expected, (method, path, query, body, headers)
        return got


SETTLE_SECONDS = 5.0


async def settled() -> None:
    """Once the background work a request started (a reply a run streams) has ended. Such work moves on
    whenever the loop turns and takes ids from the same deterministic counters as requests: left running, it
    would take ids meant for the other mock's request (a duplicate key), or let one mock answer while its
    run is further along than the other's (a PostHog conversation ``in_progress`` in one, ``idle`` in the
    other). Each mock's request and its background work run alone, from the same counters."""
    current, deadline = asyncio.current_task(), asyncio.get_running_loop().time() + SETTLE_SECONDS
    while others := [task for task in asyncio.all_tasks() if task is not current]:  # a run ending may start
        left = deadline - asyncio.get_running_loop().time()                         # the next queued one
        assert left > 0, f"background work still running after {SETTLE_SECONDS} s: {others}"
        await asyncio.wait(others, timeout=left)


def _request_parts(case: t.Any, base_path: str) -> tuple[str, str, bytes, bytes | None, list[tuple[bytes, bytes]]]:
    """(method, path, query, body, headers) of a schemathesis case, as a client would send it."""
    kwargs = case.as_transport_kwargs(base_url="http://mock" + base_path)
    kwargs["headers"] = {k: v for k, v in kwargs["headers"].items() if not k.lower().startswith(("x-schemathesis",
                                                                                                  "user-agent"))}
    request = httpx.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params") or None,
                            headers=kwargs["headers"], cookies=kwargs.get("cookies") or None,
                            json=kwargs.get("json"), content=kwargs.get("data"))
    body = request.read() if request.method not in ("GET", "HEAD") or request.content else None
    headers = [(k.lower(), v) for k, v in request.headers.raw if k.lower() not in (b"host", b"content-length")]
    return request.method, request.url.raw_path.split(b"?")[0].decode("latin-1"), request.url.query, body, headers


def _with_header(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes | None) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k != name]
    return kept if value is None else [*kept, (name, value)]


def contract_operations(family: Family) -> list[t.Any]:
    """Schemathesis's operations of the family's contract (every one: the contract must load whole)."""
    schema = schemathesis.openapi.from_path(str(family.spec_path))
    return [t.cast(t.Any, result).ok() for result in schema.get_all_operations()]


def _path_examples(operation: t.Any) -> dict[str, t.Any]:
    """Path parameters the contract gives an example for (a scope such as a project id, not a created id)."""
    return {p.name: p.definition["example"] for p in operation.path_parameters if "example" in p.definition}


def _ids_in(body: bytes) -> list[str]:
    """The ``id`` of a JSON object body, or of the first event of an event stream that has one (a family
    whose create call is a stream)."""
    payloads = [line[len(b"data: "):] for line in body.splitlines() if line.startswith(b"data: ")] or [body]
    for payload in payloads:
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return [value["id"]]
    return []


@pytest.mark.parametrize("family_name", FAMILIES)
def test_fast_path_answers_as_connexion(family_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    family = discover()[family_name]
    monkeypatch.setenv("CONVO_MOCK_STREAM_DELAY", "0")
    pair = Pair(family, DeterministicIds(monkeypatch), monkeypatch)
    operations = contract_operations(family)
    loop = asyncio.new_event_loop()
    known_ids: list[str] = []
    try:
        for operation in operations:  # seed: what each create operation makes, in both mocks
            examples = _path_examples(operation)
            if operation.method.upper() == "POST" and {p.name for p in operation.path_parameters} <= set(examples):
                for _ in range(SEEDS_PER_CREATE):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        case = operation.as_strategy(path_parameters=examples or None).example()
                    method, path, query, body, headers = _request_parts(case, family.base_path)
                    headers = _with_header(headers, b"authorization", b"Bearer vk_k1")
                    known_ids += _ids_in(loop.run_until_complete(pair.both(method, path, query, body, headers)).body)
        assert known_ids, f"{family_name}: no create operation answered with an id"

        @settings(max_examples=EXAMPLES_PER_FAMILY, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def requests_agree(data: st.DataObject) -> None:
            operation = data.draw(st.sampled_from(operations), label="operation")
            mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]), label="mode")
            names = [p.name for p in operation.path_parameters]
            examples = _path_examples(operation)
            overrides = data.draw(st.none() | st.fixed_dictionaries(
                {n: st.sampled_from([examples[n]] if n in examples else known_ids) for n in names}))
            case = data.draw(operation.as_strategy(generation_mode=mode, path_parameters=overrides or None))
            method, path, query, body, headers = _request_parts(case, family.base_path)
            if data.draw(st.integers(0, 3), label="vary credentials") == 0:
                headers = _with_header(headers, b"authorization", data.draw(st.sampled_from(AUTH)))
            elif not any(k == b"authorization" for k, _ in headers) or mode is GenerationMode.POSITIVE:
                headers = _with_header(headers, b"authorization", b"Bearer vk_k1")
            if body is not None and data.draw(st.integers(0, 2), label="vary content type") == 0:
                headers = _with_header(headers, b"content-type", data.draw(st.sampled_from(CONTENT_TYPES)))
            if method != "GET" and data.draw(st.integers(0, 3), label="vary body") == 0:
                body = data.draw(st.sampled_from(BODY_VARIANTS))
            loop.run_until_complete(pair.both(method, path, query, body, headers))

        requests_agree()
    finally:
        loop.close()


def test_matched_operations_take_the_fast_path() -> None:
    family_apps = create_app().family_apps
    openai_app, vai_app = (t.cast(FamilyApp, family_apps[name]) for name in ("openai", "virtuousai"))

    def matched(app: FamilyApp, method: str, path: str) -> str | None:
        found = app.match({"type": "http", "method": method, "path": path, "root_path": ""})
        return found[0].operation_id if found else None

    assert matched(openai_app, "GET", f"{OPENAI}/conversations/x") == "getConversation"
    assert matched(openai_app, "POST", f"{OPENAI}/conversations/x") == "updateConversation"
    assert matched(openai_app, "POST", f"{OPENAI}/conversations/x/items") == "createConversationItems"
    assert matched(openai_app, "GET", f"{OPENAI}/conversations/x/items") == "listConversationItems"
    assert str(matched(vai_app, "POST", f"{VAI}/chat/threads/bulk-delete")).startswith("bulk_delete_threads")
    for method, path in [("HEAD", "/conversations/x"), ("PUT", "/conversations/x"), ("GET", "/conversations/x/"),
                         ("GET", "/openapi.json"), ("GET", "/ui/"), ("GET", "/conversations"), ("GET", "")]:
        assert matched(openai_app, method, OPENAI + path) is None, (method, path)


def test_a_missing_connexion_internal_fails_start_up_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import connexion.context
    from connexion.apps.asynchronous import AsyncOperation

    from mockserver import connexion_compat

    connexion_compat.check_internals()
    monkeypatch.delattr(connexion.context, "_scope")
    with pytest.raises(connexion_compat.ConnexionInternalsChanged, match=r"connexion\.context\._scope"):
        create_app()
    monkeypatch.undo()
    original = AsyncOperation.__init__

    def without_fn(self: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        original(self, *args, **kwargs)
        del self._fn

    monkeypatch.setattr(AsyncOperation, "__init__", without_fn)
    with pytest.raises(connexion_compat.ConnexionInternalsChanged, match=r"AsyncOperation\._fn"):
        create_app()
