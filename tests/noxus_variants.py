"""Variants of the Noxus mock for proving the conformance suite: broken ones and faithful ones.

Run one as a server: ``python -m tests.noxus_variants VARIANT --port 0``.

- ``BROKEN``: each changes exactly one behaviour of the mock so that it breaks the contract; the suite
  must exit 1 on every one, naming the check in ``caught_by``.
- ``FAITHFUL``: each makes a different choice where Noxus leaves the behaviour open (or where the
  vendor itself differs from the mock); the suite must still exit 0, so its checks hold only what the
  vendor promises.
"""

from __future__ import annotations

import asyncio
import json
import typing as t

from starlette.responses import Response

from mockserver.auth import current_tenant
from mockserver.errors import ErrorResponse, MockError, NotFound, Unauthenticated
from mockserver.families import noxus as faithful
from mockserver.fastapi_errors import error_renderer
from mockserver.paging import numbered_page
from mockserver.responses import JSONResponse, json_response
from mockserver.runs import Run, RunRegistry
from mockserver.sse import Event
from tests.variants import Variant, serve_variant, with_errors, with_handlers

Handlers = faithful.ConversationHandlers
FAMILY = faithful.FAMILY
render = error_renderer("APIKey")


def _body(answer: Response) -> t.Any:
    return json.loads(bytes(answer.body))


# --- broken -------------------------------------------------------------------------------------------


class _TotalOffByOne(Handlers):
    """``total`` counts one conversation more than the list holds."""

    async def list_conversations(self, page: int = 1, size: int = 50, page_size: int | None = None) -> JSONResponse:
        body = _body(await super().list_conversations(page, size, page_size))
        return json_response({**body, "total": body["total"] + 1})


class _PageRepeatsLastItem(Handlers):
    """Every page after the first starts with the previous page's last item (and drops its own last)."""

    async def list_conversations(self, page: int = 1, size: int = 50, page_size: int | None = None) -> JSONResponse:
        body = _body(await super().list_conversations(page, size, page_size))
        if page > 1 and body["items"]:
            tenant = current_tenant()
            before = numbered_page(self.store.read(tenant, faithful.LISTED), number=page - 1, size=size,
                                   descending=True)
            if before.records:
                repeated = self._view(tenant, before.records[-1], listed=True)
                body["items"] = [repeated, *body["items"][:-1]]
        return json_response(body)


class _EmptyListed(Handlers):
    """A conversation is listed from its creation on, with no message yet."""

    async def create_conversation(self, body: dict, assistant_id: str | None = None) -> JSONResponse:
        answer = await super().create_conversation(body, assistant_id)
        tenant, made = current_tenant(), _body(answer)["id"]
        record = self.store.read(tenant, faithful.CONVERSATIONS).get(made)
        self.store.collection(tenant, faithful.LISTED, index=True, cursor_keys=False).insert(made, record)
        return answer


