"""Feedback: a rating of a thread's assistant message or turn is stored as sent.

Feedback naming the thread's assistant message and turn answers with the thread, the message, the
turn, the rating and the comment as sent; a bare rating answers with no message or turn; a message or
turn of another thread (or of none) is a 404. (Invalid ratings are probed by error_envelope.)
"""

from __future__ import annotations

from typing import Any

from conformance.profiles.virtuousai.api import Context


def feedback(ctx: Context) -> None:
    """Feedback stores rating, comment, message and turn as sent; another thread's message or turn is 404."""
    a = ctx.profile.api
    threads = []
    for title in ("conformance feedback", "conformance feedback, other thread"):
        tid = a.require_thread(ctx, title=title)["id"]
        a.run_turn(ctx, tid, "Rate this answer")
        thread = ctx.send(a.get_thread(tid)).json
        reply = a.all_messages(ctx, tid)[-1]
        threads.append((tid, thread.get("lastTurnId") if isinstance(thread, dict) else None, reply["id"]))
    (tid, turn_id, message_id), (other_tid, other_turn, other_message) = threads

    for sent in (
        {"rating": "positive", "comment": "Clear and correct.", "messageId": message_id, "turnId": turn_id},
        {"rating": "negative"},
    ):
        stored = ctx.send(a.create_feedback(tid, sent))
        if not ctx.check_status(stored):
            continue
        body = ctx.require_object(stored)
        expected: dict[str, Any] = {"threadId": tid, "messageId": None, "turnId": None, "comment": None, **sent}
        wrong = {key: body.get(key, "(missing)") for key, value in expected.items() if body.get(key) != value}
        if wrong or not isinstance(body.get("id"), str):
            ctx.fail(stored, f"feedback with an id and {expected}", f"{wrong or body}")

    for sent, what in (
        ({"rating": "positive", "messageId": other_message}, "a message of another thread"),
        ({"rating": "positive", "turnId": other_turn}, "a turn of another thread"),
    ):
        ctx.check_status(ctx.send(a.create_feedback(tid, sent)), 404, why=f"(feedback naming {what})")
    for thread_id in (tid, other_tid):
        ctx.send(a.delete_thread(thread_id))
