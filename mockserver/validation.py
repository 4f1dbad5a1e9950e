"""Request validation from the spec, reported as structured ``Violation``s.

Connexion validates requests with its own validators, which report a string and raise its
problem+json exceptions. These replacements keep Connexion's wiring (``validator_map``) but raise
``InvalidRequest`` with the failing field, keyword, limit and value, so each family can phrase the
error the way its vendor does. Compiled JSON Schema validators are built once per schema and cached.
The OpenAPI 3.0 extension ``x-propertyNames`` is enforced like JSON Schema's ``propertyNames``.

Request bodies are first checked by ``jsonschema_rs`` (Rust, installed with schemathesis) when the
schema uses only keywords whose meaning both libraries share, rewritten so that OpenAPI's ``nullable``,
the formats and ``x-propertyNames`` are decided exactly as the Python validator decides them. A body it
accepts is accepted; anything else — and every schema it cannot take — goes to the Python validator,
which alone decides what is wrong and how that is reported.
"""

from __future__ import annotations

import json
import re
import typing as t
import uuid

import orjson
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.utils import is_null, is_nullable
from connexion.validators import AbstractRequestBodyValidator
from connexion.validators.parameter import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import relevance
from starlette.types import Message, Receive, Scope

from mockserver.errors import InvalidRequest, UnreadableBody, Violation

__all__ = ["SpecParameterValidator", "SpecBodyValidator", "violation_from_error", "VALIDATOR_MAP", "MAX_BODY_DEPTH",
           "json_depth"]

MAX_BODY_DEPTH = 64
"""Deepest nesting of arrays and objects a JSON request body may have (``{"a": [1]}`` is 2 deep). Deeper
bodies are refused before any handler sees them (``UnreadableBody("too_deep")``), so nothing stored is too
deep to render again."""


def _property_names(validator: t.Any, subschema: dict, instance: t.Any, schema: dict) -> t.Iterator:
    if not validator.is_type(instance, "object"):
        return
    for name in instance:
        for error in validator.descend(name, subschema):
            error.validator = "propertyNames"
            error.validator_value = subschema
            error.instance = name
            error.path.appendleft(name)
            yield error


_SchemaValidator = validators.extend(Draft4RequestValidator, {"x-propertyNames": _property_names})
FORMAT_CHECKER = FormatChecker(list(Draft4Validator.FORMAT_CHECKER.checkers))


@FORMAT_CHECKER.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    """``format: uuid``: anything Python's ``uuid.UUID`` parses (hyphenated, plain hex, braces, urn)."""
    if isinstance(value, str):
        uuid.UUID(value)
    return True


_compiled: dict[int, tuple[dict, t.Any]] = {}


