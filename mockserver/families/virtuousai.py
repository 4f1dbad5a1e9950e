"""VirtuousAI chat family: threads, messages, streamed turns, attachments, feedback; mounted at ``/virtuousai/api/v1``.

Behaviour follows ``openapi/virtuousai-chat.yaml`` and the choices written in its descriptions: UUID ids,
ISO 8601 timestamps, camelCase, FastAPI's error bodies (``mockserver.fastapi_errors``), opaque
cursors (``mockserver.cursors``), threads ordered by last activity, and a turn streamed in the Vercel AI
SDK v6 UI Message Stream protocol (``mockserver.ui_message_stream``, over ``mockserver.sse``) whose reply is
derived from the input text.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import typing as t
import uuid
import weakref

from connexion import request
from starlette.responses import Response

from mockserver import ui_message_stream as ui
from mockserver.auth import current_tenant
from mockserver.cursors import decode_cursor, encode_cursor
from mockserver.errors import Conflict, InvalidRequest, MockError, NotFound, Violation
from mockserver.family import Family
from mockserver.fastapi_errors import render_error
from mockserver.ids import iso_now, new_uuid
from mockserver.paging import cursor_page, offset_page
from mockserver.quota import QuotaExceeded
from mockserver.responses import JSONResponse, json_response
from mockserver.runs import Run, RunRegistry, ScopeBusy
from mockserver.sse import delta_delay, event_stream
from mockserver.store import Collection, Store, outside_transactions
from mockserver.ui_message_stream import split_deltas

THREADS = "threads"
TURNS = "turns"  # every turn of the tenant, for GET /chat/turns/{id}
ATTACHMENTS = "attachments"  # every attachment of the tenant, for /chat/attachments/{id}
MODEL_ID = "convo-mock-echo-1"
PREVIEW_LENGTH = 100
REPLY_PREAMBLE = "This is the mock assistant's reply, made from your message. You wrote: "
ARTIFACT_TYPES = (
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("csv", "text/csv"),
    ("txt", "text/plain"),
    ("json", "application/json"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
)


def _messages_of(thread_id: str) -> str:
    return f"messages/{thread_id}"


def _turns_of(thread_id: str) -> str:
    return f"turns/{thread_id}"


def _attachments_of(thread_id: str) -> str:
    return f"attachments/{thread_id}"


def _feedback_of(thread_id: str) -> str:
    return f"feedback/{thread_id}"


def canonical_uuid(value: str) -> str:
    """A path id in canonical form (the validator has already checked that it parses)."""
    return str(uuid.UUID(value))


def user_id(tenant: str) -> str:
    """A stable user id for an API key, without revealing the key."""
    return "user_" + hashlib.sha256(tenant.encode()).hexdigest()[:24]


def reply_to(text: str) -> str:
    """The mock assistant's answer: deterministic, and longer for longer input."""
    return REPLY_PREAMBLE + " ".join(text.split())


def usage_for(prompt: str, reply: str) -> dict:
    """Token counts estimated at four characters a token, and a cost at a small model's prices."""
    input_tokens, output_tokens = max(1, math.ceil(len(prompt) / 4)), max(1, math.ceil(len(reply) / 4))
    cost = (input_tokens * 0.15 + output_tokens * 0.60) / 1_000_000
    return {"inputTokens": input_tokens, "outputTokens": output_tokens, "cachedInputTokens": 0,
            "totalCost": f"{cost:.6f}"}


def artifact_file(artifact_id: str) -> dict:
    """Filename, MIME type and size the mock attributes to an artifact, derived from its UUID."""
    digits = uuid.UUID(artifact_id).hex
    extension, mime_type = ARTIFACT_TYPES[int(digits[:2], 16) % len(ARTIFACT_TYPES)]
    return {"originalFilename": f"artifact-{digits[:8]}.{extension}", "mimeType": mime_type,
            "sizeBytes": 1024 + int(digits[2:10], 16) % (10 * 1024 * 1024)}


def _input_text(body: dict) -> str:
    """The text of the request's last message, which must be a user message with text."""
    last = body["messages"][-1]
    texts = [part["text"] for part in last.get("parts", []) if part.get("type") == "text"
             and isinstance(part.get("text"), str)]
    if last.get("role") != "user" or not "".join(texts).strip():
        raise InvalidRequest([Violation("body", ("messages",), "value", None, body["messages"],
                                        "The last message must be a user message with a text part")])
    return "\n".join(texts)


def thread_not_found() -> NotFound:
    return NotFound("Thread not found")


