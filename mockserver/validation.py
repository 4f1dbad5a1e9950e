"""Request validation from the spec, reported as structured ``Violation``s.

Connexion validates requests with its own validators, which report a string and raise its
problem+json exceptions. These replacements keep Connexion's wiring (``validator_map``) but raise
``InvalidRequest`` with the failing field, keyword, limit and value, so each family can phrase the
error the way its vendor does. Compiled JSON Schema validators are built once per schema and cached.
The OpenAPI 3.0 extension ``x-propertyNames`` is enforced like JSON Schema's ``propertyNames``.
"""

from __future__ import annotations

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
from starlette.types import Receive, Scope

from mockserver.errors import InvalidRequest, Violation

__all__ = ["SpecParameterValidator", "SpecBodyValidator", "violation_from_error", "VALIDATOR_MAP"]


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


def _branch_type_values(branch: dict) -> list:
    type_schema = branch.get("properties", {}).get("type", {})
    return list(type_schema.get("enum", []))


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

    Objects choose by their ``type`` discriminator, or, without one, the first branch that does not
    require it; other values choose by JSON type. A discriminator naming no branch becomes an ``enum``
    violation on ``type``.
    """
    branches: list[dict] = error.validator_value
    instance = error.instance
    chosen: int | None = None
    if isinstance(instance, dict) and any(_branch_type_values(b) for b in branches):
        allowed: list = []
        for index, branch in enumerate(branches):
            values = _branch_type_values(branch)
            allowed.extend(v for v in values if v not in allowed)
            if chosen is not None:
                continue
            if "type" in instance and instance["type"] in values:
                chosen = index
            elif "type" not in instance and "type" not in branch.get("required", []):
                chosen = index
        wanted = instance.get("type")
        if chosen is None:
            return Violation("body", tuple(error.absolute_path) + ("type",), "enum", allowed, wanted)
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
                error = _first_error(compiled_validator(param.get("schema", param)), value)
                if error is not None:
                    raise InvalidRequest([violation_from_error(error, location, (name,))])


class SpecBodyValidator(AbstractRequestBodyValidator):
    """Validates a JSON request body; bad JSON, a missing body and schema errors raise ``InvalidRequest``."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        messages = []
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            more_body = message.get("more_body", False)
        raw = b"".join(m.get("body", b"") for m in messages)
        if not raw.strip():
            if self._required:
                required = list(self._schema.get("required", []))
                raise InvalidRequest([Violation("body", (), "body", required, None, "request body is required")])
            return self._insert_messages(receive, messages=messages), scope
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest([Violation("body", (), "json", None, raw[:200].decode("utf-8", "replace"),
                                            str(exc))]) from None
        if not (body is None and self._nullable):
            error = _first_error(compiled_validator(self._schema), body)
            if error is not None:
                raise InvalidRequest([violation_from_error(error, "body")])
        return self._insert_messages(receive, messages=messages), scope


VALIDATOR_MAP = {
    "parameter": SpecParameterValidator,
    "body": {"application/json": SpecBodyValidator, "*/*json": SpecBodyValidator},
}
