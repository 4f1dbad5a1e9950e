"""Variants of the PostHog Max mock for proving the conformance suite: broken ones and faithful ones.

Run one as a server: ``python -m tests.posthog_variants VARIANT --port 0``.

- ``BROKEN``: each changes exactly one behaviour of the mock so that it breaks the contract; the suite
  must exit 1 on every one, naming the check in ``caught_by``.
- ``FAITHFUL``: each makes a different choice where PostHog leaves the behaviour open (or the mock chose
  otherwise than PostHog); the suite must still exit 0, so its checks hold only what the vendor promises.
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mockserver.auth import current_tenant
from mockserver.errors import ErrorResponse, MockError
from mockserver.families import posthog as faithful
from mockserver.responses import JSONResponse, json_response
from mockserver.sse import NamedEvent
from tests.variants import Variant, serve_variant, with_errors, with_handlers, with_spec

Handlers = faithful.ConversationHandlers
FAMILY = faithful.FAMILY


class _EventRewriter(Handlers):
    """Base for variants that tamper with a run's stream: every event a run logs goes through ``rewrite``
    (None drops it); what is stored is left alone."""

    def rewrite(self, event: NamedEvent, seen: list[NamedEvent]) -> NamedEvent | None:
        return event

    def _start_run(self, *args: t.Any, **kwargs: t.Any) -> faithful.RunLog:
        log = super()._start_run(*args, **kwargs)
        seen: list[NamedEvent] = []
        kept = []
        for event in log.events:
            out = self.rewrite(event, seen)
            seen.append(event)
            if out is not None:
                kept.append(out)
        log.events[:] = kept
        add = log.add

        def rewritten(event: NamedEvent) -> None:
            out = self.rewrite(event, seen)
            seen.append(event)
            if out is not None:
                add(out)

        log.add = rewritten  # type: ignore[method-assign]
        return log


def _is_chunk(event: NamedEvent) -> bool:
    return event.name == "message" and isinstance(event.data, dict) and event.data.get("type") == "ai" \
        and "id" not in event.data


class _DeltaChunks(_EventRewriter):
    """ai chunks carry only the words added since the chunk before, not the text so far."""

    def rewrite(self, event: NamedEvent, seen: list[NamedEvent]) -> NamedEvent | None:
        if not _is_chunk(event):
            return event
        before = [e.data["content"] for e in seen if _is_chunk(e)]
        previous = before[-1] if before else ""
        return NamedEvent("message", {**event.data, "content": event.data["content"][len(previous):].lstrip()})


class _NoConversationEvent(_EventRewriter):
    def rewrite(self, event: NamedEvent, seen: list[NamedEvent]) -> NamedEvent | None:
        return None if event.name == "conversation" else event


class _FinalDiffers(_EventRewriter):
    """The final ai message streamed is not the text the chunks built (the stored one is)."""

    def rewrite(self, event: NamedEvent, seen: list[NamedEvent]) -> NamedEvent | None:
        data = event.data
        if event.name == "message" and isinstance(data, dict) and data.get("type") == "ai" and data.get("id"):
            return NamedEvent("message", {**data, "content": data["content"] + " And one more thing."})
        return event


class _StuckInProgress(Handlers):
    """A run never brings the conversation back to idle."""

    def _save(self, tenant: str, project: str, conversation_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        if changes.get("status") == "idle":
            changes = {**changes, "status": "in_progress"}
        return super()._save(tenant, project, conversation_id, changes)


class _ThreeQueued(Handlers):
    """The queue takes a third message."""

    async def enqueue(self, project_id: str, conversation: str, body: dict) -> JSONResponse:
        tenant, project = current_tenant(), faithful.project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        if isinstance(access, JSONResponse):
            return access
        queue = self._queue(tenant, access)
        if len(queue) >= 3:
            return faithful.view_error(409, {"error": "queue_full", "detail": faithful.QUEUE_FULL})
        message = {"id": faithful.new_uuid(), "content": body["content"], "created_at": faithful.queue_time(),
                   "contextual_tools": None, "ui_context": None, "billing_context": None, "agent_mode": None,
                   "session_id": None}
        queue.insert(message["id"], message)
        messages = list(self.store.read(tenant, faithful._queue_of(access)))
        return json_response({"messages": messages, "max_queue_messages": 2})


def _with_offset(url: str, change: t.Callable[[int, int], int]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["offset"] = str(change(int(query.get("offset", "0")), int(query.get("limit", "100"))))
    return urlunsplit(parts._replace(query=urlencode(query)))


class _NextSkipsAPage(Handlers):
    """``next`` points one page too far."""

    async def list_conversations(self, project_id: str, limit: int = 100, offset: int = 0) -> JSONResponse:
        answer = await super().list_conversations(project_id, limit, offset)
        body = json.loads(bytes(answer.body))
        if body["next"]:
            body["next"] = _with_offset(body["next"], lambda offset, limit: offset + limit)
        return json_response(body)


class _TenantBlindRetrieve(Handlers):
    """Retrieve finds any key's conversation by its id."""

    async def retrieve(self, project_id: str, conversation: str) -> JSONResponse:
        owner = self.owner(faithful.conversation_uuid(conversation) or "")
        if owner is None:
            return await super().retrieve(project_id, conversation)
        tenant, project = owner
        record = self._own(tenant, project, faithful.conversation_uuid(conversation) or "") or {}
        messages = list(self.store.read(tenant, faithful._messages_of(record["id"])))
        return json_response({**self._public(tenant, record), "messages": messages, "has_unsupported_content": False,
                              "agent_mode": record["agent_mode"], "is_sandbox": False, "pending_approvals": []})


