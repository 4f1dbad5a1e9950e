"""Every contract in openapi/ is valid OpenAPI 3.0.3 and as exact as the project promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

# The vendor families' contracts (admin.yaml, the mock's own admin API, is checked in tests/test_admin.py).
SPECS = sorted(path for path in (Path(__file__).resolve().parents[1] / "openapi").glob("*.yaml")
               if path.name != "admin.yaml")
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(params=SPECS, ids=lambda p: p.name)
def spec(request) -> dict:
    return yaml.safe_load(request.param.read_text())


def test_specs_exist() -> None:
    assert SPECS, "no contracts in openapi/"


def test_spec_is_valid_openapi_303(spec: dict) -> None:
    assert spec["openapi"] == "3.0.3"
    validate(spec)


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_declares_errors_and_has_an_id(spec: dict) -> None:
    for path, method, operation in operations(spec):
        assert operation.get("operationId"), f"{method} {path} has no operationId"
        errors = [status for status in operation["responses"] if status[0] in "45"]
        # The answer to a request without a credential: 401, or an x402 payment challenge (402).
        unauthenticated = {"401", "402"} & set(errors)
        assert unauthenticated or operation.get("security") == [], f"{method} {path} declares neither 401 nor 402"
        for status in errors:
            response = operation["responses"][status]
            assert "$ref" in response or "content" in response, f"{method} {path} {status} has no body schema"


def test_creates_link_to_follow_up_operations(spec: dict) -> None:
    links = [link for _, _, operation in operations(spec) for response in operation["responses"].values()
             for link in response.get("links", {}).values()]
    ids = {operation["operationId"] for _, _, operation in operations(spec)}
    assert links, "no OpenAPI links: stateful fuzzing cannot walk the API"
    assert all(link["operationId"] in ids for link in links)
