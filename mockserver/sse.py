"""Server-sent events: frame encoding and a paced streaming response, shared by every family that streams.

A family's streaming handler yields payloads (JSON-able objects, or ready strings such as ``[DONE]``, or a
``NamedEvent`` for protocols that name their events with an ``event:`` line, or an ``Event`` that may also
carry an ``id:`` line); ``event_stream`` wraps them in
``data: …`` frames and a ``text/event-stream`` response that is sent to
the client frame by frame as it is produced. ``delta_delay`` is the pause a mock takes between text
deltas, so clients see a stream arrive the way a model's reply does (``convo-mock serve --stream-delay``
sets it through the ``CONVO_MOCK_STREAM_DELAY`` environment variable). A fault rule's stream faults
(``mockserver.faults.StreamPlan``: time to first event, a pause per event, a stall, a dropped connection)
are applied to the frames of a stream made while the rule's request is handled.
"""

from __future__ import annotations

import asyncio
import os
import typing as t
from dataclasses import dataclass

import orjson
from starlette.responses import StreamingResponse

from mockserver.faults import STREAM_PLAN, StreamPlan

DELAY_VARIABLE = "CONVO_MOCK_STREAM_DELAY"
DEFAULT_DELAY = 0.02
"""Seconds between text deltas unless configured."""


def delta_delay() -> float:
    """The configured pause between streamed deltas, in seconds (never negative)."""
    try:
        return max(0.0, float(os.environ.get(DELAY_VARIABLE, DEFAULT_DELAY)))
    except ValueError:
        return DEFAULT_DELAY


@dataclass(frozen=True)
class NamedEvent:
    """An event with a name: sent as ``event: <name>`` followed by its ``data:`` line."""

    name: str
    data: t.Any


@dataclass(frozen=True)
class Event:
    """An event with any of the optional fields: an ``id:`` line (where a client may resume) and an
    ``event:`` line (its name), before its ``data:`` line."""

    data: t.Any
    name: str | None = None
    id: str | None = None


def sse_frame(data: t.Any) -> bytes:
    """One event: a string is sent as is, a ``NamedEvent`` with its ``event:`` line, an ``Event`` with its
    ``id:`` and ``event:`` lines, anything else as compact JSON."""
    if isinstance(data, NamedEvent):
        return b"event: " + data.name.encode() + b"\n" + sse_frame(data.data)
    if isinstance(data, Event):
        head = b"id: " + data.id.encode() + b"\n" if data.id is not None else b""
        if data.name is not None:
            head += b"event: " + data.name.encode() + b"\n"
        return head + sse_frame(data.data)
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return b"data: " + payload + b"\n\n"


async def _frames(payloads: t.AsyncIterator[t.Any]) -> t.AsyncIterator[bytes]:
    async for payload in payloads:
        yield sse_frame(payload)


class StreamDropped(Exception):
    """Raised mid-stream by a fault rule: the server drops the connection without ending the stream."""


async def _faulty_frames(payloads: t.AsyncIterator[t.Any], plan: StreamPlan) -> t.AsyncIterator[bytes]:
    sent = 0
    try:
        async for payload in payloads:
            if plan.drop_after is not None and sent >= plan.drop_after:
                raise StreamDropped(f"fault rule: connection dropped after {sent} events")
            if plan.stall_after is not None and sent == plan.stall_after and plan.stall_s > 0:
                await asyncio.sleep(plan.stall_s)
            pause = plan.first_event_s if sent == 0 else plan.event_s
            if pause > 0:
                await asyncio.sleep(pause)
            yield sse_frame(payload)
            sent += 1
    finally:
        close = getattr(payloads, "aclose", None)
        if close is not None:
            await close()


def event_stream(payloads: t.AsyncIterator[t.Any], headers: t.Mapping[str, str] | None = None) -> StreamingResponse:
    """A ``text/event-stream`` response sending each payload as its own frame, unbuffered (with the stream
    faults of the request being handled, if a fault rule set any)."""
    plan = STREAM_PLAN.get()
    return StreamingResponse(
        _frames(payloads) if plan is None else _faulty_frames(payloads, plan),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})},
    )
