"""OpenAI Conversations family: handlers and OpenAI's error envelope, mounted at ``/openai/v1``.

Behaviour follows ``openapi/openai-conversations.yaml`` and the choices written in its descriptions:
update replaces metadata, ids are ``conv_``/``msg_``/``fc_``/``fco_``/``rs_`` + 48 hex digits, string
message content is stored as parts, deleting a conversation makes every later call on it 404.
"""

from __future__ import annotations

import sys
import typing as t

from mockserver.auth import current_tenant
from mockserver.errors import (
    ErrorResponse,
    InvalidRequest,
    MethodNotAllowed,
    MockError,
    NotFound,
    RouteNotFound,
    Unauthenticated,
    UnreadableBody,
    UnsupportedMediaType,
    Violation,
)
from mockserver.family import Family
from mockserver.ids import new_id, unix_seconds
from mockserver.paging import cursor_page
from mockserver.quota import QuotaExceeded
from mockserver.responses import JSONResponse, json_response
from mockserver.store import Collection, Store, UnknownCursor
from mockserver.validation import json_type

CONVERSATIONS = "conversations"
ITEM_INDEX = "items"  # every item this tenant stored, for item_reference
ITEM_ROLES = ("assistant", "system", "developer", "user")  # in the order OpenAI lists them
ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def items_of(conversation_id: str) -> str:
    """The name of the collection holding a conversation's items."""
    return f"conversation-items/{conversation_id}"


