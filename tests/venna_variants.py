"""Variants of the Venna gateway mock for proving the conformance suite: broken ones and faithful ones.

Run one as a server: ``python -m tests.venna_variants VARIANT --port 0``.

- ``BROKEN``: each changes exactly one behaviour of the mock so that it breaks the contract; the suite
  must exit 1 on every one, naming the check in ``caught_by``.
- ``FAITHFUL``: each makes a different choice where Venna leaves the behaviour open, or answers as the
  gateway answers today (every operation its declared 501); the suite must still exit 0, reporting what
  ``FAITHFUL_FINDINGS`` says (warnings, unsupported operations) without failing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.errors import ErrorResponse, MockError, Unauthenticated
from mockserver.families import openai
from mockserver.families import venna as faithful
from mockserver.family import Family
from mockserver.responses import JSONResponse, json_response
from tests import openai_variants
from tests.variants import Edited, TenantBlindStore, Variant, edit_requests, serve_variant, with_errors, with_handlers

FAMILY = faithful.FAMILY
Handlers = faithful.VennaHandlers


def _credential_taken(headers: dict[bytes, bytes]) -> bool:
    """Whether the mock would take the request's credential (a Bearer token or a payment signature)."""
    bearer = headers.get(b"authorization", b"").decode("latin-1")
    if bearer[:7].lower() == "bearer " and faithful.tenant_of({"type": "http"}, bearer[7:]) is not None:
        return True
    signature = headers.get(b"payment-signature")
    return signature is not None and faithful.tenant_of({"type": "apiKey"}, signature.decode("latin-1")) is not None


def _answering(body_for: Callable[[str, str], dict], status: int = 501) -> Callable[[ASGIApp], ASGIApp]:
    """Every request with a credential the mock takes is answered ``status`` with ``body_for(method, path)``,
    whatever it asks (the gateway routes, authenticates, then says it has no such operation yet); the
    others go on to the mock (its 402 challenge)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not _credential_taken(dict(scope["headers"])):
                await app(scope, receive, send)
                return
            payload = json.dumps(body_for(scope["method"], scope["path"])).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})

        return serve

    return wrap


# --- broken -------------------------------------------------------------------------------------


class _IndexRestartsPerCall(Handlers):
    """Each add call numbers its items from 0 again (stored under fresh keys, listed by position)."""

    def _append_items(self, tenant: str, conversation_id: str, items: list[dict]) -> list[dict]:
        start = len(self.store.read(tenant, openai.items_of(conversation_id)))
        stored = [{"type": "input", "index": n, "data": item} for n, item in enumerate(items)]
        self.store.collection(tenant, openai.items_of(conversation_id)).insert_many(
            [(str(start + n), record) for n, record in enumerate(stored)])
        return stored


class _LastIdIsFirstId(Handlers):
    """A page's ``last_id`` names its first item, not its last."""

    async def list_items(self, id: str, limit: int = 20, order: str = "desc",
                         after: str | None = None) -> JSONResponse:
        page = json.loads((await super().list_items(id, limit, order, after)).body)
        page["last_id"] = page["first_id"]
        return json_response(page)


class _ContentRewritten(Handlers):
    """Text content is stored as OpenAI's parts (``[{"type": "input_text", "text": …}]``), not as sent."""

    def _append_items(self, tenant: str, conversation_id: str, items: list[dict]) -> list[dict]:
        rewritten = [{**item, "content": [{"type": "input_text", "text": item["content"]}]}
                     if isinstance(item.get("content"), str) else item for item in items]
        return super()._append_items(tenant, conversation_id, rewritten)


def _unauthenticated_is_401(error: MockError) -> ErrorResponse:
    """No valid credential: OpenAI's 401 envelope instead of the x402 challenge."""
    if isinstance(error, Unauthenticated):
        return openai.render_error(error)
    return faithful.render_error(error)


def _not_implemented_outside_envelope(method: str, path: str) -> dict:
    return {"message": f"{method} {path}: Not Implemented"}


# --- faithful -----------------------------------------------------------------------------------


