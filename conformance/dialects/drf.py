"""The Django REST framework error dialect as drf-exceptions-hog renders it (PostHog's APIs).

Every exception DRF raises is answered `{"type", "code", "detail", "attr"}` with the exception's status:
- `type`: `validation_error` (400 from a serializer), `authentication_error` (401 and 403),
  `invalid_request` (404, malformed JSON, 405, 415...), `throttled_error` (429), `server_error` (the rest,
  PostHog's 402 and 409 included);
- `code`: the first error's DRF code, `invalid` rewritten to `invalid_input` (`required`, `null`, `blank`,
  `max_length`, `invalid_choice`, `not_found`, `parse_error`, `not_authenticated`...);
- `attr`: the field the error is about (nested fields joined with `__`), null for errors about no field.
Only the first error is reported. Views may also answer bodies of their own (PostHog: `{"error": ...}`);
those are the contract's to declare per operation, and a family's to check.

`DRFErrors` is the profile mix-in: rejections are 400 `validation_error`s naming the field in `attr` with
the DRF code for the neutral `Reason`, unknown things 404 `invalid_request`/`not_found`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from conformance.profiles.base import Profile
from conformance.vocabulary import NOT_JSON, AnswerRule, Exchange, Grounds, Probe, Reason, Request, Undo

# The DRF codes (after exceptions-hog's `invalid` → `invalid_input`) that report each neutral reason.
DRF_CODES: dict[Reason, tuple[str, ...]] = {
    Reason.BELOW_MINIMUM: ("min_value",),
    Reason.ABOVE_MAXIMUM: ("max_value",),
    Reason.NOT_AN_INTEGER: ("invalid_input",),
    Reason.NOT_A_UUID: ("invalid_input",),
    Reason.NOT_ONE_OF: ("invalid_choice",),
    Reason.NOT_A_LIST: ("not_a_list",),
    Reason.TOO_LONG: ("max_length",),
    Reason.NOT_AN_OBJECT: ("not_a_dict", "invalid_input"),
    Reason.MISSING: ("required",),
    Reason.MALFORMED_JSON: ("parse_error",),
}
# The `type` of each status exceptions-hog can give (statuses not listed: `server_error`).
TYPES_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: ("validation_error", "invalid_request"),
    401: ("authentication_error",),
    403: ("authentication_error",),
    404: ("invalid_request",),
    405: ("invalid_request",),
    406: ("invalid_request",),
    415: ("invalid_request",),
    429: ("throttled_error",),
}
ANY: Any = object()


def attr_of(location: tuple[str | int, ...]) -> str | None:
    """The `attr` exceptions-hog gives a field at `location` (("body", "a", "b") → "a__b"; the whole body
    or no field → None)."""
    path = [str(part) for part in location[1:]] if location and location[0] in ("body", "query", "path") else []
    return "__".join(path) or None


def hog_envelope(exchange: Exchange) -> list[str]:
    """What is wrong with an answer as an exceptions-hog error body (empty: nothing)."""
    body = exchange.json
    if body is NOT_JSON or not isinstance(body, dict):
        return [f'a body {{"type", "code", "detail", "attr"}}: {exchange.excerpt()}']
    problems = [f"{key} {body.get(key)!r} is not a string" for key in ("type", "code", "detail")
                if not isinstance(body.get(key), str)]
    if "attr" not in body or not (body["attr"] is None or isinstance(body["attr"], str)):
        problems.append(f"attr (a field name or null) in {exchange.excerpt()}")
    return problems


def hog_error(codes: tuple[str, ...] = (), *, attr: Any = ANY, types: tuple[str, ...] = ()) -> AnswerRule:
    """An exceptions-hog body with one of `codes` (any when empty), naming `attr` (None: no field; ANY:
    not checked), with one of `types` (default: the types exceptions-hog gives the answer's status)."""

    def problems(exchange: Exchange) -> list[str]:
        found = hog_envelope(exchange)
        if found:
            return found
        body = exchange.json
        wanted_types = types or TYPES_BY_STATUS.get(exchange.status, ("server_error",))
        if body["type"] not in wanted_types:
            found.append(f"type {' or '.join(wanted_types)} for a {exchange.status}, got {body['type']!r}")
        if codes and body["code"] not in codes:
            found.append(f"code {' or '.join(codes)}, got {body['code']!r} ({body['detail']!r})")
        if attr is not ANY and body["attr"] != attr:
            found.append(f"attr {attr!r} (the field refused), got {body['attr']!r}")
        return found

    return problems


def field_error(location: tuple[str | int, ...], reasons: tuple[Reason, ...] = ()) -> AnswerRule:
    """A 400 refusing the field at `location` for one of `reasons` (any reason when none is given)."""
    codes = tuple(code for reason in reasons for code in DRF_CODES[reason])
    if Reason.MALFORMED_JSON in reasons:
        return hog_error(("parse_error",), attr=None, types=("invalid_request",))
    return hog_error(codes, attr=attr_of(location), types=("validation_error",))


class DRFErrors(Profile):
    """Profile mix-in for a Django REST framework API rendering errors with drf-exceptions-hog."""

    error_schema: ClassVar[str] = "Error"
    rejection_status: ClassVar[int] = 400
    not_found_status: ClassVar[int] = 404

    def rejection(self, request: Request, location: tuple[str | int, ...], *reasons: Reason, why: str = "",
                  grounds: Grounds = Grounds.VENDOR_REFUSES, undo: Undo | None = None) -> Probe:
        return Probe(request, self.rejection_status, why, field_error(location, reasons), undo=undo, grounds=grounds)

    def not_found(self, request: Request, why: str = "") -> Probe:
        """A request for something that does not exist: 404 `invalid_request`/`not_found`."""
        return Probe(request, self.not_found_status, why, hog_error(("not_found",), attr=None))
