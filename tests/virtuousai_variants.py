"""Variants of the VirtuousAI mock for proving the conformance suite: broken ones and faithful ones.

Run one as a server: ``python -m tests.virtuousai_variants VARIANT --port 0``.

- ``BROKEN``: each changes exactly one behaviour of the mock so that it breaks the contract; the suite
  must exit 1 on every one, naming the check in ``caught_by``.
- ``FAITHFUL``: each makes a different choice where VirtuousAI's behaviour is undocumented (or allowed
  to vary); the suite must still exit 0, so its checks hold only what the vendor promises.
"""

from __future__ import annotations

import json
import re
import typing as t
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response

from mockserver.auth import current_tenant
from mockserver.cursors import decode_cursor, encode_cursor
from mockserver.errors import ErrorResponse, MockError, NotFound
from mockserver.families import virtuousai as faithful
from mockserver.family import Family
from mockserver.responses import JSONResponse, json_response
from tests.variants import (
    ApiKeyCallersSeeEveryoneStore,
    Edited,
    TenantBlindStore,
    Variant,
    api_key_callers_see_everyone,
    edit_requests,
    no_key_needed,
    serve_variant,
    with_errors,
    with_handlers,
    with_spec,
)

Handlers = faithful.ChatHandlers
THREADS = faithful.THREADS


def _flat_string_422(error: MockError) -> ErrorResponse:
    """422s carry the messages as one string, not FastAPI's list of {loc, msg, type}."""
    rendered = faithful.render_error(error)
    if rendered.status == 422:
        messages = "; ".join(entry["msg"] for entry in rendered.body["detail"])
        return ErrorResponse(422, {"detail": messages}, rendered.headers)
    return rendered


class _CursorRepeatsItem(Handlers):
    """The threads cursor resumes at the last item of a page instead of after it."""

    async def list_threads(self, limit: int = 20, cursor: str | None = None) -> JSONResponse:
        after = decode_cursor(THREADS, cursor) if cursor else None
        page = self.store.collection(current_tenant(), THREADS).page(after_position=after, limit=limit,
                                                                     descending=True)
        next_cursor = encode_cursor(THREADS, page.last_position + 1) if page.has_more else None
        return json_response({"items": page.records, "nextCursor": next_cursor})


class _CursorOnFullLastPage(Handlers):
    """A last page that is full still hands out a cursor (to an empty page)."""

    async def list_threads(self, limit: int = 20, cursor: str | None = None) -> JSONResponse:
        after = decode_cursor(THREADS, cursor) if cursor else None
        page = self.store.collection(current_tenant(), THREADS).page(after_position=after, limit=limit,
                                                                     descending=True)
        full = page.records and len(page.records) == limit
        next_cursor = encode_cursor(THREADS, page.last_position) if page.has_more or full else None
        return json_response({"items": page.records, "nextCursor": next_cursor})


class _OffsetCursor(Handlers):
    """The threads cursor is an offset, so a thread created mid-walk shifts the rest by one."""

    async def list_threads(self, limit: int = 20, cursor: str | None = None) -> JSONResponse:
        offset = decode_cursor(THREADS, cursor) if cursor else 0
        everything = self.store.collection(current_tenant(), THREADS).page(limit=10**9, descending=True).records
        records = everything[offset:offset + limit]
        more = offset + limit < len(everything)
        next_cursor = encode_cursor(THREADS, offset + limit) if more else None
        return json_response({"items": records, "nextCursor": next_cursor})


class _StreamRewriter(Handlers):
    """Base for variants that tamper with the stream: each chunk is rewritten (None drops it)."""

    def rewrite(self, chunk: t.Any) -> t.Any:
        return chunk

    async def _turn_chunks(self, *args: t.Any) -> AsyncIterator[t.Any]:
        async for chunk in super()._turn_chunks(*args):
            for out in self.expand(chunk):
                yield out

    def expand(self, chunk: t.Any) -> list[t.Any]:
        rewritten = self.rewrite(chunk)
        return [] if rewritten is None else [rewritten]


def _kind(chunk: t.Any) -> str | None:
    return chunk.get("type") if isinstance(chunk, dict) else chunk


class _NoTextEnd(_StreamRewriter):
    def rewrite(self, chunk: t.Any) -> t.Any:
        return None if _kind(chunk) == "text-end" else chunk


