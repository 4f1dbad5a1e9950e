"""The Venna gateway family profile: OpenAI's conversations under Venna's items, credentials and 501.

Venna copies OpenAI's conversation objects, deletion receipt and four-key error envelope, so the profile is
OpenAI's (`conformance.profiles.openai`) with what differs:
- items are wrapped (`{type, index, data}`), have no id and no operation of their own: the `index` stands
  in for an id (`items.ITEM_PAGING`) and the item walk (`item_walk`) holds them to "exactly as sent";
- no valid credential (none, or a token shaped like no Venna key) is the x402 402 challenge, its body the
  contract's `PaymentChallenge` and its `PAYMENT-REQUIRED` header the base64 of a challenge; a payment
  signature is a credential of its own, so tenant isolation also sends the second key as one;
- every operation may answer the declared 501 `not_implemented` (the gateway today): the checks report it
  unsupported (`Profile.not_implemented_problems`, the body held to the contract's schema);
- what Venna does not document is not held against a server: the limits (no `limits` check), the list's
  bounds, default limit and order (refusing `limit` 0 or 101 with another 4xx, or accepting it, warns),
  update's merge or replace, an `after` naming no item.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import cached_property
from typing import Any, ClassVar

from conformance.context import CheckFunction
from conformance.paging import CursorPaging
from conformance.profiles.openai import UNKNOWN_CONVERSATION, OpenAIProfile
from conformance.profiles.venna.item_walk import item_walk
from conformance.profiles.venna.items import ITEM_PAGING, WrappedItems
from conformance.shapes.conversation_items.lifecycle import lifecycle
from conformance.vocabulary import Exchange, Fixture, Grounds, LimitCase, Probe, Request

PAYMENT_REQUIRED_HEADER = "payment-required"
PAYMENT_SIGNATURE_HEADER = "PAYMENT-SIGNATURE"


def payment_signature(key: str) -> str:
    """A payment signature made from `key`: the base64 of an x402 v2 payment payload (not a real payment:
    a gateway that verifies payments refuses it, and tenant isolation then skips this way of paying)."""
    payload = {"x402Version": 2, "accepted": {"scheme": "upto", "network": "base", "asset": "USDC"},
               "payload": {"signature": key}}
    return base64.b64encode(json.dumps(payload).encode()).decode()


class VennaProfile(OpenAIProfile):
    name = "venna"
    title = "Venna gateway Conversations"
    spec_file = "venna-conversations.yaml"
    unauthenticated_status: ClassVar[int] = 402
    conversation_param: ClassVar[str] = "id"
    single_item_operations: ClassVar[bool] = False
    items_body_schema: ClassVar[str] = "CreateItemsBody"
    item_paging: ClassVar[CursorPaging] = ITEM_PAGING
    checks: ClassVar[tuple[str | CheckFunction, ...]] = (
        lifecycle,
        item_walk,
        "auth",
        "tenant_isolation",
        "error_envelope",
    )

    # --- the item list ----------------------------------------------------------------------------

    @cached_property
    def item_listing(self) -> WrappedItems:
        """The listing the item walk seeds and walks (it remembers what it sent)."""
        return WrappedItems(self)

    # --- credentials ------------------------------------------------------------------------------

    def malformed_credentials(self) -> list[dict[str, str]]:
        return [{"Authorization": "Bearer not-a-venna-key"}, {PAYMENT_SIGNATURE_HEADER: "not a payment!"}]

    def credential_schemes(self, key: str) -> dict[str, dict[str, str]]:
        return {**super().credential_schemes(key),
                PAYMENT_SIGNATURE_HEADER: {PAYMENT_SIGNATURE_HEADER: payment_signature(key)}}

    def error_problems(self, exchange: Exchange) -> list[str]:
        problems = super().error_problems(exchange)
        if exchange.status == self.unauthenticated_status:
            problems += self.challenge_header_problems(exchange)
        return problems

    def challenge_header_problems(self, exchange: Exchange) -> list[str]:
        """The 402's `PAYMENT-REQUIRED` header must be the base64 of an x402 challenge (x402 v2 clients read
        the challenge there)."""
        header = exchange.headers.get(PAYMENT_REQUIRED_HEADER)
        if header is None:
            return ["no PAYMENT-REQUIRED header (the base64 of the x402 challenge)"]
        try:
            challenge = json.loads(base64.b64decode(header, validate=True))
        except (binascii.Error, ValueError):
            return [f"a PAYMENT-REQUIRED header that is not the base64 of JSON: {header[:100]!r}"]
        schema = {"$ref": "#/components/schemas/PaymentChallenge"}
        return [f"PAYMENT-REQUIRED: {problem}" for problem in self.spec.schema_problems(schema, challenge)]

    # --- requests ---------------------------------------------------------------------------------

    def more_foreign_probes(self, conversation_id: str, item_id: str) -> list[Probe]:
        return []  # Venna's items cannot reference another item

    def metadata_when_omitted(self) -> tuple[Any, ...]:
        return ({},)  # the contract's Conversation.metadata is an object, not nullable

    def metadata_updates(self) -> tuple[Any, ...]:
        return (self.sample_metadata(2), {})  # metadata is required and typed: {} clears it, null is invalid

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Unknown conversations must be 404 (anything else fails); everything else here is input the
        contract refuses without Venna documenting a rule (the list's bounds are inferred too): another 4xx,
        or accepting it, is a warning."""
        cid = fixture["conversation"]
        p = self.pagination
        answer, refused = Grounds.ANSWER, Grounds.VENDOR_REFUSES
        cases: list[tuple[Request, int, Grounds]] = [
            (self.get_conversation(UNKNOWN_CONVERSATION), 404, answer),
            (self.update_conversation(UNKNOWN_CONVERSATION, self.sample_metadata(2)), 404, answer),
            (self.delete_conversation(UNKNOWN_CONVERSATION), 404, answer),
            (self.list_items(UNKNOWN_CONVERSATION), 404, answer),
            (self.create_items(UNKNOWN_CONVERSATION, [self.sample_item(0)]), 404, answer),
            (self.list_items(cid, paging=p.paging.first(p.min_limit - 1)), 400, refused),
            (self.list_items(cid, paging=p.paging.first(p.max_limit + 1)), 400, refused),
            (self.list_items(cid, order="sideways"), 400, refused),
            (self.request("createConversation", content=b'{"metadata": {"a": "b"'), 400, refused),
            (self.request("createConversation", json={"metadata": {"k": 1}}), 400, refused),
            (self.on_conversation("updateConversation", cid, json={}), 400, refused),
            (self.on_conversation("updateConversation", cid, json={"metadata": None}), 400, refused),
            (self.on_conversation("createConversationItems", cid, json={"items": "x"}), 400, refused),
            (self.create_items(cid, [{"type": "message", "content": "no role"}]), 400, refused),
        ]
        return [Probe(request, status, undo=self._undo_created, grounds=grounds) for request, status, grounds in cases]

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        return []  # Venna documents no limits (the contract's are OpenAI's, inferred)

    # --- reading answers --------------------------------------------------------------------------

    def item_id(self, item: Any) -> str | None:
        index = item.get("index") if isinstance(item, dict) else None
        ok = isinstance(index, int) and not isinstance(index, bool) and index >= 0
        return str(index) if ok else None


PROFILE = VennaProfile()
