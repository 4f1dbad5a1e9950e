"""VirtuousAI's paginated lists, for the pagination check.

- Threads: the caller's whole list, newest activity first (a new thread is the newest), `limit`
  1..100 (default 20). Other threads of the caller may be listed around the seeded ones. A thread
  created mid-walk belongs before the walk's position.
- Messages: one thread's, oldest first, `limit` 1..200 (default 50). Messages only come from turns
  (two per turn), so seeding is a turn per pair, and few are seeded. Messages added mid-walk (a new
  turn) belong at the end.
Both answer `{items, nextCursor}` (an opaque cursor, `CursorPaging`); `nextCursor` is null exactly on the
last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conformance.paging import CursorPaging, Listing
from conformance.profiles.virtuousai import api
from conformance.vocabulary import Request, Seeded

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.virtuousai.profile import VirtuousAIProfile

# Both lists: `{items, nextCursor}`, the opaque cursor sent back as `cursor`.
PAGING = CursorPaging(items_field="items", cursor_param="cursor", next_cursor_field="nextCursor")


class ThreadsListing(Listing):
    name = "threads"
    paging = PAGING
    exclusive = False
    max_seed = 45
    added_at = "start"

    def __init__(self, profile: VirtuousAIProfile) -> None:
        self.api = profile.api
        low, high, default = profile.query_bounds(api.LIST_THREADS, "limit")
        assert low is not None and high is not None and default is not None
        self.min_limit, self.max_limit, self.default_limit = int(low), int(high), int(default)
        self._made: list[str] = []

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        ids = [self.api.require_thread(ctx, title=f"conformance page {n}")["id"] for n in range(count)]
        self._made += ids
        return Seeded(None, ids)

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        return self.api.request(api.LIST_THREADS, params=list(paging))

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        return list(reversed(ids))

    def add(self, ctx: CheckContext[Any], scope: str | None) -> list[str]:
        made = self.api.require_thread(ctx, title="conformance added mid-walk")["id"]
        self._made.append(made)
        return [made]

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        for thread_id in self._made:
            ctx.send(self.api.delete_thread(thread_id))
        self._made = []


class MessagesListing(Listing):
    name = "messages of a thread"
    paging = PAGING
    exclusive = True
    max_seed = 10
    added_at = "end"

    def __init__(self, profile: VirtuousAIProfile) -> None:
        self.api = profile.api
        low, high, default = profile.query_bounds(api.LIST_MESSAGES, "limit")
        assert low is not None and high is not None and default is not None
        self.min_limit, self.max_limit, self.default_limit = int(low), int(high), int(default)

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        thread_id = self.api.require_thread(ctx, title="conformance messages")["id"]
        for n in range((count + 1) // 2):
            self.api.run_turn(ctx, thread_id, f"Say hi {n}")
        ids = [message["id"] for message in self.api.all_messages(ctx, thread_id)]
        return Seeded(thread_id, ids)

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        assert scope is not None
        return self.api.request(api.LIST_MESSAGES, params=list(paging), thread_id=scope)

    def add(self, ctx: CheckContext[Any], scope: str | None) -> list[str]:
        assert scope is not None
        before = {message["id"] for message in self.api.all_messages(ctx, scope)}
        self.api.run_turn(ctx, scope, "One more, please")
        return [message["id"] for message in self.api.all_messages(ctx, scope) if message["id"] not in before]

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        if seeded.scope:
            ctx.send(self.api.delete_thread(seeded.scope))
