"""Noxus conversations family, mounted at ``/noxus`` (the vendor's ``https://backend.noxus.ai``).

Behaviour follows ``openapi/noxus-conversations.yaml`` and the choices written in its descriptions:
FastAPI's error bodies (``mockserver.fastapi_errors``, a missing ``X-API-Key`` challenged as ``APIKey``),
``page``/``size`` pages with exact totals that hide conversations without messages, messages embedded in
the conversation, and a reply produced three ways: blocking (add message: the whole conversation back;
``chat``: only this turn's reply), or streamed (``stream``: the UI Message Stream of
``mockserver.ui_message_stream``, raw or wrapped in Noxus's ``{"event", "data"}`` envelopes).

A reply is a run (``mockserver.run_log``): a background task writes its chunks to a ``RunLog``, which the
``stream`` call, any ``events`` call and the blocking calls follow; so a client that goes away stops
nothing, and ``events`` can join mid-run from an ``etag``. The conversation's ``etag`` changes on every
change; while a run goes on, its frames carry ids ``<etag>-<n>`` (the point after the n-th frame). An admin
reset of the key cancels its runs (``RunRegistry(store)``) and forgets their replies: a stream in flight
ends with an ``abort`` chunk and its terminator, a blocking call answers 404, and the run writes nothing more.

Outside the contract, the two calls the official SDK makes when a ``Client`` starts (``GET /v1/nodes``,
``GET /v1/admin/me``) get minimal valid answers (``SUPPORT_PATHS``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import typing as t
import uuid
from dataclasses import dataclass

from starlette.responses import Response

from mockserver import ui_message_stream as ui
from mockserver.auth import current_tenant
from mockserver.errors import Conflict, InvalidRequest, NotFound, Violation
from mockserver.family import Family
from mockserver.fastapi_errors import error_renderer
from mockserver.ids import iso_now, new_uuid
from mockserver.paging import numbered_page
from mockserver.quota import QuotaExceeded
from mockserver.responses import DeferredJSONResponse, JSONResponse, json_response
from mockserver.run_log import RunLog, RunLogs, RunTasks
from mockserver.runs import RunRegistry
from mockserver.sse import Event, delta_delay, event_stream
from mockserver.store import Store
from mockserver.ui_message_stream import Chunk, split_deltas

CONVERSATIONS = "conversations"
LISTED = "listed"
"""Index of the conversations that have at least one message, least recently updated first."""
DEFAULT_SETTINGS: t.Mapping[str, t.Any] = {"model": ["preset:cost"], "temperature": 0.4, "max_tokens": 64000,
                                           "tools": []}
"""The settings of a conversation created for an agent (the mock's agents all have this definition) or
with neither settings nor agent."""
MODEL_NAME = "convo-mock-echo-1"
MAX_DELTAS = 100
"""Text deltas of one reply at most: a long reply is cut into fewer, longer deltas, so that a run lasts at most
``MAX_DELTAS`` stream delays whatever the message's length."""
REPLY_PREAMBLE = "This is the mock Noxus agent's reply, made from your message. You wrote: "
NOT_FOUND = "Conversation not found"
BUSY = "A reply is already being generated for this conversation"
FILE_SOURCE = "Either base64 content or url must be provided"


def _messages_of(conversation_id: str) -> str:
    return f"messages/{conversation_id}"


def canonical_uuid(value: str) -> str:
    """A UUID parameter in canonical form (the validator has already checked that it parses)."""
    return str(uuid.UUID(value))


def _derived_uuid(kind: str, tenant: str) -> str:
    """A stable UUID standing for something of an API key, without revealing the key."""
    return str(uuid.UUID(hashlib.sha256(f"{kind}:{tenant}".encode()).hexdigest()[:32]))


def user_id(tenant: str) -> str:
    return _derived_uuid("user", tenant)


def api_key_id(tenant: str) -> str:
    return _derived_uuid("api-key", tenant)


def new_etag() -> str:
    """An opaque etag (32 hex digits)."""
    return new_uuid().replace("-", "")


def reply_to(text: str | None) -> str:
    """The mock agent's answer: deterministic, and longer for longer input."""
    return REPLY_PREAMBLE + (" ".join(text.split()) if text else "(no text)")


def reply_deltas(reply: str) -> list[str]:
    """The reply cut into at most ``MAX_DELTAS`` deltas of a few words each."""
    words = len(reply.split())
    return split_deltas(reply, max(ui.WORDS_PER_DELTA, -(-words // MAX_DELTAS)))


def usage_for(prompt: str, reply: str) -> dict[str, int]:
    """pydantic-ai's usage, estimated at four characters a token."""
    return {"input_tokens": max(1, math.ceil(len(prompt) / 4)), "output_tokens": max(1, math.ceil(len(reply) / 4))}


def check_settings(settings: dict[str, t.Any] | None) -> None:
    """The rule the contract's schema cannot say: settings name their models as ``model`` or ``model_selection``."""
    if settings is not None and "model" not in settings and "model_selection" not in settings:
        raise InvalidRequest([Violation("body", ("settings", "model"), "required", None, None, "Field required")])


def check_files(files: list[dict[str, t.Any]] | None) -> None:
    """Each file of a message comes inline or from a URL."""
    for index, file in enumerate(files or []):
        if file.get("url") is None and file.get("b64_content") is None:
            raise InvalidRequest([Violation("body", ("files", index), "value", None, file, FILE_SOURCE)])


def _stored_file(file: dict[str, t.Any]) -> dict[str, t.Any]:
    """A file of a message as stored: its description, not its inline content (the mock fetches nothing)."""
    return {"id": str(file.get("id") or new_uuid()), "name": file["name"], "size": file.get("size", 1),
            "type": file.get("type", ""), "status": file.get("status") or "success", "url": file.get("url")}


def user_message(body: dict[str, t.Any], run_id: str, now: str) -> dict[str, t.Any]:
    """The stored user message of an ``AddMessageRequest``, in both part lists."""
    text = body.get("content") or ""
    files = [_stored_file(f) for f in body.get("files") or []]
    part = {"role": "user", "type": "user", "content": text, "tool": body.get("tool"), "kb_id": body.get("kb_id"),
            "files": files, "model_selection": body.get("model_selection"), "images": []}
    prompt_part = {"part_kind": "user-prompt", "content": text, "timestamp": now}
    request: dict[str, t.Any] = {"kind": "request", "parts": [prompt_part], "instructions": None, "run_id": run_id,
                                 "metadata": {}}
    return {"id": new_uuid(), "created_at": now, "message_parts": [part], "pydantic_message_parts": [request]}


def assistant_message(message_id: str, prompt: str, reply: str, run_id: str, now: str) -> dict[str, t.Any]:
    """The stored reply: one text part, and one pydantic-ai ``response``."""
    response = {"kind": "response", "parts": [{"part_kind": "text", "content": reply}], "timestamp": now,
                "model_name": MODEL_NAME, "provider_name": "convo-mock", "finish_reason": "stop",
                "usage": usage_for(prompt, reply), "run_id": run_id, "metadata": {}}
    return {"id": message_id, "created_at": now,
            "message_parts": [{"role": "assistant", "type": "text", "content": reply}],
            "pydantic_message_parts": [response]}


def json_envelope(chunk: Chunk) -> dict[str, t.Any]:
    """A UI Message Stream chunk as Noxus's ``format=json`` wraps it: its type as ``event``, the rest as ``data``."""
    return {"event": chunk["type"], "data": {key: value for key, value in chunk.items() if key != "type"}}


def frame(chunk: Chunk, fmt: str, frame_id: str) -> Event:
    """One frame of a stream in the requested format."""
    if fmt == "json":
        return Event(json_envelope(chunk), name="message", id=frame_id)
    return Event(chunk, id=frame_id)


def terminator(fmt: str) -> t.Any:
    """The frame that ends a stream: ``event: done`` with ``{}`` (json), ``data: [DONE]`` (vercel)."""
    return Event({}, name="done") if fmt == "json" else ui.DONE


@dataclass(eq=False)
class Reply:
    """One run producing a reply, and what it left for the blocking calls waiting on it."""

    log: RunLog[Chunk]
    etag: str
    """The conversation's etag while the run goes on; frame n's id is ``<etag>-<n>``."""
    message_id: str
    prompt: str
    conversation: dict[str, t.Any] | None = None
    """The conversation as it was when the reply was stored (its two new messages last)."""
    chat: dict[str, t.Any] | None = None
    failure: str | None = None

    def resume_at(self, etag: str | None) -> int:
        """The position a client that has seen up to ``etag`` resumes from (the run's start unless the etag
        is one of this run's frame ids)."""
        prefix = self.etag + "-"
        if etag and etag.startswith(prefix):
            suffix = etag[len(prefix):]
            if suffix.isascii() and suffix.isdigit() and len(suffix) <= 9 and int(suffix) <= len(self.log):
                return int(suffix)
        return 0

    async def frames(self, start: int, fmt: str) -> t.AsyncIterator[t.Any]:
        """The run's frames from ``start`` on, as they come, then the terminator (``event: timeout``
        instead, in json, when the run went quiet for longer than a stream waits)."""
        async for position, chunk in self.log.follow_from(start):
            yield frame(chunk, fmt, f"{self.etag}-{position + 1}")
        if self.log.ended:
            yield terminator(fmt)
        elif fmt == "json":
            yield Event({}, name="timeout")


def _stream(frames: t.AsyncIterator[t.Any], fmt: str) -> Response:
    return event_stream(frames, ui.HEADERS if fmt == "vercel" else None)


async def _only(item: t.Any) -> t.AsyncIterator[t.Any]:
    yield item


# ---------------------------------------------------------------------------------------------
# Handlers


class ConversationHandlers:
    """The 9 conversation operations (and the SDK's two start-up calls) over a ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.runs = RunRegistry(store)
        self.replies: dict[tuple[str, str], Reply] = {}
        """The run in progress on each conversation this worker drives, by (API key, conversation id)."""
        self.logs = RunLogs[Chunk](store)
        """Their logs, which a tail on any worker follows."""
        self.tasks = RunTasks()
        store.on_clear(self._forget_replies)

    def _forget_replies(self, tenant: str | None) -> None:
        """The store forgot ``tenant``'s data (every tenant's, with None): its runs were cancelled by the
        registry, and their replies are no longer found by conversation (each run ends its own streams)."""
        for key in [key for key in self.replies if tenant is None or key[0] == tenant]:
            del self.replies[key]

    def operations(self) -> dict[str, t.Callable]:
        return {
            "public_list_conversations": self.list_conversations,
            "public_create_conversation": self.create_conversation,
            "public_get_conversation": self.get_conversation,
            "public_update_conversation": self.update_conversation,
            "public_delete_conversation": self.delete_conversation,
            "public_add_message": self.add_message,
            "chat": self.chat,
            "public_stream_message": self.stream_message,
            "public_conversation_events": self.conversation_events,
            "sdk_list_nodes": self.list_nodes,
            "sdk_get_me": self.get_me,
        }

    # --- state helpers ---------------------------------------------------------------------------

    def _record(self, tenant: str, conversation_id: str) -> dict[str, t.Any]:
        record = self.store.read(tenant, CONVERSATIONS).get(canonical_uuid(conversation_id))
        if record is None:
            raise NotFound(NOT_FOUND)
        return record

    def _save(self, tenant: str, conversation_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        """Change the conversation: ``last_updated_at`` moves, and so does its place in the list once it has
        messages."""
        conversations = self.store.collection(tenant, CONVERSATIONS, cursor_keys=False)
        record = {**(conversations.get(conversation_id) or {}), **changes, "last_updated_at": iso_now()}
        conversations.replace(conversation_id, record)
        listed = self.store.collection(tenant, LISTED, index=True, cursor_keys=False)
        if conversation_id in listed:
            listed.replace(conversation_id, record)
            listed.touch(conversation_id)
        elif len(self.store.read(tenant, _messages_of(conversation_id))):
            listed.insert(conversation_id, record)
        return record

    def _view(self, tenant: str, record: dict[str, t.Any], *, listed: bool = False) -> dict[str, t.Any]:
        """The ``Conversation`` with its messages (and, on list items, the user and key ids)."""
        view = {**record, "messages": list(self.store.read(tenant, _messages_of(record["id"])))}
        if listed:
            view["user_id"], view["api_key_id"] = user_id(tenant), api_key_id(tenant)
        return view

    # --- list, create, get, update, delete -------------------------------------------------------

    async def list_conversations(self, page: int = 1, size: int = 50, page_size: int | None = None) -> JSONResponse:
        tenant = current_tenant()
        found = numbered_page(self.store.read(tenant, LISTED), number=page, size=size, descending=True)
        return json_response({"items": [self._view(tenant, record, listed=True) for record in found.records],
                              "total": found.total, "page": page, "size": size, "pages": found.pages})

    async def create_conversation(self, body: dict, assistant_id: str | None = None) -> JSONResponse:
        tenant = current_tenant()
        settings = body.get("settings")
        check_settings(settings)
        record = {"id": new_uuid(), "name": body["name"], "created_at": iso_now(), "last_updated_at": "",
                  "etag": new_etag(), "status": "idle",
                  "assistant_id": canonical_uuid(assistant_id) if assistant_id else None,
                  "settings": settings if settings is not None else dict(DEFAULT_SETTINGS)}
        record["last_updated_at"] = record["created_at"]
        self.store.collection(tenant, CONVERSATIONS, cursor_keys=False).insert(record["id"], record)
        return json_response(self._view(tenant, record))

    async def get_conversation(self, conversation_id: str) -> JSONResponse:
        tenant = current_tenant()
        return json_response(self._view(tenant, self._record(tenant, conversation_id)))

    async def update_conversation(self, conversation_id: str, body: dict) -> JSONResponse:
        tenant = current_tenant()
        record = self._record(tenant, conversation_id)
        check_settings(body.get("settings"))
        changes = {key: body[key] for key in ("name", "settings") if body.get(key) is not None}
        if changes:
            record = self._save(tenant, record["id"], {**changes, "etag": new_etag()})
        return json_response(self._view(tenant, record))

    async def delete_conversation(self, conversation_id: str) -> JSONResponse:
        tenant = current_tenant()
        record = self._record(tenant, conversation_id)
        if self.runs.active(tenant, record["id"]) is not None:
            raise Conflict(BUSY)
        self.store.collection(tenant, CONVERSATIONS, cursor_keys=False).remove(record["id"])
        listed = self.store.find(tenant, LISTED)
        if listed is not None and record["id"] in listed:
            listed.remove(record["id"])
        self.store.drop(tenant, _messages_of(record["id"]))
        return json_response({"id": record["id"], "deleted": True})

    # --- replies ---------------------------------------------------------------------------------

    def _start_reply(self, tenant: str, conversation_id: str, body: dict) -> Reply:
        """Store the user message and start the run that produces the reply (one step: it raises before
        writing anything when the conversation is unknown or busy, or the key's storage is full)."""
        record = self._record(tenant, conversation_id)
        check_files(body.get("files"))
        conversation_id = record["id"]
        if self.runs.active(tenant, conversation_id) is not None:
            raise Conflict(BUSY)
        prompt = body.get("content") or ""
        answer = reply_to(body.get("content"))
        self.store.check_room(tenant, 2, 4096 + 2 * (len(prompt) + len(answer)))
        run = self.runs.start(tenant, conversation_id, new_uuid())
        message = user_message(body, run.run_id, iso_now())
        self.store.collection(tenant, _messages_of(conversation_id), cursor_keys=False).insert(message["id"], message)
        etag = new_etag()
        self._save(tenant, conversation_id, {"status": "running", "etag": etag})
        message_id = new_uuid()
        reply = Reply(self.logs.open(run, {"etag": etag, "message_id": message_id}), etag, message_id, prompt)
        self.replies[(tenant, conversation_id)] = reply
        self.tasks.spawn(self._drive(tenant, conversation_id, reply, answer))
        return reply

    async def _drive(self, tenant: str, conversation_id: str, reply: Reply, answer: str) -> None:
        """The run: the reply's chunks, paced; the reply stored before the chunks that close the text."""
        log, text_id = reply.log, ui.new_text_id()
        try:
            log.add(ui.start(reply.message_id))
            log.add(ui.start_step())
            log.add(ui.text_start(text_id))
            delay = delta_delay()
            for delta in reply_deltas(answer):
                if delay:
                    await asyncio.sleep(delay)
                if not log.run.active:
                    break
                log.add(ui.text_delta(text_id, delta))
            if not log.run.active:  # its data was reset: the run ends, writing nothing more
                reply.failure = NOT_FOUND
                log.add(ui.abort())
                return
            self._complete(tenant, conversation_id, reply, answer)
            log.add(ui.text_end(text_id))
            if reply.failure is not None:
                log.add(ui.error(reply.failure))
            log.add(ui.finish_step())
            log.add(ui.finish("error" if reply.failure is not None else "stop"))
        finally:
            if self.runs.finish(log.run):  # ended early (the server stopping): the conversation is idle again
                if self.store.read(tenant, CONVERSATIONS).get(conversation_id) is not None:
                    self._save(tenant, conversation_id, {"status": "idle", "etag": new_etag()})
            self.logs.close(log)
            if self.replies.get((tenant, conversation_id)) is reply:
                del self.replies[(tenant, conversation_id)]

    def _complete(self, tenant: str, conversation_id: str, reply: Reply, answer: str) -> None:
        """Store the reply and settle the conversation (idle, a new etag), in one step."""
        self.runs.finish(reply.log.run)
        if self.store.read(tenant, CONVERSATIONS).get(conversation_id) is None:
            reply.failure = NOT_FOUND  # unreachable while delete refuses a busy conversation
            return
        message = assistant_message(reply.message_id, reply.prompt, answer, reply.log.run.run_id, iso_now())
        try:
            self.store.collection(tenant, _messages_of(conversation_id), cursor_keys=False).insert(
                message["id"], message)
        except QuotaExceeded as exc:  # the key filled its storage while the reply was produced
            reply.failure = exc.message
        record = self._save(tenant, conversation_id, {"status": "idle", "etag": new_etag()})
        if reply.failure is None:
            reply.conversation = self._view(tenant, record)
            reply.chat = {"id": message["id"], "parts": message["pydantic_message_parts"]}

    def _answer(self, reply: Reply, pick: t.Callable[[Reply], dict[str, t.Any] | None]) -> DeferredJSONResponse:
        """The blocking answer: sent once the run has ended."""

        async def produce() -> tuple[int, t.Any]:
            if not await reply.log.wait():
                return 500, {"detail": "Internal Server Error"}
            if reply.log.run.cancelled:  # the conversation was reset while its reply was produced
                return 404, {"detail": NOT_FOUND}
            body = pick(reply)
            if body is None:
                return 429, {"detail": reply.failure or "Internal Server Error"}
            return 200, body

        return DeferredJSONResponse(produce)

    async def add_message(self, conversation_id: str, body: dict, assistant_id: str | None = None,
                          message_id: str | None = None) -> Response:
        reply = self._start_reply(current_tenant(), conversation_id, body)
        return self._answer(reply, lambda done: done.conversation)

    async def chat(self, conversation_id: str, body: dict, assistant_id: str | None = None) -> Response:
        reply = self._start_reply(current_tenant(), conversation_id, body)
        return self._answer(reply, lambda done: done.chat)

    async def stream_message(self, conversation_id: str, body: dict, format: str | None = None) -> Response:
        fmt = format or "vercel"
        reply = self._start_reply(current_tenant(), conversation_id, body)
        return _stream(reply.frames(0, fmt), fmt)

    async def conversation_events(self, conversation_id: str, format: str | None = None,
                                  etag: str | None = None) -> Response:
        tenant, fmt = current_tenant(), format or "vercel"
        record = self._record(tenant, conversation_id)
        log = self.logs.current(tenant, record["id"])
        if log is None:
            return _stream(_only(terminator(fmt)), fmt)
        tail = Reply(log, log.meta["etag"], log.meta["message_id"], "")
        return _stream(tail.frames(tail.resume_at(etag), fmt), fmt)

    # --- outside the contract: what the SDK asks for when a Client starts --------------------------

    async def list_nodes(self) -> JSONResponse:
        return json_response([])

    async def get_me(self) -> JSONResponse:
        tenant = current_tenant()
        return json_response({"id": api_key_id(tenant), "name": "convo-mock key", "tenant_admin": False,
                              "value": "nx-" + "*" * 12, "permissions": None})


def _support_operation(operation_id: str, summary: str, schema: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"get": {
        "operationId": operation_id, "summary": summary,
        "responses": {"200": {"description": summary, "content": {"application/json": {"schema": schema}}},
                      "401": {"$ref": "#/components/responses/Unauthorized"}}}}


SUPPORT_PATHS: dict[str, dict] = {
    "/v1/nodes": _support_operation(
        "sdk_list_nodes", "The workflow node catalogue the SDK loads when a Client starts: the mock has no nodes.",
        {"type": "array", "items": {"type": "object"}}),
    "/v1/admin/me": _support_operation(
        "sdk_get_me", "The API key the SDK asks about when a Client starts: never a tenant admin; value masked.",
        {"type": "object", "required": ["id", "name", "tenant_admin", "value"],
         "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "tenant_admin": {"type": "boolean"},
                        "value": {"type": "string"}}}),
}
"""Served beside the contract (``Family.support_paths``), not part of it."""

FAMILY = Family(
    name="noxus",
    spec_file="noxus-conversations.yaml",
    base_path="/noxus",
    create_handlers=lambda store: ConversationHandlers(store).operations(),
    render_error=error_renderer("APIKey"),
    description="Noxus conversations",
    support_paths=SUPPORT_PATHS,
)
