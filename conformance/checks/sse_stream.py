"""SSE stream: a streamed turn, read event by event as it arrives, follows its protocol and its contract.

The family's `Streaming` hook says where and how to stream a turn. The stream must answer 200 with
`text/event-stream`; each event is parsed and validated as it arrives against the schema the spec
gives one event (`x-stream-chunk-schema`, the variant picked by its discriminator), the events must
come in the protocol's order (UI Message Stream: start, text-start, text-delta..., text-end, finish,
then `[DONE]`), the server must end the stream with nothing left half-sent, and the text the deltas
carry, concatenated, must be exactly the reply the server stored. The family then checks what the
turn left behind (its own rules: messages, thread and turn state). The reply's wording is never
checked: against a real vendor it comes from a model.
"""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.profiles.base import Profile
from conformance.streaming import Streaming, stream_turn


def sse_stream(ctx: CheckContext[Profile]) -> None:
    """A streamed turn's events each match their schema, come in order, and carry exactly the stored reply."""
    streaming = ctx.profile.streaming
    if streaming is None:
        ctx.skip("the family does not stream turns")
    check_streamed_turn(ctx, streaming)


def check_streamed_turn(ctx: CheckContext[Any], streaming: Streaming) -> None:
    """What `sse_stream` holds, for any way the family streams a turn (a family streaming in more than one
    format checks its other formats with this, in checks of its own)."""
    fixture = streaming.prepare(ctx)
    turn = stream_turn(ctx, streaming, fixture, streaming.prompt())
    exchange = turn.exchange
    if exchange.pending:
        ctx.fail(exchange, "every event ended by a blank line", f"the stream ended inside one: {exchange.pending!r}")
    for problem in streaming.protocol.sequence_problems(turn.frames):
        ctx.fail(exchange, f"a {streaming.protocol.name} turn", problem)

    shown, stored = streaming.stored_reply(ctx, fixture)
    if stored is None:
        ctx.fail(shown, "the streamed reply stored", shown.excerpt())
    elif stored != turn.text:
        ctx.fail(
            shown,
            f"the stored reply to be exactly the deltas streamed: {_clip(turn.text)!r}",
            f"stored {_clip(stored)!r}",
        )
    streaming.after_turn(ctx, fixture, turn)
    streaming.discard(ctx, fixture)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
