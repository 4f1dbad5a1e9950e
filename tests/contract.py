"""Validate mock traffic against a family's contract with openapi-core (an independent validator)."""

from __future__ import annotations

from functools import lru_cache

import httpx
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from convo_contracts import contract_path

SPEC_SERVER = "http://127.0.0.1:4010"  # the spec's first server URL, host part


@lru_cache
def contract(spec_file: str) -> OpenAPI:
    return OpenAPI.from_file_path(str(contract_path(spec_file)))


def assert_conforms(spec_file: str, response: httpx.Response) -> None:
    """Raise if ``response`` (to its request) breaks the contract's response schemas or statuses."""
    request = response.request
    query: dict[str, list[str] | str] = {}
    for key, value in request.url.params.multi_items():
        query.setdefault(key, value)
    core_request = MockRequest(SPEC_SERVER, request.method.lower(), request.url.path, args=query,
                               headers=dict(request.headers), data=request.content or None)
    # openapi-core has no deserialiser for text/event-stream; the stream is a string per the contract
    streamed = response.headers.get("content-type", "").startswith("text/event-stream")
    core_response = MockResponse(response.text if streamed else response.content, status_code=response.status_code,
                                 headers=dict(response.headers),
                                 content_type=response.headers.get("content-type", ""))
    contract(spec_file).validate_response(core_request, core_response)
