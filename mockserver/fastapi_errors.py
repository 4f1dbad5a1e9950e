"""FastAPI's error bodies, for families whose vendor runs FastAPI (pydantic v2).

Request validation failures become 422 ``{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}`` with the
``loc``, ``type`` and ``msg`` values pydantic v2 produces (``["query", "limit"]`` ``less_than_equal``,
``["body", "rating"]`` ``enum`` or ``missing``, ``["path", "thread_id"]`` ``uuid_parsing``, …); every other
error is ``{"detail": "<text>"}`` with its status, as ``HTTPException`` sends it. A body FastAPI cannot decode
at all (not UTF-8; here also one nested deeper than ``mockserver.validation.MAX_BODY_DEPTH``) is
``400 {"detail": "There was an error parsing the body"}``, as ``fastapi.routing`` answers any body-reading
failure other than a JSON syntax error.
"""

from __future__ import annotations

import json
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

_TYPE_ERRORS = {
    # JSON type expected → (pydantic type for a JSON value, for a string from the URL, message)
    "integer": ("int_type", "int_parsing", "Input should be a valid integer"),
    "number": ("float_type", "float_parsing", "Input should be a valid number"),
    "boolean": ("bool_type", "bool_parsing", "Input should be a valid boolean"),
    "string": ("string_type", "string_type", "Input should be a valid string"),
    "array": ("list_type", "list_type", "Input should be a valid list"),
    "object": ("dict_type", "dict_type", "Input should be a valid dictionary"),
}
_PARSING_SUFFIX = {
    "int_parsing": ", unable to parse string as an integer",
    "float_parsing": ", unable to parse string as a number",
    "bool_parsing": ", unable to interpret input",
}


def _or_list(values: t.Sequence[t.Any]) -> str:
    """pydantic's ``'a', 'b' or 'c'``."""
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def uuid_problem(value: str) -> str:
    """Why a string is not a UUID, in the words of pydantic-core's ``uuid_parsing`` error."""
    allowed = set("0123456789abcdefABCDEF-")
    text = value[9:] if value.lower().startswith("urn:uuid:") else value
    for index, char in enumerate(text):
        if char not in allowed:
            return (f"invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], "
                    f"found `{char}` at {index + 1}")
    digits = text.replace("-", "")
    if "-" not in text and len(digits) != 32:
        return f"invalid length: expected length 32 for simple format, found {len(digits)}"
    return "invalid group count: expected 5, found " + str(text.count("-") + 1) if text.count("-") != 4 else (
        "invalid group length")


def _json_problem(raw: t.Any) -> tuple[int, str]:
    try:
        json.loads(raw if isinstance(raw, str) else "")
    except json.JSONDecodeError as exc:
        return exc.pos, exc.msg
    return 0, "Expecting value"


