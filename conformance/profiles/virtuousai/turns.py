"""Turns: status moves from active (pending, running) to completed or cancelled; one turn at a time;
cancel works in the middle of a stream.

1. While a turn streams (its first text delta has arrived, its end has not): the thread names it as its
   last turn with an active status, GET turn agrees, and a second stream on the thread is a 409. Once
   the stream has ended, the turn and the thread say `completed`.
2. Cancel on a thread with no active turn is refused in the error envelope: the contract chose 409,
   VirtuousAI does not document it, so 404 passes as well.
3. Cancel mid-stream: after the first deltas, cancel with `partialText` = the text received so far. The
   answer is 204 with no body, the stream then ends, the turn and the thread say `cancelled`, the thread
   is not eligible for crystallization, and its messages are the user message and an assistant message
   that is exactly the partial text. The thread then takes a new turn, which completes.
   The stream is read as it arrives, so the cancel lands while the server is still sending. If the turn
   nevertheless completed first (the cancel refused and the turn `completed`), that is no violation: the
   check retries once with a longer prompt, then skips and says why.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.http import Exchange
from conformance.profiles.base import Fixture
from conformance.profiles.virtuousai import api
from conformance.profiles.virtuousai.rules import detail_text
from conformance.streaming import StreamedTurn, checked_frames, require_stream

# Statuses a cancel on a thread without an active turn may get (the contract chose 409).
NO_ACTIVE_TURN = (404, 409)
# Words in the prompts whose replies must outlast a cancel; the second try is longer.
CANCEL_PROMPT_WORDS = (300, 900)
# Words in the prompt of the turn watched while it streams (its reply must outlast a few requests).
WHILE_STREAMING_WORDS = 200
# A cancelled stream must end within this many seconds.
CANCEL_STREAM_TIMEOUT = 30.0


def long_prompt(words: int) -> str:
    """A request for a long answer, padded to about `words` words (only its length matters)."""
    head = "Please write a long and detailed answer, at least five hundred words, about the text that follows."
    filler = "the quick brown fox jumps over the lazy dog while the suite waits to cancel this turn".split()
    return head + " " + " ".join(filler[n % len(filler)] for n in range(words))


def _received_end(exchange: Exchange) -> bool:
    """Whether the raw stream received so far already holds the reply's end (text-end, finish or [DONE])."""
    return any(marker in exchange.text for marker in ('"text-end"', '"finish"', "[DONE]"))


def turns(ctx: CheckContext) -> None:
    """Turn status: active while streaming (a second stream is 409), then completed; cancel mid-stream."""
    a = ctx.profile.api  # type: ignore[attr-defined]
    thread = a.require_thread(ctx, title="conformance turns")
    fixture = Fixture({"thread": thread["id"]}, thread)
    _while_streaming(ctx, fixture)
    _cancel_without_active_turn(ctx, fixture["thread"])
    ctx.send(a.delete_thread(fixture["thread"]))
    _cancel_mid_stream(ctx)


