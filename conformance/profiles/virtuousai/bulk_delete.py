"""Bulk delete: `deletedCount` counts exactly the caller's threads deleted, and only those are gone.

`threadIds` naming two of three threads (plus an id of no thread) deletes those two, counted 2; the
third stays; naming them again counts 0; an empty list or body deletes nothing. `all: true` deletes
every thread of the caller, ignoring `threadIds`, counted exactly, and (with a second key) none of
another key's threads.
Note: `all: true` deletes every thread of the key the suite runs with; run it with a key for test data.
"""

from __future__ import annotations

from conformance.profiles.virtuousai.api import Context
from conformance.profiles.virtuousai.rules import UNKNOWN_ID
from conformance.vocabulary import SECONDARY, Exchange


def _expect_count(ctx: Context, exchange: Exchange, count: int, why: str) -> None:
    if not ctx.check_status(exchange):
        return
    got = exchange.json.get("deletedCount") if isinstance(exchange.json, dict) else None
    if got != count:
        ctx.fail(exchange, f"deletedCount {count} ({why})", exchange.excerpt())


def bulk_delete(ctx: Context) -> None:
    """Bulk delete by ids and with all: deletedCount is exact, and exactly those threads are gone."""
    a = ctx.profile.api
    first, second, kept = (a.require_thread(ctx, title=f"conformance bulk {n}")["id"] for n in range(3))

    deleted = ctx.send(a.bulk_delete({"threadIds": [first, second, UNKNOWN_ID]}))
    _expect_count(ctx, deleted, 2, "two threads of the caller and an id of no thread")
    for tid in (first, second):
        ctx.check_status(ctx.send(a.get_thread(tid)), 404, why="after bulk delete named it")
    ctx.check_status(ctx.send(a.get_thread(kept)), why="(bulk delete did not name it)")
    _expect_count(ctx, ctx.send(a.bulk_delete({"threadIds": [first, second]})), 0, "both already deleted")
    _expect_count(ctx, ctx.send(a.bulk_delete({"threadIds": []})), 0, "no ids")
    _expect_count(ctx, ctx.send(a.bulk_delete({})), 0, "neither ids nor all")
    ctx.check_status(ctx.send(a.get_thread(kept)), why="(no bulk delete named it)")

    theirs = a.require_thread(ctx, identity=SECONDARY, title="another key's")["id"] if ctx.has_identity(
        SECONDARY) else None
    extra = a.require_thread(ctx, title="conformance bulk all")["id"]
    mine = a.thread_ids(ctx)
    everything = ctx.send(a.bulk_delete({"all": True, "threadIds": [kept]}))
    _expect_count(ctx, everything, len(mine), f"all: every one of the caller's {len(mine)} threads")
    left = a.thread_ids(ctx)
    if left:
        ctx.fail(ctx.client.history[-1], "no threads left after all: true", f"{len(left)} still listed")
    for tid in (kept, extra):
        ctx.check_status(ctx.send(a.get_thread(tid)), 404, why="after bulk delete with all: true")
    if theirs is not None:
        ctx.check_status(ctx.send(a.get_thread(theirs), identity=SECONDARY),
                         why="(another key's bulk delete with all: true must not touch it)")
        ctx.send(a.delete_thread(theirs), identity=SECONDARY)