class _NoDone(_StreamRewriter):
    def rewrite(self, chunk: t.Any) -> t.Any:
        return None if chunk == "[DONE]" else chunk


class _DeltasTrimmed(_StreamRewriter):
    """Deltas are sent without their surrounding spaces; the message stored keeps them."""

    def rewrite(self, chunk: t.Any) -> t.Any:
        return {**chunk, "delta": chunk["delta"].strip()} if _kind(chunk) == "text-delta" else chunk


class _DeltaWithoutId(_StreamRewriter):
    """text-delta chunks lack the block id the chunk schema requires."""

    def rewrite(self, chunk: t.Any) -> t.Any:
        return {k: v for k, v in chunk.items() if k != "id"} if _kind(chunk) == "text-delta" else chunk


class _ExtraChunkTypes(_StreamRewriter):
    """Other protocol chunks around the text: steps, a reasoning block, an app data chunk."""

    def expand(self, chunk: t.Any) -> list[t.Any]:
        kind = _kind(chunk)
        if kind == "start":
            reasoning = [{"type": "reasoning-start", "id": "r1"},
                         {"type": "reasoning-delta", "id": "r1", "delta": "Thinking."},
                         {"type": "reasoning-end", "id": "r1"}]
            return [chunk, {"type": "start-step"}, *reasoning]
        if kind == "finish":
            return [{"type": "data-usage", "data": {"note": "app data"}}, {"type": "finish-step"}, chunk]
        return [chunk]


class _TwoTextBlocks(Handlers):
    """The reply comes in two text blocks (text-start … text-end twice, with different ids)."""

    async def _turn_chunks(self, *args: t.Any) -> AsyncIterator[t.Any]:
        deltas = 0
        async for chunk in super()._turn_chunks(*args):
            if _kind(chunk) == "text-delta":
                deltas += 1
                if deltas == 2:
                    yield {"type": "text-end", "id": chunk["id"]}
                    yield {"type": "text-start", "id": "second"}
                if deltas >= 2:
                    chunk = {**chunk, "id": "second"}
            elif _kind(chunk) == "text-end" and deltas >= 2:
                chunk = {**chunk, "id": "second"}
            yield chunk


class _PatchReplaces(Handlers):
    """Update replaces the editable fields: those left out of the body become null."""

    async def update_thread(self, thread_id: str, body: dict) -> JSONResponse:
        full = {"agentSpecId": None, "title": None, "systemPrompt": None, "metadata": None, **body}
        return await super().update_thread(thread_id, full)


class _SecondStreamAllowed(Handlers):
    """A thread takes a second turn while one is still streaming."""

    async def stream_turn(self, thread_id: str, body: dict) -> Response:
        # forget the streaming run without ending it, as a server without the one-turn rule would
        self.runs._active.pop((current_tenant(), faithful.canonical_uuid(thread_id)), None)
        return await super().stream_turn(thread_id, body)


class _CompletedAtStart(Handlers):
    """The thread says its turn is completed as soon as it starts streaming."""

    def _update_thread(self, tenant: str, thread_id: str, changes: dict, *, activity: bool = False) -> dict | None:
        if changes.get("lastTurnStatus") in ("pending", "running"):
            changes = {**changes, "lastTurnStatus": "completed"}
        return super()._update_thread(tenant, thread_id, changes, activity=activity)


class _CancelIgnored(Handlers):
    """Cancel answers 204 but the turn streams on and completes with its full reply."""

    async def cancel_active_turn(self, thread_id: str, body: dict) -> Response:
        tenant, tid = current_tenant(), faithful.canonical_uuid(thread_id)
        self._thread(tenant, tid)
        if self.runs.active(tenant, tid) is None:
            raise faithful.Conflict("No active turn to cancel")
        return Response(status_code=204)


class _CancelIdle404(Handlers):
    async def cancel_active_turn(self, thread_id: str, body: dict) -> Response:
        try:
            return await super().cancel_active_turn(thread_id, body)
        except faithful.Conflict:
            raise NotFound("No active turn") from None


class _CountsRequested(Handlers):
    """deletedCount is the number of ids asked for, not of threads deleted."""

    async def bulk_delete_threads(self, body: dict) -> JSONResponse:
        response = await super().bulk_delete_threads(body)
        if body.get("all"):
            return response
        return json_response({"deletedCount": len(body.get("threadIds") or [])})


