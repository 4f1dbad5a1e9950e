"""The pagination check's limit/offset and page/size walks, against small list servers (`tests.paging_servers`):
each passes a faithful server and fails each broken one, naming what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.checks.pagination import pagination
from conformance.context import CheckAborted, CheckContext, CheckSkipped, RunSettings
from conformance.findings import Failure
from conformance.http import Identity, RecordingClient
from conformance.paging import Listing, OffsetPaging, PageNumberPaging, Paging
from conformance.profiles.base import Profile
from conformance.spec import Spec
from conformance.vocabulary import PRIMARY, Request, Seeded
from tests.paging_servers import BROKEN, DEFAULT_LIMIT, MAX_LIMIT, serving

LIST = {"responses": {"200": {"description": "a page"}}}
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "toy lists", "version": "1"},
    "paths": {
        "/items": {
            "get": {"operationId": "listOffset", **LIST},
            "post": {"operationId": "addItems", "responses": {"201": {"description": "added"}}},
            "delete": {"operationId": "clearItems", **LIST},
        },
        "/pages": {"get": {"operationId": "listPages", **LIST}},
    },
    "components": {"schemas": {"Error": {"type": "object"}}},
}


class ToyList(Listing):
    """The server's one list, read through `operation` with `paging`."""

    default_limit, min_limit, max_limit = DEFAULT_LIMIT, 1, MAX_LIMIT
    max_seed = 30

    def __init__(self, profile: ToyProfile, name: str, operation: str, paging: Paging) -> None:
        self.profile, self.name, self.operation, self.paging = profile, name, operation, paging

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        added = ctx.send(self.profile.request("addItems", json={"count": count}))
        ctx.require_status(added)
        return Seeded(None, ctx.require_object(added)["ids"])

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        return self.profile.request(self.operation, params=list(paging))

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        ctx.send(self.profile.request("clearItems"))


class ToyProfile(Profile):
    name = "toy"
    title = "Toy lists"
    spec_file = "toy.yaml"
    error_schema = "Error"

    def __init__(self, spec_path: Path, kind: str) -> None:
        self.spec_path, self.kind = spec_path, kind

    @cached_property
    def spec(self) -> Spec:
        return Spec(self.spec_path)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {}

    def probe(self) -> Request:
        return self.request("listOffset")

    @property
    def listings(self) -> list[Listing]:
        if self.kind == "offset":
            return [ToyList(self, "items by offset", "listOffset", OffsetPaging())]
        return [ToyList(self, "items by page", "listPages", PageNumberPaging())]


class ToyPageProfile(ToyProfile):
    rejection_status = 422  # the page server refuses as FastAPI does


def run_pagination(tmp_path: Path, variant: str, kind: str) -> list[Failure]:
    spec_path = tmp_path / "toy.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    profile = (ToyProfile if kind == "offset" else ToyPageProfile)(spec_path, kind)
    with serving(variant) as url:
        identities = {PRIMARY: Identity("k", "$API_KEY")}
        client = RecordingClient(url, identities=identities, auth_headers=profile.auth_headers)
        ctx = CheckContext("pagination", client, profile, RunSettings(url, max_examples=12, seed=1))
        try:
            pagination(ctx)
        except (CheckAborted, CheckSkipped):
            pass
        finally:
            client.close()
    return ctx.failures


@pytest.mark.parametrize("kind", ["offset", "page"])
def test_a_faithful_server_passes(tmp_path: Path, kind: str) -> None:
    failures = run_pagination(tmp_path, "faithful", kind)
    assert failures == [], "\n".join(f"{f.operation}: expected {f.expected}, got {f.actual}" for f in failures)


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_a_broken_server_fails(tmp_path: Path, variant: str) -> None:
    description, said = BROKEN[variant]
    failures = run_pagination(tmp_path, variant, variant.split("-")[0])
    assert failures, f"{variant} ({description}) not caught"
    assert all(failure.check == "pagination" and failure.curl.startswith("curl ") for failure in failures)
    assert said in failures[0].expected, f"{variant}: {failures[0].expected} / {failures[0].actual}"
