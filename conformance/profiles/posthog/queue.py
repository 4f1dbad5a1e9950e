"""The message queue: at most two messages, first in first out, edited and removed, drained after a run.

On an idle conversation the queue is empty (`{"messages": [], "max_queue_messages": 2}`). While a run
streams: a message is added last (200, the queue), a second too, a third is 409 `queue_full` and changes
nothing; PATCH replaces only a message's content (its id, place and `created_at` stay); DELETE answers
200 with the remaining queue; clear answers the empty queue. Two messages queued then run after the run,
in order, each storing its human message and a reply, and the queue ends empty with the conversation
`idle`. (If the run has ended before the two are queued, that part is skipped, saying so.) Unknown
queued ids (404 `{"detail": "Queue message not found."}`) are `error_envelope` probes.
"""

from __future__ import annotations

from typing import Any

from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import Context
from conformance.profiles.posthog.runs import final_received
from conformance.streaming import checked_frames, require_stream
from conformance.vocabulary import Exchange

# How long the queued messages' runs may take to finish after the run's stream ended.
DRAIN_SECONDS = 60.0


def _queue_of(ctx: Context, exchange: Exchange, expected: list[str], why: str) -> list[dict[str, Any]]:
    """The queue an answer carries, which must be 200 with these contents in this order (recorded
    otherwise); [] if it is not a queue."""
    if not ctx.check_status(exchange, 200, why=why):
        return []
    body = exchange.json if isinstance(exchange.json, dict) else {}
    messages = body.get("messages")
    if not isinstance(messages, list) or body.get("max_queue_messages") != 2:
        ctx.fail(exchange, f'{{"messages": [...], "max_queue_messages": 2}} {why}', exchange.excerpt())
        return []
    contents = [m.get("content") if isinstance(m, dict) else m for m in messages]
    if contents != expected:
        ctx.fail(exchange, f"the queue {expected} {why}", f"{contents}")
    return [m for m in messages if isinstance(m, dict)]


def queue(ctx: Context) -> None:
    """The queue holds two messages at most, FIFO; edits and removals; queued messages run after the run."""
    p = ctx.profile
    a, streaming = p.api, p.streaming
    cid = p.create_fixture(ctx)["conversation"]
    _queue_of(ctx, ctx.send(a.queue(cid)), [], "(nothing queued on an idle conversation)")
    _, before = a.require_settled(ctx, cid, why="before the run")
    prompt = api.long_prompt()
    first, second, edited = "Queued first", "Queued second", "Queued second, edited"
    drained = ["Then this one", "And this one last"]
    with a.start_run(ctx, a.create(cid, prompt)) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        if next((frame for frame in frames if streaming.protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "an ai message in the run's stream", live.exchange.excerpt())
            ctx.abort()
        added = _queue_of(ctx, ctx.send(a.enqueue(cid, first)), [first], "after queueing one message")
        added = _queue_of(ctx, ctx.send(a.enqueue(cid, second)), [first, second], "after queueing a second") or added
        third = ctx.send(a.enqueue(cid, "Queued third"))
        if third.status != 409:
            ctx.fail(third, "409 queue_full: two messages are queued already", third.excerpt())
        elif not isinstance(third.json, dict) or third.json.get("error") != "queue_full":
            ctx.fail(third, '{"error": "queue_full", "detail": ...}', third.excerpt())
        _queue_of(ctx, ctx.send(a.queue(cid)), [first, second], "(the third message was refused)")
        if len(added) == 2:
            _edit_and_remove(ctx, cid, added, edited)
        _queue_of(ctx, ctx.send(a.clear_queue(cid)), [], "after clearing the queue")
        finished_early = final_received(live) or not _running(ctx, cid)
        if not finished_early:
            _queue_of(ctx, ctx.send(a.enqueue(cid, drained[0])), drained[:1], "after queueing one message")
            _queue_of(ctx, ctx.send(a.enqueue(cid, drained[1])), drained, "after queueing a second")
        for _ in frames:
            pass
    if finished_early:
        ctx.skip("the run ended before two messages could be queued for after it; the drain was not observed")
    reply = streaming.protocol.text(live.exchange.frames)

    def drained_all(body: dict[str, Any]) -> bool:
        stored = api.kinds(api.messages_of(body))
        return api.idle(body) and ("human", drained[1]) in stored and bool(stored) and stored[-1][0] == "ai"

    got, after = a.settled(ctx, cid, drained_all, seconds=DRAIN_SECONDS)
    stored = api.kinds(api.messages_of(after))
    start = len(api.messages_of(before))
    shape = [(kind, content if kind == "human" else "...") for kind, content in stored[start:]]
    expected = [("human", prompt), ("ai", "..."), ("human", drained[0]), ("ai", "..."), ("human", drained[1]),
                ("ai", "...")]
    if after is None or not drained_all(after) or shape != expected:
        ctx.fail(got, "after the run, the two queued messages run in order (each a human message and a reply), "
                 "then idle", f"status {after.get('status') if after else None!r}, new messages {shape}")
    elif stored[start + 1] != ("ai", reply):
        ctx.fail(got, f"the run's reply stored as streamed: {reply[:120]!r}", f"{stored[start + 1][1]!r}"[:200])
    _queue_of(ctx, ctx.send(a.queue(cid)), [], "once the queued messages ran")


def _running(ctx: Context, cid: str) -> bool:
    """Whether the conversation still says its run is in progress."""
    seen = ctx.send(ctx.profile.api.retrieve(cid))
    return seen.status == 200 and isinstance(seen.json, dict) and seen.json.get("status") == "in_progress"


def _edit_and_remove(ctx: Context, cid: str, added: list[dict[str, Any]], edited: str) -> None:
    a = ctx.profile.api
    first, second = added
    changed = _queue_of(ctx, ctx.send(a.update_queued(cid, str(second.get("id")), edited)),
                        [str(first.get("content")), edited], "after editing the second message")
    if len(changed) == 2:
        kept = {key: second.get(key) for key in ("id", "created_at")}
        now = {key: changed[1].get(key) for key in ("id", "created_at")}
        if kept != now:
            ctx.fail(ctx.client.history[-1], f"an edit keeps the message's id and created_at {kept}", f"{now}")
    _queue_of(ctx, ctx.send(a.delete_queued(cid, str(first.get("id")))), [edited],
              "after removing the first message (200 with the remaining queue)")
