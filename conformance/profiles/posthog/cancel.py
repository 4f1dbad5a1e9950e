"""Cancel: on an idle conversation a no-op (204); during a run it ends the stream, clears the queue and
brings the conversation back to `idle`.

1. PATCH cancel on an idle conversation: 204 with no body, and the conversation's status and messages are
   what they were.
2. During a run (its first `ai` event has arrived), with a message queued: 204 with no body; the stream
   then ends; the conversation is `idle`, the queue empty, and the queued message never runs. What of
   the cancelled run stays stored is PostHog's to decide (what its graph had checkpointed), so it is not
   checked. Afterwards `content: null` is 400 (nothing left to resume).
(If the run finished before the cancel, part 2 is skipped, saying so.)
"""

from __future__ import annotations

import time

from conformance.dialects.drf import hog_error
from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import Context
from conformance.profiles.posthog.runs import final_received
from conformance.streaming import checked_frames, require_stream
from conformance.vocabulary import Exchange, Probe

# After a cancel, how long the suite watches that the queued message does not run.
QUIET_SECONDS = 1.0


def _no_content(ctx: Context, exchange: Exchange, why: str) -> None:
    if ctx.check_status(exchange, 204, why=why) and exchange.text.strip():
        ctx.fail(exchange, "204 with no body", f"a body: {exchange.excerpt()}")


def cancel(ctx: Context) -> None:
    """Cancel: idle → 204, nothing changes; mid-run → 204, the stream ends, idle, the queue cleared."""
    p = ctx.profile
    a, streaming = p.api, p.streaming
    cid = p.create_fixture(ctx)["conversation"]
    _, before = a.require_settled(ctx, cid, why="before the cancel")
    _no_content(ctx, ctx.send(a.cancel(cid)), "(cancel on an idle conversation does nothing)")
    got, after = a.require_settled(ctx, cid, why="after a cancel with nothing to cancel")
    if api.kinds(api.messages_of(after)) != api.kinds(api.messages_of(before)):
        ctx.fail(got, "the messages unchanged by a cancel with nothing to cancel",
                 f"{len(api.messages_of(before))} messages before, {len(api.messages_of(after))} after")

    queued = "Queued before the cancel"
    with a.start_run(ctx, a.create(cid, api.long_prompt())) as live:
        require_stream(ctx, live)
        frames = checked_frames(ctx, streaming, live)
        if next((frame for frame in frames if streaming.protocol.is_text(frame)), None) is None:
            ctx.fail(live.exchange, "an ai message in the run's stream", live.exchange.excerpt())
            ctx.abort()
        seen = ctx.send(a.retrieve(cid))
        finished_early = final_received(live) or not (isinstance(seen.json, dict)
                                                      and seen.json.get("status") == "in_progress")
        if not finished_early:
            ctx.send(a.enqueue(cid, queued))
            _no_content(ctx, ctx.send(a.cancel(cid)), "(cancel during a run)")
        for _ in frames:
            pass
    if not live.exchange.ended:
        ctx.fail(live.exchange, "the run's stream to end after the cancel", "it did not end")
    if finished_early:
        ctx.skip("the run ended before the cancel; a cancel mid-run could not be observed")
    got, after = a.require_settled(ctx, cid, why="after the cancel")
    time.sleep(QUIET_SECONDS)
    got, after = a.require_settled(ctx, cid, why="after the cancel")
    if ("human", queued) in api.kinds(api.messages_of(after)):
        ctx.fail(got, "the queued message dropped by the cancel (it must not run)", "it ran")
    waiting = ctx.send(a.queue(cid))
    messages = waiting.json.get("messages") if isinstance(waiting.json, dict) else None
    if waiting.status != 200 or messages != []:
        ctx.fail(waiting, "200 and an empty queue after the cancel", waiting.excerpt())
    idle_null = ctx.send(a.create(cid, None))
    ctx.expect(idle_null, Probe(idle_null.request, 400, "(content null after a cancel: nothing to resume)",
                                hog_error(("invalid_input",), attr=None)))
