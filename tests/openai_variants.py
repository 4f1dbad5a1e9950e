"""Variants of the OpenAI mock for proving the conformance suite: broken ones and faithful ones.

Run one as a server: ``python -m tests.openai_variants VARIANT --port 0``.

- ``BROKEN``: each changes exactly one behaviour of the mock so that it breaks the vendor's contract;
  the suite must exit 1 on every one, naming the check in ``caught_by``.
- ``FAITHFUL``: each makes a different choice where OpenAI's behaviour is undocumented (or allowed to
  vary); the suite must still exit 0, so its checks hold only what the vendor promises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import orjson
import yaml

from mockserver.errors import ErrorResponse, MethodNotAllowed, MockError, RouteNotFound
from mockserver.families import openai as faithful
from mockserver.family import Family
from mockserver.responses import JSONResponse, json_response
from tests.variants import (
    Edited,
    TenantBlindStore,
    Variant,
    edit_requests,
    no_key_needed,
    serve_variant,
    with_errors,
    with_handlers,
    with_spec,
)


def _envelope_without_type(error: MockError) -> ErrorResponse:
    rendered = faithful.render_error(error)
    rendered.body["error"].pop("type", None)
    return rendered


class _PageRewriter(faithful.ConversationsHandlers):
    """Base for variants that tamper with item pages: fetch a different window, then rewrite it."""

    def fetch_limit(self, limit: int, after: str | None) -> int:
        return limit

    def rewrite(self, page: dict, after: str | None) -> dict:
        return page

    async def list_conversation_items(self, conversation_id: str, limit: int = 20, order: str = "desc",
                                      after: str | None = None, include: list | None = None) -> JSONResponse:
        fetch = min(self.fetch_limit(limit, after), 100)
        response = await super().list_conversation_items(conversation_id, fetch, order, after, include)
        return json_response(self.rewrite(orjson.loads(response.body), after))


class _CursorSkipsItem(_PageRewriter):
    """Every page after the first silently drops the item right after the cursor."""

    def fetch_limit(self, limit: int, after: str | None) -> int:
        return limit + 1 if after else limit

    def rewrite(self, page: dict, after: str | None) -> dict:
        if after and page["data"]:
            page["data"] = page["data"][1:]
            page["first_id"] = page["data"][0]["id"] if page["data"] else None
            page["last_id"] = page["data"][-1]["id"] if page["data"] else None
        return page


class _HasMoreAlwaysFalse(_PageRewriter):
    def rewrite(self, page: dict, after: str | None) -> dict:
        page["has_more"] = False
        return page


class _LimitIgnored(_PageRewriter):
    """Pages are always up to 100 items, whatever ``limit`` says."""

    def fetch_limit(self, limit: int, after: str | None) -> int:
        return 100


class _DeleteLeavesReadable(faithful.ConversationsHandlers):
    async def delete_conversation(self, conversation_id: str) -> JSONResponse:
        self._conversation(faithful.current_tenant(), conversation_id)
        return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


class _MergingUpdate(faithful.ConversationsHandlers):
    """Update merges the new metadata into the old instead of replacing it (undocumented at OpenAI)."""

    async def update_conversation(self, conversation_id: str, body: dict) -> JSONResponse:
        tenant = faithful.current_tenant()
        old = self._conversation(tenant, conversation_id)
        merged = {**old, "metadata": {**old["metadata"], **(body.get("metadata") or {})}}
        self.store.collection(tenant, faithful.CONVERSATIONS).replace(conversation_id, merged)
        return json_response(merged)


class _EmptyPageIdsAreEmptyStrings(_PageRewriter):
    """``first_id``/``last_id`` are ``""`` on an empty page (the official spec types them non-null)."""

    def rewrite(self, page: dict, after: str | None) -> dict:
        if not page["data"]:
            page["first_id"] = page["last_id"] = ""
        return page


class _UnknownCursorIs400(faithful.ConversationsHandlers):
    async def list_conversation_items(self, conversation_id: str, limit: int = 20, order: str = "desc",
                                      after: str | None = None, include: list | None = None) -> JSONResponse:
        try:
            return await super().list_conversation_items(conversation_id, limit, order, after, include)
        except faithful.NotFound as error:
            if error.field == ("after",):
                raise MockError(f"Invalid 'after': '{after}'.", field=("after",), reason="invalid_value",
                                status=400) from None
            raise


def _wrong_method_is_404(error: MockError) -> ErrorResponse:
    if isinstance(error, MethodNotAllowed):
        error = RouteNotFound(error.method, error.path)
    return faithful.render_error(error)


class _ItemsLackStatus(_PageRewriter):
    """Listed items have no ``status``, which the contract requires."""

    def rewrite(self, page: dict, after: str | None) -> dict:
        page["data"] = [{key: value for key, value in item.items() if key != "status"} for item in page["data"]]
        return page


class _CrashOnInclude(faithful.ConversationsHandlers):
    """Listing with ``include`` crashes (500)."""

    async def list_conversation_items(self, conversation_id: str, limit: int = 20, order: str = "desc",
                                      after: str | None = None, include: list | None = None) -> JSONResponse:
        if include:
            raise RuntimeError("include is not implemented")
        return await super().list_conversation_items(conversation_id, limit, order, after, include)


def _unknown_route_as_problem(error: MockError) -> ErrorResponse:
    """Unknown URLs answered in Connexion's default problem shape instead of OpenAI's envelope."""
    if isinstance(error, RouteNotFound) and not isinstance(error, MethodNotAllowed):
        return ErrorResponse(404, {"type": "about:blank", "title": "Not Found", "status": 404,
                                   "detail": "The requested URL was not found on the server."})
    return faithful.render_error(error)


def _allow_32_metadata_pairs(spec: dict) -> None:
    spec["components"]["schemas"]["Metadata"]["maxProperties"] = 32
    spec["components"]["schemas"]["StoredMetadata"]["maxProperties"] = 32


_SPEC = yaml.safe_load(faithful.FAMILY.spec_path.read_text())
_INCLUDE_VALUES = set(_SPEC["components"]["schemas"]["IncludeEnum"]["enum"])
_ITEM_STATUSES = {"in_progress", "completed", "incomplete"}
# The body fields each operation knows; a lenient server drops the others.
_KNOWN_FIELDS = [
    (re.compile(r"/conversations$"), {"metadata", "items"}),
    (re.compile(r"/conversations/[^/]+$"), {"metadata"}),
    (re.compile(r"/conversations/[^/]+/items$"), {"items"}),
]


def _lenient(method: str, path: str, query: str, body: bytes) -> Edited | None:
    """As many OpenAI-compatible servers are: unknown body fields are ignored, an unknown input item
    ``status`` is ignored (the server sets its own), unknown ``include`` values are ignored."""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if name not in ("include", "include[]") or value in _INCLUDE_VALUES]
    fields = next((known for pattern, known in _KNOWN_FIELDS if pattern.search(path)), None)
    try:
        parsed = json.loads(body) if body and method == "POST" and fields is not None else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and fields is not None:
        parsed = {key: value for key, value in parsed.items() if key in fields}
        for item in parsed.get("items") if isinstance(parsed.get("items"), list) else []:
            if isinstance(item, dict) and "status" in item and item["status"] not in _ITEM_STATUSES:
                del item["status"]
        body = json.dumps(parsed).encode()
    return Edited(urlencode(kept) if kept != pairs else query, body)


class _NoItemReferences(faithful.ConversationsHandlers):
    """The server has no ``item_reference`` items: any is refused as an unknown type, whoever's item it names."""

    @staticmethod
    def _refuse_references(items: object) -> None:
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and item.get("type") == "item_reference":
                raise MockError("Invalid value: 'item_reference'. Supported values are: 'message'.",
                                field=("items", index, "type"), reason="invalid_value", status=400)

    async def create_conversation(self, body: dict | None = None) -> JSONResponse:
        self._refuse_references((body or {}).get("items"))
        return await super().create_conversation(body)

    async def create_conversation_items(self, conversation_id: str, body: dict,
                                        include: list | None = None) -> JSONResponse:
        self._refuse_references(body.get("items"))
        return await super().create_conversation_items(conversation_id, body, include)