def conversation_not_found(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.")


def item_not_found(item_id: str, field: tuple[str | int, ...] | None = None) -> NotFound:
    return NotFound(f"Item with id '{item_id}' not found in conversation.", field=field)


# ---------------------------------------------------------------------------------------------
# Input items → stored items


def _word(value: t.Any) -> t.Any:
    """An enumerated string (type, role, status) as its one shared copy, so stored items do not each
    carry their own."""
    return sys.intern(value) if type(value) is str else value


def _stored_parts(content: t.Any, role: str) -> list[dict]:
    assistant = role == "assistant"
    if isinstance(content, str):
        return [{"type": "output_text" if assistant else "input_text", "text": content, **(
            {"annotations": [], "logprobs": []} if assistant else {})}]
    parts = []
    for part in content:
        part = dict(part)
        kind = part["type"] = _word(part["type"])
        if assistant and kind == "input_text":
            part["type"] = kind = "output_text"
        if kind == "output_text":
            part.setdefault("annotations", [])
            part.setdefault("logprobs", [])
        elif kind == "input_image":
            part.setdefault("detail", "auto")
        parts.append(part)
    return parts[:]  # a copy is allocated at its exact size


def _stored_item(item: dict, referenced: dict | None) -> dict:
    if referenced is not None:
        kind = referenced["type"]
        return {**referenced, "id": new_id(ID_PREFIX[kind])}
    kind = _word(item.get("type", "message"))
    stored: dict[str, t.Any] = {"id": new_id(ID_PREFIX[kind]), "type": kind,
                                "status": _word(item.get("status", "completed"))}
    if kind == "message":
        stored["role"] = _word(item["role"])
        stored["content"] = _stored_parts(item["content"], item["role"])
        if "phase" in item:
            stored["phase"] = item["phase"]
    elif kind == "function_call":
        stored.update(call_id=item["call_id"], name=item["name"], arguments=item["arguments"])
    elif kind == "function_call_output":
        stored.update(call_id=item["call_id"], output=item["output"])
    elif kind == "reasoning":
        stored["summary"] = item["summary"]
        for optional in ("content", "encrypted_content"):
            if optional in item:
                stored[optional] = item[optional]
    return stored


def item_list(items: list[dict], has_more: bool, cursor_of: t.Callable[[dict], str]) -> dict:
    """A page of items as OpenAI's list envelope; ``first_id``/``last_id`` are the cursors of its ends."""
    return {
        "object": "list",
        "data": items,
        "first_id": cursor_of(items[0]) if items else None,
        "last_id": cursor_of(items[-1]) if items else None,
        "has_more": has_more,
    }


# ---------------------------------------------------------------------------------------------
# Handlers


class ConversationsHandlers:
    """The eight operations, over a ``Store``.

    Another family with OpenAI's conversations but its own items (the Venna gateway) subclasses this and
    overrides how items are stored (``_append_items``), listed (``list_conversation_items``) and named in a
    list's ``first_id``/``last_id`` (``cursor_of``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def cursor_of(self, item: dict) -> str:
        """What names ``item`` in a list's ``first_id``/``last_id`` and in ``after``: its id."""
        return t.cast(str, item["id"])

    def operations(self) -> dict[str, t.Callable]:
        return {
            "createConversation": self.create_conversation,
            "getConversation": self.get_conversation,
            "updateConversation": self.update_conversation,
            "deleteConversation": self.delete_conversation,
            "createConversationItems": self.create_conversation_items,
            "listConversationItems": self.list_conversation_items,
            "getConversationItem": self.get_conversation_item,
            "deleteConversationItem": self.delete_conversation_item,
        }

    def _conversation(self, tenant: str, conversation_id: str) -> dict:
        conversation = self.store.read(tenant, CONVERSATIONS).get(conversation_id)
        if conversation is None:
            raise conversation_not_found(conversation_id)
        return conversation

    def _conversations(self, tenant: str) -> Collection:
        """The tenant's conversations, to write to (no list pages them, so removed ids are forgotten)."""
        return self.store.collection(tenant, CONVERSATIONS, cursor_keys=False)

    def _item_index(self, tenant: str) -> Collection:
        """Every item the tenant stores, for ``item_reference``: points at items the conversations own."""
        return self.store.collection(tenant, ITEM_INDEX, index=True, cursor_keys=False)

    def _append_items(self, tenant: str, conversation_id: str, items: list[dict]) -> list[dict]:
        """Store ``items`` at the end of the conversation: all of them, or none if one fails."""
        index = self.store.read(tenant, ITEM_INDEX)
        referenced = []
        for position, item in enumerate(items):  # resolve everything before storing anything
            if item.get("type") == "item_reference":
                found = index.get(item["id"])
                if found is None:
                    raise NotFound(f"Item with id '{item['id']}' not found.", field=("items", position, "id"))
                referenced.append(found)
            else:
                referenced.append(None)
        stored = [_stored_item(item, ref) for item, ref in zip(items, referenced, strict=False)]
        if stored:
            pairs = [(item["id"], item) for item in stored]
            self.store.collection(tenant, items_of(conversation_id)).insert_many(pairs)  # checks the caps
            self._item_index(tenant).insert_many(pairs)
        return stored

    async def create_conversation(self, body: dict | None = None) -> JSONResponse:
        tenant = current_tenant()
        body = body or {}
        conversation_id = new_id("conv")
        conversation: dict[str, t.Any] = {
            "id": conversation_id,
            "object": "conversation",
            "created_at": unix_seconds(),
            "metadata": dict(body.get("metadata") or {}),
        }
        items = body.get("items") or []
        conversations = self._conversations(tenant)
        try:
            conversations.insert(conversation_id, conversation)
            self._append_items(tenant, conversation_id, items)
        except MockError:
            conversations.remove(conversation_id)
            self.store.drop(tenant, items_of(conversation_id))
            if not conversations:
                self.store.drop(tenant, CONVERSATIONS)
            raise
        return json_response(conversation)

    async def get_conversation(self, conversation_id: str) -> JSONResponse:
        return json_response(self._conversation(current_tenant(), conversation_id))

    async def update_conversation(self, conversation_id: str, body: dict) -> JSONResponse:
        tenant = current_tenant()
        conversation = self._conversation(tenant, conversation_id)
        updated = {**conversation, "metadata": dict(body.get("metadata") or {})}
        self._conversations(tenant).replace(conversation_id, updated)
        return json_response(updated)

    async def delete_conversation(self, conversation_id: str) -> JSONResponse:
        """Deletes the conversation and everything it holds: its items leave the item index too."""
        tenant = current_tenant()
        conversations = self.store.find(tenant, CONVERSATIONS)
        if conversations is None or conversations.remove(conversation_id) is None:
            raise conversation_not_found(conversation_id)
        items = self.store.find(tenant, items_of(conversation_id))
        index = self.store.find(tenant, ITEM_INDEX)
        if items is not None and index is not None:
            for item in items:
                index.remove(item["id"])
            if not index:
                self.store.drop(tenant, ITEM_INDEX)
        self.store.drop(tenant, items_of(conversation_id))
        if not conversations:
            self.store.drop(tenant, CONVERSATIONS)
        return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    async def create_conversation_items(self, conversation_id: str, body: dict,
                                        include: list | None = None) -> JSONResponse:
        tenant = current_tenant()
        self._conversation(tenant, conversation_id)
        added = self._append_items(tenant, conversation_id, body["items"])
        return json_response(item_list(added, False, self.cursor_of))

    async def list_conversation_items(self, conversation_id: str, limit: int = 20, order: str = "desc",
                                      after: str | None = None, include: list | None = None) -> JSONResponse:
        tenant = current_tenant()
        self._conversation(tenant, conversation_id)
        items = self.store.read(tenant, items_of(conversation_id))
        try:
            page = cursor_page(items, after=after, limit=limit, descending=order != "asc")
        except UnknownCursor:
            raise item_not_found(str(after), field=("after",)) from None
        return json_response(item_list(page.records, page.has_more, self.cursor_of))

    async def get_conversation_item(self, conversation_id: str, item_id: str,
                                    include: list | None = None) -> JSONResponse:
        tenant = current_tenant()
        self._conversation(tenant, conversation_id)
        item = self.store.read(tenant, items_of(conversation_id)).get(item_id)
        if item is None:
            raise item_not_found(item_id)
        return json_response(item)

    async def delete_conversation_item(self, conversation_id: str, item_id: str) -> JSONResponse:
        tenant = current_tenant()
        conversation = self._conversation(tenant, conversation_id)
        items = self.store.find(tenant, items_of(conversation_id))
        if items is None or items.remove(item_id) is None:
            raise item_not_found(item_id)
        index = self.store.find(tenant, ITEM_INDEX)
        if index is not None:
            index.remove(item_id)
        return json_response(conversation)


# ---------------------------------------------------------------------------------------------
# OpenAI's error envelope

MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username and password. You can "
    "obtain an API key from https://platform.openai.com/account/api-keys."
)
INVALID_JSON_MESSAGE = (
    "Invalid body: failed to parse JSON value. Please check the value to ensure it is valid JSON. "
    "(Common errors include trailing commas, missing closing brackets, missing quotation marks, etc.)"
)
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on "
    "this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