def _while_streaming(ctx: CheckContext, fixture: Fixture) -> None:
    a, streaming = ctx.profile.api, ctx.profile.streaming  # type: ignore[attr-defined]
    tid = fixture["thread"]
    with ctx.stream(streaming.turn_request(fixture, long_prompt(WHILE_STREAMING_WORDS))) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        if next((frame for frame in frames if streaming.protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "a text delta", live.exchange.excerpt())
            return
        turn_id = None
        if not _received_end(live.exchange):
            turn_id = _check_active(ctx, tid)
        for _ in frames:
            pass
    if turn_id is None:
        seen = ctx.send(a.get_thread(tid))
        turn_id = seen.json.get("lastTurnId") if isinstance(seen.json, dict) else None
    if not isinstance(turn_id, str):
        return
    _check_status(ctx, tid, turn_id, "completed", why="after its stream ended")


def _check_active(ctx: CheckContext, tid: str) -> str | None:
    """Mid-stream: the thread and the turn say active, and a second stream is a 409. The turn's id."""
    a, streaming = ctx.profile.api, ctx.profile.streaming  # type: ignore[attr-defined]
    seen = ctx.send(a.get_thread(tid))
    ctx.require_status(seen)
    thread = ctx.require_object(seen)
    turn_id = thread.get("lastTurnId")
    if thread.get("lastTurnStatus") not in api.ACTIVE_STATUSES or not isinstance(turn_id, str):
        ctx.fail(seen, "while its turn streams: the thread's lastTurnId set and lastTurnStatus pending or running",
                 f"lastTurnId {turn_id!r}, lastTurnStatus {thread.get('lastTurnStatus')!r}")
    if isinstance(turn_id, str):
        got = ctx.send(a.get_turn(turn_id))
        if ctx.check_status(got, why="(the thread's lastTurnId)"):
            body = ctx.require_object(got)
            if body.get("status") not in (*api.ACTIVE_STATUSES, "completed") or body.get("threadId") != tid:
                ctx.fail(got, f"a turn of thread {tid} that is pending, running or (just) completed",
                         f"status {body.get('status')!r}, threadId {body.get('threadId')!r}")
    with ctx.stream(streaming.turn_request(Fixture({"thread": tid}, {}), "A second turn at once?")) as second:
        if second.status != 409:
            ctx.fail(second.exchange, "409: a turn is already streaming on this thread", second.exchange.excerpt())
            second.read_all()
        else:
            for problem in detail_text(second.exchange):
                ctx.fail(second.exchange, "a 409 in the error envelope", problem)
    return turn_id if isinstance(turn_id, str) else None


def _check_status(ctx: CheckContext, tid: str, turn_id: str, status: str, *, why: str) -> None:
    a = ctx.profile.api  # type: ignore[attr-defined]
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


def _cancel_without_active_turn(ctx: CheckContext, tid: str) -> None:
    a = ctx.profile.api  # type: ignore[attr-defined]
    refused = ctx.send(a.cancel_turn(tid, "nothing to cancel"))
    if refused.status not in NO_ACTIVE_TURN:
        ctx.fail(refused, "409 or 404: the thread has no active turn to cancel", refused.excerpt())
    else:
        for problem in detail_text(refused):
            ctx.fail(refused, f"a {refused.status} in the error envelope", problem)


def _cancel_mid_stream(ctx: CheckContext) -> None:
    a = ctx.profile.api  # type: ignore[attr-defined]
    for words in CANCEL_PROMPT_WORDS:
        thread = a.require_thread(ctx, title="conformance cancel")
        fixture = Fixture({"thread": thread["id"]}, thread)
        outcome = _try_cancel(ctx, fixture, long_prompt(words))
        if outcome is not None:
            _after_cancel(ctx, fixture, *outcome)
            ctx.send(a.delete_thread(fixture["thread"]))
            return
        ctx.send(a.delete_thread(fixture["thread"]))
    ctx.skip("the turn completed before the cancel arrived, twice (with prompts of "
             f"{' and '.join(map(str, CANCEL_PROMPT_WORDS))} words); cancel mid-stream not tested")


def _try_cancel(ctx: CheckContext, fixture: Fixture, prompt: str) -> tuple[str, str, StreamedTurn] | None:
    """Stream, cancel after the first deltas; (turn id, partial text, the stream) once cancelled, or None
    if the turn completed before the cancel arrived."""
    a, streaming = ctx.profile.api, ctx.profile.streaming  # type: ignore[attr-defined]
    tid = fixture["thread"]
    with ctx.stream(streaming.turn_request(fixture, prompt), timeout=CANCEL_STREAM_TIMEOUT) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        deltas = 0
        for frame in frames:
            deltas += streaming.protocol.is_text(frame)
            if deltas >= 2:
                break
        partial = streaming.protocol.text(live.exchange.frames)
        seen = ctx.send(a.get_thread(tid))
        turn_id = seen.json.get("lastTurnId") if isinstance(seen.json, dict) else None
        cancelled = ctx.send(a.cancel_turn(tid, partial))
        if cancelled.status in NO_ACTIVE_TURN and isinstance(turn_id, str):
            state = ctx.send(a.get_turn(turn_id))
            if isinstance(state.json, dict) and state.json.get("status") == "completed":
                for _ in frames:
                    pass
                return None
        ctx.check_status(cancelled, 204, why="(the turn was still streaming)")
        if cancelled.status != 204:
            ctx.abort()
        if cancelled.text:
            ctx.fail(cancelled, "204 with no body", cancelled.excerpt())
        for _ in frames:  # the stream must end now (a stream that does not is a failure)
            pass
    if not isinstance(turn_id, str):
        ctx.fail(seen, "lastTurnId naming the streaming turn", seen.excerpt())
        ctx.abort()
    return turn_id, partial, StreamedTurn(live.exchange, partial, prompt)


def _after_cancel(ctx: CheckContext, fixture: Fixture, turn_id: str, partial: str, turn: StreamedTurn) -> None:
    a = ctx.profile.api  # type: ignore[attr-defined]
    tid = fixture["thread"]
    _check_status(ctx, tid, turn_id, "cancelled", why="after cancel")
    seen = ctx.send(a.get_thread(tid))
    if isinstance(seen.json, dict) and seen.json.get("crystallizeEligible") is not False:
        ctx.fail(seen, "crystallizeEligible false (the thread's only turn was cancelled)",
                 f"crystallizeEligible {seen.json.get('crystallizeEligible')!r}")
    messages = a.all_messages(ctx, tid)
    listing = ctx.client.history[-1]
    shown = [(m.get("role"), m.get("content")) for m in messages]
    if shown != [("user", turn.sent), ("assistant", partial)]:
        clipped = [(role, content[:80] + "..." if isinstance(content, str) and len(content) > 80 else content)
                   for role, content in shown]
        ctx.fail(listing, f"the user message and the partial text as the assistant message: {partial!r}",
                 f"{clipped}")
    a.run_turn(ctx, tid, "Are you still there?")
    after = ctx.send(a.get_thread(tid))
    if ctx.check_status(after):
        body = ctx.require_object(after)
        if body.get("lastTurnStatus") != "completed" or body.get("lastTurnId") == turn_id:
            ctx.fail(after, "a new turn, completed, after the cancelled one",
                     f"lastTurnId {body.get('lastTurnId')!r}, lastTurnStatus {body.get('lastTurnStatus')!r}")
    _cancel_without_active_turn(ctx, tid)