class _OffsetIgnored(Handlers):
    async def list_attachments(self, thread_id: str, limit: int = 100, offset: int = 0) -> JSONResponse:
        return await super().list_attachments(thread_id, limit, 0)


class _FeedbackDropsComment(Handlers):
    async def create_feedback(self, thread_id: str, body: dict) -> JSONResponse:
        return await super().create_feedback(thread_id, {k: v for k, v in body.items() if k != "comment"})


def _crystallize_refusing_with(status: int) -> type[Handlers]:
    class Refusing(Handlers):
        async def crystallize_thread(self, thread_id: str, body: dict) -> JSONResponse:
            try:
                return await super().crystallize_thread(thread_id, body)
            except MockError as error:
                if error.status != 400:
                    raise
                raise MockError("Thread is not eligible for crystallization", status=status) from None

    return Refusing


class _CrystallizeAlways(Handlers):
    async def crystallize_thread(self, thread_id: str, body: dict) -> JSONResponse:
        self._thread(current_tenant(), faithful.canonical_uuid(thread_id))
        return json_response({"automationId": faithful.new_uuid()})


class _TextFormatMessages(Handlers):
    """Messages are stored as plain text: format "text", no pydantic-ai rawData."""

    def _add_message(self, *args: t.Any, **kwargs: t.Any) -> dict:
        message = super()._add_message(*args, **kwargs)
        plain = {**message, "format": "text", "rawData": None}
        self.store.collection(args[0], faithful._messages_of(args[1])).replace(message["id"], plain)
        return plain


def _bad_cursor_400(error: MockError) -> ErrorResponse:
    """A cursor nobody handed out is a 400 with a text detail, not a 422."""
    rendered = faithful.render_error(error)
    detail = rendered.body.get("detail") if isinstance(rendered.body, dict) else None
    if rendered.status == 422 and isinstance(detail, list) and any(e["loc"] == ["query", "cursor"] for e in detail):
        return ErrorResponse(400, {"detail": "Invalid cursor"})
    return rendered


_CREDENTIALS = (b"authorization", b"x-api-key", b"vai_token", b"cookie")


def _allow_200_bulk_ids(spec: dict) -> None:
    spec["components"]["schemas"]["BulkDeleteRequest"]["properties"]["threadIds"]["maxItems"] = 200


# Operations whose body has no required field: FastAPI takes a missing body as {} where the handler's body
# parameter has a default.
_OPTIONAL_BODIES = [
    ("POST", re.compile(r"/chat/threads$")),
    ("POST", re.compile(r"/chat/threads/bulk-delete$")),
    ("PATCH", re.compile(r"/chat/threads/[^/]+$")),
    ("POST", re.compile(r"/chat/threads/[^/]+/(attachments|crystallize|turns/cancel)$")),
]
_STREAM = re.compile(r"/chat/threads/[^/]+/turns/stream$")


def _fastapi_lenient(method: str, path: str, query: str, body: bytes) -> Edited | None:
    """As a FastAPI server may be where VirtuousAI documents nothing: a missing body is taken as {} where
    every field is optional, and a turn whose messages are empty or end with an assistant message is
    streamed (as a reply to an empty user message)."""
    if not body and any(method == verb and pattern.search(path) for verb, pattern in _OPTIONAL_BODIES):
        return Edited(query, b"{}")
    if method == "POST" and _STREAM.search(path):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        messages = parsed.get("messages") if isinstance(parsed, dict) else None
        if isinstance(messages, list) and (not messages or isinstance(messages[-1], dict)
                                           and messages[-1].get("role") != "user"):
            continue_turn = {"id": "continue", "role": "user", "parts": [{"type": "text", "text": "(continue)"}]}
            return Edited(query, json.dumps({**parsed, "messages": [*messages, continue_turn]}).encode())
    return None


def _handlers(handlers: type) -> Callable[[], Family]:
    return with_handlers(faithful.FAMILY, handlers)


def _errors(render: Callable[[MockError], ErrorResponse]) -> Callable[[], Family]:
    return with_errors(faithful.FAMILY, render)


