"""The conversations list and the family's `pagination` check (a bounded one: every seeded item is a run).

PostHog lists a key's titled conversations newest `updated_at` first, paged by DRF's
LimitOffsetPagination (`OffsetPaging`: `{count, next, previous, results}`, `next`/`previous` absolute URLs
or null at the ends, default limit 100, no maximum). A conversation only appears once its first run has
given it a title, so seeding a conversation costs a run (AI credits, throttled on PostHog): the check
seeds `SEEDED` conversations once and walks them with small limits (so the walk spans several pages),
the default limit and a very large one, with the shared walk (`conformance.checks.pagination.walk`):
every conversation exactly once and in order, `count` right, `next` null exactly on the last page, the
`next` and `previous` URLs leading where they say. The key's other conversations may be listed around
the seeded ones. Limits outside 1.. are not checked: PostHog silently replaces them by its default
(the contract chose 400; both are faithful).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from conformance.checks.pagination import walk
from conformance.paging import Listing, OffsetPaging
from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import Context
from conformance.vocabulary import Request, Seeded

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.base import Profile
    from conformance.profiles.posthog.profile import PostHogProfile

# Conversations the check seeds (one run each).
SEEDED = 3
# Limits walked: pages of two items (the seeded ones span two pages), the default, and a very large one.
WALK_LIMITS: tuple[int | None, ...] = (2, None, 1_000_000)


class ConversationsListing(Listing):
    name = "conversations"
    paging = OffsetPaging()
    exclusive = False
    default_limit = 100
    min_limit = 1
    max_limit = 1_000_000  # no maximum on PostHog; what the walk with a large limit asks for
    max_seed = SEEDED

    def __init__(self, profile: PostHogProfile) -> None:
        self.profile = profile

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        """`count` new conversations, one run each, in order (each ends its run before the next starts,
        so each is newer than the one before)."""
        a = self.profile.api
        ids = []
        for n in range(count):
            cid = api.new_id()
            a.run_message(ctx, cid, f"Conformance listing {n}: say hello.")
            a.require_settled(ctx, cid, why="after its first run, to be listed")
            ids.append(cid)
        return Seeded(None, ids)

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        return self.profile.api.request(api.LIST, params=list(paging))

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        return list(reversed(ids))  # newest updated_at first

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        """Conversations cannot be deleted through these operations; they stay."""


def pagination(ctx: Context) -> None:
    """Walking the conversations by limit/offset lists each once, newest first; count, next, previous right."""
    listing = ConversationsListing(ctx.profile)
    seeded = listing.seed(ctx, SEEDED)
    for limit in WALK_LIMITS:
        if not walk(cast("CheckContext[Profile]", ctx), listing, seeded, limit=limit, order=None):
            return
