"""Venna's wrapped items as the suite reads them: `{"type": "input", "index": n, "data": <the item as sent>}`.

Items have no id: their `index` (0-based per conversation, increasing, never reused; the contract's
inference) stands in for one, as a decimal string, which is also what `first_id`, `last_id` and `after`
carry. `WrappedItems` is the conversation-items listing that remembers what it sent, so every answer that
lists an item (an add call's, every page of a walk) can be held to "exactly as sent".
"""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.paging import CursorPaging
from conformance.shapes.conversation_items.profile import ConversationItems
from conformance.vocabulary import Exchange

# The item list: `after` = the last index of the previous page, `has_more`, the page's first/last index.
ITEM_PAGING = CursorPaging(
    items_field="data",
    id_field="index",
    id_is_position=True,
    cursor_param="after",
    next_cursor_field="last_id",
    has_more_field="has_more",
    first_id_field="first_id",
    last_id_field="last_id",
)
# The outer `type` of an item a client added (`output` is for items a model produced).
CLIENT_ITEM = "input"


def wrapped_problems(entry: Any, sent: Any) -> list[str]:
    """What is wrong with a listed item that was sent as `sent`: its wrapper, or its data rewritten."""
    if not isinstance(entry, dict):
        return [f"an item {entry!r} that is not a {{type, index, data}} object"]
    problems = []
    if entry.get("type") != CLIENT_ITEM:
        problems.append(f"item {entry.get('index')!r} has type {entry.get('type')!r}, expected {CLIENT_ITEM!r} "
                        "(a client added it)")
    if entry.get("data") != sent:
        problems.append(f"item {entry.get('index')!r} is {entry.get('data')!r}, sent as {sent!r}")
    return problems


def index_of(entry: Any) -> int | None:
    value = entry.get("index") if isinstance(entry, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class WrappedItems(ConversationItems):
    """A conversation's items, seeded by add calls held to Venna's rules (each item exactly as sent, wrapped
    as a client's; indexes increasing across calls and never reused), and listed exactly as sent."""

    name = "conversation items"

    def __init__(self, profile: Any) -> None:
        super().__init__(profile)
        # What was sent, by conversation and index string.
        self.sent: dict[tuple[str, str], Any] = {}

    def added_ids(self, ctx: CheckContext[Any], added: Exchange, scope: str, batch: list[Any],
                  before: list[str]) -> list[str]:
        new_ids = super().added_ids(ctx, added, scope, batch, before)
        entries = added.json["data"]  # read as a page by super(): a list of items with indexes
        problems = [problem for entry, item in zip(entries, batch, strict=True)
                    for problem in wrapped_problems(entry, item)]
        page = ITEM_PAGING.read(added.json)
        if page is not None and (page.first_id, page.last_id) != (new_ids[0], new_ids[-1]):
            problems.append(f"first_id {page.first_id!r} and last_id {page.last_id!r}, the indexes of the "
                            f"first and last item added are {new_ids[0]!r} and {new_ids[-1]!r}")
        indexes = [int(item_id) for item_id in before + new_ids]
        if any(later <= earlier for earlier, later in zip(indexes, indexes[1:], strict=False)):
            problems.append(f"indexes {indexes} in the order the items were added: each greater than the last")
        if problems:
            ctx.fail(added, f"the {len(batch)} items added, each as sent, with new increasing indexes",
                     "; ".join(problems))
            ctx.abort()
        for item_id, item in zip(new_ids, batch, strict=True):
            self.sent[(scope, item_id)] = item
        return new_ids

    def page_problems(self, scope: str | None, exchange: Exchange) -> list[str]:
        body = exchange.json
        entries = body.get("data") if isinstance(body, dict) else None
        problems = []
        for entry in entries if isinstance(entries, list) else []:
            index = index_of(entry)
            if index is not None and scope is not None and (scope, str(index)) in self.sent:
                problems += wrapped_problems(entry, self.sent[(scope, str(index))])
        return problems
