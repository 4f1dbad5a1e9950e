"""Pagination: walking a paginated list yields every item exactly once, in order.

For every list the family has (`Profile.listings`: OpenAI a conversation's items; VirtuousAI threads
and a thread's messages) and N seeded items (N drawn by hypothesis, plus a larger N spanning several
default pages where seeding is cheap enough), pages are walked the way the list's kind of paging says
(`conformance.paging`: a cursor, limit/offset with `next` URLs, or page/size), with and without a
limit, in every order the list has. What every kind must do is checked here:
- no item is listed twice, and the seeded items come in the list's order; where the list holds only
  what the check seeded, the walk is exactly them;
- no page exceeds the limit, and the first page is as full as the limit (or the default) allows;
- "more" is signalled exactly on the pages before the last: never on a page followed by an empty
  one, always while seeded items remain;
- the walk stays exact while items are added in the middle of it (where the family says where new
  items go): every seeded item still once and in order, a new item at most once, at the end if that
  is where new items go.
What a kind's own fields must say (first/last ids, `count` and `next`/`previous` URLs, `total` and
`pages`) is the kind's to check (`Paging.page_ok`, `Paging.end_ok`); what the listed items must be, the
family's (`Listing.page_problems`). Limits just outside the
documented range are rejected (accepted: a failure; refused with another 4xx: a warning).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st

from conformance.context import CheckContext
from conformance.paging import Listing, Walk
from conformance.profiles.base import Profile
from conformance.vocabulary import Exchange, Grounds, Reason, Seeded

# N is drawn from 0..SMALL_MAX (or the list's max_seed if lower).
SMALL_MAX = 25
# A walk of a list that holds other items than the seeded ones stops after this many pages.
MAX_PAGES_OPEN_LIST = 2000


def _names(ids: list[str], positions: dict[str, int], added: list[str]) -> str:
    """Ids as creation positions (#0 is the first item seeded, new#0 the first added mid-walk)."""
    shown = []
    for item in ids:
        if item in positions:
            shown.append(f"#{positions[item]}")
        elif item in added:
            shown.append(f"new#{added.index(item)}")
        else:
            shown.append(repr(item))
    return "[" + ", ".join(shown) + "]"


def walk(
    ctx: CheckContext[Any],
    listing: Listing,
    seeded: Seeded,
    *,
    limit: int | None,
    order: str | None,
    add_mid_walk: bool = False,
) -> bool:
    """Walk every page; records the first violation and returns False on it."""
    paging = listing.paging
    expected = listing.expected(seeded.ids, order)
    wanted = set(expected)
    positions = {item: n for n, item in enumerate(seeded.ids)}
    settings_text = [f"order={order}" if order else "", f"limit={limit}" if limit else "(default limit)"]
    how = f"{listing.name}, " + ", ".join(text for text in settings_text if text) + (
        ", items added mid-walk" if add_mid_walk else ""
    ) + "; #0 = first seeded"
    state = Walk(ctx, listing, seeded.scope, order, limit, how, growing=add_mid_walk)
    effective_limit = state.effective_limit
    collected = state.collected
    first_page_of: dict[str, int] = {}
    added: list[str] = []
    request = state.request(paging.first(limit))
    previous: Exchange | None = None
    max_pages = len(expected) + 3 if listing.exclusive else MAX_PAGES_OPEN_LIST
    for number in range(max_pages):
        exchange = ctx.send(request)
        if not ctx.check_status(exchange):
            return False
        page = listing.page(exchange.json)
        if page is None:
            ctx.fail(exchange, f"a page of {listing.name} ({paging.kind} paging)", exchange.excerpt())
            return False
        if len(page.ids) > effective_limit:
            ctx.fail(exchange, f"at most {effective_limit} items per page ({how})", f"{len(page.ids)} items")
            return False
        if not paging.page_ok(state, exchange, page):
            return False
        problems = listing.page_problems(seeded.scope, exchange)
        if problems:
            ctx.fail(exchange, f"{listing.name} as the family lists them ({how})", "; ".join(problems))
            return False
        repeated = [item for n, item in enumerate(page.ids) if item in first_page_of or item in page.ids[:n]]
        if repeated:
            again = repeated[0]
            where = f"page {first_page_of[again] + 1}" if again in first_page_of else "this page"
            ctx.fail(
                exchange,
                f"every item exactly once ({how})",
                f"page {number + 1} lists {_names(repeated, positions, added)} again (already on {where}): "
                f"{_names(page.ids, positions, added)}",
            )
            return False
        if number == 0 and len(page.ids) < min(effective_limit, len(expected)):
            ctx.fail(
                exchange,
                f"a first page of {min(effective_limit, len(expected))} items ({how}; {len(expected)} seeded)",
                f"{len(page.ids)} items",
            )
            return False
        for item in page.ids:
            first_page_of[item] = number
        collected += page.ids
        seen_seeded = [item for item in collected if item in wanted]
        strangers = [item for item in page.ids if item not in wanted and item not in added]
        if seen_seeded != expected[: len(seen_seeded)] or (listing.exclusive and strangers):
            so_far = [item for item in collected if item in wanted or listing.exclusive]
            ctx.fail(
                exchange,
                f"items in the order {_names(expected, positions, added)} ({how})",
                f"after page {number + 1}: {_names(so_far, positions, added)}",
            )
            return False
        remaining = len(expected) - len(seen_seeded)
        if not page.has_more:
            if remaining:
                missing = [item for item in expected if item not in first_page_of]
                ctx.fail(
                    exchange,
                    f"more pages signalled while {remaining} seeded items remain ({how})",
                    f"the walk ends here without {_names(missing, positions, added)}",
                )
                return False
            if number and not page.ids and previous is not None:
                ctx.fail(
                    previous,
                    f"no more pages signalled on the last page ({how})",
                    "more was signalled, yet the next page is empty",
                )
                return False
            if not paging.end_ok(state, exchange, page):
                return False
            return _added_in_place(ctx, exchange, listing, collected, expected, added, positions, how)
        if listing.exclusive and not remaining and not add_mid_walk:
            ctx.fail(exchange, f"no more pages signalled on the last page ({how})", "more signalled")
            return False
        following = paging.next_request(state, exchange, page)
        if following is None:
            return False
        if add_mid_walk and number == 0:
            added = listing.add(ctx, seeded.scope)
        state.pages.append((exchange, page))
        request = following
        previous = exchange
    ctx.fail(exchange, f"the walk to end within {max_pages} pages ({how})", f"still more: {exchange.excerpt()}")
    return False


def _added_in_place(
    ctx: CheckContext[Profile],
    exchange: Exchange,
    listing: Listing,
    collected: list[str],
    expected: list[str],
    added: list[str],
    positions: dict[str, int],
    how: str,
) -> bool:
    """Items added mid-walk may be listed (once); if new items go at the end, only after the seeded ones."""
    if listing.added_at != "end" or not added:
        return True
    last_seeded = max((collected.index(item) for item in expected), default=-1)
    early = [item for item in added if item in collected and collected.index(item) < last_seeded]
    if early:
        ctx.fail(
            exchange,
            f"items added mid-walk listed after every earlier item, if at all ({how})",
            f"walk {_names(collected, positions, added)}",
        )
        return False
    return True


def _limit_bounds(ctx: CheckContext[Profile], listing: Listing) -> None:
    """limit one below the minimum and one above the maximum are rejected."""
    p = ctx.profile
    seeded = listing.seed(ctx, 1)
    name = listing.paging.limit_param
    for limit, reason in ((listing.min_limit - 1, Reason.BELOW_MINIMUM), (listing.max_limit + 1, Reason.ABOVE_MAXIMUM)):
        request = listing.request(seeded.scope, order=None, paging=listing.paging.first(limit))
        allowed = f"{listing.min_limit}..{listing.max_limit}"
        probe = p.rejection(request, ("query", name), reason, why=f"for {name}={limit} (allowed {allowed})",
                            grounds=Grounds.DOCUMENTED)
        ctx.expect(ctx.send(request), probe)
    listing.discard(ctx, seeded)


def _generated_walks(ctx: CheckContext[Profile], listing: Listing) -> bool:
    """Walks over lists of drawn sizes and limits; False once one failed."""
    stop: list[bool] = []
    small_max = min(SMALL_MAX, listing.max_seed)

    @settings(
        max_examples=max(3, min(12, ctx.settings.max_examples // 4)),
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @seed(ctx.settings.seed)
    @given(
        count=st.integers(0, small_max),
        limit=st.one_of(st.none(), st.integers(listing.min_limit, min(30, listing.max_limit))),
    )
    @example(count=0, limit=None)
    @example(count=min(listing.default_limit, small_max), limit=None)
    @example(count=min(7, small_max), limit=listing.min_limit)
    def walks(count: int, limit: int | None) -> None:
        if stop:
            return
        seeded = listing.seed(ctx, count)
        for order in listing.orders:
            if not walk(ctx, listing, seeded, limit=limit, order=order):
                stop.append(True)
                return
        listing.discard(ctx, seeded)

    walks()
    return not stop


def pagination(ctx: CheckContext[Profile]) -> None:
    """Paged walks yield each item once, in order; the end is signalled exactly; limits are honoured."""
    listings = ctx.profile.listings
    if not listings:
        ctx.skip("the family has no paginated list")
    for listing in listings:
        _limit_bounds(ctx, listing)
        if not _generated_walks(ctx, listing):
            continue

        large = min(2 * listing.default_limit + 5, listing.max_seed)
        seeded = listing.seed(ctx, large)
        first_order = next((order for order in listing.orders if order is not None), None)
        settings_list: list[tuple[int | None, str | None]] = [(None, None), (listing.max_limit, None)]
        if first_order is not None:
            settings_list += [(None, first_order), (listing.max_limit, first_order)]
        if all(walk(ctx, listing, seeded, limit=limit, order=order) for limit, order in settings_list):
            listing.discard(ctx, seeded)
        else:
            continue

        if listing.added_at is not None:
            seeded = listing.seed(ctx, min(7, listing.max_seed))
            order = listing.orders[0]
            if walk(ctx, listing, seeded, limit=2, order=order, add_mid_walk=True):
                listing.discard(ctx, seeded)
