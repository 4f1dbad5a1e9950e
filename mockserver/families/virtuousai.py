"""VirtuousAI chat family: threads, messages, streamed turns, attachments, feedback; mounted at ``/virtuousai/api/v1``.

Behaviour follows ``openapi/virtuousai-chat.yaml`` and the choices written in its descriptions: UUID ids,
ISO 8601 timestamps, camelCase, FastAPI's error bodies (``mockserver.fastapi_errors``), opaque
cursors (``mockserver.cursors``), threads ordered by last activity, and a turn streamed in the Vercel AI
SDK v6 UI Message Stream protocol (``mockserver.sse``) whose reply is derived from the input text.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
import typing as t
import uuid
from dataclasses import dataclass

from connexion import request
from starlette.responses import Response

from mockserver.auth import current_tenant
from mockserver.cursors import decode_cursor, encode_cursor
from mockserver.errors import Conflict, InvalidRequest, MockError, NotFound, Violation
from mockserver.family import Family
from mockserver.fastapi_errors import render_error
from mockserver.ids import iso_now, new_uuid
from mockserver.responses import JSONResponse, json_response
from mockserver.sse import delta_delay, event_stream
from mockserver.store import Store

THREADS = "threads"
TURNS = "turns"  # every turn of the tenant, for GET /chat/turns/{id}
ATTACHMENTS = "attachments"  # every attachment of the tenant, for /chat/attachments/{id}
ACTIVE_TURNS = "active-turns"  # thread id -> ActiveTurn while a turn streams
MODEL_ID = "convo-mock-echo-1"
PREVIEW_LENGTH = 100
WORDS_PER_DELTA = 3
REPLY_PREAMBLE = "This is the mock assistant's reply, made from your message. You wrote: "
STREAM_HEADERS = {"x-vercel-ai-ui-message-stream": "v1"}
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


def split_deltas(text: str) -> list[str]:
    """The reply cut into deltas of a few words each (their concatenation is the reply)."""
    words = re.findall(r"\S+\s*", text)
    return ["".join(words[i:i + WORDS_PER_DELTA]) for i in range(0, len(words), WORDS_PER_DELTA)] or [text]


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


@dataclass
class ActiveTurn:
    """A turn that is streaming: cancel sets ``cancelled`` and the stream stops at its next delta."""

    turn_id: str
    started: float
    cancelled: bool = False


# ---------------------------------------------------------------------------------------------
# Handlers


class ChatHandlers:
    """The 16 chat operations, over a ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

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

    def _thread(self, tenant: str, thread_id: str) -> dict:
        thread = self.store.collection(tenant, THREADS).get(thread_id)
        if thread is None:
            raise thread_not_found()
        return thread

    def _update_thread(self, tenant: str, thread_id: str, changes: dict, *, activity: bool = False) -> dict | None:
        threads = self.store.collection(tenant, THREADS)
        thread = threads.get(thread_id)
        if thread is None:  # deleted while a turn was streaming
            return None
        updated = {**thread, **changes, "updatedAt": iso_now()}
        threads.replace(thread_id, updated)
        if activity:
            threads.touch(thread_id)
        return updated

    def _update_turn(self, tenant: str, thread_id: str, turn_id: str, changes: dict) -> dict | None:
        turn = self.store.collection(tenant, TURNS).get(turn_id)
        if turn is None:
            return None
        updated = {**turn, **changes, "updatedAt": iso_now()}
        self.store.collection(tenant, TURNS).replace(turn_id, updated)
        self.store.collection(tenant, _turns_of(thread_id)).replace(turn_id, updated)
        return updated

    def _add_message(self, tenant: str, thread_id: str, role: str, text: str, turn_id: str | None,
                     message_id: str | None = None) -> dict:
        now = iso_now()
        if role == "user":
            raw = {"kind": "request", "parts": [{"part_kind": "user-prompt", "content": text, "timestamp": now}]}
        else:
            raw = {"kind": "response", "parts": [{"part_kind": "text", "content": text}], "model_name": MODEL_ID,
                   "timestamp": now}
        message = {"id": message_id or new_uuid(), "threadId": thread_id, "turnId": turn_id, "role": role,
                   "content": text, "format": "pydantic_ai", "rawData": raw, "createdAt": now,
                   "createdBy": user_id(tenant) if role == "user" else None, "updatedAt": now}
        self.store.collection(tenant, _messages_of(thread_id)).insert(message["id"], message)
        self._update_thread(tenant, thread_id, {"lastMessageAt": now, "lastMessagePreview": text[:PREVIEW_LENGTH]},
                            activity=True)
        return message

    # --- threads ---------------------------------------------------------------------------------

    async def list_threads(self, limit: int = 20, cursor: str | None = None) -> JSONResponse:
        tenant = current_tenant()
        after = decode_cursor(THREADS, cursor) if cursor else None
        page = self.store.collection(tenant, THREADS).page(after_position=after, limit=limit, descending=True)
        next_cursor = encode_cursor(THREADS, page.last_position) if page.has_more else None
        return json_response({"items": page.records, "nextCursor": next_cursor})

    async def create_thread(self, body: dict) -> JSONResponse:
        tenant = current_tenant()
        now = iso_now()
        thread = {"id": new_uuid(), "agentSpecId": body.get("agentSpecId"), "title": body.get("title"),
                  "systemPrompt": body.get("systemPrompt"), "metadata": dict(body.get("metadata") or {}),
                  "createdAt": now, "updatedAt": now, "lastMessageAt": None, "lastMessagePreview": None,
                  "lastTurnId": None, "lastTurnStatus": None, "crystallizeEligible": False}
        self.store.collection(tenant, THREADS).insert(thread["id"], thread)
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
        if self.store.collection(tenant, THREADS).remove(thread_id) is None:
            return False
        for index, per_thread in ((TURNS, _turns_of(thread_id)), (ATTACHMENTS, _attachments_of(thread_id))):
            owned = self.store.find(tenant, per_thread)
            if owned is not None:
                collection = self.store.collection(tenant, index)
                for record in list(owned):
                    collection.remove(record["id"])
            self.store.drop(tenant, per_thread)
        self.store.drop(tenant, _messages_of(thread_id))
        self.store.drop(tenant, _feedback_of(thread_id))
        active = self.store.collection(tenant, ACTIVE_TURNS).remove(thread_id)
        if active is not None:
            active.cancelled = True
        return True

    async def delete_thread(self, thread_id: str) -> Response:
        if not self._remove_thread(current_tenant(), canonical_uuid(thread_id)):
            raise thread_not_found()
        return Response(status_code=204)

    async def bulk_delete_threads(self, body: dict) -> JSONResponse:
        tenant = current_tenant()
        if body.get("all"):
            targets = [thread["id"] for thread in self.store.collection(tenant, THREADS)]
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
        page = self.store.collection(tenant, scope).page(after_position=after, limit=limit, descending=False)
        next_cursor = encode_cursor(scope, page.last_position) if page.has_more else None
        return json_response({"items": page.records, "nextCursor": next_cursor})

    async def get_turn(self, turn_id: str) -> JSONResponse:
        turn = self.store.collection(current_tenant(), TURNS).get(canonical_uuid(turn_id))
        if turn is None:
            raise NotFound("Turn not found")
        return json_response(turn)

    async def stream_turn(self, thread_id: str, body: dict) -> Response:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        text = _input_text(body)
        active_turns = self.store.collection(tenant, ACTIVE_TURNS)
        if thread_id in active_turns:
            raise Conflict("A turn is already in progress for this thread")

        now = iso_now()
        turn_id = new_uuid()
        timezone = request.headers.get("x-user-timezone")
        settings = {"timezone": timezone} if timezone else {}
        turn = {"id": turn_id, "threadId": thread_id, "status": "pending", "inputMessageId": None,
                "outputMessageId": None, "modelId": MODEL_ID, "settings": settings, "error": None,
                "idempotencyKey": None,
                "concurrencyKey": thread_id, "createdAt": now, "startedAt": None, "completedAt": None,
                "updatedAt": now, "durationSeconds": None, "usage": None}
        self.store.collection(tenant, TURNS).insert(turn_id, turn)
        self.store.collection(tenant, _turns_of(thread_id)).insert(turn_id, turn)
        active = ActiveTurn(turn_id, time.monotonic())
        active_turns.insert(thread_id, active)
        user_message = self._add_message(tenant, thread_id, "user", text, turn_id)
        self._update_turn(tenant, thread_id, turn_id, {"inputMessageId": user_message["id"]})
        self._update_thread(tenant, thread_id, {"lastTurnId": turn_id, "lastTurnStatus": "pending"})
        reply = reply_to(text)
        return event_stream(self._turn_chunks(tenant, thread_id, active, text, reply), STREAM_HEADERS)

    async def _turn_chunks(self, tenant: str, thread_id: str, active: ActiveTurn, prompt: str,
                           reply: str) -> t.AsyncIterator[t.Any]:
        """The UI Message Stream of one turn; the turn is completed even if the client goes away."""
        message_id, text_id = new_uuid(), f"text-{new_uuid()[:8]}"
        finished = False
        try:
            self._update_turn(tenant, thread_id, active.turn_id, {"status": "running", "startedAt": iso_now()})
            self._update_thread(tenant, thread_id, {"lastTurnStatus": "running"})
            yield {"type": "start", "messageId": message_id}
            yield {"type": "text-start", "id": text_id}
            delay = delta_delay()
            for delta in split_deltas(reply):
                if delay:
                    await asyncio.sleep(delay)
                if active.cancelled:
                    finished = True
                    yield {"type": "abort"}
                    yield "[DONE]"
                    return
                yield {"type": "text-delta", "id": text_id, "delta": delta}
            usage = self._complete_turn(tenant, thread_id, active, prompt, reply, message_id)
            finished = True
            yield {"type": "text-end", "id": text_id}
            yield {"type": "finish", "finishReason": "stop",
                   "messageMetadata": {"turnId": active.turn_id, "usage": usage}}
            yield "[DONE]"
        finally:
            if not finished and not active.cancelled:  # the client went away: the turn still completes
                self._complete_turn(tenant, thread_id, active, prompt, reply, message_id)

    def _complete_turn(self, tenant: str, thread_id: str, active: ActiveTurn, prompt: str, reply: str,
                       message_id: str) -> dict:
        usage = usage_for(prompt, reply)
        if self.store.collection(tenant, THREADS).get(thread_id) is None:
            return usage
        self.store.collection(tenant, ACTIVE_TURNS).remove(thread_id)
        self._add_message(tenant, thread_id, "assistant", reply, active.turn_id, message_id)
        self._update_turn(tenant, thread_id, active.turn_id, {
            "status": "completed", "outputMessageId": message_id, "completedAt": iso_now(),
            "durationSeconds": round(time.monotonic() - active.started, 6), "usage": usage})
        self._update_thread(tenant, thread_id, {"lastTurnStatus": "completed", "crystallizeEligible": True})
        return usage

    async def cancel_active_turn(self, thread_id: str, body: dict) -> Response:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        active = self.store.collection(tenant, ACTIVE_TURNS).remove(thread_id)
        if active is None:
            raise Conflict("No active turn to cancel")
        active.cancelled = True
        partial = body.get("partialText") or ""
        output_id = None
        if partial:
            output_id = self._add_message(tenant, thread_id, "assistant", partial, active.turn_id)["id"]
        self._update_turn(tenant, thread_id, active.turn_id, {
            "status": "cancelled", "outputMessageId": output_id, "completedAt": iso_now(),
            "durationSeconds": round(time.monotonic() - active.started, 6)})
        self._update_thread(tenant, thread_id, {"lastTurnStatus": "cancelled"})
        return Response(status_code=204)

    # --- attachments, feedback, crystallize ------------------------------------------------------

    async def create_attachment(self, thread_id: str, artifact_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        message_id = body.get("messageId")
        if message_id is not None and self.store.collection(tenant, _messages_of(thread_id)).get(message_id) is None:
            raise NotFound("Message not found in this thread")
        now = iso_now()
        artifact_id = canonical_uuid(artifact_id)
        attachment = {"id": new_uuid(), "threadId": thread_id, "messageId": message_id, "artifactId": artifact_id,
                      **artifact_file(artifact_id), "scope": "message" if message_id else "thread",
                      "ingestionStatus": "none", "createdAt": now, "createdBy": user_id(tenant), "updatedAt": now}
        self.store.collection(tenant, _attachments_of(thread_id)).insert(attachment["id"], attachment)
        self.store.collection(tenant, ATTACHMENTS).insert(attachment["id"], attachment)
        return json_response(attachment)

    async def list_attachments(self, thread_id: str, limit: int = 100, offset: int = 0) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        found = self.store.find(tenant, _attachments_of(thread_id))
        records = list(found) if found is not None else []
        return json_response(records[offset:offset + limit])

    async def get_attachment(self, attachment_id: str) -> JSONResponse:
        attachment = self.store.collection(current_tenant(), ATTACHMENTS).get(canonical_uuid(attachment_id))
        if attachment is None:
            raise NotFound("Attachment not found")
        return json_response(attachment)

    async def delete_attachment(self, attachment_id: str) -> Response:
        tenant = current_tenant()
        attachment = self.store.collection(tenant, ATTACHMENTS).remove(canonical_uuid(attachment_id))
        if attachment is None:
            raise NotFound("Attachment not found")
        self.store.collection(tenant, _attachments_of(attachment["threadId"])).remove(attachment["id"])
        return Response(status_code=204)

    async def create_feedback(self, thread_id: str, body: dict) -> JSONResponse:
        tenant, thread_id = current_tenant(), canonical_uuid(thread_id)
        self._thread(tenant, thread_id)
        message_id, turn_id = body.get("messageId"), body.get("turnId")
        if message_id is not None and self.store.collection(tenant, _messages_of(thread_id)).get(message_id) is None:
            raise NotFound("Message not found in this thread")
        if turn_id is not None and self.store.collection(tenant, _turns_of(thread_id)).get(turn_id) is None:
            raise NotFound("Turn not found in this thread")
        feedback = {"id": new_uuid(), "threadId": thread_id, "messageId": message_id, "turnId": turn_id,
                    "rating": body["rating"], "comment": body.get("comment"), "createdAt": iso_now(),
                    "createdBy": user_id(tenant)}
        self.store.collection(tenant, _feedback_of(thread_id)).insert(feedback["id"], feedback)
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