_ARTICLE_TYPES = {"string": "a string", "integer": "an integer", "number": "a decimal", "boolean": "a boolean",
                  "object": "an object", "array": "an array", "null": "null"}


def openai_param(path: t.Sequence[str | int]) -> str | None:
    """``("items", 0, "content")`` → ``items[0].content``, OpenAI's way of naming a field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _quoted_list(values: t.Sequence[t.Any]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _type_name(value: t.Any) -> str:
    return _ARTICLE_TYPES[json_type(value)]


def violation_error(violation: Violation) -> tuple[str, str | None, str]:
    """(message, param, code) for one violation, worded as OpenAI's validator words it."""
    param = openai_param(violation.path)
    keyword, expected, actual = violation.keyword, violation.expected, violation.actual
    if keyword == "json":
        return INVALID_JSON_MESSAGE, None, "invalid_json"
    if keyword == "body":
        names = list(expected or [])
        if names:
            return f"Missing required parameter: '{names[0]}'.", names[0], "missing_required_parameter"
        return "Invalid body: the request body is required.", None, "invalid_value"
    if keyword == "required" and violation.path[-1:] == ("role",) and len(violation.path) > 1:
        # Observed at OpenAI: an input item without a role is an invalid (empty) role of the item.
        item = openai_param(violation.path[:-1])
        return (f"Invalid value: ''. Supported values are: {_quoted_list(ITEM_ROLES)}.", item, "invalid_value")
    if keyword == "required":
        return f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    if keyword == "additionalProperties":
        return f"Unknown parameter: '{param}'.", param, "unknown_parameter"
    if keyword == "maximum":
        return (f"Invalid '{param}': integer above maximum value. Expected a value <= {expected}, but got "
                f"{actual} instead.", param, "integer_above_max_value")
    if keyword == "minimum":
        return (f"Invalid '{param}': integer below minimum value. Expected a value >= {expected}, but got "
                f"{actual} instead.", param, "integer_below_min_value")
    if keyword == "maxProperties":
        return (f"Invalid '{param}': too many properties. Expected an object with at most {expected} "
                f"properties, but got an object with {len(actual)} properties instead.", param,
                "object_above_max_properties")
    if keyword == "maxItems":
        return (f"Invalid '{param}': array too long. Expected an array with maximum length {expected}, but "
                f"got an array with length {len(actual)} instead.", param, "array_above_max_length")
    if keyword == "minItems":
        return (f"Invalid '{param}': array too short. Expected an array with minimum length {expected}, but "
                f"got an array with length {len(actual)} instead.", param, "array_below_min_length")
    if keyword == "maxLength":
        return (f"Invalid '{param}': string too long. Expected a string with maximum length {expected}, but "
                f"got a string with length {len(actual)} instead.", param, "string_above_max_length")
    if keyword == "minLength":
        return (f"Invalid '{param}': string too short. Expected a string with minimum length {expected}, but "
                f"got a string with length {len(actual)} instead.", param, "string_below_min_length")
    if keyword == "propertyNames":
        parent = openai_param(violation.path[:-1])
        limit = (expected or {}).get("maxLength")
        return (f"Invalid property name in '{parent}': '{actual}' is too long. Expected a string with maximum "
                f"length {limit}, but got a string with length {len(actual)} instead.", param,
                "property_name_above_max_length")
    if keyword == "enum":
        return f"Invalid value: '{actual}'. Supported values are: {_quoted_list(expected)}.", param, "invalid_value"
    if keyword == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        wanted_text = " or ".join(_ARTICLE_TYPES.get(w, str(w)) for w in wanted)
        if param is None:
            return (f"Invalid body: expected {wanted_text}, but got {_type_name(actual)} instead.", None,
                    "invalid_type")
        return (f"Invalid type for '{param}': expected {wanted_text}, but got {_type_name(actual)} instead.",
                param, "invalid_type")
    detail = violation.message or "invalid value"
    return f"Invalid '{param}': {detail}." if param else f"Invalid request: {detail}.", param, "invalid_value"