def compiled_validator(schema: dict) -> t.Any:
    """The validator for ``schema``, built on first use and reused afterwards."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = (schema, _SchemaValidator(schema, format_checker=FORMAT_CHECKER))
        _compiled[id(schema)] = entry
    return entry[1]


# --- the Rust pre-check ----------------------------------------------------------------------------

jsonschema_rs: t.Any
try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - schemathesis installs it; without it everything is checked in Python
    jsonschema_rs = None

_SCHEMA_VALUED = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_MAPS = ("properties",)
# Keywords both validators read the same way (Draft 4), and annotations neither reads.
_SHARED = frozenset({
    "type", "enum", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minProperties",
    "maxProperties", "allOf", "anyOf", "oneOf", "not", "format", "nullable", "x-nullable", "x-propertyNames",
    "title", "description", "default", "example", "examples", "discriminator", "readOnly", "writeOnly",
    "deprecated", "externalDocs", "xml", "components",
})
_EXACT_FLOAT = 2**53  # numeric limits at or beyond this may compare differently once converted to floats


class _Unshared(Exception):
    """The schema uses something the two validators might read differently."""


def _rust_schema(schema: t.Any) -> t.Any:
    """``schema`` rewritten for jsonschema_rs; raises ``_Unshared`` where it could disagree with Python."""
    if not isinstance(schema, dict):
        raise _Unshared(repr(schema)[:40])
    out = dict(schema)
    for key, value in schema.items():
        if key not in _SHARED and not (key.startswith("x-") and key not in ("x-propertyNames", "x-nullable")):
            raise _Unshared(key)
        if key in ("minimum", "maximum") and (not isinstance(value, (int, float)) or abs(value) >= _EXACT_FLOAT):
            raise _Unshared(key)
        if key in _SCHEMA_VALUED and isinstance(value, dict):
            out[key] = _rust_schema(value)
        elif key == "items" and not isinstance(value, (dict, bool)):
            raise _Unshared("items")
        elif key in _SCHEMA_LISTS:
            out[key] = [_rust_schema(branch) for branch in value]
        elif key in _SCHEMA_MAPS:
            out[key] = {name: _rust_schema(sub) for name, sub in value.items()}
        elif key == "components":
            out[key] = {**value, "schemas": {n: _rust_schema(s) for n, s in value.get("schemas", {}).items()}}
    if schema.get("x-nullable") is True or schema.get("nullable"):
        # Connexion lets null through "type" and "enum" of a nullable schema; every other keyword still applies.
        if "type" in out:
            types = list(out["type"]) if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types if "null" in types else [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class _RustPropertyNames:
    """``x-propertyNames`` for jsonschema_rs, decided by the Python validator on each name."""

    def __init__(self, parent_schema: dict, value: dict, schema_path: t.Any) -> None:
        self._validator = _SchemaValidator(value, format_checker=FORMAT_CHECKER)

    def validate(self, instance: t.Any) -> None:
        if isinstance(instance, dict):
            for name in instance:
                if not self._validator.is_valid(name):
                    raise ValueError(f"invalid property name {name!r}")


def _python_format(name: str) -> t.Callable[[str], bool]:
    return lambda value: FORMAT_CHECKER.conforms(value, name)


_rust: dict[int, tuple[dict, t.Any]] = {}


def rust_validator(schema: dict) -> t.Any:
    """A jsonschema_rs validator that accepts only what the Python validator accepts, or None."""
    entry = _rust.get(id(schema))
    if entry is None or entry[0] is not schema:
        validator = None
        if jsonschema_rs is not None:
            try:
                validator = jsonschema_rs.Draft4Validator(
                    _rust_schema(schema), validate_formats=True, ignore_unknown_formats=True,
                    formats={name: _python_format(name) for name in FORMAT_CHECKER.checkers},
                    keywords={"x-propertyNames": _RustPropertyNames})
            except Exception:  # _Unshared, or a schema jsonschema_rs refuses: Python alone decides
                validator = None
        entry = (schema, validator)
        _rust[id(schema)] = entry
    return entry[1]


def accepted_by_rust(schema: dict, instance: t.Any) -> bool:
    """True if jsonschema_rs accepts ``instance`` (so the Python validator would too); False: ask Python."""
    validator = rust_validator(schema)
    if validator is None:
        return False
    try:
        return bool(validator.is_valid(instance))
    except Exception:
        return False


def _branch_tag_values(branch: dict, tag: str) -> list:
    tag_schema = branch.get("properties", {}).get(tag, {})
    return list(tag_schema.get("enum", [])) if isinstance(tag_schema, dict) else []


def discriminating_property(schema: dict, branches: t.Sequence[t.Any]) -> str | None:
    """The property that says which ``oneOf``/``anyOf`` branch an object is meant for.

    The spec's ``discriminator.propertyName`` when it declares one; otherwise the property that every
    branch constraining some property with an ``enum`` constrains with an ``enum`` (a de-facto tag such as
    ``type``), the first by name if several qualify; None when there is no such property.
    """
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, dict) and isinstance(discriminator.get("propertyName"), str):
        return discriminator["propertyName"]
    common: set[str] | None = None
    for branch in branches:
        if not isinstance(branch, dict):
            continue
        tagged = {name for name, sub in branch.get("properties", {}).items()
                  if isinstance(sub, dict) and sub.get("enum")}
        if tagged:
            common = tagged if common is None else common & tagged
    return min(common) if common else None


def json_type(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _resolve_alternatives(error: ValidationError) -> ValidationError | Violation | None:
    """For a failed anyOf/oneOf, pick the branch the value was meant for and return its error.

    Objects choose by their discriminating property (``discriminating_property``), or, when they lack it,
    the first branch that does not require it; other values choose by JSON type. A discriminator value
    naming no branch becomes an ``enum`` violation on that property.
    """
    branches: list[dict] = error.validator_value
    instance = error.instance
    chosen: int | None = None
    tag = discriminating_property(error.schema, branches) if isinstance(instance, dict) else None
    if isinstance(instance, dict) and tag is not None and any(_branch_tag_values(b, tag) for b in branches):
        allowed: list = []
        for index, branch in enumerate(branches):
            values = _branch_tag_values(branch, tag)
            allowed.extend(v for v in values if v not in allowed)
            if chosen is not None:
                continue
            if tag in instance and instance[tag] in values:
                chosen = index
            elif tag not in instance and tag not in branch.get("required", []):
                chosen = index
        wanted = instance.get(tag)
        if chosen is None:
            return Violation("body", tuple(error.absolute_path) + (tag,), "enum", allowed, wanted)
    else:
        kind = json_type(instance)
        for index, branch in enumerate(branches):
            if branch.get("type") == kind or (kind == "integer" and branch.get("type") == "number"):
                chosen = index
                break
        if chosen is None:
            kinds = [b.get("type") for b in branches if b.get("type")]
            return Violation("body", tuple(error.absolute_path), "type", kinds, instance)
    branch_errors = [e for e in error.context or [] if e.schema_path and e.schema_path[0] == chosen]
    return max(branch_errors, key=relevance) if branch_errors else None


def violation_from_error(error: ValidationError, location: str, prefix: tuple = ()) -> Violation:
    """Turn a jsonschema error into a ``Violation`` that points at the exact offending field."""
    for _ in range(32):
        if error.validator not in ("anyOf", "oneOf"):
            break
        resolved = _resolve_alternatives(error)
        if isinstance(resolved, Violation):
            return Violation(location, prefix + resolved.path, resolved.keyword, resolved.expected,
                             resolved.actual, error.message)
        if resolved is None:
            break
        error = resolved
    path = prefix + tuple(error.absolute_path)
    keyword, expected, actual = str(error.validator), error.validator_value, error.instance
    if keyword == "required" and isinstance(actual, dict):
        missing = [name for name in expected if name not in actual]
        return Violation(location, path + (missing[0],), "required", expected, None, error.message)
    if keyword == "additionalProperties" and isinstance(actual, dict):
        known = set(error.schema.get("properties", {}))
        extra = [name for name in actual if name not in known]
        return Violation(location, path + (extra[0],), keyword, expected, actual[extra[0]], error.message)
    if keyword == "propertyNames":
        return Violation(location, path, keyword, expected, actual, error.message)
    return Violation(location, path, keyword, expected, actual, error.message)


def _first_error(validator: t.Any, instance: t.Any) -> ValidationError | None:
    """The most relevant error (shallowest first), without descending into anyOf/oneOf branches."""
    return max(validator.iter_errors(instance), key=relevance, default=None)


class SpecParameterValidator(ParameterValidator):
    """Validates path, query, header and cookie parameters; raises ``InvalidRequest``."""

    _SOURCES = (("query", "query_params"), ("path", "path_params"), ("header", "headers"),
                ("cookie", "cookies"))

    def validate_request(self, request: ConnexionRequest) -> None:
        for location, attribute in self._SOURCES:
            params = self.parameters.get(location)
            if not params:
                continue
            if location == "query" and not request.scope.get("query_string"):
                values = {}  # what parsing an empty query string resolves to
            else:
                values = getattr(request, attribute)
            for param in params:
                name = param["name"]
                key = name.replace("-", "_") if location == "path" else name
                value = values.get(key)
                if value is None:
                    if param.get("required"):
                        raise InvalidRequest([Violation(location, (name,), "required", True, None,
                                                        f"missing {location} parameter {name!r}")])
                    continue
                if is_nullable(param) and is_null(value):
                    continue
                schema = param.get("schema", param)
                if accepted_by_rust(schema, value):
                    continue
                error = _first_error(compiled_validator(schema), value)
                if error is not None:
                    raise InvalidRequest([violation_from_error(error, location, (name,))])


_LONG_INTEGER = re.compile(rb"\d{19}")


def json_depth(value: t.Any, stop_above: int | None = None) -> int:
    """How deeply arrays and objects nest in ``value`` (0 for a scalar), without recursion; stops
    counting once the depth exceeds ``stop_above``."""
    deepest = 0
    stack: list[tuple[t.Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > deepest:
            deepest = depth
            if stop_above is not None and deepest > stop_above:
                return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _unreadable(raw: bytes, error: Exception) -> UnreadableBody | None:
    """Why orjson could not read ``raw``, when it is not a plain JSON syntax error."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return UnreadableBody("not_utf8")
    if "recursion" in str(error):
        return UnreadableBody("too_deep", MAX_BODY_DEPTH)
    return None


