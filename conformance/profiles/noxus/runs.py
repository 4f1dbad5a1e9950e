"""A reply in progress (`runs`) and tailing it (`events`).

- `runs` (one model call): a long reply is streamed (`format=json`); once its first text has arrived and
  its end has not, the suite reads the conversation (its `etag` now), sends a second message, which
  must be 409 `{"detail": ...}` (one reply at a time), and tails the run with `events?format=json&etag=
  <that etag>`: 200 `text/event-stream`, every frame a valid envelope, `event: done` once and last, and
  the text it carries the end of the reply (a tail from the etag on: the whole reply, or its rest).
  Afterwards the conversation holds the user message and exactly the streamed reply, and nothing of
  the refused message. A server that finished the reply before the suite could look has the mid-run
  rules skipped, saying so.
- `events` (no model call): on a conversation with no run in progress, `events` either ends at once with
  its terminator and no text (the mock), refuses with a 4xx `{"detail": ...}`, or waits for a run (the
  suite stops waiting after `NO_RUN_WAIT` seconds): the vendor leaves it open; a 5xx, a 2xx stream that
  ends without its terminator, or one that tells a reply, fails.
"""

from __future__ import annotations

from conformance.dialects.fastapi import detail_text
from conformance.http import TransportFailure
from conformance.profiles.noxus import api
from conformance.profiles.noxus.api import Context
from conformance.profiles.noxus.stream import JSON, JsonEnvelopes, ReplyStreaming
from conformance.sse import Frame
from conformance.streaming import checked_frames, require_stream
from conformance.vocabulary import Exchange

# How long `events` with no run in progress is given to answer or end before the suite takes it as
# waiting for a run.
NO_RUN_WAIT = 3.0
# Words in the prompt of the reply watched while it is produced (it must outlast a few requests).
WHILE_REPLYING_WORDS = 200
# The message sent while the reply is produced.
SECOND = "A second message at once?"


def _received_end(exchange: Exchange) -> bool:
    """Whether the raw stream received so far already holds the reply's end."""
    return any(marker in exchange.text for marker in ('"text-end"', '"finish"', "event: done", "[DONE]"))


def _terminator_problems(frames: list[Frame], end: str) -> list[str]:
    names = [frame.event or "message" for frame in frames]
    if not names or names[-1] != end:
        return [f"the stream ends with event: {end} (events: {names[-3:] or 'none'})"]
    if names.count(end) > 1:
        return [f"event: {end} once, as the last event"]
    return []


def runs(ctx: Context) -> None:
    """While a reply is produced another message is 409, and events from the etag tails the rest of the run."""
    a, profile = ctx.profile.api, ctx.profile
    streaming, tailing = profile.json_streaming, ReplyStreaming(profile, JSON, operation_id=api.EVENTS)
    conversation = a.require_conversation(ctx, "conformance runs")
    try:
        _watch_a_run(ctx, conversation["id"], streaming, tailing)
    finally:
        a.discard(ctx, conversation["id"])


def _watch_a_run(ctx: Context, cid: str, streaming: ReplyStreaming, tailing: ReplyStreaming) -> None:
    a, protocol = ctx.profile.api, streaming.protocol
    prompt = api.long_prompt(WHILE_REPLYING_WORDS)
    tail: Exchange | None = None
    with ctx.stream(a.stream(cid, api.message(prompt), format=JSON)) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live, check=False)
        if next((frame for frame in frames if protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "the reply's text, streamed", live.exchange.excerpt())
            ctx.abort()
        if _received_end(live.exchange):
            for _ in frames:
                pass
            ctx.skip("the reply was complete before the suite could look at it mid-run")
        _, mid_run = a.read(ctx, cid)
        second = ctx.send(a.add_message(cid, api.message(SECOND)))
        if 200 <= second.status < 300:
            for _ in frames:
                pass
            _accepted_second(ctx, cid, second, prompt)
            return
        if second.status != 409:
            ctx.fail(second, "409: a reply is being produced for this conversation", second.excerpt())
        else:
            for problem in detail_text(second):
                ctx.fail(second, "a 409 in the error envelope", problem)
        etag = mid_run.get("etag")
        with ctx.stream(a.events(cid, format=JSON, etag=etag if isinstance(etag, str) else None)) as tailed:
            require_stream(ctx, tailed)
            for _ in checked_frames(ctx, tailing, tailed):
                pass
        tail = tailed.exchange
        for _ in frames:
            pass
    reply = protocol.text(live.exchange.frames)
    if tail is not None:
        for problem in _terminator_problems(tail.frames, JsonEnvelopes.END):
            ctx.fail(tail, "events to end once the run has ended", problem)
        told = protocol.text(tail.frames)
        if not reply.endswith(told):
            ctx.fail(tail, f"events from the etag to tell the end of the reply streamed: ...{api.clip(reply[-120:])!r}",
                     f"{api.clip(told)!r}")
    got, stored = a.read(ctx, cid)
    messages = api.messages_of(stored)
    for problem in api.turn_problems([], messages, prompt):
        ctx.fail(got, "after the reply: the user message and the reply only (the refused message not stored)",
                 problem)
    if messages and api.reply_text(messages[-1]) != reply:
        ctx.fail(got, f"the stored reply to be exactly the text streamed: {api.clip(reply)!r}",
                 f"{api.clip(str(api.reply_text(messages[-1])))!r}")


def _accepted_second(ctx: Context, cid: str, second: Exchange, prompt: str) -> None:
    """A second message was taken while the reply streamed: a failure, unless the server had already stored
    the whole first reply when it took it (it was fast; the mid-run rules are then not observable)."""
    got, stored = ctx.profile.api.read(ctx, cid)
    texts = [api.user_text(m) for m in api.messages_of(stored)]
    first, later = (texts.index(text) if text in texts else -1 for text in (prompt, SECOND))
    if first == 0 and later == 2 and len(texts) == 4:
        ctx.skip("the reply was complete before the suite's second message reached the server")
    ctx.fail(second, "409: a reply is being produced for this conversation (the second message came before the "
             "first reply was stored)", second.excerpt())


def events(ctx: Context) -> None:
    """events with no run in progress ends at once with its terminator, refuses with a 4xx, or waits for a run."""
    a, profile = ctx.profile.api, ctx.profile
    tailing = ReplyStreaming(profile, JSON, operation_id=api.EVENTS)
    conversation = a.require_conversation(ctx, "conformance events")
    cid = conversation["id"]
    etag = conversation.get("etag")
    request = a.events(cid, format=JSON, etag=etag if isinstance(etag, str) else None)
    try:
        with ctx.client.stream(request, timeout=NO_RUN_WAIT) as live:
            if 400 <= live.status < 500:  # read whole already: an error body, not a stream
                for problem in detail_text(live.exchange):
                    ctx.fail(live.exchange, f"a {live.status} in the error envelope", problem)
            else:
                require_stream(ctx, live)
                for _ in checked_frames(ctx, tailing, live):
                    pass
                for problem in _terminator_problems(live.exchange.frames, JsonEnvelopes.END):
                    ctx.fail(live.exchange, "a stream with no run to tell: its terminator", problem)
                told = tailing.protocol.text(live.exchange.frames)
                if told:
                    ctx.fail(live.exchange, "no reply told: the conversation has no run", api.clip(told))
    except TransportFailure:
        pass  # held open, waiting for a run: the vendor leaves that open
    a.discard(ctx, cid)
