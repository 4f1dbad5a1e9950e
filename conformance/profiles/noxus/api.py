"""Noxus's conversation operations as `Request`s (by operationId, so paths come from the contract), the
steps every Noxus check takes (make a conversation, add a message, read it back, list the key's
conversations), how a stored message is read (its text, whose it is), and `Context`, the check context
the family's checks take.

Every message added is a model call on a real server: the steps here never add one on their own; a
check that needs a reply calls `reply` (or streams one) and says so in its docstring.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from conformance.context import CheckContext
from conformance.vocabulary import NO_BODY, PRIMARY, Exchange, Request

if TYPE_CHECKING:
    from conformance.profiles.noxus.profile import NoxusProfile

# What the family's checks take: a check context carrying the Noxus profile.
Context = CheckContext["NoxusProfile"]

LIST = "public_list_conversations"
CREATE = "public_create_conversation"
GET = "public_get_conversation"
UPDATE = "public_update_conversation"
DELETE = "public_delete_conversation"
ADD_MESSAGE = "public_add_message"
CHAT = "chat"
STREAM = "public_stream_message"
EVENTS = "public_conversation_events"

# Operations whose accepted call is a reply from a model (a cost on a real server).
REPLYING = (ADD_MESSAGE, CHAT, STREAM)

# Ids nothing has (version-4 UUIDs of zeros and ones).
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
OTHER_UNKNOWN_ID = "11111111-1111-4111-8111-111111111111"

# The largest page the list serves (the contract's `size` maximum), used to read every conversation.
MAX_SIZE = 100
# A listing read in full stops after this many pages of MAX_SIZE (a workspace of 20,000 conversations).
MAX_LIST_PAGES = 200


def settings(*, model: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Conversation settings of the current generation (`model`), with `extra` keys added."""
    return {"model": model or ["preset:cost"], "temperature": 0.4, "max_tokens": 1000, "tools": [], **extra}


def new_id() -> str:
    return str(uuid.uuid4())


