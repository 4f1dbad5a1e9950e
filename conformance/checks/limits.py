"""Limits: requests just past each documented size limit are rejected, requests at it are accepted.

The family lists its cases (OpenAI: 17 metadata pairs, a 65-character key, a 513-character value,
21 items, each on create and on update/add, against 16 / 64 / 512 / 20 which must succeed). A rejected
request aimed at an existing conversation must leave it unchanged. Testing both sides keeps a server
that rejects everything from passing.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.http import Exchange


def _snapshot(ctx: CheckContext, cid: str) -> tuple[Exchange, object, Exchange, object]:
    p = ctx.profile
    conversation = ctx.send(p.get_conversation(cid))
    items = ctx.send(p.list_items(cid, limit=p.pagination.max_limit if p.pagination else None))
    page = p.page(items.json)
    return conversation, p.conversation_metadata(conversation.json), items, page.ids if page else None


def limits(ctx: CheckContext) -> None:
    """Over-limit metadata/items are rejected (400) and change nothing; at-limit ones are accepted."""
    p = ctx.profile
    cid = ctx.new_conversation(1).id

    cases = p.limit_cases(cid)
    before = _snapshot(ctx, cid)
    for case in (case for case in cases if not case.accepted):
        exchange = ctx.send(case.request)
        if exchange.status != p.rejection_status:
            ctx.fail(exchange, f"{p.rejection_status}: {case.description} is over the limit", exchange.excerpt())
            # A conversation made by an accepted over-limit create is not ours to keep.
            made = p.conversation_id(exchange.json) if 200 <= exchange.status < 300 and not case.on_fixture else None
            if made:
                ctx.send(p.delete_conversation(made))
    after = _snapshot(ctx, cid)
    if after[1] != before[1]:
        ctx.fail(after[0], f"metadata unchanged by rejected requests: {before[1]!r}", f"metadata {after[1]!r}")
    if after[3] != before[3]:
        ctx.fail(after[2], f"items unchanged by rejected requests: {before[3]!r}", f"items {after[3]!r}")

    for case in (case for case in cases if case.accepted):
        exchange = ctx.send(case.request)
        ctx.check_status(exchange, why=f"({case.description} is within the limit)")
        made = p.conversation_id(exchange.json) if exchange.status < 300 and not case.on_fixture else None
        if made:
            ctx.send(p.delete_conversation(made))
    ctx.send(p.delete_conversation(cid))
