"""What each operation of a family's contract declares it may answer, and how to answer it from the contract.

``declared_operations(family)`` reads the family's contract once (``$ref``s resolved) into operationId →
``DeclaredOperation``: each declared status with its media type, schema, named examples and headers.
``DeclaredOperation.respond`` builds the answer for one declared status without running the handler (what
``Prefer: code=…``/``example=…`` and fault rules send). The body is, in this order:

1. the named example, when one is asked for;
2. the family's own body for that request (``Family.declared_body(method, path, status)``), if it has one;
3. the response's first declared example;
4. for an error status, the family's error envelope (``Family.render_error``), if it is valid against the
   declared schema;
5. a value built from the declared schema by ``example_from_schema``: deterministic (the same schema always
   gives the same value), so a frontend's snapshot of it stays stable. No library was used: the ones made
   for it (hypothesis-jsonschema, jsf) draw random values.

Declared response headers are sent with their example, or a value built from their schema (OpenAI's
``Retry-After: 1``).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from http import HTTPStatus

from connexion.spec import Specification
from openapi_schema_validator import OAS30Validator
from starlette.responses import Response

from mockserver.errors import MockError
from mockserver.family import Family
from mockserver.responses import dumps

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DEPTH = 12
"""How deep ``example_from_schema`` descends; deeper optional parts are left out."""


@dataclass(frozen=True)
class DeclaredResponse:
    """One status an operation declares."""

    status: int
    media_type: str | None
    """The first declared media type (``None``: the response has no body, e.g. 204)."""
    schema: dict | None
    examples: dict[str, t.Any]
    """Named examples of the body, in the contract's order (a single ``example`` is named ``default``)."""
    headers: dict[str, dict]
    """Header name → its declaration (with ``schema``/``example``)."""


@dataclass
class DeclaredOperation:
    """An operation's declared responses, by status."""

    family: Family
    operation_id: str
    method: str
    path: str
    responses: dict[int, DeclaredResponse]
    components: dict = field(default_factory=dict, repr=False)
    """The contract's ``components``, for ``$ref``s left in schemas (a discriminator's mapping)."""
    _envelopes: dict[int, tuple[t.Any, dict[str, str]] | None] = field(default_factory=dict, repr=False)

    @property
    def statuses(self) -> list[int]:
        return sorted(self.responses)

    def example_status(self, name: str) -> int | None:
        """The status whose response holds the example ``name`` (success statuses searched first)."""
        for status in sorted(self.responses, key=lambda s: (not 200 <= s < 300, s)):
            if name in self.responses[status].examples:
                return status
        return None

    def is_valid(self, status: int, body: t.Any) -> bool:
        """Whether ``body`` is valid against the declared schema of ``status`` (no schema: any body)."""
        schema = self.responses[status].schema
        # unknown keywords are ignored, so the root schema can carry the components its refs point into
        return schema is None or OAS30Validator({**schema, "components": self.components}).is_valid(body)

    def respond(self, status: int, request_path: str, example: str | None = None) -> Response:
        """The declared response ``status`` (which must be declared), with ``example`` if named."""
        declared = self.responses[status]
        headers = {name: _header_value(spec) for name, spec in declared.headers.items()}
        if declared.media_type is None:
            return Response(status_code=status, headers=headers)
        body = self._body(declared, request_path, example, headers)
        if isinstance(body, (bytes, str)) and not declared.media_type.endswith("json"):
            content = body.encode() if isinstance(body, str) else body
        else:
            content = dumps(body)
        return Response(content=content, status_code=status, headers=headers, media_type=declared.media_type)

    def _body(self, declared: DeclaredResponse, request_path: str, example: str | None,
              headers: dict[str, str]) -> t.Any:
        if example is not None:
            return declared.examples[example]
        if self.family.declared_body is not None:
            body = self.family.declared_body(self.method.upper(), request_path, declared.status)
            if body is not None:
                return body
        if declared.examples:
            return next(iter(declared.examples.values()))
        if declared.status >= 400:
            envelope = self._envelope(declared)
            if envelope is not None:
                headers.update({k: v for k, v in envelope[1].items() if k.lower() not in
                                {h.lower() for h in headers}})
                return envelope[0]
        return example_from_schema(declared.schema or {})

    def _envelope(self, declared: DeclaredResponse) -> tuple[t.Any, dict[str, str]] | None:
        """The family's error envelope for the status, if valid against the declared schema (cached)."""
        if declared.status not in self._envelopes:
            phrase = _phrase(declared.status)
            error = MockError(f"{phrase} (the mock answered the declared {declared.status} on request: a Prefer "
                              "header or a fault rule).", status=declared.status, reason=None)
            rendered = self.family.render_error(error)
            valid = rendered.status == declared.status and self.is_valid(declared.status, rendered.body)
            self._envelopes[declared.status] = (rendered.body, dict(rendered.headers)) if valid else None
        return self._envelopes[declared.status]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


