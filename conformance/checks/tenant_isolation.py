"""Tenant isolation: nothing made with one API key is visible to, or changeable by, another.

With a second key, every operation on the first key's conversation and item is tried as the second
key and must be 404 (as if it did not exist), and the conversation must come out unchanged for its
owner. Skipped when no second key was given.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.http import SECONDARY


def tenant_isolation(ctx: CheckContext) -> None:
    """Key 2 gets 404 for everything key 1 made, and cannot change it."""
    if not ctx.has_identity(SECONDARY):
        ctx.skip("no second API key given (--api-key-2); tenant isolation not tested")
    p = ctx.profile
    fixture = ctx.new_conversation(2)
    cid, item = fixture.id, fixture.item_ids[0]

    probes = [
        p.get_conversation(cid),
        p.list_items(cid),
        p.get_item(cid, item),
        p.update_conversation(cid, p.sample_metadata(2)),
        p.create_items(cid, [p.sample_item(5)]),
        p.delete_item(cid, item),
        p.delete_conversation(cid),
        *p.foreign_probes(cid, item),
    ]
    for request in probes:
        exchange = ctx.send(request, identity=SECONDARY)
        if exchange.status != p.not_found_status:
            ctx.fail(exchange, f"{p.not_found_status}: the resource belongs to another API key", exchange.excerpt())
            made = (
                p.conversation_id(exchange.json)
                if request.operation_id == p.create_conversation().operation_id
                else None
            )
            if made and 200 <= exchange.status < 300:
                ctx.send(p.delete_conversation(made), identity=SECONDARY)

    fetched = ctx.send(p.get_conversation(cid))
    if ctx.check_status(fetched, why="for its owner after another key tried to change it"):
        body = ctx.require_object(fetched)
        if body != fixture.body:
            ctx.fail(fetched, f"the conversation unchanged: {fixture.body}", f"{body}")
    after = ctx.send(p.list_items(cid, order="asc", limit=p.pagination.max_limit))
    after_page = p.page(after.json)
    if after_page is None or after_page.ids != fixture.item_ids:
        actual = after.excerpt() if after_page is None else f"{after_page.ids}"
        ctx.fail(after, f"items unchanged: {fixture.item_ids}", actual)

    # The other direction: key 1 must not see what key 2 makes.
    theirs = ctx.send(p.create_conversation(metadata=p.sample_metadata(3)), identity=SECONDARY)
    if ctx.check_status(theirs):
        other = p.conversation_id(theirs.json)
        if other:
            peek = ctx.send(p.get_conversation(other))
            ctx.check_status(peek, p.not_found_status, why="the conversation belongs to another API key")
            ctx.send(p.delete_conversation(other), identity=SECONDARY)
    ctx.send(p.delete_conversation(cid))
