"""Runs: a message on an existing conversation, watched while it streams.

While the run streams (its first `ai` event has arrived, its final message has not): the conversation
says `in_progress`, another message is refused with 409 (`conflict`, in the exceptions-hog envelope),
and `content: null` replays the run from its start (no `conversation` event: the conversation is not new)
and follows it to the same final message. The run's own stream has no `conversation` event either and
follows the grammar (`MaxEvents`). Afterwards the conversation is `idle`, holds the messages it had plus
the human message sent and the reply streamed, and its `updated_at` has moved; `content: null` on it is
then 400 `invalid_input` (nothing to resume).

A fast server may have finished the run before the suite looked: the conversation may then already say
`idle`, but only with the whole reply stored; the mid-run rules are then not observable and not held.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.dialects.drf import hog_error
from conformance.http import LiveStream, StreamExchange
from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import Context
from conformance.profiles.posthog.stream import event_name, final_ai
from conformance.sse import Frame
from conformance.streaming import checked_frames, require_stream
from conformance.vocabulary import Probe, parse_time


def final_received(live: LiveStream) -> bool:
    """Whether the stream has delivered its final ai message already."""
    return final_ai(live.exchange.frames) is not None


def no_conversation_event(ctx: Context, exchange: StreamExchange, why: str) -> None:
    names = [event_name(frame) for frame in exchange.frames]
    if "conversation" in names:
        ctx.fail(exchange, f"no conversation event: {why}", f"event {names.index('conversation') + 1} is one")


def grammar(ctx: Context, exchange: StreamExchange, what: str) -> None:
    streaming = ctx.profile.streaming
    if exchange.pending:
        ctx.fail(exchange, "every event ended by a blank line", f"the stream ended inside one: {exchange.pending!r}")
    for problem in streaming.protocol.sequence_problems(exchange.frames):
        ctx.fail(exchange, f"{what} in the run stream's grammar", problem)


def runs(ctx: Context) -> None:
    """A run: in_progress while it streams (a second message 409, content null replays it), then idle."""
    p = ctx.profile
    a, streaming = p.api, p.streaming
    cid = p.create_fixture(ctx)["conversation"]
    _, before = a.require_settled(ctx, cid, why="before the run")
    prompt = api.long_prompt()
    mid_run = False
    replayed: StreamExchange | None = None
    with a.start_run(ctx, a.create(cid, prompt)) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        if next((frame for frame in frames if streaming.protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "an ai message in the run's stream", live.exchange.excerpt())
            ctx.abort()
        if not final_received(live):
            mid_run = _while_running(ctx, cid, live, frames)
            if mid_run:
                replayed = _replay(ctx, cid)
        for _ in frames:
            pass
    run = live.exchange
    no_conversation_event(ctx, run, "the conversation is not new")
    grammar(ctx, run, "the run's stream")
    reply = streaming.protocol.text(run.frames)
    if replayed is not None and streaming.protocol.text(replayed.frames) != reply:
        ctx.fail(replayed, f"the replay to end in the run's reply {reply[:120]!r}",
                 f"{streaming.protocol.text(replayed.frames)[:120]!r}")

    got, after = a.require_settled(ctx, cid, why="once the run's stream has ended")
    expected = api.kinds(api.messages_of(before)) + [("human", prompt), ("ai", reply)]
    stored = api.kinds(api.messages_of(after))
    if stored != expected:
        ctx.fail(got, f"the messages before the run, then the human message sent and the reply streamed "
                 f"({len(expected)} messages)", f"{len(stored)} messages, ending {[kind for kind, _ in stored[-3:]]}")
    moved_from, moved_to = parse_time(before.get("updated_at")), parse_time(after.get("updated_at"))
    if moved_from is None or moved_to is None or not moved_to > moved_from:
        ctx.fail(got, f"updated_at later than before the run ({before.get('updated_at')!r})",
                 f"updated_at {after.get('updated_at')!r}")
    idle_null = ctx.send(a.create(cid, None))
    ctx.expect(idle_null, Probe(idle_null.request, 400, "(content null on an idle conversation: nothing to resume)",
                                hog_error(("invalid_input",), attr=None)))


def _while_running(ctx: Context, cid: str, live: LiveStream, frames: Iterator[Frame]) -> bool:
    """Mid-run: the conversation is in_progress and another message is a 409. Whether the run was still
    going (False: the server had already finished it, which is checked instead)."""
    a = ctx.profile.api
    seen = ctx.send(a.retrieve(cid))
    ctx.require_status(seen)
    body = ctx.require_object(seen)
    status = body.get("status")
    if status == "idle" and final_received(live):
        return False
    if status == "idle":
        # Finished before the suite looked? Then the whole reply is stored already; otherwise idle is wrong.
        stored = [m for m in api.messages_of(body) if m.get("type") == "ai"]
        for _ in frames:
            pass
        final = final_ai(live.exchange.frames)
        if final is None or not stored or stored[-1].get("content") != final.get("content"):
            ctx.fail(seen, "status 'in_progress' while the run streams (it says idle, yet its reply is not "
                     "stored)", f"status {status!r}")
        return False
    if status != "in_progress":
        ctx.fail(seen, "status 'in_progress' while the run streams", f"status {status!r}")
    second = ctx.send(a.create(cid, "A second message at once?"))
    if second.status == 200:
        ctx.fail(second, "409: a run is in progress (queue the message instead)", "200: a second run started")
    else:
        ctx.expect(second, Probe(second.request, 409, "(a run is in progress; queue the message instead)",
                                 hog_error(("conflict",), attr=None)))
    return True


def _replay(ctx: Context, cid: str) -> StreamExchange | None:
    """content null mid-run: 200, the run replayed from its start and followed to its end."""
    p = ctx.profile
    with p.api.start_run(ctx, p.api.create(cid, None)) as replay:
        if replay.status != 200:
            ctx.fail(replay.exchange, "200 and the run replayed (content null while in progress)",
                     replay.exchange.excerpt())
            return None
        for _ in checked_frames(ctx, p.streaming, replay):
            pass
    exchange = replay.exchange
    no_conversation_event(ctx, exchange, "a replay of a run on an existing conversation")
    grammar(ctx, exchange, "the replayed run")
    return exchange