class NoxusAPI:
    """Builds the family's requests; the steps shared by its checks take a check context."""

    def __init__(self, profile: NoxusProfile) -> None:
        self.profile = profile
        self.request = profile.request

    # --- requests -------------------------------------------------------------------------------

    def list_conversations(self, *, page: int | str | None = None, size: int | str | None = None) -> Request:
        params = [(name, str(value)) for name, value in (("page", page), ("size", size)) if value is not None]
        return self.request(LIST, params=params)

    def create(self, body: Any = NO_BODY, *, assistant_id: str | None = None, content: bytes | None = None) -> Request:
        params = [("assistant_id", assistant_id)] if assistant_id is not None else []
        return self.request(CREATE, params=params, json=body, content=content)

    def get(self, conversation_id: str) -> Request:
        return self.request(GET, conversation_id=conversation_id)

    def update(self, conversation_id: str, body: Any) -> Request:
        return self.request(UPDATE, json=body, conversation_id=conversation_id)

    def delete(self, conversation_id: str) -> Request:
        return self.request(DELETE, conversation_id=conversation_id)

    def add_message(self, conversation_id: str, body: Any = NO_BODY, *, content: bytes | None = None) -> Request:
        return self.request(ADD_MESSAGE, json=body, content=content, conversation_id=conversation_id)

    def chat(self, conversation_id: str, body: Any = NO_BODY) -> Request:
        return self.request(CHAT, json=body, conversation_id=conversation_id)

    def stream(self, conversation_id: str, body: Any, *, format: str | None = None) -> Request:
        params = [("format", format)] if format is not None else []
        return self.request(STREAM, params=params, json=body, conversation_id=conversation_id)

    def events(self, conversation_id: str, *, format: str | None = "json", etag: str | None = None) -> Request:
        params = [(name, value) for name, value in (("format", format), ("etag", etag)) if value is not None]
        return self.request(EVENTS, params=params, conversation_id=conversation_id)

    # --- steps ----------------------------------------------------------------------------------

    def require_conversation(self, ctx: CheckContext[Any], name: str, *, identity: str | None = PRIMARY,
                             body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a conversation from settings (no model call); anything but a conversation with an id is a
        failure that ends the check."""
        created = ctx.send(self.create(body or {"name": name, "settings": settings()}), identity=identity)
        ctx.require_status(created)
        conversation = ctx.require_object(created)
        if not isinstance(conversation.get("id"), str) or not conversation["id"]:
            ctx.fail(created, "a conversation with an id", created.excerpt())
            ctx.abort()
        return conversation

    def reply(self, ctx: CheckContext[Any], conversation_id: str, text: str, *,
              identity: str | None = PRIMARY) -> tuple[Exchange, dict[str, Any]]:
        """Add a message and wait for the reply (one model call); anything but 200 and a conversation is a
        failure that ends the check."""
        answered = ctx.send(self.add_message(conversation_id, message(text)), identity=identity)
        ctx.require_status(answered, why="(a message added to the conversation)")
        return answered, ctx.require_object(answered)

    def read(self, ctx: CheckContext[Any], conversation_id: str, *,
             identity: str | None = PRIMARY) -> tuple[Exchange, dict[str, Any]]:
        """The conversation as its owner reads it; anything but 200 and an object ends the check."""
        got = ctx.send(self.get(conversation_id), identity=identity)
        ctx.require_status(got)
        return got, ctx.require_object(got)

    def listed_ids(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> list[str]:
        """Every listed conversation id of the key, in list order, page after page of MAX_SIZE (at most
        MAX_LIST_PAGES); a page that is no page ends the check."""
        ids: list[str] = []
        for page in range(1, MAX_LIST_PAGES + 1):
            listing = ctx.send(self.list_conversations(page=page, size=MAX_SIZE), identity=identity)
            ctx.require_status(listing)
            body = ctx.require_object(listing)
            items = body.get("items")
            if not isinstance(items, list):
                ctx.fail(listing, "a page {items, total, page, size, pages}", listing.excerpt())
                ctx.abort()
            ids += [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]
            pages = body.get("pages")
            if not items or (isinstance(pages, int) and page >= pages):
                break
        return ids

    def discard(self, ctx: CheckContext[Any], conversation_id: str, *, identity: str | None = PRIMARY) -> None:
        ctx.send(self.delete(conversation_id), identity=identity)


def message(text: str | None, **extra: Any) -> dict[str, Any]:
    """An `AddMessageRequest` as the SDK sends it (every field, nulls included)."""
    return {"content": text, "tool": None, "kb_id": None, "workflow_id": None, "files": None,
            "model_selection": None, **extra}


# --- reading stored messages --------------------------------------------------------------------------


def messages_of(conversation: Any) -> list[dict[str, Any]]:
    messages = conversation.get("messages") if isinstance(conversation, dict) else None
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _model_parts(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The parts of a message's pydantic-ai messages of `kind` (request or response)."""
    found: list[dict[str, Any]] = []
    for model_message in message.get("pydantic_message_parts") or []:
        if isinstance(model_message, dict) and model_message.get("kind") == kind:
            found += [part for part in model_message.get("parts") or [] if isinstance(part, dict)]
    return found


def _ui_parts(message: dict[str, Any], role: str) -> list[dict[str, Any]]:
    parts = message.get("message_parts") or []
    return [part for part in parts if isinstance(part, dict) and part.get("role") == role]


def reply_text(message: dict[str, Any]) -> str | None:
    """The text an assistant message holds: its pydantic-ai `response` text parts where the server sends
    `pydantic_message_parts` (newer backends), else its `assistant` message parts; None if it holds none."""
    if message.get("pydantic_message_parts"):
        texts = [part.get("content") for part in _model_parts(message, "response") if part.get("part_kind") == "text"]
    else:
        texts = [part.get("content") for part in _ui_parts(message, "assistant")]
    strings = [text for text in texts if isinstance(text, str)]
    return "".join(strings) if strings else None


def user_text(message: dict[str, Any]) -> str | None:
    """The text a user message holds (its `user-prompt` part, or its `user` message part), or None."""
    if message.get("pydantic_message_parts"):
        texts = [part.get("content") for part in _model_parts(message, "request")
                 if part.get("part_kind") == "user-prompt"]
    else:
        texts = [part.get("content") for part in _ui_parts(message, "user")]
    strings = [text for text in texts if isinstance(text, str)]
    return "".join(strings) if strings else None


def turn_problems(before: list[dict[str, Any]], after: list[dict[str, Any]], sent: str) -> list[str]:
    """What is wrong with the messages after one turn: the earlier messages kept as they were, then exactly
    two new ones, the user message holding the text sent and the reply (empty when all is well)."""
    ids_before = [m.get("id") for m in before]
    ids_after = [m.get("id") for m in after]
    if ids_after[: len(ids_before)] != ids_before:
        return [f"the earlier messages {ids_before} kept, first and in order; messages are now {ids_after}"]
    new = after[len(before):]
    if len(new) != 2:
        return [f"two new messages (the user's and the reply), got {len(new)}"]
    problems = []
    if user_text(new[0]) != sent:
        problems.append(f"the user message holding the text sent ({clip(sent)!r}) before the reply; it holds "
                        f"{clip(str(user_text(new[0])))!r}")
    if reply_text(new[1]) is None:
        problems.append(f"the reply last, an assistant message with text: {clip(str(new[1]))}")
    return problems


def clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def long_prompt(words: int = 200) -> str:
    """A request for a long answer, padded to about `words` words (only its length matters): its reply
    outlasts the requests a check makes while it is produced."""
    head = "Please write a long and detailed answer, at least five hundred words, about the text that follows."
    filler = "the quick brown fox jumps over the lazy dog while the suite watches this reply".split()
    return head + " " + " ".join(filler[n % len(filler)] for n in range(words))
