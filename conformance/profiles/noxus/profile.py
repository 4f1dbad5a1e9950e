"""The Noxus profile: requests, fixtures and probes for the shared checks, its two stream formats, and its
own checks.

Everything here is read from `openapi/noxus-conversations.yaml`, which is written from Noxus's reference
pages, its SDK and its own integration tests; where the contract records a choice Noxus leaves open (the
list order, the delete body, what `events` does with no run, whether both or neither of `settings` and
`assistant_id` are taken, whether an unknown agent id is 404), the other plausible answers pass.

Replies cost: every message added (add message, `chat`, `stream`) is a model call on a real server. The
shared checks' fixture is a conversation made from settings (free); only `tenant_isolation` adds a
message to it (one call per key), because only a conversation with a message is listed, and "not
listed to another key" must see it. Schemathesis leaves the replying operations out (its examples and
stateful phases send valid messages whatever the mode) and `events` (a server may hold it open until a
run starts): the family's checks cover them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from conformance.context import CheckContext, CheckFunction
from conformance.dialects.fastapi import FastAPIErrors
from conformance.profiles.noxus import api
from conformance.profiles.noxus.api import UNKNOWN_ID
from conformance.profiles.noxus.checks import add_message, chat, json_stream, lifecycle
from conformance.profiles.noxus.listing import pagination
from conformance.profiles.noxus.runs import events, runs
from conformance.profiles.noxus.stream import JSON, VERCEL, ReplyStreaming
from conformance.vocabulary import PRIMARY, Exchange, Fixture, Grounds, Probe, Reason, Request

# A request without credentials: 401 from FastAPI 0.122 on, 403 before (the contract declares both).
OLDER_FASTAPI_UNAUTHENTICATED = 403


class NoxusProfile(FastAPIErrors):
    name = "noxus"
    title = "Noxus conversations"
    spec_file = "noxus-conversations.yaml"
    also_unauthenticated: ClassVar[tuple[int, ...]] = (OLDER_FASTAPI_UNAUTHENTICATED,)

    checks: ClassVar[tuple[str | CheckFunction, ...]] = (
        lifecycle, "auth", "tenant_isolation", "error_envelope", "sse_stream",
    )
    extra_checks: ClassVar[tuple[CheckFunction, ...]] = (json_stream, add_message, chat, runs, events, pagination)

    # --- requests -------------------------------------------------------------------------------

    @cached_property
    def api(self) -> api.NoxusAPI:
        return api.NoxusAPI(self)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def probe(self) -> Request:
        return self.api.get(UNKNOWN_ID)

    # --- fixture --------------------------------------------------------------------------------

    def create_fixture(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> Fixture:
        """A conversation made from settings; for `tenant_isolation` with a message too (a model call), so
        that it is listed (see the module docstring)."""
        conversation = self.api.require_conversation(ctx, "conformance fixture", identity=identity)
        cid = conversation["id"]
        if ctx.check == "tenant_isolation":
            _, conversation = self.api.reply(ctx, cid, "Hello from the conformance suite", identity=identity)
        return Fixture({"conversation": cid}, conversation, identity)

    def discard_fixture(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        self.api.discard(ctx, fixture["conversation"], identity=fixture.identity)

    def snapshot(self, ctx: CheckContext[Any], fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        got = ctx.send(self.api.get(fixture["conversation"]), identity=fixture.identity)
        return {"the conversation": (got, got.json if got.status == 200 else got.status)}

    def _conversation_operations(self, cid: str) -> list[Request]:
        """Every operation on one conversation, reads first, delete last."""
        a = self.api
        hello = api.message("Are you there?")
        return [
            a.get(cid),
            a.events(cid),
            a.update(cid, {"name": "changed by someone else", "settings": None}),
            a.add_message(cid, hello),
            a.chat(cid, hello),
            a.stream(cid, hello, format=JSON),
            a.delete(cid),
        ]

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        a = self.api
        return [a.list_conversations(), a.create({"name": "made without a key", "settings": api.settings()}),
                *self._conversation_operations(fixture["conversation"])]

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        cid = fixture["conversation"]

        def not_listed(exchange: Exchange) -> list[str]:
            items = exchange.json.get("items") if isinstance(exchange.json, dict) else None
            listed = [item.get("id") for item in items or [] if isinstance(item, dict)]
            return [f"the other key's conversation {cid} listed"] if cid in listed else []

        return [
            Probe(self.api.list_conversations(size=api.MAX_SIZE), 200, "(a list without the other key's conversation)",
                  not_listed),
            *(self.not_found(request) for request in self._conversation_operations(cid)),
        ]

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Unknown ids are 404 (any other answer fails); the documented page bounds and required `content`
        are enforced; the rest is input Noxus (FastAPI) refuses without documenting a rule a client could
        rely on: accepted, or refused with another 4xx, is a warning."""
        a, cid, reject = self.api, fixture["conversation"], self.rejection
        documented = Grounds.DOCUMENTED
        valid = api.message("hello")
        without_content = {key: value for key, value in valid.items() if key != "content"}
        return [
            *(self.not_found(request) for request in self._conversation_operations(UNKNOWN_ID)),
            reject(a.get("not-a-uuid"), ("path", "conversation_id"), Reason.NOT_A_UUID),
            reject(a.add_message("conversation-7", valid), ("path", "conversation_id"), Reason.NOT_A_UUID),
            reject(a.list_conversations(page=0), ("query", "page"), Reason.BELOW_MINIMUM, grounds=documented),
            reject(a.list_conversations(size="many"), ("query", "size"), Reason.NOT_AN_INTEGER),
            reject(a.create({"settings": api.settings()}), ("body", "name"), Reason.MISSING,
                   undo=self._undo_created),
            reject(a.create({"name": "x", "settings": api.settings()}, assistant_id="agent-7"),
                   ("query", "assistant_id"), Reason.NOT_A_UUID, undo=self._undo_created),
            reject(a.create(content=b'{"name": "unterminated'), ("body",), Reason.MALFORMED_JSON,
                   undo=self._undo_created),
            reject(a.create(), ("body",), Reason.MISSING, undo=self._undo_created),
            # Settings name their models (`model`, or the older `model_selection`).
            reject(a.create({"name": "x", "settings": {"temperature": 0.4, "tools": []}}), ("body", "settings"),
                   Reason.MISSING, undo=self._undo_created),
            reject(a.update(cid, {"name": ["not", "a", "name"]}), ("body", "name")),
            # `content` is required (it may be null); a message without it never reaches a model.
            reject(a.add_message(cid, without_content), ("body", "content"), Reason.MISSING, grounds=documented),
            reject(a.chat(cid, without_content), ("body", "content"), Reason.MISSING, grounds=documented),
            reject(a.stream(cid, without_content, format=JSON), ("body", "content"), Reason.MISSING,
                   grounds=documented),
            reject(a.add_message(cid, {**valid, "tool": "daydreaming"}), ("body", "tool"), Reason.NOT_ONE_OF),
            reject(a.add_message(cid, content=b'{"content": "unterminated'), ("body",), Reason.MALFORMED_JSON),
            reject(a.chat(cid), ("body",), Reason.MISSING),
            reject(a.stream(cid, valid, format="xml"), ("query", "format"), Reason.NOT_ONE_OF),
            reject(a.events(cid, format="xml"), ("query", "format"), Reason.NOT_ONE_OF),
            # Not in the contract's paths: FastAPI answers any unknown URL with 404 {"detail": "Not Found"}.
            self.not_found(Request("(unknown route)", "GET", "/v1/no_such_route"), grounds=documented),
        ]

    def _undo_created(self, exchange: Exchange) -> Request | None:
        """Delete the conversation a create wrongly accepted made."""
        body = exchange.json
        made = body.get("id") if exchange.request.operation_id == api.CREATE and isinstance(body, dict) else None
        return self.api.delete(made) if isinstance(made, str) and made else None

    # --- streaming ------------------------------------------------------------------------------

    @cached_property
    def streaming(self) -> ReplyStreaming:
        """`format=vercel`, the UI Message Stream (the `sse_stream` check)."""
        return ReplyStreaming(self, VERCEL)

    @cached_property
    def json_streaming(self) -> ReplyStreaming:
        """`format=json`, Noxus's envelopes (the family's `json_stream` check)."""
        return ReplyStreaming(self, JSON)

    # --- schemathesis ---------------------------------------------------------------------------

    def schemathesis_operations(self) -> list[dict[str, Any]]:
        # Every accepted message is a model call, and schemathesis' examples and stateful phases send valid
        # ones whatever the mode; `events` may be held open until a run starts. The family's checks cover
        # them (schemas, grammar, errors).
        return [{"include-operation-id": operation, "enabled": False} for operation in (*api.REPLYING, api.EVENTS)]

    def tolerated(self, operation_id: str | None, status: int, query: dict[str, Any], body: Any) -> str | None:
        if operation_id == api.CREATE and 400 <= status < 500 and _text_detail(body) and _settings_open(query, body):
            return "create with both or neither of settings and assistant_id refused (the contract accepts them)"
        return None

    def why_refusable(self, operation_id: str | None, query: dict[str, Any], body: Any) -> str | None:
        given = body.get("settings") if isinstance(body, dict) else None
        if operation_id in (api.CREATE, api.UPDATE) and isinstance(given, dict) and not (
                {"model", "model_selection"} & set(given)):
            return "settings naming no models (neither model nor model_selection, a rule the schema cannot express)"
        if operation_id == api.CREATE and query.get("assistant_id") is not None:
            return "a made-up assistant_id (Noxus answers 404 for an agent it does not know)"
        if operation_id == api.CREATE and _settings_open(query, body):
            return "both or neither of settings and assistant_id (the vendor's answer is not documented)"
        if operation_id in (api.GET, api.UPDATE, api.DELETE):
            return "a made-up conversation id (it must name one of the key's)"
        return None


def _text_detail(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("detail"), str)


def _settings_open(query: dict[str, Any], body: Any) -> bool:
    """Whether a create gives both or neither of settings and assistant_id (what the SDK never sends)."""
    has_settings = isinstance(body, dict) and body.get("settings") is not None
    return has_settings == (query.get("assistant_id") is not None)


PROFILE = NoxusProfile()