class _EtagNeverChanges(Handlers):
    """The conversation keeps the etag it was created with."""

    def _save(self, tenant: str, conversation_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        return super()._save(tenant, conversation_id, {k: v for k, v in changes.items() if k != "etag"})


def _without_done(frames: t.AsyncIterator[t.Any]) -> t.AsyncIterator[t.Any]:
    async def filtered() -> t.AsyncIterator[t.Any]:
        async for item in frames:
            if not (isinstance(item, Event) and item.name == "done"):
                yield item

    return filtered()


class _JsonStreamWithoutDone(Handlers):
    """``format=json`` streams end without their ``event: done``."""

    async def stream_message(self, conversation_id: str, body: dict, format: str | None = None) -> Response:
        if format != "json":
            return await super().stream_message(conversation_id, body, format)
        reply = self._start_reply(current_tenant(), conversation_id, body)
        return faithful._stream(_without_done(reply.frames(0, "json")), "json")


class _StoredReplyDiffers(Handlers):
    """The reply stored is not the text streamed: a sentence is added to it."""

    def _complete(self, tenant: str, conversation_id: str, reply: faithful.Reply, answer: str) -> None:
        super()._complete(tenant, conversation_id, reply, answer + " And one more thing.")


class _EveryMessageRuns(RunRegistry):
    """Runs that never get in each other's way: each message starts its own, whatever is in progress."""

    def active(self, tenant: str, scope: str) -> Run | None:
        return None

    def start(self, tenant: str, scope: str, run_id: str) -> Run:
        return super().start(tenant, f"{scope}/{run_id}", run_id)


class _SecondMessageTaken(Handlers):
    """A message sent while a reply is produced is taken (its own reply produced beside the first)."""

    def __init__(self, *args: t.Any) -> None:
        super().__init__(*args)
        self.runs = _EveryMessageRuns()


def _validation_as_400(error: MockError) -> ErrorResponse:
    """Validation failures answered 400 (FastAPI's body, Starlette's usual status for a bad request)."""
    rendered = render(error)
    return ErrorResponse(400, rendered.body, rendered.headers) if rendered.status == 422 else rendered


class _OtherKeysReadable(Handlers):
    """Get finds any key's conversation by its id."""

    def __init__(self, *args: t.Any) -> None:
        super().__init__(*args)
        self.owners: dict[str, str] = {}

    async def create_conversation(self, body: dict, assistant_id: str | None = None) -> JSONResponse:
        answer = await super().create_conversation(body, assistant_id)
        self.owners[_body(answer)["id"]] = current_tenant()
        return answer

    async def get_conversation(self, conversation_id: str) -> JSONResponse:
        owner = self.owners.get(faithful.canonical_uuid(conversation_id))
        if owner is None:
            return await super().get_conversation(conversation_id)
        return json_response(self._view(owner, self._record(owner, conversation_id)))


# --- faithful -----------------------------------------------------------------------------------------


class _UnknownAgent404(Handlers):
    """As Noxus: an agent id it does not know is 404 (here, every agent id)."""

    async def create_conversation(self, body: dict, assistant_id: str | None = None) -> JSONResponse:
        if assistant_id is not None:
            raise NotFound("Agent not found")
        return await super().create_conversation(body, assistant_id)


class _OldestFirst(Handlers):
    """Conversations listed least recently updated first."""

    async def list_conversations(self, page: int = 1, size: int = 50, page_size: int | None = None) -> JSONResponse:
        tenant = current_tenant()
        found = numbered_page(self.store.read(tenant, faithful.LISTED), number=page, size=size,
                                       descending=False)
        return json_response({"items": [self._view(tenant, record, listed=True) for record in found.records],
                              "total": found.total, "page": page, "size": size, "pages": found.pages})


class _DeleteSaysOk(Handlers):
    """Delete answers another JSON object."""

    async def delete_conversation(self, conversation_id: str) -> JSONResponse:
        await super().delete_conversation(conversation_id)
        return json_response({"message": "Conversation deleted successfully"})


class _EventsWithoutRunRefused(Handlers):
    """``events`` with no run in progress is refused: 409 ``{"detail": ...}``."""

    async def conversation_events(self, conversation_id: str, format: str | None = None,
                                  etag: str | None = None) -> Response:
        tenant = current_tenant()
        record = self._record(tenant, conversation_id)
        if self.logs.current(tenant, record["id"]) is None:
            return json_response({"detail": "No run in progress for this conversation"}, status=409)
        return await super().conversation_events(conversation_id, format, etag)


class _EventsWithoutRunWait(Handlers):
    """``events`` with no run in progress holds the stream open (sending nothing) until a run starts."""

    async def conversation_events(self, conversation_id: str, format: str | None = None,
                                  etag: str | None = None) -> Response:
        tenant, fmt = current_tenant(), format or "vercel"
        record = self._record(tenant, conversation_id)
        key = (tenant, record["id"])
        if self.logs.current(*key) is not None:
            return await super().conversation_events(conversation_id, format, etag)

        async def frames() -> t.AsyncIterator[t.Any]:
            for _ in range(600):  # at most a minute
                reply = self.replies.get(key)
                if reply is not None and not reply.log.ended:
                    async for item in reply.frames(0, fmt):
                        yield item
                    return
                await asyncio.sleep(0.1)
            yield faithful.terminator(fmt)

        return faithful._stream(frames(), fmt)


def _missing_key_403(error: MockError) -> ErrorResponse:
    """FastAPI before 0.122: a missing API-key header is 403 ``{"detail": "Not authenticated"}``."""
    if isinstance(error, Unauthenticated):
        return ErrorResponse(403, {"detail": "Not authenticated"})
    return render(error)


class _CreateNeedsExactlyOne(Handlers):
    """As the SDK demands of its callers: a create with both or neither of settings and assistant_id is 400."""

    async def create_conversation(self, body: dict, assistant_id: str | None = None) -> JSONResponse:
        if (body.get("settings") is None) == (assistant_id is None):
            return json_response({"detail": "Exactly one of settings or assistant_id must be given"}, status=400)
        return await super().create_conversation(body, assistant_id)


BROKEN: dict[str, Variant] = {
    "total_off_by_one": Variant("total counts one conversation too many", "pagination",
                                with_handlers(FAMILY, _TotalOffByOne)),
    "page_repeats_last_item": Variant("each page repeats the previous page's last item", "pagination",
                                      with_handlers(FAMILY, _PageRepeatsLastItem)),
    "empty_conversations_listed": Variant("conversations without messages are listed", "pagination",
                                          with_handlers(FAMILY, _EmptyListed)),
    "etag_never_changes": Variant("the etag does not change when a message is added", "add_message",
                                  with_handlers(FAMILY, _EtagNeverChanges)),
    "json_stream_without_done": Variant("format=json streams end without event: done", "json_stream",
                                        with_handlers(FAMILY, _JsonStreamWithoutDone)),
    "stored_reply_differs": Variant("the stored reply is not the text streamed", "sse_stream",
                                    with_handlers(FAMILY, _StoredReplyDiffers)),
    "second_message_taken_mid_reply": Variant("a second message while a reply is produced is taken, not 409", "runs",
                                              with_handlers(FAMILY, _SecondMessageTaken)),
    "validation_400": Variant("validation failures answered 400, not 422", "error_envelope",
                              with_errors(FAMILY, _validation_as_400)),
    "other_keys_conversation_readable": Variant("get answers another key's conversation", "tenant_isolation",
                                                with_handlers(FAMILY, _OtherKeysReadable)),
}

FAITHFUL: dict[str, Variant] = {
    "unknown_agent_404": Variant("an agent id Noxus does not know is 404, as Noxus answers", "",
                                 with_handlers(FAMILY, _UnknownAgent404)),
    "oldest_first": Variant("conversations listed least recently updated first", "",
                            with_handlers(FAMILY, _OldestFirst)),
    "delete_says_ok": Variant("delete answers another JSON object", "", with_handlers(FAMILY, _DeleteSaysOk)),
    "events_without_run_refused": Variant("events with no run in progress is 409", "",
                                          with_handlers(FAMILY, _EventsWithoutRunRefused)),
    "events_without_run_wait": Variant("events with no run in progress waits for one", "",
                                       with_handlers(FAMILY, _EventsWithoutRunWait)),
    "missing_key_403": Variant("a missing X-API-Key is 403, as FastAPI before 0.122 answered", "",
                               with_errors(FAMILY, _missing_key_403)),
    "create_needs_exactly_one": Variant("a create with both or neither of settings and assistant_id is 400", "",
                                        with_handlers(FAMILY, _CreateNeedsExactlyOne)),
}
VARIANTS = {**BROKEN, **FAITHFUL}

if __name__ == "__main__":
    serve_variant(VARIANTS, "Serve a variant of the Noxus mock.")
