"""A family's OpenAPI document: where it lives, its operations, and its schemas as plain JSON Schema.

OpenAPI 3.0 has two habits that tools read differently from what a spec writer means; `normalised`
spells both out so schemathesis and our own validators agree with the contract's prose:
- `nullable: true` next to an `enum` that lacks `null` (OpenAPI 3.0.3 strictly forbids null there, yet
  the writer means "this value or null", as the vendor behaves); `null` is added to the enum.
- `x-propertyNames` (3.0 has no `propertyNames`) becomes `propertyNames`, so key limits are enforced.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from convo_contracts import contract_path

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def spec_path(reference: str) -> Path:
    """Where a family's spec file lives (`convo_contracts.contract_path`: a file name in `openapi/`,
    `package:file.yaml` or an absolute path)."""
    return contract_path(reference)


def normalised(node: Any) -> Any:
    """A deep copy of an OpenAPI 3.0 (sub)document with the two fixes described in the module docstring."""
    if isinstance(node, list):
        return [normalised(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "x-propertyNames":
            out["propertyNames"] = normalised(value)
        else:
            out[key] = normalised(value)
    enum = out.get("enum")
    if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
        out["enum"] = [*enum, None]
    return out


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema keywords to JSON Schema 2020-12 (`nullable`, `discriminator`, `example`)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: to_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "discriminator", "example", "xml", "externalDocs")
    }
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    # The one 2xx status the operation declares (200 when it declares none).
    success_status: int


class Spec:
    """A loaded family spec."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(encoding="utf-8") as handle:
            self.raw: dict[str, Any] = yaml.safe_load(handle)

    @cached_property
    def normalised(self) -> dict[str, Any]:
        return normalised(copy.deepcopy(self.raw))

    @cached_property
    def operations(self) -> dict[str, Operation]:
        found: dict[str, Operation] = {}
        for template, item in self.raw.get("paths", {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if isinstance(operation, dict) and "operationId" in operation:
                    statuses = sorted(int(code) for code in operation.get("responses", {}) if str(code).startswith("2"))
                    found[operation["operationId"]] = Operation(
                        operation["operationId"], method.upper(), template, statuses[0] if statuses else 200
                    )
        return found

    @cached_property
    def _components(self) -> dict[str, Any]:
        return to_json_schema(self.normalised.get("components", {}))

    def operation_at(self, method: str, template: str) -> Operation | None:
        for operation in self.operations.values():
            if operation.method == method.upper() and operation.template == template:
                return operation
        return None

    def request_body_problems(self, operation_id: str, body: Any, limit: int = 3) -> list[str]:
        """Why `body` is not a valid JSON request body for the operation (empty when it is)."""
        definition = self._operation(operation_id)
        schema = definition.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        validator = jsonschema.Draft202012Validator({**to_json_schema(schema), "components": self._components})
        errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
        return [_describe(error) for error in errors[:limit]]

    def _operation(self, operation_id: str) -> dict[str, Any]:
        operation = self.operations[operation_id]
        return self.normalised["paths"][operation.template][operation.method.lower()]

    def response(self, operation_id: str, status: int) -> dict[str, Any] | None:
        """The response the operation declares for `status` (or its `4XX`/`5XX` range, or `default`)."""
        if operation_id not in self.operations:
            return None
        responses = self._operation(operation_id).get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return self._resolve(responses[key])
        return None

    def response_schema(self, operation_id: str, status: int, media_type: str = "application/json") -> Any:
        """The (OpenAPI) schema the operation declares for a `status` body of `media_type`, or None."""
        response = self.response(operation_id, status)
        if response is None:
            return None
        return response.get("content", {}).get(media_type, {}).get("schema")

    def parameter_schema(self, operation_id: str, name: str, location: str = "query") -> dict[str, Any]:
        """The schema (as written, with its `minimum`/`maximum`/`default`) of an operation's parameter."""
        operation = self.operations[operation_id]
        path_item = self.raw["paths"][operation.template]
        for parameter in path_item.get(operation.method.lower(), {}).get("parameters", []) + path_item.get(
                "parameters", []):
            while "$ref" in parameter:
                section, component = parameter["$ref"].split("/")[2:4]
                parameter = self.raw["components"][section][component]
            if parameter.get("name") == name and parameter.get("in") == location:
                return parameter["schema"]
        raise KeyError(f"{operation_id} has no {location} parameter {name!r}")

    def stream_chunk_schema(self, operation_id: str, status: int = 200) -> Any:
        """The schema of one event of an event stream response, from `x-stream-chunk-schema`, or None."""
        response = self.response(operation_id, status)
        media = (response or {}).get("content", {}).get("text/event-stream", {})
        return media.get("x-stream-chunk-schema")

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/components/"):
            section, name = node["$ref"].split("/")[2:4]
            node = self.normalised["components"][section][name]
        return node

    def component_of(self, schema: Any) -> str | None:
        """The component name a schema is a bare reference to (`#/components/schemas/<name>`), or None."""
        if isinstance(schema, dict) and set(schema) == {"$ref"} and schema["$ref"].startswith("#/components/schemas/"):
            return schema["$ref"].rsplit("/", 1)[1]
        return None

    def variant(self, component: str, instance: Any) -> str | None | bool:
        """For a `oneOf` component with a discriminator: the component `instance` names by its
        discriminating property; False if the component has no discriminator; None if the instance
        names no mapped variant."""
        schema = self.normalised["components"]["schemas"][component]
        discriminator = schema.get("discriminator") if isinstance(schema, dict) else None
        if not discriminator:
            return False
        value = instance.get(discriminator["propertyName"]) if isinstance(instance, dict) else None
        target = discriminator.get("mapping", {}).get(value) if isinstance(value, str) else None
        return target.rsplit("/", 1)[1] if isinstance(target, str) else None

    def schema_problems(self, schema: Any, instance: Any, limit: int = 3) -> list[str]:
        """Why `instance` does not match an OpenAPI schema of this spec (empty when it does)."""
        validator = jsonschema.Draft202012Validator({**to_json_schema(schema), "components": self._components})
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
        return [_describe(error) for error in errors[:limit]]

    def validator(self, component: str) -> jsonschema.protocols.Validator:
        """A validator for `#/components/schemas/<component>` (built once per component)."""
        cache = self.__dict__.setdefault("_validators", {})
        if component not in cache:
            schema = {"$ref": f"#/components/schemas/{component}", "components": self._components}
            cache[component] = jsonschema.Draft202012Validator(schema)
        return cache[component]

    def problems(self, component: str, instance: Any, limit: int = 3) -> list[str]:
        """Why `instance` does not match the component schema (empty when it does)."""
        errors = sorted(self.validator(component).iter_errors(instance), key=lambda error: list(error.path))
        return [_describe(error) for error in errors[:limit]]


def _describe(error: jsonschema.ValidationError) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{where.lstrip('.') or '(body)'}: {error.message}"
