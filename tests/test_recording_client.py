"""The suite's HTTP client waits out rate limits (429 + Retry-After) for plain and streamed requests alike."""

from __future__ import annotations

import httpx
import pytest

from conformance import http
from conformance.http import PRIMARY, Identity, RecordingClient, Request


def client_answering(statuses: list[int], sent: list[httpx.Request]) -> RecordingClient:
    """A client whose server answers the given statuses in turn (429s with ``Retry-After: 0``)."""
    answers = iter(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status = next(answers)
        if status == 429:
            return httpx.Response(429, headers={"retry-after": "0"}, json={"detail": "slow down"})
        return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=b"data: [DONE]\n\n")

    client = RecordingClient("http://127.0.0.1:9/api", identities={PRIMARY: Identity("k", "$API_KEY")},
                             auth_headers=lambda key: {"Authorization": f"Bearer {key}"})
    client._http = httpx.Client(transport=httpx.MockTransport(answer))
    return client


@pytest.mark.parametrize("streamed", [False, True])
def test_429s_are_retried_until_an_answer(streamed: bool) -> None:
    sent: list[httpx.Request] = []
    client = client_answering([429, 429, 200], sent)
    request = Request("op", "GET", "/things")
    if streamed:
        with client.stream(request) as live:
            status = live.status
    else:
        status = client.send(request).status
    assert status == 200 and len(sent) == 3 and client.request_count == 3


def test_retries_stop_after_the_limit_with_the_last_429() -> None:
    sent: list[httpx.Request] = []
    client = client_answering([429] * (http.RATE_LIMIT_RETRIES + 2), sent)
    exchange = client.send(Request("op", "GET", "/things"))
    assert exchange.status == 429 and len(sent) == http.RATE_LIMIT_RETRIES + 1
