"""OpenAI Conversations: the family profile for `openapi/openai-conversations.yaml`.

The conversation-with-items shape (`conformance.shapes.conversation_items`) in the OpenAI error dialect
(`conformance.dialects.openai`: `{"error": {message, type, param, code}}`). Bearer auth; every success
is 200; items are listed with `after`/`limit`/`order` (default `desc`, limit 1..100 default 20) in
pages of `{data, first_id, last_id, has_more}` (an id cursor, `CursorPaging`). Limits (16 metadata
pairs, 64-char keys, 512-char values, 20 items per call, list limit bounds) are read from the spec's
schema keywords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, ClassVar

from conformance.dialects.openai import OpenAIErrors
from conformance.paging import CursorPaging
from conformance.shapes.conversation_items import ConversationProfile, Pagination
from conformance.vocabulary import MISSING, NO_BODY, Exchange, Fixture, Grounds, LimitCase, Probe, Request

UNKNOWN_CONVERSATION = "conv_" + "0" * 48
UNKNOWN_ITEM = "msg_" + "0" * 48


# The item list: `after` = the last id of the previous page, `has_more`, and the page's first/last ids.
ITEM_PAGING = CursorPaging(
    items_field="data",
    cursor_param="after",
    next_cursor_field="last_id",
    has_more_field="has_more",
    first_id_field="first_id",
    last_id_field="last_id",
)


class OpenAIProfile(ConversationProfile, OpenAIErrors):
    name = "openai"
    title = "OpenAI Conversations"
    spec_file = "openai-conversations.yaml"

    # --- limits, read from the contract ---------------------------------------------------------

    @cached_property
    def _schemas(self) -> dict[str, Any]:
        return self.spec.raw["components"]["schemas"]

    @property
    def max_pairs(self) -> int:
        return int(self._schemas["Metadata"]["maxProperties"])

    @property
    def max_key_length(self) -> int:
        return int(self._schemas["Metadata"]["x-propertyNames"]["maxLength"])

    @property
    def max_value_length(self) -> int:
        return int(self._schemas["Metadata"]["additionalProperties"]["maxLength"])

    # The contract's schema of a create-items body, and how the item list pages (a family copying this
    # API with items of its own names its own).
    items_body_schema: ClassVar[str] = "CreateConversationItemsBody"
    item_paging: ClassVar[CursorPaging] = ITEM_PAGING

    @property
    def max_items_per_call(self) -> int:
        return int(self._schemas[self.items_body_schema]["properties"]["items"]["maxItems"])

    @cached_property
    def pagination(self) -> Pagination:
        limit = self.spec.parameter_schema("listConversationItems", "limit")
        order = self.spec.parameter_schema("listConversationItems", "order")
        return Pagination(
            orders=("asc", "desc"),
            default_order=order["default"],
            default_limit=int(limit["default"]),
            min_limit=int(limit["minimum"]),
            max_limit=int(limit["maximum"]),
            max_items_per_call=self.max_items_per_call,
            paging=self.item_paging,
        )

    # --- authentication -------------------------------------------------------------------------

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    # --- requests -------------------------------------------------------------------------------

    # The name of the conversation id in the contract's paths.
    conversation_param: ClassVar[str] = "conversation_id"

    def on_conversation(self, operation_id: str, conversation_id: str, *,
                        params: list[tuple[str, str]] | None = None, json: Any = NO_BODY) -> Request:
        """A request for an operation on one conversation (its id in the path as `conversation_param`)."""
        return replace(self.request(operation_id, params=params, json=json),
                       path_params={self.conversation_param: conversation_id})

    def probe(self) -> Request:
        return self.get_conversation(UNKNOWN_CONVERSATION)

    def create_conversation(self, *, metadata: Any = MISSING, items: list[Any] | None = None) -> Request:
        body: dict[str, Any] = {}
        if metadata is not MISSING:
            body["metadata"] = metadata
        if items is not None:
            body["items"] = items
        return self.request("createConversation", json=body)

    def get_conversation(self, conversation_id: str) -> Request:
        return self.on_conversation("getConversation", conversation_id)

    def update_conversation(self, conversation_id: str, metadata: Any) -> Request:
        return self.on_conversation("updateConversation", conversation_id, json={"metadata": metadata})

    def delete_conversation(self, conversation_id: str) -> Request:
        return self.on_conversation("deleteConversation", conversation_id)

    def create_items(self, conversation_id: str, items: list[Any]) -> Request:
        return self.on_conversation("createConversationItems", conversation_id, json={"items": items})

    def list_items(
        self,
        conversation_id: str,
        *,
        order: str | None = None,
        paging: Sequence[tuple[str, str]] = (),
    ) -> Request:
        params = [*paging, *([("order", order)] if order is not None else [])]
        return self.on_conversation("listConversationItems", conversation_id, params=params)

    def get_item(self, conversation_id: str, item_id: str) -> Request:
        return self.request("getConversationItem", conversation_id=conversation_id, item_id=item_id)

    def delete_item(self, conversation_id: str, item_id: str) -> Request:
        return self.request("deleteConversationItem", conversation_id=conversation_id, item_id=item_id)

    def why_refusable(self, operation_id: str | None, query: dict[str, Any], body: Any) -> str | None:
        # OpenAI documents neither how an unknown `after` cursor nor an unknown item reference is answered.
        if "after" in query:
            return "a made-up value for the after cursor"
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and any(isinstance(i, dict) and i.get("type") == "item_reference" for i in items):
            return "a made-up value for an item_reference"
        return None

    def more_foreign_probes(self, conversation_id: str, item_id: str) -> list[Probe]:
        # An item reference only resolves to items the caller's key stored.
        reference = {"type": "item_reference", "id": item_id}
        return [Probe(self.create_conversation(items=[reference]), self.not_found_status, undo=self.undo_create,
                      feature="item_reference items")]

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Unknown ids must be 404 (any other answer is a failure); the list limit's documented bounds
        must be enforced; everything else here is input OpenAI refuses without documenting a rule a client
        could rely on (unknown fields, unknown values, wrong types, malformed JSON): accepting it, or another
        4xx, is a warning."""
        conversation_id = fixture["conversation"]
        p = self.pagination
        answer, documented, refused = Grounds.ANSWER, Grounds.DOCUMENTED, Grounds.VENDOR_REFUSES
        cases: list[tuple[Request, int, Grounds]] = [
            (self.get_conversation(UNKNOWN_CONVERSATION), 404, answer),
            (self.delete_conversation(UNKNOWN_CONVERSATION), 404, answer),
            (self.list_items(UNKNOWN_CONVERSATION), 404, answer),
            (self.get_item(conversation_id, UNKNOWN_ITEM), 404, answer),
            (self.delete_item(conversation_id, UNKNOWN_ITEM), 404, answer),
            # "limit can range between 1 and 100".
            (self.list_items(conversation_id, paging=p.paging.first(p.min_limit - 1)), 400, documented),
            (self.list_items(conversation_id, paging=p.paging.first(p.max_limit + 1)), 400, documented),
            (self.list_items(conversation_id, order="sideways"), 400, refused),
            (self.request("createConversation", content=b'{"metadata": {"a": "b"'), 400, refused),
            (self.request("createConversation", json={"colour": "blue"}), 400, refused),
            (self.request("createConversation", json={"metadata": {"k": 1}}), 400, refused),
            (self.request("updateConversation", json={}, conversation_id=conversation_id), 400, refused),
            (self.request("createConversationItems", json={"items": "x"}, conversation_id=conversation_id), 400,
             refused),
            (self.create_items(conversation_id, [{"type": "no_such_type"}]), 400, refused),
            # Not in the contract's paths, but OpenAI answers any unknown URL with a 404 in its envelope.
            (Request("(unknown route)", "GET", "/conversations/{conversation_id}/no_such_route",
                     {"conversation_id": conversation_id}), 404, documented),
        ]
        return [Probe(request, status, undo=self._undo_created, grounds=grounds)
                for request, status, grounds in cases]

    def _undo_created(self, exchange: Exchange) -> Request | None:
        """Undo a probe wrongly accepted: delete a conversation it created (never the fixture)."""
        return self.undo_create(exchange) if exchange.request.operation_id == "createConversation" else None

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        conversation_id = fixture["conversation"]
        pairs, key_len, value_len, items = (
            self.max_pairs,
            self.max_key_length,
            self.max_value_length,
            self.max_items_per_call,
        )
        metadata = {
            "pairs": lambda n: {f"key_{i:02d}": f"value {i}" for i in range(n)},
            "key": lambda n: {"k" * n: "v"},
            "value": lambda n: {"k": "v" * n},
        }
        cases = []
        for label, build, limit in (
            (f"{{n}} metadata pairs (limit {pairs})", metadata["pairs"], pairs),
            (f"a {{n}}-character metadata key (limit {key_len})", metadata["key"], key_len),
            (f"a {{n}}-character metadata value (limit {value_len})", metadata["value"], value_len),
        ):
            for n, accepted in ((limit + 1, False), (limit, True)):
                text = label.format(n=n)
                cases.append(
                    LimitCase(
                        f"create with {text}", self.create_conversation(metadata=build(n)), accepted,
                        undo=self.undo_create,
                    )
                )
                cases.append(
                    LimitCase(
                        f"update with {text}",
                        self.update_conversation(conversation_id, build(n)),
                        accepted,
                        on_fixture=True,
                    )
                )
        for n, accepted in ((items + 1, False), (items, True)):
            batch = [self.sample_item(i) for i in range(n)]
            text = f"{n} items (limit {items})"
            cases.append(
                LimitCase(f"create with {text}", self.create_conversation(items=batch), accepted, undo=self.undo_create)
            )
            cases.append(LimitCase(f"add {text}", self.create_items(conversation_id, batch), accepted, on_fixture=True))
        return cases

    # --- sample data ----------------------------------------------------------------------------

    def sample_item(self, index: int) -> Any:
        return {"type": "message", "role": "user", "content": f"conformance item {index}"}

    def sample_metadata(self, variant: int) -> dict[str, str]:
        return {f"topic_{variant}": "conformance", f"variant_{variant}": str(variant)}

    # --- reading answers ------------------------------------------------------------------------

    def conversation_id(self, body: Any) -> str | None:
        value = body.get("id") if isinstance(body, dict) else None
        return value if isinstance(value, str) and value else None

    def conversation_metadata(self, body: Any) -> Any:
        return body.get("metadata", MISSING) if isinstance(body, dict) else MISSING

    def created_at(self, body: Any) -> Any:
        return body.get("created_at", MISSING) if isinstance(body, dict) else MISSING

    def item_id(self, item: Any) -> str | None:
        value = item.get("id") if isinstance(item, dict) else None
        return value if isinstance(value, str) and value else None

    def created_items(self, body: Any) -> list[Any] | None:
        return body["data"] if self.page(body) is not None else None

    # --- family rules ---------------------------------------------------------------------------

    def metadata_update_problems(self, given: Any, stored: Any) -> list[str]:
        # The spec chose "replace; null clears to {}", but OpenAI documents neither: a server that merges
        # is as faithful. What any update promises is that the pairs sent are stored.
        if given is None and stored in ({}, None):
            return []
        if not isinstance(stored, dict):
            return [f"metadata {stored!r} is not an object"]
        if isinstance(given, dict):
            missing = {key: value for key, value in given.items() if stored.get(key) != value}
            if missing:
                return [f"the pairs sent are not all stored: {missing} missing from {stored}"]
        return []

    def metadata_when_omitted(self) -> tuple[Any, ...]:
        # Undocumented at OpenAI: `{}` is the likely value, `null` what its generated examples show.
        return ({}, None)

    def deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        expected = {"id": conversation_id, "object": "conversation.deleted", "deleted": True}
        if not isinstance(body, dict):
            return [f"expected a deletion receipt {expected}"]
        return [
            f"{key} is {body.get(key, '(missing)')!r}, expected {value!r}"
            for key, value in expected.items()
            if body.get(key, MISSING) != value
        ]

    def item_deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        if not isinstance(body, dict):
            return ["expected the parent conversation object"]
        problems = []
        if body.get("id") != conversation_id:
            problems.append(
                f"id is {body.get('id', '(missing)')!r}, expected the parent conversation {conversation_id!r}"
            )
        if body.get("object") != "conversation":
            problems.append(f"object is {body.get('object', '(missing)')!r}, expected 'conversation'")
        return problems


PROFILE = OpenAIProfile()
