"""Django REST Framework's error bodies as drf-exceptions-hog renders them, for families whose vendor runs DRF.

drf-exceptions-hog (single-error mode, as PostHog configures it) sends one error at a time as
``{"type", "code", "detail", "attr"}``: ``type`` from the exception's class (``validation_error``,
``authentication_error``, ``invalid_request``, ``throttled_error``, anything else ``server_error``), ``code``
the first error's code (``invalid`` rewritten to ``invalid_input``), ``detail`` DRF's message, ``attr`` the
field at fault (nested names joined with ``__``) or null. A serializer reports its fields in their declared
order, so of several violations the one on the earliest field (``FIELD_ORDER``) is reported.

Handlers raise ``DrfError`` for errors a DRF view raises itself (a ``ValidationError`` in the view, ``NotFound``,
PostHog's ``Conflict``); bodies a view returns without raising (``{"error": …}``) are the family's own.
"""

from __future__ import annotations

import typing as t

from mockserver.errors import (
    ErrorResponse,
    InvalidRequest,
    MethodNotAllowed,
    MockError,
    RouteNotFound,
    Unauthenticated,
    UnreadableBody,
    UnsupportedMediaType,
    Violation,
)
from mockserver.quota import QuotaExceeded

FIELD_ORDER = ("content", "conversation", "contextual_tools", "ui_context", "billing_context", "trace_id",
               "session_id", "agent_mode", "is_sandbox", "resume_payload", "limit", "offset")
"""Serializer field order (PostHog's ``MessageSerializer`` first); unknown names come after these."""

_TYPE_MESSAGES = {
    "string": "Not a valid string.",
    "integer": "A valid integer is required.",
    "number": "A valid number is required.",
    "boolean": "Must be a valid boolean.",
    "array": 'Expected a list of items but got type "{kind}".',
    "object": 'Expected a dictionary of items but got type "{kind}".',
}
_TYPE_CODES = {"array": "not_a_list", "object": "not_a_dict"}
_PYTHON_TYPES = {dict: "dict", list: "list", str: "str", int: "int", float: "float", bool: "bool",
                 type(None): "NoneType"}


class DrfError(MockError):
    """An exception a DRF view raises, rendered as ``{"type", "code", "detail", "attr"}``."""

    def __init__(self, status: int, error_type: str, code: str, detail: str, attr: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, status=status, reason=code, field=(attr,) if attr else None, headers=headers)
        self.error_type = error_type


def not_found(detail: str = "Not found.") -> DrfError:
    return DrfError(404, "invalid_request", "not_found", detail)


def invalid_input(detail: str, attr: str | None = None, code: str = "invalid_input") -> DrfError:
    """A ``ValidationError`` (raised in a view or by a field the schema cannot express)."""
    return DrfError(400, "validation_error", code, detail, attr)


def envelope(error_type: str, code: str, detail: str, attr: str | None = None) -> dict[str, t.Any]:
    return {"type": error_type, "code": code, "detail": detail, "attr": attr}


def _attr(path: t.Sequence[str | int]) -> str | None:
    return "__".join(str(part) for part in path) if path else None


def _order(violation: Violation) -> tuple[int, int]:
    name = violation.path[0] if violation.path else ""
    return (0 if violation.location in ("body", "request") else 1,
            FIELD_ORDER.index(name) if name in FIELD_ORDER else len(FIELD_ORDER))


