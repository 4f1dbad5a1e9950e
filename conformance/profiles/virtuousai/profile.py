"""The VirtuousAI profile: requests, fixtures, probes, listings and streaming for the shared checks.

Everything here is read from `openapi/virtuousai-chat.yaml` or the vendor's documented behaviour; where
the contract records a choice made for something VirtuousAI does not document (the status of a cancel
without an active turn, how crystallize refuses, how a bad cursor is refused), every plausible
answer passes.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any, ClassVar

from conformance.context import CheckContext, CheckFunction
from conformance.dialects.fastapi import FastAPIErrors, detail_text, validation_problems
from conformance.paging import Listing
from conformance.profiles.virtuousai import api
from conformance.profiles.virtuousai.attachments import attachments
from conformance.profiles.virtuousai.bulk_delete import bulk_delete
from conformance.profiles.virtuousai.cancel import cancel
from conformance.profiles.virtuousai.chat_stream import ChatStreaming
from conformance.profiles.virtuousai.crystallize import crystallize
from conformance.profiles.virtuousai.feedback import feedback
from conformance.profiles.virtuousai.lifecycle import lifecycle
from conformance.profiles.virtuousai.listings import MessagesListing, ThreadsListing
from conformance.profiles.virtuousai.rules import OTHER_UNKNOWN_ID, UNKNOWN_ID
from conformance.profiles.virtuousai.turns import turns
from conformance.vocabulary import PRIMARY, Exchange, Fixture, Grounds, LimitCase, Probe, Reason, Request


class VirtuousAIProfile(FastAPIErrors):
    name = "virtuousai"
    title = "VirtuousAI Chat"
    spec_file = "virtuousai-chat.yaml"

    checks: ClassVar[tuple[str | CheckFunction, ...]] = (
        lifecycle, "pagination", "limits", "auth", "tenant_isolation", "error_envelope", "sse_stream",
    )
    extra_checks: ClassVar[tuple[CheckFunction, ...]] = (
        turns, cancel, attachments, feedback, crystallize, bulk_delete,
    )

    # The spec's limits, read from its schema keywords.
    @cached_property
    def max_bulk_ids(self) -> int:
        return int(self.spec.raw["components"]["schemas"]["BulkDeleteRequest"]["properties"]["threadIds"]["maxItems"])

    def query_bounds(self, operation_id: str, name: str) -> tuple[int | None, int | None, int | None]:
        """(minimum, maximum, default) of an integer query parameter, from the spec."""
        schema = self.spec.parameter_schema(operation_id, name)
        return schema.get("minimum"), schema.get("maximum"), schema.get("default")

    # --- requests -------------------------------------------------------------------------------

    @cached_property
    def api(self) -> api.ChatAPI:
        return api.ChatAPI(self)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def alternative_auth_headers(self, key: str) -> list[dict[str, str]]:
        # The reference lists X-API-Key on every operation. The `vai_token` cookie is the web app's
        # session token, not necessarily an API key, so it is not tried.
        return [{"X-API-Key": key}]

    def credential_schemes(self, key: str) -> dict[str, dict[str, str]]:
        # The contract declares all four; a server isolating Bearer callers may still leak to the others.
        return {**super().credential_schemes(key), "vai_token cookie": {"Cookie": f"vai_token={key}"},
                "vai_token header": {"vai_token": key}}

    def probe(self) -> Request:
        return self.api.get_thread(UNKNOWN_ID)

    # --- errors ---------------------------------------------------------------------------------

    def error_schema_for(self, exchange: Exchange) -> tuple[str, Any]:
        # Crystallize refuses a thread that is not eligible; the contract chose 400, but a FastAPI server
        # raising HTTPException(409 or 422, "<text>") is as faithful, so a text detail passes there too.
        if (
            exchange.request.operation_id == api.CRYSTALLIZE
            and exchange.status == 422
            and isinstance(exchange.json, dict)
            and isinstance(exchange.json.get("detail"), str)
        ):
            return "HTTPError", {"$ref": "#/components/schemas/HTTPError"}
        return super().error_schema_for(exchange)

    # --- fixture --------------------------------------------------------------------------------

    def create_fixture(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> Fixture:
        """A thread with one completed turn (a user and an assistant message) and, where the target
        accepts made-up artifacts (the mock does; a real server needs an existing one), an attachment."""
        a = self.api
        thread = a.require_thread(ctx, identity=identity, title="conformance fixture", metadata={"suite": "1"})
        tid = thread["id"]
        a.run_turn(ctx, tid, "Hello from the conformance suite", identity=identity)
        messages = a.all_messages(ctx, tid, identity=identity)
        if len(messages) < 2:
            ctx.fail(None, "a user and an assistant message after a turn", f"{len(messages)} messages",
                     operation=a.list_messages(tid).label)
            ctx.abort()
        fetched = ctx.send(a.get_thread(tid), identity=identity)
        ctx.require_status(fetched)
        body = ctx.require_object(fetched)
        turn_id = body.get("lastTurnId")
        if not isinstance(turn_id, str):
            ctx.fail(fetched, "lastTurnId naming the turn just streamed", fetched.excerpt())
            ctx.abort()
        ids = {"thread": tid, "turn": turn_id, "user_message": messages[0]["id"],
               "assistant_message": messages[-1]["id"]}
        attached = ctx.send(a.create_attachment(tid, str(uuid.uuid4())), identity=identity)
        if attached.status == 200 and isinstance(attached.json, dict) and isinstance(attached.json.get("id"), str):
            ids["attachment"] = attached.json["id"]
        return Fixture(ids, body, identity)

    def discard_fixture(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        ctx.send(self.api.delete_thread(fixture["thread"]), identity=fixture.identity)

    def snapshot(self, ctx: CheckContext[Any], fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        a, who, tid = self.api, fixture.identity, fixture["thread"]
        reads = {
            "the thread": ctx.send(a.get_thread(tid), identity=who),
            "its messages": ctx.send(a.list_messages(tid, limit=200), identity=who),
            "its turn": ctx.send(a.get_turn(fixture["turn"]), identity=who),
            "its attachments": ctx.send(a.list_attachments(tid), identity=who),
        }
        if "attachment" in fixture.ids:
            reads["the attachment"] = ctx.send(a.get_attachment(fixture["attachment"]), identity=who)
        return {label: (exchange, exchange.json if exchange.status == 200 else exchange.status)
                for label, exchange in reads.items()}

    def _every_operation(self, fixture: Fixture) -> list[Request]:
        a, tid = self.api, fixture["thread"]
        attachment = fixture.ids.get("attachment", UNKNOWN_ID)
        return [
            a.get_thread(tid),
            a.update_thread(tid, {"title": "changed by someone else"}),
            a.list_messages(tid),
            a.stream_turn(tid, "Are you there?"),
            a.cancel_turn(tid, "partial"),
            a.get_turn(fixture["turn"]),
            a.list_attachments(tid),
            a.create_attachment(tid, str(uuid.uuid4())),
            a.get_attachment(attachment),
            a.create_feedback(tid, {"rating": "negative", "messageId": fixture["assistant_message"]}),
            a.crystallize(tid, {}),
            a.delete_attachment(attachment),
            a.delete_thread(tid),
        ]

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        a = self.api
        return [
            a.list_threads(),
            a.create_thread({"title": "made without a key"}),
            a.bulk_delete({"threadIds": [fixture["thread"]]}),
            *self._every_operation(fixture),
        ]

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        a, tid = self.api, fixture["thread"]

        def not_listed(exchange: Exchange) -> list[str]:
            items = exchange.json.get("items") if isinstance(exchange.json, dict) else None
            listed = [item.get("id") for item in items or [] if isinstance(item, dict)]
            return [f"the other key's thread {tid} listed"] if tid in listed else []

        def none_deleted(exchange: Exchange) -> list[str]:
            count = exchange.json.get("deletedCount") if isinstance(exchange.json, dict) else None
            return [] if count == 0 else [f"deletedCount 0 (the thread is another key's), got {count!r}"]

        # Reads and lists first, then writes: a write that leaks would hide what the reads show.
        return [
            Probe(a.list_threads(limit=100), 200, "(a list without the other key's threads)", not_listed),
            *(self.not_found(request) for request in self._every_operation(fixture)),
            Probe(a.bulk_delete({"threadIds": [tid]}), 200, "(another key's thread is skipped)", none_deleted),
        ]

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Unknown ids must be 404 (any other answer is a failure); the documented list bounds must be
        enforced; the rest is input VirtuousAI (FastAPI) refuses without documenting a rule a client could
        rely on: accepting it, or refusing it with another 4xx, is a warning. What VirtuousAI documents no
        rule for at all (a turn whose messages are empty or end with an assistant message) is not probed."""
        a, tid, reject = self.api, fixture["thread"], self.rejection
        documented, refused = Grounds.DOCUMENTED, Grounds.VENDOR_REFUSES
        return [
            self.not_found(a.get_thread(UNKNOWN_ID)),
            self.not_found(a.update_thread(UNKNOWN_ID, {"title": "x"})),
            self.not_found(a.delete_thread(UNKNOWN_ID)),
            self.not_found(a.list_messages(UNKNOWN_ID)),
            self.not_found(a.stream_turn(UNKNOWN_ID, "hello")),
            self.not_found(a.cancel_turn(UNKNOWN_ID, None)),
            self.not_found(a.get_turn(UNKNOWN_ID)),
            self.not_found(a.get_attachment(UNKNOWN_ID)),
            self.not_found(a.delete_attachment(UNKNOWN_ID)),
            self.not_found(a.list_attachments(UNKNOWN_ID)),
            self.not_found(a.create_feedback(UNKNOWN_ID, {"rating": "positive"})),
            self.not_found(a.crystallize(UNKNOWN_ID, {})),
            # The contract's choices: VirtuousAI documents no check that these ids belong to the thread.
            self.not_found(a.create_feedback(tid, {"rating": "positive", "messageId": OTHER_UNKNOWN_ID}),
                           "(the message is not in the thread)", refused),
            self.not_found(a.create_feedback(tid, {"rating": "positive", "turnId": OTHER_UNKNOWN_ID}),
                           "(the turn is not in the thread)", refused),
            self.not_found(a.create_attachment(tid, str(uuid.uuid4()), message_id=OTHER_UNKNOWN_ID),
                           "(the message is not in the thread)", refused),
            reject(a.get_thread("not-a-uuid"), ("path", "thread_id"), Reason.NOT_A_UUID),
            reject(a.get_turn("not-a-uuid"), ("path", "turn_id"), Reason.NOT_A_UUID),
            reject(a.get_attachment("12345"), ("path", "attachment_id"), Reason.NOT_A_UUID),
            reject(a.list_threads(limit=0), ("query", "limit"), Reason.BELOW_MINIMUM, grounds=documented),
            reject(a.list_threads(limit="many"), ("query", "limit"), Reason.NOT_AN_INTEGER),
            reject(a.list_messages(tid, limit=201), ("query", "limit"), Reason.ABOVE_MAXIMUM, grounds=documented),
            reject(a.list_attachments(tid, offset=-1), ("query", "offset"), Reason.BELOW_MINIMUM),
            reject(a.create_attachment(tid, None), ("query", "artifact_id"), Reason.MISSING),
            reject(a.create_attachment(tid, "artifact-7"), ("query", "artifact_id"), Reason.NOT_A_UUID),
            reject(a.create_feedback(tid, {"rating": "meh"}), ("body", "rating"), Reason.NOT_ONE_OF),
            reject(a.create_feedback(tid, {"comment": "no rating"}), ("body", "rating"), Reason.MISSING),
            reject(a.bulk_delete({"threadIds": "all of them"}), ("body", "threadIds"), Reason.NOT_A_LIST),
            reject(a.create_thread({"metadata": "not an object"}), ("body", "metadata"), Reason.NOT_AN_OBJECT,
                   undo=self._undo_created_thread),
            reject(a.request(api.CREATE_THREAD, content=b'{"title": "unterminated'), ("body",), Reason.MALFORMED_JSON,
                   undo=self._undo_created_thread),
            # The body is required, though every field in it is optional (a server may take none as {}).
            reject(a.request(api.CREATE_THREAD), ("body",), Reason.MISSING, undo=self._undo_created_thread),
            # Cursors are opaque; one that cannot be decoded is refused (the contract chose 422 on
            # ["query", "cursor"]; a 400 with a text detail is as plausible).
            Probe(a.list_threads(cursor="not a cursor"), (400, 422), "for a cursor nobody handed out",
                  self._cursor_refusal, grounds=refused),
            Probe(a.list_messages(tid, cursor="not a cursor"), (400, 422), "for a cursor nobody handed out",
                  self._cursor_refusal, grounds=refused),
            # Not in the contract's paths: FastAPI answers any unknown URL with 404 {"detail": "Not Found"}.
            self.not_found(Request("(unknown route)", "GET", "/chat/no_such_route"), grounds=documented),
        ]

    def _undo_created_thread(self, exchange: Exchange) -> Request | None:
        """Delete the thread a create wrongly accepted made."""
        body = exchange.json
        made = body.get("id") if exchange.request.operation_id == api.CREATE_THREAD and isinstance(body, dict) else None
        return self.api.delete_thread(made) if isinstance(made, str) and made else None

    @staticmethod
    def _cursor_refusal(exchange: Exchange) -> list[str]:
        if exchange.status == 422:
            return validation_problems(("query", "cursor"), ())(exchange)
        return detail_text(exchange)

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        a, tid, most = self.api, fixture["thread"], self.max_bulk_ids
        listing_min, listing_max, _ = self.query_bounds(api.LIST_ATTACHMENTS, "limit")
        assert listing_min is not None and listing_max is not None
        too_many = [tid] + [str(uuid.uuid4()) for _ in range(most)]
        unknown = [str(uuid.uuid4()) for _ in range(most)]
        unshown = Grounds.VENDOR_REFUSES

        def deleted_none(exchange: Exchange) -> list[str]:
            count = exchange.json.get("deletedCount") if isinstance(exchange.json, dict) else None
            return [] if count == 0 else [f"deletedCount 0 for {most} unknown ids, got {count!r}"]

        return [
            LimitCase(f"bulk-delete of {most + 1} ids (limit {most}), one of them the fixture thread",
                      a.bulk_delete({"threadIds": too_many}), False, on_fixture=True,
                      problems=validation_problems(("body", "threadIds"), (Reason.TOO_LONG,))),
            LimitCase(f"bulk-delete of {most} ids (limit {most})", a.bulk_delete({"threadIds": unknown}), True,
                      problems=deleted_none),
            # The attachment list's bounds are the contract's (VirtuousAI's reference does not show them).
            LimitCase(f"attachments limit={listing_max + 1} (allowed {listing_min}..{listing_max})",
                      a.list_attachments(tid, limit=listing_max + 1), False,
                      problems=validation_problems(("query", "limit"), (Reason.ABOVE_MAXIMUM,)), grounds=unshown),
            LimitCase(f"attachments limit={listing_min - 1}", a.list_attachments(tid, limit=listing_min - 1), False,
                      problems=validation_problems(("query", "limit"), (Reason.BELOW_MINIMUM,)), grounds=unshown),
            LimitCase(f"attachments limit={listing_max}", a.list_attachments(tid, limit=listing_max), True,
                      grounds=unshown),
            LimitCase(f"attachments limit={listing_min}", a.list_attachments(tid, limit=listing_min), True,
                      grounds=unshown),
        ]

    @property
    def listings(self) -> list[Listing]:
        return [ThreadsListing(self), MessagesListing(self)]

    @cached_property
    def streaming(self) -> ChatStreaming:
        return ChatStreaming(self)

    # --- schemathesis ---------------------------------------------------------------------------

    def tolerated(self, operation_id: str | None, status: int, query: dict[str, Any], body: Any) -> str | None:
        text_detail = isinstance(body, dict) and isinstance(body.get("detail"), str)
        if operation_id == api.CRYSTALLIZE and status in (409, 422) and text_detail:
            return "crystallize refusing a thread that is not eligible (the contract chose 400)"
        if operation_id in (api.LIST_THREADS, api.LIST_MESSAGES) and status == 400 and query.get("cursor") and (
                text_detail):
            return "a cursor nobody handed out refused with 400 (the contract chose 422)"
        return None

    def why_refusable(self, operation_id: str | None, query: dict[str, Any], body: Any) -> str | None:
        if query.get("cursor") not in (None, ""):
            return "a made-up cursor (cursors are opaque; one nobody handed out is refused)"
        if "artifact_id" in query:
            return "a made-up artifact_id (the artifact must exist in the caller's tenant)"
        if isinstance(body, dict) and any(body.get(key) is not None for key in ("messageId", "turnId")):
            return "a made-up messageId or turnId (it must belong to the thread)"
        if operation_id == api.STREAM_TURN and not api.ends_with_user_text(body):
            return "a turn's last message must be a user message with text (a rule the schema cannot express)"
        if operation_id in (api.CANCEL_TURN, api.CRYSTALLIZE):
            return "the thread's turn state decides (no active turn to cancel, nothing completed to crystallize)"
        return None


PROFILE = VirtuousAIProfile()
