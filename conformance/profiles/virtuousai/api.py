"""VirtuousAI's chat operations as `Request`s (by operationId, so paths come from the spec), the few
steps every VirtuousAI check takes (make a thread, run a turn to its end, read every message), and
`Context`, the check context the family's checks take."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from conformance.context import CheckContext
from conformance.streaming import StreamedTurn, stream_turn
from conformance.vocabulary import NO_BODY, PRIMARY, Fixture, Request, parse_time

if TYPE_CHECKING:
    from conformance.profiles.virtuousai.profile import VirtuousAIProfile

# What the family's checks take: a check context carrying the VirtuousAI profile.
Context = CheckContext["VirtuousAIProfile"]

GET_ATTACHMENT = "get_attachment_api_v1_chat_attachments__attachment_id__get"
DELETE_ATTACHMENT = "delete_attachment_api_v1_chat_attachments__attachment_id__delete"
LIST_THREADS = "list_threads_api_v1_chat_threads_get"
CREATE_THREAD = "create_thread_api_v1_chat_threads_post"
BULK_DELETE = "bulk_delete_threads_api_v1_chat_threads_bulk_delete_post"
GET_THREAD = "get_thread_api_v1_chat_threads__thread_id__get"
UPDATE_THREAD = "update_thread_api_v1_chat_threads__thread_id__patch"
DELETE_THREAD = "delete_thread_api_v1_chat_threads__thread_id__delete"
LIST_ATTACHMENTS = "list_attachments_api_v1_chat_threads__thread_id__attachments_get"
CREATE_ATTACHMENT = "create_attachment_api_v1_chat_threads__thread_id__attachments_post"
CRYSTALLIZE = "crystallize_thread_api_v1_chat_threads__thread_id__crystallize_post"
CREATE_FEEDBACK = "create_feedback_api_v1_chat_threads__thread_id__feedback_post"
LIST_MESSAGES = "list_messages_api_v1_chat_threads__thread_id__messages_get"
CANCEL_TURN = "cancel_active_turn_api_v1_chat_threads__thread_id__turns_cancel_post"
STREAM_TURN = "stream_turn_api_v1_chat_threads__thread_id__turns_stream_post"
GET_TURN = "get_turn_api_v1_chat_turns__turn_id__get"

# A turn is active from its start until it completes, fails or is cancelled.
ACTIVE_STATUSES = ("pending", "running")


def chat_request(text: str, chat_id: str) -> dict[str, Any]:
    """The Vercel AI SDK chat request submitting one user message."""
    return {
        "trigger": "submit-message",
        "id": chat_id,
        "messages": [{"id": "conformance-user-1", "role": "user", "parts": [{"type": "text", "text": text}]}],
    }


def ends_with_user_text(body: Any) -> bool:
    """Whether a chat request's last message is a user message with some text (a turn's input)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    last = messages[-1]
    parts = last.get("parts")
    if not isinstance(parts, list):
        parts = []
    text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text"
                   and isinstance(p.get("text"), str))
    return last.get("role") == "user" and bool(text.strip())


def _params(**values: Any) -> list[tuple[str, str]]:
    return [(name, str(value)) for name, value in values.items() if value is not None]


