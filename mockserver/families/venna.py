"""Venna gateway family: OpenAI's conversations with Venna's wrapped items and x402 auth, at ``/venna/v1``.

Behaviour follows ``openapi/venna-conversations.yaml`` and the choices written in its descriptions. The
conversation operations are OpenAI's (``mockserver.families.openai.ConversationsHandlers``, shared, not
copied); what differs is Venna's:

- items are stored exactly as sent, wrapped as ``{"type": "input", "index": n, "data": item}``, with
  ``index`` 0-based per conversation and never reused; lists name items by their index as a decimal string
  (``first_id``/``last_id``/``after``);
- credentials: ``Authorization: Bearer vk_…``, a JWT-shaped bearer token or a ``PAYMENT-SIGNATURE``
  header (base64 of a JSON object); anything else, or nothing, gets the x402 402 challenge. Each key,
  each JWT account and each payment signature is its own workspace;
- ``declared_body`` renders the ``not_implemented`` 501 the gateway answers today, naming the operation.

Other errors (400, 404, 429) are worded as OpenAI words them, in the same four-key envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import typing as t

from mockserver.auth import current_tenant
from mockserver.errors import ErrorResponse, MockError, Unauthenticated
from mockserver.families import openai
from mockserver.family import Family
from mockserver.paging import offset_page
from mockserver.responses import JSONResponse, json_response

BASE_PATH = "/venna/v1"
GATEWAY_PREFIX = "/v1"  # the gateway's own base path, which its messages name
NOT_IMPLEMENTED_MESSAGE = "Endpoint '{method} {path}' is not implemented yet on Venna gateway"

# ---------------------------------------------------------------------------------------------
# Credentials → workspaces

_WORKSPACE_KEY = re.compile(r"vk_[A-Za-z0-9_-]+")
_JWT = re.compile(r"[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")


def _json_object(encoded: str, *, urlsafe: bool) -> dict | None:
    """The JSON object ``encoded`` holds in base64 (or base64url, unpadded), or None."""
    try:
        if urlsafe:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        else:
            raw = base64.b64decode(encoded, validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: nested too deep to parse
        return None
    return value if isinstance(value, dict) else None


def tenant_of(scheme: t.Mapping[str, t.Any], credential: str) -> str | None:
    """The workspace a credential belongs to, or None if Venna would not take it.

    A ``vk_`` key is its own workspace, named by the key as in every family; a ``PAYMENT-SIGNATURE`` is its
    own payer when it is base64 of a JSON object (base64 has no ``_``: it never names a key's workspace); a
    JWT belongs to its account, ``account:<sub>`` (the token itself when the payload names no account).
    The mock checks no signature: the shape decides."""
    credential = credential.strip()
    if scheme.get("type") == "apiKey":
        decoded = _json_object(credential, urlsafe=False) if credential else None
        return credential if decoded is not None else None
    if _WORKSPACE_KEY.fullmatch(credential):
        return credential
    jwt = _JWT.fullmatch(credential)
    if jwt is None:
        return None
    claims = _json_object(jwt.group(1), urlsafe=True) or {}
    subject = claims.get("sub")
    return f"account:{subject}" if isinstance(subject, str) and subject else credential


# ---------------------------------------------------------------------------------------------
# Handlers


class VennaHandlers(openai.ConversationsHandlers):
    """The six operations: OpenAI's conversations, Venna's items.

    No operation removes an item, so an item's ``index`` is also its position in the conversation: pages
    are cut by position, in O(log n + page)."""

    def operations(self) -> dict[str, t.Callable]:
        return {
            "createConversation": self.create_conversation,
            "getConversation": self.get,
            "updateConversation": self.update,
            "deleteConversation": self.delete,
            "createConversationItems": self.create_items,
            "listConversationItems": self.list_items,
        }

    def cursor_of(self, item: dict) -> str:
        return str(item["index"])

    def _append_items(self, tenant: str, conversation_id: str, items: list[dict]) -> list[dict]:
        """Wrap ``items`` with the conversation's next indexes and store them, as sent."""
        if not items:
            return []
        start = len(self.store.read(tenant, openai.items_of(conversation_id)))
        stored = [{"type": "input", "index": start + n, "data": item} for n, item in enumerate(items)]
        self.store.collection(tenant, openai.items_of(conversation_id)).insert_many(
            [(str(record["index"]), record) for record in stored])  # checks the caps
        return stored

    # Venna names the path parameter ``id``; the shared handlers call it ``conversation_id``.

    async def get(self, id: str) -> JSONResponse:
        return await self.get_conversation(id)

    async def update(self, id: str, body: dict) -> JSONResponse:
        return await self.update_conversation(id, body)

    async def delete(self, id: str) -> JSONResponse:
        return await self.delete_conversation(id)

    async def create_items(self, id: str, body: dict) -> JSONResponse:
        return await self.create_conversation_items(id, body)

    async def list_items(self, id: str, limit: int = 20, order: str = "desc",
                         after: str | None = None) -> JSONResponse:
        """Items whose index is greater (``asc``) or smaller (``desc``) than ``after``; it need not exist."""
        tenant = current_tenant()
        self._conversation(tenant, id)
        items = self.store.read(tenant, openai.items_of(id))
        total, descending = len(items), order != "asc"
        cursor = None if after is None else int(after)  # the contract lets only decimal strings through
        if cursor is None:
            skipped = 0
        elif descending:
            skipped = total - min(cursor, total)  # the newest items, from index ``after`` up
        else:
            skipped = min(cursor + 1, total)  # the oldest items, up to index ``after``
        page = offset_page(items, offset=skipped, limit=limit, descending=descending)
        return json_response(openai.item_list(page.records, page.has_more, self.cursor_of))


# ---------------------------------------------------------------------------------------------
# Errors: x402's challenge, OpenAI's envelope, the declared 501

PAYMENT_CHALLENGE = {
    "x402Version": 2,
    "error": "payment required: authorize a USDC maximum to continue",
    "accepts": [{"scheme": "upto", "network": "base", "asset": "USDC"}],
}
PAYMENT_REQUIRED_HEADER = base64.b64encode(json.dumps(PAYMENT_CHALLENGE, separators=(",", ":")).encode()).decode()


def render_error(error: MockError) -> ErrorResponse:
    """No valid credential: the 402 challenge (body and ``PAYMENT-REQUIRED`` header); else OpenAI's envelope."""
    if isinstance(error, Unauthenticated):
        return ErrorResponse(402, PAYMENT_CHALLENGE, {"payment-required": PAYMENT_REQUIRED_HEADER})
    return openai.render_error(error)


_ROUTES = (  # the gateway's route templates, by the request path below the base path
    (re.compile(r"/conversations/?"), "/conversations"),
    (re.compile(r"/conversations/[^/]+/items/?"), "/conversations/{id}/items"),
    (re.compile(r"/conversations/[^/]+/?"), "/conversations/{id}"),
)


def gateway_route(path: str) -> str:
    """The gateway's route template for a request path as the client sent it (to the mock or the gateway):
    ``/venna/v1/conversations/conv_1/items`` → ``/v1/conversations/{id}/items``."""
    path = path.split("?", 1)[0]
    for prefix in (BASE_PATH, GATEWAY_PREFIX):
        if path.startswith(prefix + "/"):
            path = path[len(prefix):]
            break
    for pattern, template in _ROUTES:
        if pattern.fullmatch(path):
            return GATEWAY_PREFIX + template
    return GATEWAY_PREFIX + path


def not_implemented(method: str, path: str) -> dict:
    """The gateway's ``not_implemented`` error for an operation."""
    message = NOT_IMPLEMENTED_MESSAGE.format(method=method.upper(), path=gateway_route(path))
    return {"error": {"code": "not_implemented", "message": message, "param": None, "type": "not_implemented"}}


def declared_body(method: str, path: str, status: int) -> dict | None:
    """The body of a declared response that depends on the request: the 501 names the operation. Every other
    status: None (the contract's example)."""
    return not_implemented(method, path) if status == 501 else None


FAMILY = Family(
    name="venna",
    spec_file="venna-conversations.yaml",
    base_path=BASE_PATH,
    create_handlers=lambda store: VennaHandlers(store).operations(),
    render_error=render_error,
    description="Venna gateway Conversations API; credentials: Bearer vk_… or a JWT, or PAYMENT-SIGNATURE",
    tenant_of=tenant_of,
    declared_body=declared_body,
)