def _plain_detail(error: MockError) -> ErrorResponse:
    """Errors as ``{"detail": "..."}`` (DRF without exceptions-hog), not the exceptions-hog envelope."""
    rendered = faithful.render_error(error)
    detail = rendered.body.get("detail") if isinstance(rendered.body, dict) else None
    return ErrorResponse(rendered.status, {"detail": detail or "Error."}, rendered.headers)


# --- faithful -----------------------------------------------------------------------------------------


class _LimitFallsBack(Handlers):
    """As PostHog (DRF's LimitOffsetPagination): a limit below 1 is the default 100, an offset below 0 is 0."""

    async def list_conversations(self, project_id: str, limit: int = 100, offset: int = 0) -> JSONResponse:
        return await super().list_conversations(project_id, limit if limit >= 1 else 100, max(offset, 0))


def _no_paging_minimums(spec: dict) -> None:
    for parameter in spec["paths"]["/api/environments/{project_id}/conversations/"]["get"]["parameters"]:
        parameter["schema"].pop("minimum", None)


class _CancelKeepsPartialReply(Handlers):
    """Cancel keeps what had been streamed of the reply as an ai message (as a checkpointed graph may)."""

    async def cancel(self, project_id: str, conversation: str) -> t.Any:
        tenant = current_tenant()
        record = self._own(tenant, faithful.project_of(project_id), faithful.conversation_uuid(conversation) or "")
        log = self.logs.current(tenant, record["id"]) if record else None
        chunks = [event.data["content"] for event in log.events if _is_chunk(event)] if log else []
        answer = await super().cancel(project_id, conversation)
        if chunks and record is not None:
            partial = faithful.ai_message(chunks[-1])
            self.store.collection(tenant, faithful._messages_of(record["id"]), cursor_keys=False).insert(
                partial["id"], partial)
        return answer


class _TitledAtOnce(Handlers):
    """A new conversation gets its title when it is created (listed and found during its first run)."""

    def _save(self, tenant: str, project: str, conversation_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        if changes.get("status") == "in_progress" and self._own(tenant, project, conversation_id) is not None:
            record = self._own(tenant, project, conversation_id) or {}
            if record.get("title") is None:
                changes = {**changes, "title": "Titled at once"}
        return super()._save(tenant, project, conversation_id, changes)


BROKEN: dict[str, Variant] = {
    "chunks_not_cumulative": Variant("ai chunks carry only the new words, not the text so far", "sse_stream",
                                     with_handlers(FAMILY, _DeltaChunks)),
    "no_conversation_event": Variant("a new conversation's stream has no conversation event", "sse_stream",
                                     with_handlers(FAMILY, _NoConversationEvent)),
    "final_differs_from_stream": Variant("the final ai message differs from the text streamed", "sse_stream",
                                         with_handlers(FAMILY, _FinalDiffers)),
    "stuck_in_progress": Variant("status stays in_progress after the run", "runs",
                                 with_handlers(FAMILY, _StuckInProgress)),
    "third_message_queued": Variant("a third queued message is accepted", "queue",
                                    with_handlers(FAMILY, _ThreeQueued)),
    "next_skips_a_page": Variant("the next URL skips a page", "pagination", with_handlers(FAMILY, _NextSkipsAPage)),
    "detail_errors": Variant('errors as {"detail": ...}, not the exceptions-hog envelope', "error_envelope",
                             with_errors(FAMILY, _plain_detail)),
    "other_keys_conversation_readable": Variant("retrieve answers another key's conversation", "tenant_isolation",
                                                with_handlers(FAMILY, _TenantBlindRetrieve)),
}


def _limit_falls_back() -> t.Any:
    family = with_spec(FAMILY, _no_paging_minimums)()
    return with_handlers(family, _LimitFallsBack)()


FAITHFUL: dict[str, Variant] = {
    "limit_falls_back_to_default": Variant("limit 0 is the default 100 and offset -1 is 0, as on PostHog", "",
                                           _limit_falls_back),
    "cancel_keeps_partial_reply": Variant("cancel stores what was streamed of the reply", "",
                                          with_handlers(FAMILY, _CancelKeepsPartialReply)),
    "titled_at_once": Variant("a conversation is titled (listed, found) as soon as it is created", "",
                              with_handlers(FAMILY, _TitledAtOnce)),
}
VARIANTS = {**BROKEN, **FAITHFUL}

if __name__ == "__main__":
    serve_variant(VARIANTS, "Serve a variant of the PostHog Max mock.")