def _handlers(handlers: type) -> Callable[[], Family]:
    return with_handlers(faithful.FAMILY, handlers)


def _errors(render: Callable[[MockError], ErrorResponse]) -> Callable[[], Family]:
    return with_errors(faithful.FAMILY, render)


BROKEN: dict[str, Variant] = {
    "envelope-without-type": Variant("error bodies lack error.type", "error_envelope",
                                     _errors(_envelope_without_type)),
    "unknown-route-problem-json": Variant("unknown URLs get problem+json, not the envelope", "error_envelope",
                                          _errors(_unknown_route_as_problem)),
    "cursor-skips-item": Variant("a page after a cursor skips one item", "pagination",
                                 _handlers(_CursorSkipsItem)),
    "has-more-always-false": Variant("has_more is always false", "pagination",
                                     _handlers(_HasMoreAlwaysFalse)),
    "limit-ignored": Variant("limit is ignored (pages of up to 100)", "pagination", _handlers(_LimitIgnored)),
    "delete-leaves-readable": Variant("a deleted conversation stays readable", "lifecycle",
                                      _handlers(_DeleteLeavesReadable)),
    "cross-tenant-read": Variant("every key sees every tenant's data", "tenant_isolation",
                                 lambda: faithful.FAMILY, TenantBlindStore),
    "no-key-needed": Variant("requests without an API key are served", "auth", lambda: faithful.FAMILY,
                             wrap=no_key_needed()),
    "items-lack-status": Variant("listed items lack the required status", "schemathesis:response_schema_conformance",
                                 _handlers(_ItemsLackStatus)),
    "crash-on-include": Variant("listing with include is a 500", "schemathesis:not_a_server_error",
                                _handlers(_CrashOnInclude)),
    "accepts-17-metadata-pairs": Variant("metadata with 17 pairs is accepted", "limits",
                                         with_spec(faithful.FAMILY, _allow_32_metadata_pairs)),
}


