"""Item walk (Venna's check): a conversation's wrapped items, added over several calls and walked page by
page in both orders.

Each add call answers exactly the items it added, in the order sent, each as sent and wrapped as a
client's (`type: input`), with indexes greater than every index before (never reused; `first_id`/`last_id`
the first and last of them). Walked with the shared pagination walk (`conformance.checks.pagination.walk`)
at limits from 1 to the maximum, `asc` and `desc`: every item exactly once and in index order, no page over
the limit, `first_id`/`last_id` the page's first and last index, `has_more` false exactly on the last page,
and every listed item exactly as it was sent.

What Venna leaves open is not walked: the default limit and the default order (both inferred by the
contract), and whether an `after` that names no stored item is accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.checks.pagination import walk
from conformance.context import CheckContext

if TYPE_CHECKING:
    from conformance.profiles.venna.profile import VennaProfile

# (items seeded, limits walked with): empty, one item, one add call, several add calls.
PLAN: tuple[tuple[int, tuple[int, ...]], ...] = ((0, (1,)), (1, (1, 2)), (7, (2, 7)), (45, (1, 20, 100)))


def item_walk(ctx: CheckContext[VennaProfile]) -> None:
    """Items added over several calls come back once each, in index order, exactly as sent, in both orders."""
    listing = ctx.profile.item_listing
    orders = ctx.profile.pagination.orders
    for count, limits in PLAN:
        seeded = listing.seed(ctx, count)
        walked = all(walk(ctx, listing, seeded, limit=min(limit, listing.max_limit), order=order)
                     for limit in limits for order in orders)
        if not walked:
            return  # the first broken walk is the finding; the conversation is left for inspection
        listing.discard(ctx, seeded)
