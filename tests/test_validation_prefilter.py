"""The Rust pre-check of request bodies never accepts what the Python validator rejects.

Bodies are generated from every request-body schema of every family: mostly close to the schema (right
and wrong types, lengths at and past each limit, nulls, unknown keys, long metadata keys, odd formats)
and some arbitrary JSON. Whenever jsonschema_rs accepts a body, the Python validator must accept it too;
in practice the two agree on every body, which the test also checks so a drift is noticed early.
"""

from __future__ import annotations

import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app import create_app
from mockserver.pipeline import FamilyApp
from mockserver.validation import accepted_by_rust, compiled_validator, rust_validator

pytest.importorskip("jsonschema_rs")


def _body_schemas() -> list[tuple[str, dict]]:
    schemas = []
    for family_app in create_app().family_apps.values():
        for operation in t.cast(FamilyApp, family_app).operations:
            spec_operation = operation.validation_operation
            if spec_operation.request_body:
                schemas.append((operation.operation_id, spec_operation.body_schema("application/json")))
    return schemas


SCHEMAS = _body_schemas()
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
UUIDS = st.sampled_from(["0b8c7d2e-5f0a-4c1e-9a7b-3d2f1e0c9b8a", "0B8C7D2E5F0A4C1E9A7B3D2F1E0C9B8A",
                         "{0b8c7d2e-5f0a-4c1e-9a7b-3d2f1e0c9b8a}", "not-a-uuid", ""])
DATES = st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123+02:00", "2026-13-01T00:00:00Z",
                         "2026-01-01", "yesterday"])


def _near(limit: int) -> st.SearchStrategy[int]:
    return st.sampled_from([max(0, limit - 1), limit, limit + 1])


@st.composite
def shaped(draw: st.DrawFn, schema: t.Any, depth: int = 0) -> t.Any:
    """A value built from ``schema``: usually close to valid, sometimes broken on purpose."""
    if not isinstance(schema, dict) or depth > 6 or draw(st.integers(0, 59)) == 0:
        return draw(JSON)
    if schema.get("nullable") and draw(st.integers(0, 9)) == 0:
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return draw(shaped(draw(st.sampled_from(schema[key])), depth + 1))
    if "enum" in schema:
        if draw(st.integers(0, 9)) == 0:
            return draw(st.sampled_from(["not-listed", 1, None]))
        return draw(st.sampled_from(list(schema["enum"])))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        value: dict = {}
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            if draw(st.integers(0, 29)) < (29 if name in required else 15):
                value[name] = draw(shaped(sub, depth + 1))
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) or "x-propertyNames" in schema:
            names = schema.get("x-propertyNames", {})
            for _ in range(draw(_near(schema.get("maxProperties", 2)) if draw(st.booleans()) else st.integers(0, 2))):
                length = draw(_near(names["maxLength"])) if "maxLength" in names else draw(st.integers(1, 5))
                value[draw(st.text(alphabet="abcé", min_size=length, max_size=length))] = draw(
                    shaped(extra if isinstance(extra, dict) else {}, depth + 1))
        if draw(st.integers(0, 19)) == 0:
            value["unexpected"] = draw(JSON)
        return value
    if kind == "array":
        size = draw(_near(schema["maxItems"])) if "maxItems" in schema and draw(st.booleans()) else draw(
            st.integers(0, 2))
        return [draw(shaped(schema.get("items", {}), depth + 1)) for _ in range(size)]
    if kind == "string":
        if schema.get("format") == "uuid":
            return draw(UUIDS)
        if schema.get("format") == "date-time":
            return draw(DATES)
        if "maxLength" in schema and draw(st.booleans()):
            return "x" * draw(_near(schema["maxLength"]))
        return draw(st.text(max_size=8)) if draw(st.integers(0, 9)) else draw(st.integers())
    if kind in ("integer", "number"):
        bounds = [schema[k] for k in ("minimum", "maximum") if k in schema]
        fine = [b + d for b in bounds for d in (0, 1 if b == schema.get("minimum") else -1)] or [1, 2]
        return draw(st.sampled_from(fine)) if draw(st.integers(0, 4)) else draw(st.sampled_from(
            [*(b + d for b in bounds for d in (-1, 1)), 1.0, 2.5, True, "1"]))
    if kind == "boolean":
        return draw(st.booleans()) if draw(st.integers(0, 4)) else draw(st.sampled_from([0, "true", None]))
    return draw(JSON)


def test_every_body_schema_gets_the_rust_pre_check() -> None:
    assert SCHEMAS and all(rust_validator(schema) is not None for _, schema in SCHEMAS), "a schema fell back"


@pytest.mark.parametrize(("operation_id", "schema"), SCHEMAS, ids=[name[:40] for name, _ in SCHEMAS])
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_rust_accepts_only_what_python_accepts(operation_id: str, schema: dict, data: st.DataObject) -> None:
    body = data.draw(shaped(schema))
    by_python = compiled_validator(schema).is_valid(body)
    by_rust = accepted_by_rust(schema, body)
    assert not (by_rust and not by_python), f"{operation_id}: Rust accepted what Python rejects: {body!r}"
    assert by_rust == by_python, f"{operation_id}: the validators disagree (Rust stricter) on {body!r}"