def violation_body(violation: Violation) -> tuple[int, dict[str, t.Any]]:
    """The status and body DRF sends for the first problem of a serializer or a query parameter."""
    keyword, expected, actual = violation.keyword, violation.expected, violation.actual
    attr = _attr(violation.path)
    if keyword == "json":
        return 400, envelope("invalid_request", "parse_error",
                             "JSON parse error - Expecting value: line 1 column 1 (char 0)")
    if keyword == "body":  # no body: the serializer sees {} and reports its first required field
        return 400, envelope("validation_error", "required", "This field is required.", "content")
    if keyword == "required":
        return 400, envelope("validation_error", "required", "This field is required.", attr)
    if keyword == "type":
        wanted = expected[0] if isinstance(expected, list) and expected else expected
        kind = _PYTHON_TYPES.get(type(actual), type(actual).__name__)
        if actual is None and violation.location == "body":
            return 400, envelope("validation_error", "null", "This field may not be null.", attr)
        if not violation.path:
            return 400, envelope("validation_error", "invalid_input",
                                 f"Invalid data. Expected a dictionary, but got {kind}.")
        message = _TYPE_MESSAGES.get(str(wanted), "Invalid value.").format(kind=kind)
        return 400, envelope("validation_error", _TYPE_CODES.get(str(wanted), "invalid_input"), message, attr)
    if keyword == "maxLength":
        return 400, envelope("validation_error", "max_length",
                             f"Ensure this field has no more than {expected} characters.", attr)
    if keyword == "minLength":
        return 400, envelope("validation_error", "blank", "This field may not be blank.", attr)
    if keyword == "format" and expected == "uuid":
        return 400, envelope("validation_error", "invalid_input", "Must be a valid UUID.", attr)
    if keyword == "enum":
        return 400, envelope("validation_error", "invalid_choice", f'"{actual}" is not a valid choice.', attr)
    if keyword == "minimum":
        return 400, envelope("validation_error", "min_value",
                             f"Ensure this value is greater than or equal to {expected}.", attr)
    if keyword == "maximum":
        return 400, envelope("validation_error", "max_value",
                             f"Ensure this value is less than or equal to {expected}.", attr)
    return 400, envelope("validation_error", "invalid_input", violation.message or "Invalid value.", attr)


def render_error(error: MockError) -> ErrorResponse:
    """Any ``MockError`` as drf-exceptions-hog renders DRF's exception for it."""
    if isinstance(error, DrfError):
        attr = _attr(error.field) if error.field else None
        return ErrorResponse(error.status, envelope(error.error_type, error.reason or "error", error.message, attr),
                             dict(error.headers))
    if isinstance(error, InvalidRequest):
        if not error.violations:
            return ErrorResponse(400, envelope("validation_error", "invalid_input", error.message))
        status, body = violation_body(min(error.violations, key=_order))
        return ErrorResponse(status, body)
    if isinstance(error, UnreadableBody):  # DRF's JSON parser refuses what it cannot decode
        return ErrorResponse(400, envelope("invalid_request", "parse_error",
                                           "JSON parse error - the body could not be decoded."))
    if isinstance(error, UnsupportedMediaType):
        return ErrorResponse(415, envelope("invalid_request", "unsupported_media_type",
                                           f'Unsupported media type "{error.message}" in request.'))
    if isinstance(error, Unauthenticated):
        return ErrorResponse(401, envelope("authentication_error", "not_authenticated",
                                           "Authentication credentials were not provided."))
    if isinstance(error, MethodNotAllowed):
        return ErrorResponse(405, envelope("invalid_request", "method_not_allowed",
                                           f'Method "{error.method}" not allowed.'))
    if isinstance(error, RouteNotFound):
        return ErrorResponse(404, envelope("invalid_request", "not_found", "Not found."))
    if isinstance(error, QuotaExceeded):
        detail = f"Request was throttled: the mock's storage quota is full ({error.message})."
        return ErrorResponse(429, envelope("throttled_error", "throttled", detail))
    if error.status == 429:
        return ErrorResponse(429, envelope("throttled_error", "throttled", error.message or "Request was throttled."),
                             dict(error.headers))
    if error.status >= 500:
        return ErrorResponse(error.status, envelope("server_error", "error", "A server error occurred."))
    code = error.reason or ("not_found" if error.status == 404 else "error")
    error_type = "invalid_request" if error.status in (404, 405, 406, 415) else "server_error"
    return ErrorResponse(error.status, envelope(error_type, code, error.message or "Error"), dict(error.headers))