# ---------------------------------------------------------------------------------------------
# Handlers


class ChatHandlers:
    """The 16 chat operations, over a ``Store``; the turn streaming in each thread is a run of ``runs``.

    A turn ends exactly once, by one atomic transition of its run: completed by its stream (``finish``),
    cancelled by the client (``cancel``) or by its thread's deletion. The loser of a race changes
    nothing, so a turn has at most one assistant message and a thread at most one streaming turn.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.runs = RunRegistry(store)

    def operations(self) -> dict[str, t.Callable]:
        return {
            "get_attachment_api_v1_chat_attachments__attachment_id__get": self.get_attachment,
            "delete_attachment_api_v1_chat_attachments__attachment_id__delete": self.delete_attachment,
            "list_threads_api_v1_chat_threads_get": self.list_threads,
            "create_thread_api_v1_chat_threads_post": self.create_thread,
            "bulk_delete_threads_api_v1_chat_threads_bulk_delete_post": self.bulk_delete_threads,
            "get_thread_api_v1_chat_threads__thread_id__get": self.get_thread,
            "update_thread_api_v1_chat_threads__thread_id__patch": self.update_thread,
            "delete_thread_api_v1_chat_threads__thread_id__delete": self.delete_thread,
            "list_attachments_api_v1_chat_threads__thread_id__attachments_get": self.list_attachments,
            "create_attachment_api_v1_chat_threads__thread_id__attachments_post": self.create_attachment,
            "crystallize_thread_api_v1_chat_threads__thread_id__crystallize_post": self.crystallize_thread,
            "create_feedback_api_v1_chat_threads__thread_id__feedback_post": self.create_feedback,
            "list_messages_api_v1_chat_threads__thread_id__messages_get": self.list_messages,
            "cancel_active_turn_api_v1_chat_threads__thread_id__turns_cancel_post": self.cancel_active_turn,
            "stream_turn_api_v1_chat_threads__thread_id__turns_stream_post": self.stream_turn,
            "get_turn_api_v1_chat_turns__turn_id__get": self.get_turn,
        }

    # --- state helpers ---------------------------------------------------------------------------

    def _write(self, tenant: str, name: str, *, index: bool = False) -> Collection:
        """A collection to write to. Lists here page by opaque position or offset, never by record id, so
        no collection needs to remember removed keys."""
        return self.store.collection(tenant, name, index=index, cursor_keys=False)

    def _thread(self, tenant: str, thread_id: str) -> dict:
        thread = self.store.read(tenant, THREADS).get(thread_id)
        if thread is None:
            raise thread_not_found()
        return thread

    def _update_thread(self, tenant: str, thread_id: str, changes: dict, *, activity: bool = False) -> dict | None:
        threads = self._write(tenant, THREADS)
        thread = threads.get(thread_id)
        if thread is None:  # deleted while a turn was streaming
            return None
        updated = {**thread, **changes, "updatedAt": iso_now()}
        threads.replace(thread_id, updated)
        if activity:
            threads.touch(thread_id)
        return updated

    def _update_turn(self, tenant: str, thread_id: str, turn_id: str, changes: dict) -> dict | None:
        turns = self.store.find(tenant, _turns_of(thread_id))
        turn = turns.get(turn_id) if turns is not None else None
        if turns is None or turn is None:
            return None
        updated = {**turn, **changes, "updatedAt": iso_now()}
        turns.replace(turn_id, updated)
        self._write(tenant, TURNS, index=True).replace(turn_id, updated)
        return updated

    def _add_message(self, tenant: str, thread_id: str, role: str, text: str, turn_id: str | None,
                     message_id: str | None = None) -> dict:
        now = iso_now()
        if role == "user":
            raw = {"kind": "request", "parts": [{"part_kind": "user-prompt", "content": text, "timestamp": now}]}
        else:
            raw = {"kind": "response", "parts": [{"part_kind": "text", "content": text}], "model_name": MODEL_ID,
                   "timestamp": now}
        message_id = message_id or new_uuid()
        message: dict[str, t.Any] = {"id": message_id, "threadId": thread_id, "turnId": turn_id, "role": role,
                   "content": text, "format": "pydantic_ai", "rawData": raw, "createdAt": now,
                   "createdBy": user_id(tenant) if role == "user" else None, "updatedAt": now}
        self._write(tenant, _messages_of(thread_id)).insert(message_id, message)
        self._update_thread(tenant, thread_id, {"lastMessageAt": now, "lastMessagePreview": text[:PREVIEW_LENGTH]},
                            activity=True)
        return message

    # --- threads ---------------------------------------------------------------------------------

    async def list_threads(self, limit: int = 20, cursor: str | None = None) -> JSONResponse:
        tenant = current_tenant()
        after = decode_cursor(THREADS, cursor) if cursor else None
        page = cursor_page(self.store.read(tenant, THREADS), after_position=after, limit=limit, descending=True)
        next_cursor = encode_cursor(THREADS, page.last_position) if page.has_more and page.last_position is not None \
            else None
        return json_response({"items": page.records, "nextCursor": next_cursor})

    async def create_thread(self, body: dict) -> JSONResponse:
        tenant = current_tenant()
        now = iso_now()
        thread_id = new_uuid()
        thread: dict[str, t.Any] = {"id": thread_id, "agentSpecId": body.get("agentSpecId"), "title": body.get("title"),
                  "systemPrompt": body.get("systemPrompt"), "metadata": dict(body.get("metadata") or {}),
                  "createdAt": now, "updatedAt": now, "lastMessageAt": None, "lastMessagePreview": None,
                  "lastTurnId": None, "lastTurnStatus": None, "crystallizeEligible": False}
        self._write(tenant, THREADS).insert(thread_id, thread)
        return json_response(thread)

    async def get_thread(self, thread_id: str) -> JSONResponse:
        return json_response(self._thread(current_tenant(), canonical_uuid(thread_id)))

    async def update_thread(self, thread_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        changes = {key: body[key] for key in ("agentSpecId", "title", "systemPrompt") if key in body}
        if "metadata" in body:
            changes["metadata"] = dict(body["metadata"] or {})
        return json_response(self._update_thread(tenant, thread_id, changes))

    def _remove_thread(self, tenant: str, thread_id: str) -> bool:
        """Delete the thread and everything it holds: messages, turns, attachments, feedback, the entries
        of the tenant-wide turn and attachment indexes, and its streaming turn (cancelled)."""
        threads = self.store.find(tenant, THREADS)
        if threads is None or threads.remove(thread_id) is None:
            return False
        for index_name, per_thread in ((TURNS, _turns_of(thread_id)), (ATTACHMENTS, _attachments_of(thread_id))):
            owned, index = self.store.find(tenant, per_thread), self.store.find(tenant, index_name)
            if owned is not None and index is not None:
                for record in owned:
                    index.remove(record["id"])
                if not index:
                    self.store.drop(tenant, index_name)
            self.store.drop(tenant, per_thread)
        self.store.drop(tenant, _messages_of(thread_id))
        self.store.drop(tenant, _feedback_of(thread_id))
        self.runs.cancel(tenant, thread_id)
        return True

    async def delete_thread(self, thread_id: str) -> Response:
        if not self._remove_thread(current_tenant(), canonical_uuid(thread_id)):
            raise thread_not_found()
        return Response(status_code=204)

    async def bulk_delete_threads(self, body: dict) -> JSONResponse:
        tenant = current_tenant()
        if body.get("all"):
            targets = [thread["id"] for thread in self.store.read(tenant, THREADS)]
        else:
            targets = []
            for given in body.get("threadIds") or []:
                try:
                    targets.append(canonical_uuid(given))
                except ValueError:
                    continue  # names no thread
        deleted = sum(self._remove_thread(tenant, thread_id) for thread_id in dict.fromkeys(targets))
        return json_response({"deletedCount": deleted})

    # --- messages and turns ----------------------------------------------------------------------

    async def list_messages(self, thread_id: str, limit: int = 50, cursor: str | None = None) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        scope = _messages_of(thread_id)
        after = decode_cursor(scope, cursor) if cursor else None
        page = cursor_page(self.store.read(tenant, scope), after_position=after, limit=limit, descending=False)
        next_cursor = encode_cursor(scope, page.last_position) if page.has_more and page.last_position is not None \
            else None
        return json_response({"items": page.records, "nextCursor": next_cursor})

    async def get_turn(self, turn_id: str) -> JSONResponse:
        turn = self.store.read(current_tenant(), TURNS).get(canonical_uuid(turn_id))
        if turn is None:
            raise NotFound("Turn not found")
        return json_response(turn)

    async def stream_turn(self, thread_id: str, body: dict) -> Response:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        text = _input_text(body)
        if self.runs.active(tenant, thread_id) is not None:
            raise Conflict("A turn is already in progress for this thread")
        reply = reply_to(text)
        # the turn, its two messages and the thread's growth, checked before anything is written
        self.store.check_room(tenant, 3, 4096 + 2 * (len(text) + len(reply)))

        now = iso_now()
        turn_id = new_uuid()
        timezone = request.headers.get("x-user-timezone")
        settings = {"timezone": timezone} if timezone else {}
        turn = {"id": turn_id, "threadId": thread_id, "status": "pending", "inputMessageId": None,
                "outputMessageId": None, "modelId": MODEL_ID, "settings": settings, "error": None,
                "idempotencyKey": None,
                "concurrencyKey": thread_id, "createdAt": now, "startedAt": None, "completedAt": None,
                "updatedAt": now, "durationSeconds": None, "usage": None}
        self._write(tenant, _turns_of(thread_id)).insert(turn_id, turn)
        self._write(tenant, TURNS, index=True).insert(turn_id, turn)
        try:
            run = self.runs.start(tenant, thread_id, turn_id)
        except ScopeBusy:  # unreachable while nothing above awaits; kept so the invariant does not rest on it
            raise Conflict("A turn is already in progress for this thread") from None
        user_message = self._add_message(tenant, thread_id, "user", text, turn_id)
        self._update_turn(tenant, thread_id, turn_id, {"inputMessageId": user_message["id"]})
        self._update_thread(tenant, thread_id, {"lastTurnId": turn_id, "lastTurnStatus": "pending"})
        message_id = new_uuid()
        chunks = self._turn_chunks(tenant, thread_id, run, text, reply, message_id)
        # a stream dropped before its first frame never runs its ``finally``: its turn completes when it goes
        weakref.finalize(chunks, self._end_abandoned_run, tenant, thread_id, run, text, reply, message_id)
        return event_stream(chunks, ui.HEADERS)

    def _end_abandoned_run(self, tenant: str, thread_id: str, run: Run, prompt: str, reply: str,
                           message_id: str) -> None:
        # Run by the garbage collector, possibly inside another request's transaction: not part of it.
        with outside_transactions():
            if self.runs.finish(run):
                self._complete_turn(tenant, thread_id, run, prompt, reply, message_id)

    async def _turn_chunks(self, tenant: str, thread_id: str, run: Run, prompt: str,
                           reply: str, message_id: str) -> t.AsyncIterator[t.Any]:
        """The UI Message Stream of one turn; the turn is completed even if the client goes away.

        Whether the turn completes is decided once, by ``runs.finish`` after the last delta: if the run
        was cancelled first (at any point, even while the last frame waited for a slow reader), the
        stream aborts and the turn stays cancelled."""
        text_id = ui.new_text_id()
        try:
            if not run.active:  # cancelled before its first frame
                yield ui.abort()
                yield ui.DONE
                return
            self._update_turn(tenant, thread_id, run.run_id, {"status": "running", "startedAt": iso_now()})
            self._update_thread(tenant, thread_id, {"lastTurnStatus": "running"})
            yield ui.start(message_id)
            yield ui.text_start(text_id)
            delay = delta_delay()
            for delta in split_deltas(reply):
                if delay:
                    await asyncio.sleep(delay)
                if not run.active:
                    break
                yield ui.text_delta(text_id, delta)
            if not self.runs.finish(run):
                yield ui.abort()
                yield ui.DONE
                return
            usage = self._complete_turn(tenant, thread_id, run, prompt, reply, message_id)
            yield ui.text_end(text_id)
            yield ui.finish("stop", {"turnId": run.run_id, "usage": usage})
            yield ui.DONE
        finally:
            if self.runs.finish(run):  # the client went away mid-stream: the turn still completes
                self._complete_turn(tenant, thread_id, run, prompt, reply, message_id)

    def _complete_turn(self, tenant: str, thread_id: str, run: Run, prompt: str, reply: str,
                       message_id: str) -> dict:
        """Record the reply of a run that has just finished: its one assistant message and the turn's end."""
        usage = usage_for(prompt, reply)
        if self.store.read(tenant, THREADS).get(thread_id) is None:
            return usage
        try:
            self._add_message(tenant, thread_id, "assistant", reply, run.run_id, message_id)
        except QuotaExceeded as exc:  # the tenant filled its quota while the turn streamed
            self._update_turn(tenant, thread_id, run.run_id, {
                "status": "failed", "error": exc.message, "completedAt": iso_now(),
                "durationSeconds": round(run.elapsed(), 6)})
            self._update_thread(tenant, thread_id, {"lastTurnStatus": "failed"})
            return usage
        self._update_turn(tenant, thread_id, run.run_id, {
            "status": "completed", "outputMessageId": message_id, "completedAt": iso_now(),
            "durationSeconds": round(run.elapsed(), 6), "usage": usage})
        self._update_thread(tenant, thread_id, {"lastTurnStatus": "completed", "crystallizeEligible": True})
        return usage

    async def cancel_active_turn(self, thread_id: str, body: dict) -> Response:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        if self.runs.active(tenant, thread_id) is None:
            raise Conflict("No active turn to cancel")
        partial = body.get("partialText") or ""
        if partial:
            self.store.check_room(tenant, 1, 1024 + 2 * len(partial))
        run = self.runs.cancel(tenant, thread_id)
        assert run is not None  # nothing awaited since the check above
        output_id = None
        if partial:
            output_id = self._add_message(tenant, thread_id, "assistant", partial, run.run_id)["id"]
        self._update_turn(tenant, thread_id, run.run_id, {
            "status": "cancelled", "outputMessageId": output_id, "completedAt": iso_now(),
            "durationSeconds": round(run.elapsed(), 6)})
        self._update_thread(tenant, thread_id, {"lastTurnStatus": "cancelled"})
        return Response(status_code=204)

    # --- attachments, feedback, crystallize ------------------------------------------------------

    async def create_attachment(self, thread_id: str, artifact_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        message_id = body.get("messageId")
        if message_id is not None and self.store.read(tenant, _messages_of(thread_id)).get(message_id) is None:
            raise NotFound("Message not found in this thread")
        now = iso_now()
        artifact_id = canonical_uuid(artifact_id)
        attachment = {"id": new_uuid(), "threadId": thread_id, "messageId": message_id, "artifactId": artifact_id,
                      **artifact_file(artifact_id), "scope": "message" if message_id else "thread",
                      "ingestionStatus": "none", "createdAt": now, "createdBy": user_id(tenant), "updatedAt": now}
        self._write(tenant, _attachments_of(thread_id)).insert(attachment["id"], attachment)  # checks the caps
        self._write(tenant, ATTACHMENTS, index=True).insert(attachment["id"], attachment)
        return json_response(attachment)

    async def list_attachments(self, thread_id: str, limit: int = 100, offset: int = 0) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        page = offset_page(self.store.read(tenant, _attachments_of(thread_id)), offset=offset, limit=limit)
        return json_response(page.records)

    async def get_attachment(self, attachment_id: str) -> JSONResponse:
        attachment = self.store.read(current_tenant(), ATTACHMENTS).get(canonical_uuid(attachment_id))
        if attachment is None:
            raise NotFound("Attachment not found")
        return json_response(attachment)

    async def delete_attachment(self, attachment_id: str) -> Response:
        tenant = current_tenant()
        index = self.store.find(tenant, ATTACHMENTS)
        attachment = index.remove(canonical_uuid(attachment_id)) if index is not None else None
        if attachment is None:
            raise NotFound("Attachment not found")
        owner = self.store.find(tenant, _attachments_of(attachment["threadId"]))
        if owner is not None:
            owner.remove(attachment["id"])
        return Response(status_code=204)

    async def create_feedback(self, thread_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        message_id, turn_id = body.get("messageId"), body.get("turnId")
        if message_id is not None and self.store.read(tenant, _messages_of(thread_id)).get(message_id) is None:
            raise NotFound("Message not found in this thread")
        if turn_id is not None and self.store.read(tenant, _turns_of(thread_id)).get(turn_id) is None:
            raise NotFound("Turn not found in this thread")
        feedback = {"id": new_uuid(), "threadId": thread_id, "messageId": message_id, "turnId": turn_id,
                    "rating": body["rating"], "comment": body.get("comment"), "createdAt": iso_now(),
                    "createdBy": user_id(tenant)}
        self._write(tenant, _feedback_of(thread_id)).insert(feedback["id"], feedback)
        return json_response(feedback)

    async def crystallize_thread(self, thread_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        if not self._thread(tenant, thread_id)["crystallizeEligible"]:
            raise MockError("Thread is not eligible for crystallization: it has no completed turn", status=400)
        return json_response({"automationId": new_uuid()})


FAMILY = Family(
    name="virtuousai",
    spec_file="virtuousai-chat.yaml",
    base_path="/virtuousai/api/v1",
    create_handlers=lambda store: ChatHandlers(store).operations(),
    render_error=render_error,
    description="VirtuousAI chat threads and turns",
)