class _IndexFromOne(Handlers):
    """Indexes start at 1 (Venna's sample shows 0; the contract infers 0-based): `after` follows them."""

    def _append_items(self, tenant: str, conversation_id: str, items: list[dict]) -> list[dict]:
        stored = super()._append_items(tenant, conversation_id, items)
        shifted = [{**record, "index": record["index"] + 1} for record in stored]
        collection = self.store.collection(tenant, openai.items_of(conversation_id))
        for record in shifted:
            collection.replace(str(record["index"] - 1), record)
        return shifted

    async def list_items(self, id: str, limit: int = 20, order: str = "desc",
                         after: str | None = None) -> JSONResponse:
        position = None if after is None else str(int(after) - 1)
        return await super().list_items(id, limit, order, position)


class _MergingUpdate(openai_variants._MergingUpdate, Handlers):
    """Update merges the new metadata into the old (the contract infers replace; Venna documents neither)."""


def _malformed_bearer_401(app: ASGIApp) -> ASGIApp:
    """A Bearer token shaped like no Venna credential gets OpenAI's 401 (Venna documents no 401; an invalid
    key might get one); a request without any credential still gets the 402 challenge."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        bearer = headers.get(b"authorization", b"").decode("latin-1")
        if scope["type"] == "http" and bearer and not _credential_taken(headers):
            payload = json.dumps({"error": {"message": "Invalid API key.", "type": "invalid_request_error",
                                            "param": None, "code": "invalid_api_key"}}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        await app(scope, receive, send)

    return serve


def _limit_clamped(method: str, path: str, query: str, body: bytes) -> Edited | None:
    """``limit`` outside 1..100 is clamped into it instead of refused (the bounds are inferred)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    clamped = [(name, str(min(max(int(value), 1), 100)) if name == "limit" and value.lstrip("-").isdigit()
                else value) for name, value in pairs]
    return Edited(urlencode(clamped), body) if clamped != pairs else None


def _handlers(handlers: type) -> Callable[[], Family]:
    return with_handlers(FAMILY, handlers)


BROKEN: dict[str, Variant] = {
    "index-restarts-per-call": Variant("each add call numbers its items from 0 again", "item_walk",
                                       _handlers(_IndexRestartsPerCall)),
    "last-id-not-last": Variant("a page's last_id is its first item's index", "item_walk",
                                _handlers(_LastIdIsFirstId)),
    "unauthenticated-401": Variant("no credential gets a 401 {\"error\": …}, not the 402 challenge", "auth",
                                   with_errors(FAMILY, _unauthenticated_is_401)),
    "501-outside-envelope": Variant("every operation answers 501 in a body that is not the declared one",
                                    "error_envelope", lambda: FAMILY,
                                    wrap=_answering(_not_implemented_outside_envelope)),
    "content-rewritten": Variant("items come back with their text content rewritten into parts", "item_walk",
                                 _handlers(_ContentRewritten)),
    "cross-tenant-read": Variant("every credential sees every workspace's conversations", "tenant_isolation",
                                 lambda: FAMILY, TenantBlindStore),
}

FAITHFUL: dict[str, Variant] = {
    "index-from-1": Variant("item indexes start at 1", "", _handlers(_IndexFromOne)),
    "merging-update": Variant("update merges metadata", "", _handlers(_MergingUpdate)),
    # Where a correct client cannot tell: reported as warnings, not failures.
    "malformed-bearer-401": Variant("a malformed Bearer token gets a 401 in the envelope", "", lambda: FAMILY,
                                    wrap=_malformed_bearer_401),
    "limit-clamped": Variant("limit outside 1..100 is clamped, not refused", "", lambda: FAMILY,
                             wrap=edit_requests(_limit_clamped)),
}
# What each faithful variant must show in the report besides passing: (severity, check) pairs.
FAITHFUL_FINDINGS: dict[str, set[tuple[str, str]]] = {
    "malformed-bearer-401": {("warning", "auth")},
    "limit-clamped": {("warning", "error_envelope")},
}
VARIANTS = {**BROKEN, **FAITHFUL}


if __name__ == "__main__":
    serve_variant(VARIANTS, __doc__)
