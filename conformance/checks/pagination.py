"""Pagination: walking a cursor-paginated list yields every item exactly once, in order.

For conversations of N items (N drawn by hypothesis, plus a fixed larger N that spans several default
pages), pages are walked with the family's cursor in every order: the concatenation must equal the
creation order (or its reverse), no page may exceed the limit, `has_more` must be false exactly on the
last page, first/last ids must match the page (null or "" on an empty one), and a list without
`order`/`limit` must use the family's defaults. Limits just outside the documented range are rejected.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st

from conformance.context import CheckContext
from conformance.http import Exchange
from conformance.profiles.base import MISSING, Page, Pagination

# N is drawn from 0..SMALL_MAX; the fixed larger N spans two full default pages and a partial one.
SMALL_MAX = 25


def seed_conversation(ctx: CheckContext, count: int) -> tuple[str, list[str]] | None:
    """A new conversation holding `count` items; returns its id and the item ids in creation order."""
    p = ctx.profile
    pagination = p.pagination
    assert pagination is not None
    created = ctx.send(p.create_conversation())
    ctx.require_status(created)
    cid = p.conversation_id(ctx.require_object(created))
    if cid is None:
        ctx.fail(created, "a conversation with an id", created.excerpt())
        ctx.abort()
    ids: list[str] = []
    while len(ids) < count:
        batch = [p.sample_item(len(ids) + i) for i in range(min(pagination.max_items_per_call, count - len(ids)))]
        added = ctx.send(p.create_items(cid, batch))
        ctx.require_status(added)
        new_ids = p.created_item_ids(added.json)
        if new_ids is None or len(new_ids) != len(batch) or len(set(new_ids)) != len(new_ids):
            ctx.fail(added, f"{len(batch)} distinct item ids for the {len(batch)} items added", added.excerpt())
            return None
        ids += new_ids
    return cid, ids


def expected_order(pagination: Pagination, ids: list[str], order: str) -> list[str]:
    return list(ids) if order == pagination.orders[0] else list(reversed(ids))


def _names(ids: list[str], positions: dict[str, int]) -> str:
    """Ids as creation positions (#0 is the first item created), which reads far better than hex ids."""
    return "[" + ", ".join(f"#{positions[i]}" if i in positions else repr(i) for i in ids) + "]"


def walk(ctx: CheckContext, cid: str, ids: list[str], *, limit: int | None, order: str | None) -> bool:
    """Walk every page; records the first violation and returns False on it."""
    p = ctx.profile
    pagination = p.pagination
    assert pagination is not None
    effective_order = order or pagination.default_order
    effective_limit = limit if limit is not None else pagination.default_limit
    expected = expected_order(pagination, ids, effective_order)
    positions = {item_id: n for n, item_id in enumerate(ids)}
    shown_order = order or f"(default {pagination.default_order})"
    shown_limit = limit or f"(default {pagination.default_limit})"
    how = f"order={shown_order}, limit={shown_limit}"
    collected: list[str] = []
    cursor: str | None = None
    max_pages = len(ids) + 2
    for _ in range(max_pages):
        exchange = ctx.send(p.list_items(cid, after=cursor, limit=limit, order=order))
        if not ctx.check_status(exchange):
            return False
        page = p.page(exchange.json)
        if page is None:
            ctx.fail(exchange, "a page of items", exchange.excerpt())
            return False
        if len(page.ids) > effective_limit:
            ctx.fail(exchange, f"at most {effective_limit} items per page ({how})", f"{len(page.ids)} items")
            return False
        if not _ends_match(ctx, exchange, page):
            return False
        want = expected[len(collected) : len(collected) + len(page.ids)]
        if page.ids != want:
            ctx.fail(
                exchange,
                f"items {_names(want, positions)} after {len(collected)} of {len(ids)} ({how}; #0 = first created)",
                f"items {_names(page.ids, positions)}",
            )
            return False
        collected += page.ids
        remaining = len(expected) - len(collected)
        if page.has_more != (remaining > 0):
            ctx.fail(
                exchange,
                f"has_more {str(remaining > 0).lower()} ({remaining} of {len(ids)} items remain; {how})",
                f"has_more {str(page.has_more).lower()}",
            )
            return False
        if not page.has_more:
            return True
        cursor = page.next_cursor
        if not page.ids or cursor is None:
            ctx.fail(exchange, "a page with items and a cursor when has_more is true", exchange.excerpt())
            return False
    ctx.fail(exchange, f"the walk to end within {max_pages} pages ({how})", f"still has_more: {exchange.excerpt()}")
    return False


def _ends_match(ctx: CheckContext, exchange: Exchange, page: Page) -> bool:
    """first/last ids name the page's ends; on an empty page they must be empty (null or "": the vendor
    leaves it open)."""
    for field, value, expected in (
        ("first_id", page.first_id, page.ids[0] if page.ids else None),
        ("last_id", page.last_id, page.ids[-1] if page.ids else None),
    ):
        if value is MISSING or (expected is None and value in (None, "")):
            continue
        if value != expected:
            ctx.fail(exchange, f"{field} {expected!r} (the {field.split('_')[0]} item of data)", f"{field} {value!r}")
            return False
    return True


def pagination(ctx: CheckContext) -> None:
    """Cursor walks in every order yield each item once, in order; has_more, first/last ids, defaults, limit bounds."""
    p = ctx.profile
    paging = p.pagination
    if paging is None:
        ctx.skip("the family has no cursor-paginated list")

    seeded = seed_conversation(ctx, 3)
    if seeded is None:
        return
    cid, _ = seeded
    for limit in (paging.min_limit - 1, paging.max_limit + 1):
        exchange = ctx.send(p.list_items(cid, limit=limit))
        ctx.check_status(
            exchange, p.rejection_status, why=f"for limit={limit} (allowed {paging.min_limit}..{paging.max_limit})"
        )
    ctx.send(p.delete_conversation(cid))

    stop = []

    @settings(
        max_examples=max(3, min(12, ctx.settings.max_examples // 4)),
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @seed(ctx.settings.seed)
    @given(count=st.integers(0, SMALL_MAX), limit=st.one_of(st.none(), st.integers(paging.min_limit, 30)))
    @example(count=0, limit=None)
    @example(count=paging.default_limit, limit=None)
    @example(count=7, limit=paging.min_limit)
    def walks(count: int, limit: int | None) -> None:
        if stop:
            return
        made = seed_conversation(ctx, count)
        if made is None:
            stop.append(True)
            return
        conversation, ids = made
        for order in (*paging.orders, None):
            if not walk(ctx, conversation, ids, limit=limit, order=order):
                stop.append(True)
                return
        ctx.send(p.delete_conversation(conversation))

    walks()
    if stop:
        return

    large = seed_conversation(ctx, 2 * paging.default_limit + 5)
    if large is None:
        return
    conversation, ids = large
    for limit, order in (
        (None, None),
        (None, paging.orders[0]),
        (paging.max_limit, None),
        (paging.max_limit, paging.orders[0]),
    ):
        if not walk(ctx, conversation, ids, limit=limit, order=order):
            return
    ctx.send(p.delete_conversation(conversation))