class ChatAPI:
    """Builds the family's requests; the steps shared by its checks take a check context."""

    def __init__(self, profile: VirtuousAIProfile) -> None:
        self.profile = profile
        self.request = profile.request

    # --- requests -------------------------------------------------------------------------------

    def list_threads(self, *, cursor: str | None = None, limit: int | str | None = None) -> Request:
        return self.request(LIST_THREADS, params=_params(limit=limit, cursor=cursor))

    def create_thread(self, body: dict[str, Any]) -> Request:
        return self.request(CREATE_THREAD, json=body)

    def bulk_delete(self, body: dict[str, Any]) -> Request:
        return self.request(BULK_DELETE, json=body)

    def get_thread(self, thread_id: str) -> Request:
        return self.request(GET_THREAD, thread_id=thread_id)

    def update_thread(self, thread_id: str, body: dict[str, Any]) -> Request:
        return self.request(UPDATE_THREAD, json=body, thread_id=thread_id)

    def delete_thread(self, thread_id: str) -> Request:
        return self.request(DELETE_THREAD, thread_id=thread_id)

    def list_messages(self, thread_id: str, *, cursor: str | None = None, limit: int | None = None) -> Request:
        return self.request(LIST_MESSAGES, params=_params(limit=limit, cursor=cursor), thread_id=thread_id)

    def stream_turn(self, thread_id: str, text: str) -> Request:
        return self.request(STREAM_TURN, json=chat_request(text, thread_id), thread_id=thread_id)

    def cancel_turn(self, thread_id: str, partial_text: str | None) -> Request:
        body = {"partialText": partial_text} if partial_text is not None else {}
        return self.request(CANCEL_TURN, json=body, thread_id=thread_id)

    def get_turn(self, turn_id: str) -> Request:
        return self.request(GET_TURN, turn_id=turn_id)

    def list_attachments(self, thread_id: str, *, limit: int | None = None, offset: int | None = None) -> Request:
        return self.request(LIST_ATTACHMENTS, params=_params(limit=limit, offset=offset), thread_id=thread_id)

    def create_attachment(self, thread_id: str, artifact_id: str | None, *, message_id: str | None = None) -> Request:
        body = {"messageId": message_id} if message_id is not None else {}
        return self.request(CREATE_ATTACHMENT, params=_params(artifact_id=artifact_id), json=body, thread_id=thread_id)

    def get_attachment(self, attachment_id: str) -> Request:
        return self.request(GET_ATTACHMENT, attachment_id=attachment_id)

    def delete_attachment(self, attachment_id: str) -> Request:
        return self.request(DELETE_ATTACHMENT, attachment_id=attachment_id)

    def create_feedback(self, thread_id: str, body: dict[str, Any]) -> Request:
        return self.request(CREATE_FEEDBACK, json=body, thread_id=thread_id)

    def crystallize(self, thread_id: str, body: Any = NO_BODY) -> Request:
        return self.request(CRYSTALLIZE, json={} if body is NO_BODY else body, thread_id=thread_id)

    # --- steps ----------------------------------------------------------------------------------

    def require_thread(
        self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY, **fields: Any
    ) -> dict[str, Any]:
        """Create a thread; anything but a thread with an id is a failure that ends the check."""
        created = ctx.send(self.create_thread(fields), identity=identity)
        ctx.require_status(created)
        body = ctx.require_object(created)
        if not isinstance(body.get("id"), str) or not body["id"]:
            ctx.fail(created, "a thread with an id", created.excerpt())
            ctx.abort()
        return body

    def run_turn(
        self, ctx: CheckContext[Any], thread_id: str, text: str, *, identity: str | None = PRIMARY
    ) -> StreamedTurn:
        """Stream a turn to its end without checking it (the sse_stream check does); a turn that does not
        stream is a failure that ends the check."""
        streaming = self.profile.streaming
        assert streaming is not None
        return stream_turn(ctx, streaming, Fixture({"thread": thread_id}, {}, identity), text, check=False,
                           identity=identity)

    def all_messages(self, ctx: CheckContext[Any], thread_id: str, *, identity: str | None = PRIMARY) -> list[dict]:
        """Every message of a thread, oldest first, walking the cursor; failures end the check."""
        messages: list[dict] = []
        cursor: str | None = None
        for _ in range(100):
            listing = ctx.send(self.list_messages(thread_id, cursor=cursor, limit=200), identity=identity)
            ctx.require_status(listing)
            body = ctx.require_object(listing)
            items = body.get("items")
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                ctx.fail(listing, "a page of messages", listing.excerpt())
                ctx.abort()
            messages += items
            cursor = body.get("nextCursor")
            if not cursor:
                return messages
        ctx.fail(listing, "the messages to end within 100 pages", listing.excerpt())
        ctx.abort()

    def thread_ids(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY, pages: int = 1000) -> list[str]:
        """The ids of every thread of the caller, walking the list; failures end the check."""
        ids: list[str] = []
        cursor: str | None = None
        for _ in range(pages):
            listing = ctx.send(self.list_threads(cursor=cursor, limit=100), identity=identity)
            ctx.require_status(listing)
            body = ctx.require_object(listing)
            ids += [item["id"] for item in body.get("items") or [] if isinstance(item, dict)
                    and isinstance(item.get("id"), str)]
            cursor = body.get("nextCursor")
            if not cursor:
                break
        return ids



def time_order_problems(body: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """The named timestamps that are present must be date-times in that order (equal is fine)."""
    problems: list[str] = []
    previous: tuple[str, datetime] | None = None
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        parsed = parse_time(value)
        if parsed is None:
            problems.append(f"{name} {value!r} is not a date-time")
            continue
        if previous and parsed < previous[1]:
            problems.append(f"{name} {value!r} is before {previous[0]} {body.get(previous[0])!r}")
        previous = (name, parsed)
    return problems
