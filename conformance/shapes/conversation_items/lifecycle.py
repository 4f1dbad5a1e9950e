"""Lifecycle (the conversation-with-items shape's check): a conversation and its items behave as one
resource from creation to deletion.

create -> get returns the same fields; created_at is a plausible unix time in seconds; metadata
defaults as the family says; an update answers with what the family allows (OpenAI: the pairs sent
are stored; replace or merge both pass, since the vendor documents neither) and a later get agrees;
added items come back in order and (where the family has single-item operations) one by one;
deleting an item answers as the family says and makes it 404 and gone from the list; deleting the
conversation answers with the family's receipt and then every operation on it, or on its items, is 404.
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, Any

from conformance.context import CheckContext
from conformance.vocabulary import MISSING, Exchange

if TYPE_CHECKING:
    from conformance.shapes.conversation_items.profile import ConversationProfile

# Nothing was created by a conformant server before this (2020-01-01T00:00:00Z).
EARLIEST_PLAUSIBLE = 1_577_836_800
CLOCK_SKEW = 86_400


def check_created_at(ctx: CheckContext[ConversationProfile], exchange: Exchange, body: Any) -> None:
    """created_at must be an integer unix time in seconds, not far from now."""
    value = ctx.profile.created_at(body)
    now = time.time()
    server_date = exchange.headers.get("date")
    if server_date:
        try:
            now = max(now, email.utils.parsedate_to_datetime(server_date).timestamp())
        except (TypeError, ValueError):
            pass
    latest = int(now) + CLOCK_SKEW
    if isinstance(value, bool) or not isinstance(value, int) or not EARLIEST_PLAUSIBLE <= value <= latest:
        ctx.fail(
            exchange,
            f"created_at: an integer unix time in seconds between {EARLIEST_PLAUSIBLE} and {latest}",
            f"created_at: {'(missing)' if value is MISSING else repr(value)}",
        )


def check_same_fields(
    ctx: CheckContext[ConversationProfile],
    exchange: Exchange,
    body: dict[str, Any],
    reference: dict[str, Any],
    what: str,
) -> None:
    """Every field of `reference` must come back unchanged in `body`."""
    changed = {key: body.get(key, "(missing)") for key, value in reference.items() if body.get(key, MISSING) != value}
    if changed:
        expected = {key: reference[key] for key in changed}
        ctx.fail(exchange, f"the same fields as {what}: {expected}", f"{changed}")


def check_metadata(
    ctx: CheckContext[ConversationProfile], exchange: Exchange, body: Any, expected: Any, why: str
) -> None:
    actual = ctx.profile.conversation_metadata(body)
    if actual != expected:
        ctx.fail(
            exchange, f"metadata {expected!r} ({why})", f"metadata {'(missing)' if actual is MISSING else repr(actual)}"
        )


def listed_ids(ctx: CheckContext[ConversationProfile], conversation_id: str) -> tuple[Exchange, list[str] | None]:
    """All item ids of a conversation in creation order (one page at the largest limit)."""
    p = ctx.profile
    exchange = ctx.send(p.list_all_items(conversation_id, order=p.pagination.orders[0]))
    if not ctx.check_status(exchange):
        return exchange, None
    page = p.page(exchange.json)
    if page is None:
        ctx.fail(exchange, "a page of items", exchange.excerpt())
        return exchange, None
    return exchange, page.ids


def lifecycle(ctx: CheckContext[ConversationProfile]) -> None:
    """create→get equal, update persists, items add (get/delete where the family can), delete makes everything 404."""
    p = ctx.profile
    metadata = p.sample_metadata(1)
    initial_items = [p.sample_item(0), p.sample_item(1)]

    created = ctx.send(p.create_conversation(metadata=metadata, items=initial_items))
    ctx.require_status(created)
    conversation = ctx.require_object(created)
    cid = p.conversation_id(conversation)
    if cid is None:
        ctx.fail(created, "a conversation with an id", created.excerpt())
        ctx.abort()
    check_metadata(ctx, created, conversation, metadata, "as sent")
    check_created_at(ctx, created, conversation)

    bare = ctx.send(p.create_conversation())
    if ctx.check_status(bare):
        bare_body = ctx.require_object(bare)
        omitted = p.conversation_metadata(bare_body)
        if omitted not in p.metadata_when_omitted():
            allowed = " or ".join(repr(value) for value in p.metadata_when_omitted())
            ctx.fail(bare, f"metadata {allowed} (created without metadata)", f"metadata {omitted!r}")
        check_created_at(ctx, bare, bare_body)
        bare_id = p.conversation_id(bare_body)
        if bare_id == cid:
            ctx.fail(bare, "a new conversation id", f"the id of the previous conversation {cid}")
        if bare_id:
            ctx.send(p.delete_conversation(bare_id))

    fetched = ctx.send(p.get_conversation(cid))
    ctx.require_status(fetched)
    check_same_fields(ctx, fetched, ctx.require_object(fetched), conversation, "the create response")

    _update_round_trip(ctx, cid, conversation)
    item_ids = _item_round_trip(ctx, cid, len(initial_items))

    deleted = ctx.send(p.delete_conversation(cid))
    ctx.require_status(deleted)
    for problem in p.deletion_problems(deleted.json, cid):
        ctx.fail(deleted, "the deletion receipt", problem)

    some_item = item_ids[0] if item_ids else "item_does_not_matter"
    after_delete = [
        p.get_conversation(cid),
        p.update_conversation(cid, p.sample_metadata(3)),
        p.delete_conversation(cid),
        p.list_items(cid),
        p.create_items(cid, [p.sample_item(9)]),
        *p.item_reads(cid, some_item),
        *p.item_writes(cid, some_item),
        p.get_conversation(cid),
    ]
    for request in after_delete:
        ctx.check_status(ctx.send(request), p.not_found_status, why="after the conversation was deleted")


def _update_round_trip(ctx: CheckContext[ConversationProfile], cid: str, conversation: dict[str, Any]) -> None:
    """Update with new metadata, then with what clears it (null at OpenAI): each answer is what the family
    allows, and persists."""
    p = ctx.profile
    for given in p.metadata_updates():
        updated = ctx.send(p.update_conversation(cid, given))
        if not ctx.check_status(updated):
            continue
        body = ctx.require_object(updated)
        stored = p.conversation_metadata(body)
        for problem in p.metadata_update_problems(given, stored):
            ctx.fail(updated, f"the metadata an update with {given!r} leaves", problem)
        if p.conversation_id(body) != cid or p.created_at(body) != p.created_at(conversation):
            ctx.fail(
                updated,
                f"the same conversation (id {cid}, created_at {p.created_at(conversation)!r})",
                f"id {p.conversation_id(body)!r}, created_at {p.created_at(body)!r}",
            )
        fetched = ctx.send(p.get_conversation(cid))
        if ctx.check_status(fetched):
            body = ctx.require_object(fetched)
            check_metadata(ctx, fetched, body, stored, f"as the update with {given!r} answered")


def _item_round_trip(ctx: CheckContext[ConversationProfile], cid: str, initial_count: int) -> list[str]:
    """Add two items, read one back and delete it (where the family can); returns the ids still in the
    conversation."""
    p = ctx.profile
    listing, before = listed_ids(ctx, cid)
    if before is not None and len(before) != initial_count:
        ctx.fail(
            listing, f"{initial_count} items in a conversation created with {initial_count}", f"{len(before)} items"
        )
    added = ctx.send(p.create_items(cid, [p.sample_item(2), p.sample_item(3)]))
    ctx.require_status(added)
    new_items = p.created_items(added.json)
    new_ids = p.created_item_ids(added.json)
    if not new_items or not new_ids or len(new_ids) != 2:
        ctx.fail(added, "the 2 added items, in the order given", added.excerpt())
        ctx.abort()
    listing, listed = listed_ids(ctx, cid)
    if before is not None and listed is not None and listed != before + new_ids:
        ctx.fail(listing, f"items {before + new_ids} in creation order", f"{listed}")
    if not p.single_item_operations:
        return (before or []) + new_ids

    target = new_ids[0]
    created_item = new_items[0]
    got = ctx.send(p.get_item(cid, target))
    if ctx.check_status(got) and got.json != created_item:
        ctx.fail(got, f"the item as created: {created_item}", got.excerpt())

    removed = ctx.send(p.delete_item(cid, target))
    if ctx.check_status(removed):
        for problem in p.item_deletion_problems(removed.json, cid):
            ctx.fail(removed, "the answer the family gives to an item deletion", problem)
    ctx.check_status(ctx.send(p.get_item(cid, target)), p.not_found_status, why="after the item was deleted")
    ctx.check_status(ctx.send(p.delete_item(cid, target)), p.not_found_status, why="for an item already deleted")
    kept = [item_id for item_id in (before or []) + new_ids if item_id != target]
    listing, remaining = listed_ids(ctx, cid)
    if remaining is not None:
        if target in remaining:
            ctx.fail(listing, f"deleted item {target} gone from the list", f"still listed: {remaining}")
        elif before is not None and remaining != kept:
            ctx.fail(listing, f"the other items kept, in order: {kept}", f"{remaining}")
    ctx.check_status(ctx.send(p.get_conversation(cid)), why="(deleting an item leaves its conversation)")
    return kept
