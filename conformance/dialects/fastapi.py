"""The FastAPI (pydantic v2) error dialect: what a FastAPI-based vendor's errors look like, as rules.

A request that fails validation is answered 422 `{"detail": [{loc, msg, type, ...}]}`, each entry's
`loc` starting with where (`["query", "limit"]`, `["body", "rating"]`) and `type` naming pydantic's
reason; every other error is `{"detail": "<text>"}` (an unknown URL: 404 `{"detail": "Not Found"}`).
`FastAPIErrors` is the profile mix-in: it translates the shared checks' neutral `Reason`s into
pydantic's error types.
"""

from __future__ import annotations

from typing import ClassVar

from conformance.profiles.base import Profile
from conformance.vocabulary import NOT_JSON, AnswerRule, Exchange, Grounds, Probe, Reason, Request, Undo

# The pydantic v2 error types that report each neutral reason.
PYDANTIC_TYPES: dict[Reason, tuple[str, ...]] = {
    Reason.BELOW_MINIMUM: ("greater_than_equal",),
    Reason.ABOVE_MAXIMUM: ("less_than_equal",),
    Reason.NOT_AN_INTEGER: ("int_parsing",),
    Reason.NOT_A_UUID: ("uuid_parsing",),
    Reason.NOT_ONE_OF: ("enum", "literal_error"),
    Reason.NOT_A_LIST: ("list_type",),
    Reason.TOO_LONG: ("too_long",),
    Reason.NOT_AN_OBJECT: ("dict_type",),
    Reason.MISSING: ("missing",),
    Reason.MALFORMED_JSON: ("json_invalid",),
}


def pydantic_types(reasons: tuple[Reason, ...]) -> tuple[str, ...]:
    return tuple(kind for reason in reasons for kind in PYDANTIC_TYPES[reason])


def validation_problems(location: tuple[str | int, ...], reasons: tuple[Reason, ...] = ()) -> AnswerRule:
    """Rules on a FastAPI 422: `detail` is a list naming `location` (loc starting with it) with a pydantic
    v2 type reporting one of `reasons` (any type when none is given). Extra keys (input, ctx, url) are fine."""
    wanted = list(location)
    kinds = pydantic_types(reasons)

    def problems(exchange: Exchange) -> list[str]:
        body = exchange.json
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, list):
            return [f"a 422 detail list naming {wanted}: {exchange.excerpt()}"]
        entries = [e for e in detail if isinstance(e, dict) and isinstance(e.get("loc"), list)]
        named = [e for e in entries if e["loc"][: len(wanted)] == wanted]
        if not named:
            seen = [e.get("loc") for e in entries]
            return [f"detail names loc {wanted}; it names {seen}"]
        if kinds and not any(e.get("type") in kinds for e in named):
            return [f"detail for {wanted} has type {' or '.join(kinds)}; got {[e.get('type') for e in named]}"]
        return []

    return problems


def detail_text(exchange: Exchange) -> list[str]:
    """A non-422 FastAPI error: `{"detail": "<text>"}`."""
    body = exchange.json
    if body is NOT_JSON or not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return [f'a body {{"detail": "<text>"}}: {exchange.excerpt()}']
    return []


class FastAPIErrors(Profile):
    """Profile mix-in for a FastAPI-based family: 422 rejections naming loc and type, text details."""

    error_schema: ClassVar[str] = "HTTPError"
    rejection_status: ClassVar[int] = 422

    def rejection(self, request: Request, location: tuple[str | int, ...], *reasons: Reason, why: str = "",
                  grounds: Grounds = Grounds.VENDOR_REFUSES, undo: Undo | None = None) -> Probe:
        return Probe(request, self.rejection_status, why, validation_problems(location, reasons), undo=undo,
                     grounds=grounds)

    def not_found(self, request: Request, why: str = "", grounds: Grounds = Grounds.ANSWER) -> Probe:
        """A request for something that does not exist: 404 with a text detail (any other answer is a
        failure, unless `grounds` says the 404 is only the contract's choice)."""
        return Probe(request, self.not_found_status, why, detail_text, grounds=grounds)