def _header_value(spec: dict) -> str:
    if "example" in spec:
        return str(spec["example"])
    value = example_from_schema(spec.get("schema") or {"type": "string"})
    return str(value).lower() if isinstance(value, bool) else str(value)


def _declared_response(status: int, response: dict) -> DeclaredResponse:
    content = response.get("content") or {}
    media_type = next(iter(content), None)
    media = content.get(media_type, {}) if media_type else {}
    examples: dict[str, t.Any] = {}
    if "example" in media:
        examples["default"] = media["example"]
    for name, entry in (media.get("examples") or {}).items():
        if isinstance(entry, dict) and "value" in entry:
            examples[name] = entry["value"]
    return DeclaredResponse(status=status, media_type=media_type, schema=media.get("schema"), examples=examples,
                            headers=dict(response.get("headers") or {}))


def _load(family: Family) -> dict[str, DeclaredOperation]:
    spec = Specification.load(family.spec_path)
    components = spec.raw.get("components") or {}
    operations: dict[str, DeclaredOperation] = {}
    for path, item in (spec["paths"] or {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not operation or "operationId" not in operation:
                continue
            responses = {int(code): _declared_response(int(code), response)
                         for code, response in (operation.get("responses") or {}).items() if str(code).isdigit()}
            operations[operation["operationId"]] = DeclaredOperation(
                family=family, operation_id=operation["operationId"], method=method, path=path, responses=responses,
                components=components)
    return operations


_LOADED: dict[int, tuple[Family, dict[str, DeclaredOperation]]] = {}


def declared_operations(family: Family) -> dict[str, DeclaredOperation]:
    """operationId → what the operation declares, read once per family from its contract."""
    found = _LOADED.get(id(family))
    if found is None or found[0] is not family:
        found = _LOADED[id(family)] = (family, _load(family))
    return found[1]


# ---------------------------------------------------------------------------------------------
# A value for a schema


_FORMATS: dict[str, t.Any] = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "email": "user@example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "byte": "",
}


def example_from_schema(schema: dict, depth: int = 0) -> t.Any:
    """A deterministic value valid against ``schema`` (OpenAPI 3.0 dialect) for the schemas contracts use:
    ``example``/``default``/``enum`` first, then the smallest value of the type that meets its bounds; an
    object gets every declared property (down to ``_MAX_DEPTH``, then only required ones)."""
    if not isinstance(schema, dict):
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "allOf" in schema:
        merged: dict[str, t.Any] = {}
        for part in schema["allOf"]:
            value = example_from_schema(part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif not merged:
                return value
        return merged
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example_from_schema(schema[key][0], depth + 1)
    kind = schema.get("type")
    if kind is None:
        kind = "object" if "properties" in schema else "string" if schema.get("nullable") is None else None
        if kind is None:
            return None
    if kind == "object":
        required = set(schema.get("required") or ())
        properties = schema.get("properties") or {}
        return {name: example_from_schema(sub, depth + 1) for name, sub in properties.items()
                if name in required or depth < _MAX_DEPTH}
    if kind == "array":
        count = max(int(schema.get("minItems", 0)), 1 if depth < _MAX_DEPTH else 0)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [example_from_schema(schema.get("items") or {}, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    return _string(schema)


def _number(schema: dict, integer: bool) -> int | float:
    value: float = 0
    if "minimum" in schema:
        value = schema["minimum"] + (1 if schema.get("exclusiveMinimum") is True else 0)
    elif "maximum" in schema and schema["maximum"] < 0:
        value = schema["maximum"] - (1 if schema.get("exclusiveMaximum") is True else 0)
    multiple = schema.get("multipleOf")
    if multiple:
        value = -(-value // multiple) * multiple
    return int(value) if integer else value


def _string(schema: dict) -> str:
    value = _FORMATS.get(schema.get("format", ""), "string")
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if maximum is not None and len(value) > int(maximum):
        value = value[: int(maximum)]
    return value
