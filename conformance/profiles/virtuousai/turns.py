"""Turns: status moves from active (pending, running) to completed; one turn at a time.

1. While a turn streams (its first text delta has arrived, its end has not): the thread names it as its
   last turn with an active status, GET turn agrees, and a second stream on the thread is a 409. Once
   the stream has ended, the turn and the thread say `completed`.
   A fast server may have finished the turn before the first delta reached the suite: the thread may
   then already say `completed`, but only if the whole reply is already stored (what the stream goes on
   to deliver must be exactly it); the activity rules are then not observable and not held.
2. Cancel on a thread with no active turn is refused in the error envelope: the contract chose 409,
   VirtuousAI does not document it, so 404 passes as well.
(Cancelling a turn mid-stream is the `cancel` check.)
"""

from __future__ import annotations

from conformance.dialects.fastapi import detail_text
from conformance.profiles.virtuousai import api
from conformance.profiles.virtuousai.api import Context
from conformance.streaming import checked_frames, require_stream
from conformance.vocabulary import Exchange, Fixture

# Statuses a cancel on a thread without an active turn may get (the contract chose 409).
NO_ACTIVE_TURN = (404, 409)
# Words in the prompt of the turn watched while it streams (its reply must outlast a few requests).
WHILE_STREAMING_WORDS = 200


def long_prompt(words: int) -> str:  # also used by the cancel check
    """A request for a long answer, padded to about `words` words (only its length matters)."""
    head = "Please write a long and detailed answer, at least five hundred words, about the text that follows."
    filler = "the quick brown fox jumps over the lazy dog while the suite waits to cancel this turn".split()
    return head + " " + " ".join(filler[n % len(filler)] for n in range(words))


def _received_end(exchange: Exchange) -> bool:
    """Whether the raw stream received so far already holds the reply's end (text-end, finish or [DONE])."""
    return any(marker in exchange.text for marker in ('"text-end"', '"finish"', "[DONE]"))


def turns(ctx: Context) -> None:
    """Turn status: active while streaming (a second stream is 409), then completed; no turn, no cancel."""
    a = ctx.profile.api
    thread = a.require_thread(ctx, title="conformance turns")
    fixture = Fixture({"thread": thread["id"]}, thread)
    _while_streaming(ctx, fixture)
    cancel_without_active_turn(ctx, fixture["thread"])
    ctx.send(a.delete_thread(fixture["thread"]))


def _while_streaming(ctx: Context, fixture: Fixture) -> None:
    a, streaming = ctx.profile.api, ctx.profile.streaming
    tid = fixture["thread"]
    stored: str | None = None
    with ctx.stream(streaming.turn_request(fixture, long_prompt(WHILE_STREAMING_WORDS))) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        if next((frame for frame in frames if streaming.protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "a text delta", live.exchange.excerpt())
            return
        turn_id = None
        if not _received_end(live.exchange):
            turn_id, stored = _check_active(ctx, tid)
        for _ in frames:
            pass
    delivered = streaming.protocol.text(live.exchange.frames)
    if stored is not None and stored != delivered:
        ctx.fail(live.exchange, f"the reply stored when the turn said completed, delivered: {stored[:200]!r}",
                 f"the stream went on to deliver {delivered[:200]!r}")
    if turn_id is None:
        seen = ctx.send(a.get_thread(tid))
        turn_id = seen.json.get("lastTurnId") if isinstance(seen.json, dict) else None
    if not isinstance(turn_id, str):
        return
    check_status(ctx, tid, turn_id, "completed", why="after its stream ended")


def _check_active(ctx: Context, tid: str) -> tuple[str | None, str | None]:
    """Mid-stream: the thread and the turn say active, and a second stream is a 409. The turn's id, and
    the reply stored if the thread already says completed (see the module docstring)."""
    a = ctx.profile.api
    seen = ctx.send(a.get_thread(tid))
    ctx.require_status(seen)
    thread = ctx.require_object(seen)
    turn_id, status = thread.get("lastTurnId"), thread.get("lastTurnStatus")
    if not isinstance(turn_id, str) or status not in (*api.ACTIVE_STATUSES, "completed"):
        ctx.fail(seen, "while its turn streams: the thread's lastTurnId set and lastTurnStatus pending or running",
                 f"lastTurnId {turn_id!r}, lastTurnStatus {status!r}")
        return (turn_id if isinstance(turn_id, str) else None), None
    if status == "completed":
        replies = [m for m in a.all_messages(ctx, tid) if m.get("role") == "assistant"
                   and m.get("turnId") in (turn_id, None)]
        if not replies or not isinstance(replies[-1].get("content"), str):
            ctx.fail(ctx.client.history[-1], "while its turn streams: lastTurnStatus pending or running (it "
                     "says completed, yet no reply is stored)", f"lastTurnStatus {status!r}")
            return turn_id, None
        return turn_id, replies[-1]["content"]
    got = ctx.send(a.get_turn(turn_id))
    if ctx.check_status(got, why="(the thread's lastTurnId)"):
        body = ctx.require_object(got)
        if body.get("status") not in (*api.ACTIVE_STATUSES, "completed") or body.get("threadId") != tid:
            ctx.fail(got, f"a turn of thread {tid} that is pending, running or (just) completed",
                     f"status {body.get('status')!r}, threadId {body.get('threadId')!r}")
    _second_stream_refused(ctx, tid)
    return turn_id, None


def _second_stream_refused(ctx: Context, tid: str) -> None:
    streaming = ctx.profile.streaming
    assert streaming is not None
    with ctx.stream(streaming.turn_request(Fixture({"thread": tid}, {}), "A second turn at once?")) as second:
        if second.status != 409:
            ctx.fail(second.exchange, "409: a turn is already streaming on this thread", second.exchange.excerpt())
            second.read_all()
        else:
            for problem in detail_text(second.exchange):
                ctx.fail(second.exchange, "a 409 in the error envelope", problem)


def check_status(ctx: Context, tid: str, turn_id: str, status: str, *, why: str) -> None:
    a = ctx.profile.api
    got = ctx.send(a.get_turn(turn_id))
    if ctx.check_status(got, why="(the thread's lastTurnId)"):
        body = ctx.require_object(got)
        if body.get("status") != status:
            ctx.fail(got, f"turn status {status!r} {why}", f"status {body.get('status')!r}")
    seen = ctx.send(a.get_thread(tid))
    if ctx.check_status(seen):
        thread = ctx.require_object(seen)
        if thread.get("lastTurnStatus") != status or thread.get("lastTurnId") != turn_id:
            ctx.fail(seen, f"lastTurnId {turn_id!r} and lastTurnStatus {status!r} {why}",
                     f"lastTurnId {thread.get('lastTurnId')!r}, lastTurnStatus {thread.get('lastTurnStatus')!r}")


def cancel_without_active_turn(ctx: Context, tid: str) -> None:
    a = ctx.profile.api
    refused = ctx.send(a.cancel_turn(tid, "nothing to cancel"))
    if refused.status not in NO_ACTIVE_TURN:
        ctx.fail(refused, "409 or 404: the thread has no active turn to cancel", refused.excerpt())
    else:
        for problem in detail_text(refused):
            ctx.fail(refused, f"a {refused.status} in the error envelope", problem)
