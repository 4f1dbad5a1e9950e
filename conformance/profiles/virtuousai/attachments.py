"""Attachments: made from an artifact, read back, listed by limit/offset, deleted, gone with their thread.

An attachment made on a thread names the thread and the artifact (and the message, if one is named;
a message not in the thread is a 404); GET returns it as made; the thread's list holds the attachments
oldest first, `limit`/`offset` cut it; DELETE answers 204 with no body, after which GET and DELETE are
404 and the list no longer holds it; deleting the thread takes its attachments along.
VirtuousAI makes attachments only from an artifact that exists in the caller's tenant; where the target
refuses a made-up artifact id with 404 (as a real server will), the check is skipped and says so.
"""

from __future__ import annotations

import uuid
from typing import Any

from conformance.profiles.virtuousai.api import Context
from conformance.profiles.virtuousai.rules import OTHER_UNKNOWN_ID


def attachments(ctx: Context) -> None:
    """Attachments: create (thread or message), get, list with limit/offset, delete, cascade with the thread."""
    a = ctx.profile.api
    tid = a.require_thread(ctx, title="conformance attachments")["id"]
    a.run_turn(ctx, tid, "Something to attach a file to")
    message_id = a.all_messages(ctx, tid)[-1]["id"]

    artifact = str(uuid.uuid4())
    first = ctx.send(a.create_attachment(tid, artifact))
    if first.status == 404:
        ctx.send(a.delete_thread(tid))
        ctx.skip("the target refuses made-up artifact ids (it needs an existing artifact); attachments not tested")
    ctx.require_status(first)
    one = ctx.require_object(first)
    _expect_fields(ctx, first, one, {"threadId": tid, "artifactId": artifact, "messageId": None})

    second_artifact = str(uuid.uuid4())
    second = ctx.send(a.create_attachment(tid, second_artifact, message_id=message_id))
    ctx.require_status(second)
    two = ctx.require_object(second)
    _expect_fields(ctx, second, two, {"threadId": tid, "artifactId": second_artifact, "messageId": message_id})
    if one.get("id") == two.get("id"):
        ctx.fail(second, "a new attachment id", f"the first attachment's id {one.get('id')!r}")

    stray = ctx.send(a.create_attachment(tid, str(uuid.uuid4()), message_id=OTHER_UNKNOWN_ID))
    ctx.check_status(stray, 404, why="(the message is not in the thread)")

    got = ctx.send(a.get_attachment(one["id"]))
    if ctx.check_status(got) and got.json != one:
        ctx.fail(got, f"the attachment as created: {one}", got.excerpt())

    ids = [one["id"], two["id"]]
    for params, expected in (({}, ids), ({"limit": 1}, ids[:1]), ({"offset": 1}, ids[1:]), ({"offset": 2}, []),
                             ({"limit": 1, "offset": 1}, ids[1:])):
        _expect_listed(ctx, tid, params, expected)

    removed = ctx.send(a.delete_attachment(one["id"]))
    if ctx.check_status(removed, 204) and removed.text:
        ctx.fail(removed, "204 with no body", removed.excerpt())
    ctx.check_status(ctx.send(a.get_attachment(one["id"])), 404, why="after the attachment was deleted")
    ctx.check_status(ctx.send(a.delete_attachment(one["id"])), 404, why="for an attachment already deleted")
    _expect_listed(ctx, tid, {}, ids[1:])

    ctx.send(a.delete_thread(tid))
    ctx.check_status(ctx.send(a.get_attachment(two["id"])), 404, why="after its thread was deleted")


def _expect_fields(ctx: Context, exchange: Any, body: dict[str, Any], expected: dict[str, Any]) -> None:
    wrong = {key: body.get(key, "(missing)") for key, value in expected.items() if body.get(key) != value}
    if wrong or not isinstance(body.get("id"), str):
        ctx.fail(exchange, f"an attachment with an id and {expected}", f"{wrong or body}")
        ctx.abort()


def _expect_listed(ctx: Context, tid: str, params: dict[str, int], expected: list[str]) -> None:
    a = ctx.profile.api
    listing = ctx.send(a.list_attachments(tid, **params))
    if not ctx.check_status(listing):
        return
    body = listing.json
    listed = [item.get("id") for item in body if isinstance(item, dict)] if isinstance(body, list) else None
    if listed != expected:
        shown = ", ".join(f"{key}={value}" for key, value in params.items()) or "no limit or offset"
        ctx.fail(listing, f"attachments {expected} (oldest first; {shown})", listing.excerpt())