def _envelope(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def render_error(error: MockError) -> ErrorResponse:
    """Any ``MockError`` as OpenAI sends it: ``{"error": {message, type, param, code}}``.

    The neutral ``field`` becomes ``param`` (``items[0].id``) and ``reason`` becomes ``code``."""
    if isinstance(error, InvalidRequest):
        message, param, code = violation_error(error.violations[0]) if error.violations else (
            error.message, None, None)
        return ErrorResponse(400, _envelope(message, "invalid_request_error", param, code))
    if isinstance(error, Unauthenticated):
        return ErrorResponse(401, _envelope(MISSING_KEY_MESSAGE, "invalid_request_error"))
    if isinstance(error, MethodNotAllowed):
        return ErrorResponse(405, _envelope(f"Invalid method for URL ({error.method} {error.path}).",
                                            "invalid_request_error", None, "method_not_allowed"))
    if isinstance(error, RouteNotFound):
        return ErrorResponse(404, _envelope(f"Invalid URL ({error.method} {error.path})",
                                            "invalid_request_error", None, "unknown_url"))
    if isinstance(error, UnreadableBody):  # not UTF-8, or nested too deep: OpenAI's JSON parser refuses it
        return ErrorResponse(400, _envelope(INVALID_JSON_MESSAGE, "invalid_request_error", None, "invalid_json"))
    if isinstance(error, UnsupportedMediaType):
        return ErrorResponse(400, _envelope(
            f"Unsupported content type: '{error.message}'. This API method only accepts 'application/json' "
            f"requests, but you specified the header 'Content-Type: {error.message}'. Please specify the header "
            "'Content-Type: application/json' and try again.", "invalid_request_error"))
    if isinstance(error, QuotaExceeded):
        return ErrorResponse(429, _envelope(f"{QUOTA_MESSAGE} ({error.message})", "insufficient_quota", None,
                                            "insufficient_quota"))
    param = openai_param(error.field) if error.field else None
    if error.status == 429:
        return ErrorResponse(429, _envelope(error.message, "rate_limit_exceeded", param, error.reason),
                             {"retry-after": "1", **error.headers})
    if error.status >= 500:
        return ErrorResponse(error.status, _envelope(error.message, "server_error", param, error.reason))
    return ErrorResponse(error.status, _envelope(error.message, "invalid_request_error", param, error.reason),
                         dict(error.headers))


FAMILY = Family(
    name="openai",
    spec_file="openai-conversations.yaml",
    base_path="/openai/v1",
    create_handlers=lambda store: ConversationsHandlers(store).operations(),
    render_error=render_error,
    response_headers={"openai-version": "2020-10-01"},
    description="OpenAI Conversations API",
)