class SpecBodyValidator(AbstractRequestBodyValidator):
    """Validates a JSON request body; bad JSON, a missing body and schema errors raise ``InvalidRequest``.

    Instances hold only the operation's schema and flags, so one can serve every request of an operation.
    """

    @staticmethod
    async def read(receive: Receive) -> tuple[bytes, list[Message]]:
        """The whole body, and the messages that carried it (to replay them to the handler)."""
        messages = []
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            more_body = message.get("more_body", False)
        if len(messages) == 1:
            return messages[0].get("body", b""), messages
        return b"".join(m.get("body", b"") for m in messages), messages

    def check(self, raw: bytes) -> t.Any:
        """The parsed body (None when empty), or ``InvalidRequest`` unless it is one the operation accepts.

        orjson parses (and rejects what is not JSON); a body that is not UTF-8 or nests deeper than
        ``MAX_BODY_DEPTH`` raises ``UnreadableBody``. A body holding an integer literal of 19 or more digits
        is parsed again by the standard library (safe: its depth is bounded by then), which keeps integers
        beyond 64 bits exact where orjson would turn them into floats.
        """
        if not raw.strip():
            if self._required:
                required = list(self._schema.get("required", []))
                raise InvalidRequest([Violation("body", (), "body", required, None, "request body is required")])
            return None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            unreadable = _unreadable(raw, exc)
            if unreadable is not None:
                raise unreadable from None
            raise InvalidRequest([Violation("body", (), "json", None, raw[:200].decode("utf-8", "replace"),
                                            str(exc))]) from None
        if raw.count(b"[") + raw.count(b"{") > MAX_BODY_DEPTH and json_depth(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
            raise UnreadableBody("too_deep", MAX_BODY_DEPTH)
        if _LONG_INTEGER.search(raw):
            body = json.loads(raw)
        if not (body is None and self._nullable) and not accepted_by_rust(self._schema, body):
            error = _first_error(compiled_validator(self._schema), body)
            if error is not None:
                raise InvalidRequest([violation_from_error(error, "body")])
        return body

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        raw, messages = await self.read(receive)
        self.check(raw)
        return self._insert_messages(receive, messages=messages), scope


VALIDATOR_MAP = {
    "parameter": SpecParameterValidator,
    "body": {"application/json": SpecBodyValidator, "*/*json": SpecBodyValidator},
}