BROKEN: dict[str, Variant] = {
    # The five.
    "flat-string-422-detail": Variant("a 422's detail is one string", "error_envelope", _errors(_flat_string_422)),
    "cursor-repeats-item": Variant("the threads cursor repeats the last item of a page", "pagination",
                                   _handlers(_CursorRepeatsItem)),
    "stream-missing-text-end": Variant("the stream has no text-end", "sse_stream", _handlers(_NoTextEnd)),
    "stream-missing-done": Variant("the stream does not end with [DONE]", "sse_stream", _handlers(_NoDone)),
    "deltas-differ-from-stored-message": Variant("deltas are trimmed, the stored message is not", "sse_stream",
                                                 _handlers(_DeltasTrimmed)),
    "cross-tenant-read": Variant("every key sees every tenant's data", "tenant_isolation",
                                 lambda: faithful.FAMILY, TenantBlindStore),
    # One more for every other check the profile runs.
    "cursor-on-full-last-page": Variant("a full last page still hands out a cursor", "pagination",
                                        _handlers(_CursorOnFullLastPage)),
    "offset-cursor": Variant("the threads cursor is an offset (a new thread shifts the walk)", "pagination",
                             _handlers(_OffsetCursor)),
    "delta-without-id": Variant("text-delta chunks lack their id", "sse_stream", _handlers(_DeltaWithoutId)),
    "patch-replaces-thread": Variant("update nulls the fields left out", "lifecycle", _handlers(_PatchReplaces)),
    "second-stream-allowed": Variant("a second turn may stream while one is active", "turns",
                                     _handlers(_SecondStreamAllowed)),
    "completed-at-start": Variant("a turn is reported completed while it streams", "turns",
                                  _handlers(_CompletedAtStart)),
    "cancel-ignored": Variant("cancel answers 204 but the turn completes", "cancel", _handlers(_CancelIgnored)),
    "bulk-delete-counts-requested": Variant("deletedCount counts the ids asked for", "bulk_delete",
                                            _handlers(_CountsRequested)),
    "attachments-offset-ignored": Variant("the attachment list ignores offset", "attachments",
                                          _handlers(_OffsetIgnored)),
    "feedback-drops-comment": Variant("feedback loses its comment", "feedback", _handlers(_FeedbackDropsComment)),
    "crystallize-always": Variant("any thread can be crystallized", "crystallize", _handlers(_CrystallizeAlways)),
    "no-key-needed": Variant("requests without an API key are served", "auth", lambda: faithful.FAMILY,
                             wrap=no_key_needed(_CREDENTIALS)),
    "bulk-delete-101-ids": Variant("bulk delete takes more than 100 ids", "limits",
                                   with_spec(faithful.FAMILY, _allow_200_bulk_ids)),
    "leaks-to-x-api-key": Variant("callers sending X-API-Key reach every tenant's threads (Bearer is isolated)",
                                  "tenant_isolation", lambda: faithful.FAMILY, ApiKeyCallersSeeEveryoneStore,
                                  wrap=api_key_callers_see_everyone),
}

FAITHFUL: dict[str, Variant] = {
    "cancel-idle-404": Variant("cancel without an active turn is 404", "", _handlers(_CancelIdle404)),
    "crystallize-ineligible-409": Variant("an ineligible thread is a 409", "",
                                          _handlers(_crystallize_refusing_with(409))),
    "crystallize-ineligible-422": Variant("an ineligible thread is a 422 with a text detail", "",
                                          _handlers(_crystallize_refusing_with(422))),
    "text-format-messages": Variant("messages have format text and no rawData", "",
                                    _handlers(_TextFormatMessages)),
    "extra-chunk-types": Variant("steps, reasoning and data chunks around the text", "",
                                 _handlers(_ExtraChunkTypes)),
    "two-text-blocks": Variant("the reply in two text blocks", "", _handlers(_TwoTextBlocks)),
    "bad-cursor-400": Variant("an undecodable cursor is a 400", "", _errors(_bad_cursor_400)),
    # FastAPI-faithful where VirtuousAI documents nothing (non-UTF-8 bodies are a 400 "There was an error
    # parsing the body" and non-UUID threadIds a 422 uuid_parsing in the mock itself).
    "fastapi-lenient": Variant("a missing body is {}; turns without a last user message stream a reply", "",
                               lambda: faithful.FAMILY, wrap=edit_requests(_fastapi_lenient)),
}
# What each faithful variant must show in the report besides passing: (severity, check) pairs.
FAITHFUL_FINDINGS: dict[str, set[tuple[str, str]]] = {
    "fastapi-lenient": {("warning", "error_envelope")},
}
VARIANTS = {**BROKEN, **FAITHFUL}


if __name__ == "__main__":
    serve_variant(VARIANTS, __doc__)
