"""Auth: a request without an API key is refused with 401 in the family's error envelope.

Every operation is tried without credentials (on a real conversation and item, so a 404 cannot hide a
missing auth check). A target that answers them at all is a finding: the vendor requires a key.
"""

from __future__ import annotations

from conformance.checks.error_envelope import envelope_problems
from conformance.context import CheckContext


def auth(ctx: CheckContext) -> None:
    """Every operation without an API key gets 401 in the error envelope, and changes nothing."""
    p = ctx.profile
    fixture = ctx.new_conversation(1)
    cid, item = fixture.id, fixture.item_ids[0]

    probes = [
        p.create_conversation(metadata=p.sample_metadata(2)),
        p.get_conversation(cid),
        p.update_conversation(cid, p.sample_metadata(3)),
        p.create_items(cid, [p.sample_item(1)]),
        p.list_items(cid),
        p.get_item(cid, item),
        p.delete_item(cid, item),
        p.delete_conversation(cid),
    ]
    for request in probes:
        exchange = ctx.send(request, identity=None)
        if exchange.status != p.unauthenticated_status:
            accepted = 200 <= exchange.status < 300
            ctx.fail(
                exchange,
                f"{p.unauthenticated_status}: the request has no API key",
                ("accepted without any API key: " if accepted else "") + exchange.excerpt(),
            )
            continue
        for problem in envelope_problems(ctx, exchange):
            ctx.fail(exchange, f"a {p.unauthenticated_status} in the error envelope", problem)

    fetched = ctx.send(p.get_conversation(cid))
    if ctx.check_status(fetched, why="(unauthenticated requests must not have deleted it)"):
        body = ctx.require_object(fetched)
        if p.conversation_metadata(body) != p.conversation_metadata(fixture.body):
            ctx.fail(
                fetched,
                f"metadata unchanged by unauthenticated requests: {p.conversation_metadata(fixture.body)!r}",
                f"{p.conversation_metadata(body)!r}",
            )
    after = ctx.send(p.list_items(cid, order="asc", limit=p.pagination.max_limit))
    after_page = p.page(after.json)
    if after_page is not None and after_page.ids != fixture.item_ids:
        ctx.fail(after, f"items unchanged by unauthenticated requests: {fixture.item_ids}", f"{after_page.ids}")
    ctx.send(p.delete_conversation(cid))
