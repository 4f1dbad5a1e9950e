"""append_message: an `ai` message stored without a run.

POST `append_message` with content answers 201 `{"id": "<uuid>"}`; the conversation then ends with that
message (`type` `ai`, that id, that content), stays `idle`, and nothing else was added (no run started).
(Its size limit, 10000 characters, is a `limits` case.)
"""

from __future__ import annotations

import uuid

from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import Context


def append_message(ctx: Context) -> None:
    """append_message stores an ai message as sent, answers 201 with its id, and starts no run."""
    p = ctx.profile
    a = p.api
    cid = p.create_fixture(ctx)["conversation"]
    _, before = a.require_settled(ctx, cid, why="before the append")
    content = "Appended by the conformance suite (no run)."
    appended = ctx.send(a.append(cid, content))
    ctx.require_status(appended, 201)
    body = ctx.require_object(appended)
    message_id = body.get("id")
    try:
        uuid.UUID(str(message_id))
    except ValueError:
        ctx.fail(appended, '{"id": "<uuid>"}: the appended message\'s id', appended.excerpt())
        ctx.abort()
    got, after = a.require_settled(ctx, cid, why="after the append (it starts no run)")
    messages = api.messages_of(after)
    last = messages[-1] if messages else {}
    wanted = {"type": "ai", "id": message_id, "content": content}
    if {key: last.get(key) for key in wanted} != wanted:
        ctx.fail(got, f"the conversation to end with the appended message {wanted}",
                 f"{ {key: last.get(key) for key in wanted} }")
    if len(messages) != len(api.messages_of(before)) + 1:
        ctx.fail(got, "exactly one message more than before the append",
                 f"{len(api.messages_of(before))} before, {len(messages)} after")