FAITHFUL: dict[str, Variant] = {
    "merging-update": Variant("update merges metadata", "", _handlers(_MergingUpdate)),
    "empty-page-ids-empty-strings": Variant("empty pages have first_id/last_id ''", "",
                                            _handlers(_EmptyPageIdsAreEmptyStrings)),
    "unknown-cursor-400": Variant("an unknown after cursor is a 400", "", _handlers(_UnknownCursorIs400)),
    "wrong-method-404": Variant("a wrong method is 404 like an unknown URL", "",
                                _errors(_wrong_method_is_404)),
    # Lenient where a correct client cannot tell: reported as warnings, not failures.
    "ignores-unknown-input": Variant("unknown fields, item statuses and include values are ignored", "",
                                     lambda: faithful.FAMILY, wrap=edit_requests(_lenient)),
    # Without a documented feature: reported as unsupported.
    "no-item-references": Variant("item_reference items are refused (400 invalid_value) for anyone's item", "",
                                  _handlers(_NoItemReferences)),
}
# What each faithful variant must show in the report besides passing: (severity, check) pairs.
FAITHFUL_FINDINGS: dict[str, set[tuple[str, str]]] = {
    "ignores-unknown-input": {("warning", "error_envelope")},
    "no-item-references": {("unsupported", "tenant_isolation")},
}
VARIANTS = {**BROKEN, **FAITHFUL}


if __name__ == "__main__":
    serve_variant(VARIANTS, __doc__)
