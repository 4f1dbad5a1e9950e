"""Lifecycle: a thread from creation to deletion, with everything that hangs off it.

create answers the thread as sent (title, system prompt, metadata; no turn, no messages, not eligible
for crystallization; timestamps plausible) and a bare create gives empty metadata; get returns the
same; update sets the fields present, keeps the others, clears on null (`metadata: null` → `{}`),
moves `updatedAt` but not `createdAt`, and a later get agrees; a new thread has no messages and is
listed; delete answers 204 with no body, and then every operation on the thread, its turn and its
attachment is 404 and the thread is no longer listed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from conformance.profiles.virtuousai import api
from conformance.profiles.virtuousai.api import Context
from conformance.vocabulary import Exchange, parse_time

# Nothing was created by a conformant server before this (2020-01-01T00:00:00Z); clocks may differ a day.
EARLIEST_PLAUSIBLE = 1_577_836_800
CLOCK_SKEW = 86_400


def _check_times(ctx: Context, exchange: Exchange, thread: dict[str, Any]) -> None:
    created = parse_time(thread.get("createdAt"))
    if created is None or not EARLIEST_PLAUSIBLE <= created.timestamp() <= time.time() + CLOCK_SKEW:
        ctx.fail(exchange, "createdAt: a date-time of about now", f"createdAt {thread.get('createdAt')!r}")
    for problem in api.time_order_problems(thread, ("createdAt", "updatedAt")):
        ctx.fail(exchange, "updatedAt not before createdAt", problem)


def _differences(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: body.get(key, "(missing)") for key, value in expected.items() if body.get(key) != value}


def lifecycle(ctx: Context) -> None:
    """create→get equal, update sets/keeps/clears fields, delete is 204 and then everything is 404."""
    a = ctx.profile.api
    sent = {"title": "Conformance lifecycle", "systemPrompt": "Answer briefly.", "metadata": {"suite": "conformance"}}
    created = ctx.send(a.create_thread(sent))
    ctx.require_status(created)
    thread = ctx.require_object(created)
    tid = thread.get("id")
    if not isinstance(tid, str) or not tid:
        ctx.fail(created, "a thread with an id", created.excerpt())
        ctx.abort()
    fresh = {"lastTurnId": None, "lastTurnStatus": None, "lastMessageAt": None, "lastMessagePreview": None,
             "crystallizeEligible": False}
    wrong = _differences(thread, {**sent, **fresh})
    if wrong:
        ctx.fail(created, f"the thread as sent, with no turn yet: {dict(sent, **fresh)}", f"{wrong}")
    _check_times(ctx, created, thread)

    bare = ctx.send(a.create_thread({}))
    if ctx.check_status(bare):
        bare_body = ctx.require_object(bare)
        wrong = _differences(bare_body, {"metadata": {}, "title": None, "systemPrompt": None})
        if wrong:
            ctx.fail(bare, "a thread created with {} has metadata {} and no title or system prompt", f"{wrong}")
        if bare_body.get("id") == tid:
            ctx.fail(bare, "a new thread id", f"the id of the previous thread {tid}")
        elif isinstance(bare_body.get("id"), str):
            ctx.send(a.delete_thread(bare_body["id"]))

    fetched = ctx.send(a.get_thread(tid))
    if ctx.check_status(fetched) and fetched.json != thread:
        ctx.fail(fetched, f"the thread as created: {thread}", fetched.excerpt())

    thread = _updates(ctx, tid, thread)

    listing = ctx.send(a.list_messages(tid))
    if ctx.check_status(listing) and listing.json != {"items": [], "nextCursor": None}:
        ctx.fail(listing, "no messages in a new thread: {'items': [], 'nextCursor': None}", listing.excerpt())
    if tid not in a.thread_ids(ctx):
        ctx.fail(ctx.client.history[-1], f"thread {tid} in the caller's list of threads", "not listed")

    # Give the thread a turn and an attachment, so its deletion has something to take with it.
    a.run_turn(ctx, tid, "Hello before the thread is deleted")
    after_turn = ctx.send(a.get_thread(tid)).json
    turn_id = after_turn.get("lastTurnId") if isinstance(after_turn, dict) else None
    attached = ctx.send(a.create_attachment(tid, str(uuid.uuid4())))
    attachment_id = attached.json.get("id") if attached.status == 200 and isinstance(attached.json, dict) else None

    deleted = ctx.send(a.delete_thread(tid))
    ctx.require_status(deleted, 204)
    if deleted.text:
        ctx.fail(deleted, "204 with no body", deleted.excerpt())
    after = [
        a.get_thread(tid),
        a.update_thread(tid, {"title": "after delete"}),
        a.delete_thread(tid),
        a.list_messages(tid),
        a.stream_turn(tid, "Anyone there?"),
        a.cancel_turn(tid, None),
        a.list_attachments(tid),
        a.create_attachment(tid, str(uuid.uuid4())),
        a.create_feedback(tid, {"rating": "positive"}),
        a.crystallize(tid, {}),
    ]
    if isinstance(turn_id, str):
        after.append(a.get_turn(turn_id))
    if isinstance(attachment_id, str):
        after.append(a.get_attachment(attachment_id))
    for request in after:
        ctx.check_status(ctx.send(request), 404, why="after the thread was deleted")
    if tid in a.thread_ids(ctx):
        ctx.fail(ctx.client.history[-1], f"deleted thread {tid} gone from the list", "still listed")


def _updates(ctx: Context, tid: str, thread: dict[str, Any]) -> dict[str, Any]:
    """Update sets what is sent and keeps the rest; null clears; each answer persists."""
    a = ctx.profile.api
    for change, cleared in (
        ({"title": "Renamed by the suite"}, {}),
        ({"metadata": {"round": "2"}, "systemPrompt": None}, {}),
        ({"metadata": None, "title": None}, {"metadata": {}}),
    ):
        updated = ctx.send(a.update_thread(tid, change))
        if not ctx.check_status(updated):
            continue
        body = ctx.require_object(updated)
        expected = {**{k: v for k, v in thread.items() if k not in ("updatedAt",)}, **change, **cleared}
        wrong = _differences(body, expected)
        if wrong:
            shown = {key: expected[key] for key in wrong}
            ctx.fail(updated, f"after update {change}: the fields sent set (null clears), the others kept: {shown}",
                     f"{wrong}")
        for problem in api.time_order_problems({"before": thread.get("updatedAt"), "updatedAt": body.get("updatedAt")},
                                               ("before", "updatedAt")):
            ctx.fail(updated, "updatedAt moves forward on update", problem)
        fetched = ctx.send(a.get_thread(tid))
        if ctx.check_status(fetched) and fetched.json != body:
            ctx.fail(fetched, f"the thread as the update answered: {body}", fetched.excerpt())
        thread = body
    return thread