def pydantic_error(violation: Violation) -> dict[str, t.Any]:
    """One violation as one entry of FastAPI's ``detail`` list."""
    loc: list[t.Any] = [violation.location, *violation.path]
    keyword, expected, actual = violation.keyword, violation.expected, violation.actual
    from_url = violation.location != "body"
    if keyword == "json":
        position, problem = _json_problem(actual)
        return {"type": "json_invalid", "loc": ["body", position], "msg": "JSON decode error", "input": {},
                "ctx": {"error": problem}}
    if keyword in ("required", "body"):
        return {"type": "missing", "loc": loc if keyword == "required" else ["body"], "msg": "Field required",
                "input": None}
    entry: dict[str, t.Any] = {"loc": loc, "input": str(actual) if from_url and actual is not None else actual}
    if keyword == "maximum":
        entry.update(type="less_than_equal", msg=f"Input should be less than or equal to {expected}",
                     ctx={"le": expected})
    elif keyword == "minimum":
        entry.update(type="greater_than_equal", msg=f"Input should be greater than or equal to {expected}",
                     ctx={"ge": expected})
    elif keyword == "enum":
        choices = _or_list(expected)
        entry.update(type="enum", msg=f"Input should be {choices}", ctx={"expected": choices})
    elif keyword == "format" and expected == "uuid":
        problem = uuid_problem(str(actual))
        entry.update(type="uuid_parsing", msg=f"Input should be a valid UUID, {problem}", ctx={"error": problem})
    elif keyword == "maxItems":
        entry.update(type="too_long", msg=f"List should have at most {expected} item{'s' * (expected != 1)} after "
                     f"validation, not {len(actual)}",
                     ctx={"field_type": "List", "max_length": expected, "actual_length": len(actual)})
    elif keyword == "minItems":
        entry.update(type="too_short", msg=f"List should have at least {expected} item{'s' * (expected != 1)} "
                     f"after validation, not {len(actual)}",
                     ctx={"field_type": "List", "min_length": expected, "actual_length": len(actual)})
    elif keyword == "maxLength":
        entry.update(type="string_too_long", msg=f"String should have at most {expected} characters",
                     ctx={"max_length": expected})
    elif keyword == "minLength":
        entry.update(type="string_too_short", msg=f"String should have at least {expected} characters",
                     ctx={"min_length": expected})
    elif keyword == "type":
        wanted = (expected[0] if expected else "") if isinstance(expected, list) else expected
        if wanted == "object" and not violation.path:
            entry.update(type="model_attributes_type",
                         msg="Input should be a valid dictionary or object to extract fields from")
        else:
            json_kind, url_kind, message = _TYPE_ERRORS.get(wanted, ("value_error", "value_error", "Invalid value"))
            kind = url_kind if from_url or (isinstance(actual, str) and wanted != "string") else json_kind
            entry.update(type=kind, msg=message + _PARSING_SUFFIX.get(kind, ""))
    elif keyword == "additionalProperties":
        entry.update(type="extra_forbidden", msg="Extra inputs are not permitted")
    else:
        entry.update(type="value_error", msg=f"Value error, {violation.message or 'invalid value'}",
                     ctx={"error": violation.message or "invalid value"})
    return {"type": entry.pop("type"), "loc": entry.pop("loc"), "msg": entry.pop("msg"), **entry}


def _validation_failed(violations: t.Sequence[Violation]) -> ErrorResponse:
    return ErrorResponse(422, {"detail": [pydantic_error(v) for v in violations]})


def render_error(error: MockError) -> ErrorResponse:
    """Any ``MockError`` as a FastAPI application sends it (a missing key challenged as ``Bearer``)."""
    return _render(error, "Bearer")


def error_renderer(challenge: str) -> t.Callable[[MockError], ErrorResponse]:
    """``render_error`` for a vendor whose missing credentials are challenged with another scheme, e.g.
    ``APIKey`` (what FastAPI's ``APIKeyHeader`` sends in ``WWW-Authenticate`` since FastAPI 0.122)."""
    return lambda error: _render(error, challenge)


def _render(error: MockError, challenge: str) -> ErrorResponse:
    if isinstance(error, InvalidRequest):
        return _validation_failed(error.violations)
    if isinstance(error, UnreadableBody):  # FastAPI turns any failure to decode the body other than bad JSON into this
        return ErrorResponse(400, {"detail": "There was an error parsing the body"})
    if isinstance(error, UnsupportedMediaType):  # FastAPI does not parse a non-JSON body: the model gets bytes
        return _validation_failed([Violation("body", (), "type", "object", "", "not JSON")])
    if isinstance(error, Unauthenticated):
        return ErrorResponse(401, {"detail": "Not authenticated"}, {"www-authenticate": challenge})
    if isinstance(error, MethodNotAllowed):
        return ErrorResponse(405, {"detail": "Method Not Allowed"})
    if isinstance(error, RouteNotFound):
        return ErrorResponse(404, {"detail": "Not Found"})
    if error.status >= 500:
        return ErrorResponse(error.status, {"detail": "Internal Server Error"})
    return ErrorResponse(error.status, {"detail": error.message or "Error"}, dict(error.headers))

