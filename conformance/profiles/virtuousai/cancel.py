"""Cancel: a turn cancelled in the middle of its stream stops, and keeps exactly the text received.

A turn is streamed and read as it arrives; after its first deltas, cancel with `partialText` = the text
received so far. The answer is 204 with no body, the stream then ends, the turn and the thread say
`cancelled`, the thread is not eligible for crystallization, and its messages are the user message and
an assistant message that is exactly the partial text. The thread then takes a new turn, which
completes, and has no active turn left to cancel.
If the turn nevertheless completed before the cancel arrived (the cancel refused, the turn `completed`),
that is no violation: the check retries once with a longer prompt, then skips and says why.
"""

from __future__ import annotations

from conformance.profiles.virtuousai.api import Context
from conformance.profiles.virtuousai.turns import NO_ACTIVE_TURN, cancel_without_active_turn, check_status, long_prompt
from conformance.streaming import StreamedTurn, checked_frames, require_stream
from conformance.vocabulary import Fixture

# Words in the prompts whose replies must outlast a cancel; the second try is longer.
CANCEL_PROMPT_WORDS = (300, 900)
# A cancelled stream must end within this many seconds.
CANCEL_STREAM_TIMEOUT = 30.0


def cancel(ctx: Context) -> None:
    """Cancel mid-stream: 204, the stream ends, the turn is cancelled and keeps exactly the partial text."""
    a = ctx.profile.api
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


def _try_cancel(ctx: Context, fixture: Fixture, prompt: str) -> tuple[str, str, StreamedTurn] | None:
    """Stream, cancel after the first deltas; (turn id, partial text, the stream) once cancelled, or None
    if the turn completed before the cancel arrived."""
    a, streaming = ctx.profile.api, ctx.profile.streaming
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


def _after_cancel(ctx: Context, fixture: Fixture, turn_id: str, partial: str, turn: StreamedTurn) -> None:
    a = ctx.profile.api
    tid = fixture["thread"]
    check_status(ctx, tid, turn_id, "cancelled", why="after cancel")
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
    cancel_without_active_turn(ctx, tid)
