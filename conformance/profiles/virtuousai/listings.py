"""VirtuousAI's cursor-paginated lists, for the pagination check.

- Threads: the caller's whole list, newest activity first (a new thread is the newest), `limit`
  1..100 (default 20). Other threads of the caller may be listed around the seeded ones. A thread
  created mid-walk belongs before the walk's position.
- Messages: one thread's, oldest first, `limit` 1..200 (default 50). Messages only come from turns
  (two per turn), so seeding is a turn per pair, and few are seeded. Messages added mid-walk (a new
  turn) belong at the end.
Both answer `{items, nextCursor}`; `nextCursor` is null exactly on the last page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.http import Request
from conformance.profiles.base import Listing, Page, Seeded
from conformance.profiles.virtuousai import api

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.base import Profile


def read_page(body: Any) -> Page | None:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "nextCursor" not in body:
        return None
    ids = [item.get("id") if isinstance(item, dict) else None for item in body["items"]]
    cursor = body["nextCursor"]
    if any(not isinstance(item_id, str) for item_id in ids) or not (cursor is None or isinstance(cursor, str)):
        return None
    return Page(ids=ids, has_more=cursor is not None, next_cursor=cursor)


class ThreadsListing(Listing):
    name = "threads"
    exclusive = False
    max_seed = 45
    added_at = "start"

    def __init__(self, profile: Profile) -> None:
        self.api: api.ChatAPI = profile.api  # type: ignore[attr-defined]
        low, high, default = profile.query_bounds(api.LIST_THREADS, "limit")  # type: ignore[attr-defined]
        self.min_limit, self.max_limit, self.default_limit = int(low), int(high), int(default)
        self._made: list[str] = []

    def seed(self, ctx: CheckContext, count: int) -> Seeded:
        ids = [self.api.require_thread(ctx, title=f"conformance page {n}")["id"] for n in range(count)]
        self._made += ids
        return Seeded(None, ids)

    def request(self, scope: str | None, *, cursor: str | None, limit: int | None, order: str | None) -> Request:
        return self.api.list_threads(cursor=cursor, limit=limit)

    def page(self, body: Any) -> Page | None:
        return read_page(body)

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        return list(reversed(ids))

    def add(self, ctx: CheckContext, scope: str | None) -> list[str]:
        made = self.api.require_thread(ctx, title="conformance added mid-walk")["id"]
        self._made.append(made)
        return [made]

    def discard(self, ctx: CheckContext, seeded: Seeded) -> None:
        for thread_id in self._made:
            ctx.send(self.api.delete_thread(thread_id))
        self._made = []


class MessagesListing(Listing):
    name = "messages of a thread"
    exclusive = True
    max_seed = 10
    added_at = "end"

    def __init__(self, profile: Profile) -> None:
        self.api: api.ChatAPI = profile.api  # type: ignore[attr-defined]
        low, high, default = profile.query_bounds(api.LIST_MESSAGES, "limit")  # type: ignore[attr-defined]
        self.min_limit, self.max_limit, self.default_limit = int(low), int(high), int(default)

    def seed(self, ctx: CheckContext, count: int) -> Seeded:
        thread_id = self.api.require_thread(ctx, title="conformance messages")["id"]
        for n in range((count + 1) // 2):
            self.api.run_turn(ctx, thread_id, f"Say hi {n}")
        ids = [message["id"] for message in self.api.all_messages(ctx, thread_id)]
        return Seeded(thread_id, ids)

    def request(self, scope: str | None, *, cursor: str | None, limit: int | None, order: str | None) -> Request:
        assert scope is not None
        return self.api.list_messages(scope, cursor=cursor, limit=limit)

    def page(self, body: Any) -> Page | None:
        return read_page(body)

    def add(self, ctx: CheckContext, scope: str | None) -> list[str]:
        assert scope is not None
        before = {message["id"] for message in self.api.all_messages(ctx, scope)}
        self.api.run_turn(ctx, scope, "One more, please")
        return [message["id"] for message in self.api.all_messages(ctx, scope) if message["id"] not in before]

    def discard(self, ctx: CheckContext, seeded: Seeded) -> None:
        if seeded.scope:
            ctx.send(self.api.delete_thread(seeded.scope))
