"""The conversations list and the family's `pagination` check (a bounded one: a listed conversation has a
message, and every message is a model call).

Noxus lists a key's conversations with fastapi-pagination's `Page` (`PageNumberPaging`: `page` from 1,
`size` 1..100, default 50, answered `{items, total, page, size, pages}`). Conversations with no
message are not listed. The order is not documented (the mock lists the most recently updated first),
so the check learns it: it reads the whole list once in pages of 100 and takes the seeded
conversations' order there as the order every other walk must show them in (an order that changes
with the page size is no order a client can page through).

The check, with `SEEDED` new conversations (one message each):
1. `size` 0 and 101 are 422 on `["query", "size"]` (the documented bounds);
2. the new conversations, still empty, are not listed; once each has a message, each is listed once;
3. walks by `page`/`size` with the shared walk (`conformance.checks.pagination.walk`) for each of
   `WALK_SIZES`: every conversation exactly once, in the learnt order, `total` the same on every page and
   the number listed, `pages = ceil(total / size)`, every page but the last full;
4. the page after the last is empty (200), with the same `total`.
The key's other conversations may be listed around the seeded ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from conformance.checks.pagination import walk
from conformance.paging import Listing, PageNumberPaging
from conformance.profiles.noxus import api
from conformance.profiles.noxus.api import Context
from conformance.vocabulary import Grounds, Reason, Request, Seeded

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.base import Profile
    from conformance.profiles.noxus.profile import NoxusProfile

# Conversations the check seeds (one model call each).
SEEDED = 3
# Page sizes walked: pages of one and two (the seeded conversations span pages), the default, the maximum.
WALK_SIZES: tuple[int | None, ...] = (1, 2, None, api.MAX_SIZE)


class ConversationsListing(Listing):
    name = "conversations"
    paging = PageNumberPaging()
    exclusive = False
    default_limit = 50
    min_limit = 1
    max_limit = api.MAX_SIZE
    max_seed = SEEDED

    def __init__(self, profile: NoxusProfile) -> None:
        self.profile = profile
        # The seeded conversations in the order the list showed them (see the module docstring).
        self.order: list[str] = []

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        """`count` new conversations made from settings, each given one message in turn."""
        seeded = self.make_empty(ctx, count)
        self.give_messages(ctx, seeded)
        return seeded

    def make_empty(self, ctx: CheckContext[Any], count: int) -> Seeded:
        """`count` new conversations made from settings, without messages (not listed yet)."""
        a = self.profile.api
        return Seeded(None, [a.require_conversation(ctx, f"conformance listing {n}")["id"] for n in range(count)])

    def give_messages(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        """One message to each conversation, in turn (a model call each)."""
        for n, cid in enumerate(seeded.ids):
            self.profile.api.reply(ctx, cid, f"Conformance listing {n}: please answer with one word.")

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        return self.profile.api.request(api.LIST, params=list(paging))

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        return list(self.order)

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        for cid in seeded.ids:
            self.profile.api.discard(ctx, cid)


def pagination(ctx: Context) -> None:
    """Walking the conversations by page/size lists each once; total and pages right; empty ones not listed."""
    p, a = ctx.profile, ctx.profile.api
    listing = ConversationsListing(p)
    for size, reason in ((listing.min_limit - 1, Reason.BELOW_MINIMUM), (listing.max_limit + 1, Reason.ABOVE_MAXIMUM)):
        probe = p.rejection(a.list_conversations(size=size), ("query", "size"), reason,
                            why=f"for size={size} (allowed {listing.min_limit}..{listing.max_limit})",
                            grounds=Grounds.DOCUMENTED)
        ctx.expect(ctx.send(probe.request), probe)

    seeded = listing.make_empty(ctx, SEEDED)
    empty = seeded.ids
    try:
        listed = a.listed_ids(ctx)
        shown = [cid for cid in empty if cid in listed]
        if shown:
            ctx.fail(ctx.client.history[-1], "conversations without messages not listed",
                     f"{len(shown)} of {len(empty)} new, empty conversations listed: {shown}")
        listing.give_messages(ctx, seeded)
        listed = a.listed_ids(ctx)
        listing.order = [cid for cid in listed if cid in empty]
        if sorted(listing.order) != sorted(empty):
            ctx.fail(ctx.client.history[-1], "each conversation listed exactly once once it has a message",
                     f"listed {listing.order} of {empty}")
            return
        for walked in WALK_SIZES:
            if not walk(cast("CheckContext[Profile]", ctx), listing, seeded, limit=walked, order=None):
                return
        _past_the_end(ctx)
    finally:
        listing.discard(ctx, seeded)


def _past_the_end(ctx: Context) -> None:
    """The page after the last is empty, with the same total."""
    a = ctx.profile.api
    first = ctx.send(a.list_conversations(size=2))
    ctx.require_status(first)
    body = ctx.require_object(first)
    pages, total = body.get("pages"), body.get("total")
    if not isinstance(pages, int) or not isinstance(total, int):
        return  # the walks judged the page's shape
    after = ctx.send(a.list_conversations(page=pages + 1, size=2))
    if not ctx.check_status(after, why=f"(page {pages + 1}, past the last: an empty page, not an error)"):
        return
    page = ctx.require_object(after)
    if page.get("items") != [] or page.get("total") != total or page.get("page") != pages + 1:
        ctx.fail(after, f"page {pages + 1} (after the last of {pages}): no items, total {total}, page {pages + 1}",
                 api.clip(after.text, 300))
