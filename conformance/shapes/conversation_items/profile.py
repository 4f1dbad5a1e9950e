"""The conversation-with-items shape's profile base (OpenAI's Conversations API and any family built like it).

A `ConversationProfile` builds requests for conversation and item CRUD and reads the answers; from
those it provides the shared checks' hooks (fixture, snapshot, probes, the item listing), and runs the
shape's own `lifecycle` check. A family of this shape implements the abstract methods, states its
rules and declares how its item list pages (`Pagination.paging`, a kind from `conformance.paging`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance.context import CheckContext, CheckFunction
from conformance.paging import Listing, Paging
from conformance.profiles.base import Profile
from conformance.shapes.conversation_items.lifecycle import lifecycle
from conformance.vocabulary import MISSING, PRIMARY, Exchange, Fixture, Page, Probe, Request, Seeded


@dataclass(frozen=True)
class Pagination:
    """How a family's item list paginates."""

    orders: tuple[str, ...]  # the first is creation order, the second its reverse
    default_order: str
    default_limit: int
    min_limit: int
    max_limit: int
    max_items_per_call: int  # how many items one create call may add
    paging: Paging  # how the item list pages (its kind, fields and parameters)


class ConversationProfile(Profile):
    """A family of conversations holding items."""

    checks: ClassVar[tuple[str | CheckFunction, ...]] = (
        lifecycle,
        "pagination",
        "limits",
        "auth",
        "tenant_isolation",
        "error_envelope",
    )
    # Whether items are read and deleted one by one (`get_item`, `delete_item`); without such operations
    # (Venna) items are only added and listed.
    single_item_operations: ClassVar[bool] = True

    @property
    @abstractmethod
    def pagination(self) -> Pagination:
        """How the item list paginates."""

    # --- requests -------------------------------------------------------------------------------

    @abstractmethod
    def create_conversation(self, *, metadata: Any = MISSING, items: list[Any] | None = None) -> Request: ...

    @abstractmethod
    def get_conversation(self, conversation_id: str) -> Request: ...

    @abstractmethod
    def update_conversation(self, conversation_id: str, metadata: Any) -> Request: ...

    @abstractmethod
    def delete_conversation(self, conversation_id: str) -> Request: ...

    @abstractmethod
    def create_items(self, conversation_id: str, items: list[Any]) -> Request: ...

    @abstractmethod
    def list_items(
        self, conversation_id: str, *, order: str | None = None, paging: Sequence[tuple[str, str]] = ()
    ) -> Request:
        """The item list in `order`, with the paging kind's parameters `paging`."""

    def list_all_items(self, conversation_id: str, *, order: str | None = None) -> Request:
        """The first page of the item list at the largest limit (every item of a small conversation)."""
        return self.list_items(
            conversation_id, order=order, paging=self.pagination.paging.first(self.pagination.max_limit)
        )

    def get_item(self, conversation_id: str, item_id: str) -> Request:
        """Retrieving one item (only asked of a family with `single_item_operations`)."""
        raise NotImplementedError(f"{self.name} has no operation on a single item")

    def delete_item(self, conversation_id: str, item_id: str) -> Request:
        """Deleting one item (only asked of a family with `single_item_operations`)."""
        raise NotImplementedError(f"{self.name} has no operation on a single item")

    def more_foreign_probes(self, conversation_id: str, item_id: str) -> list[Probe]:
        """Requests beyond the CRUD ones that another tenant must have refused."""
        return []

    # --- sample data ----------------------------------------------------------------------------

    @abstractmethod
    def sample_item(self, index: int) -> Any:
        """An input item; `index` makes it distinguishable."""

    @abstractmethod
    def sample_metadata(self, variant: int) -> dict[str, str]:
        """A small valid metadata object; different variants share no keys."""

    # --- reading answers ------------------------------------------------------------------------

    @abstractmethod
    def conversation_id(self, body: Any) -> str | None: ...

    @abstractmethod
    def conversation_metadata(self, body: Any) -> Any: ...

    @abstractmethod
    def created_at(self, body: Any) -> Any:
        """The creation time (unix seconds) a conversation reports, as found in the body."""

    @abstractmethod
    def item_id(self, item: Any) -> str | None: ...

    @abstractmethod
    def created_items(self, body: Any) -> list[Any] | None:
        """The items a create-items call added, in the order given, or None if unreadable."""

    def created_item_ids(self, body: Any) -> list[str] | None:
        """Ids of the items a create-items call added, in the order given, or None if unreadable."""
        items = self.created_items(body)
        if items is None:
            return None
        ids = [self.item_id(item) for item in items]
        return None if any(item_id is None for item_id in ids) else [i for i in ids if i is not None]

    def page(self, body: Any) -> Page | None:
        """An item list response read as a page, or None if it does not have the list shape."""
        return self.pagination.paging.read(body)

    # --- family rules ---------------------------------------------------------------------------

    @abstractmethod
    def metadata_update_problems(self, given: Any, stored: Any) -> list[str]:
        """What is wrong with `stored`, the metadata an update that sent `given` answered with.

        Hold only what the vendor promises: where it leaves a choice open (merge or replace, say), every
        choice must pass.
        """

    @abstractmethod
    def metadata_when_omitted(self) -> tuple[Any, ...]:
        """The metadata values a conversation created without any may have."""

    def metadata_updates(self) -> tuple[Any, ...]:
        """The metadata lifecycle updates a conversation with, in turn: new pairs, then what clears it."""
        return (self.sample_metadata(2), None)

    @abstractmethod
    def deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        """What is wrong with the answer to deleting a conversation (empty when it is right)."""

    def item_deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        """What is wrong with the answer to deleting an item (empty when it is right; only asked of a
        family with `single_item_operations`)."""
        return []

    # --- the shared checks' hooks, from the above -----------------------------------------------

    def undo_create(self, exchange: Exchange) -> Request | None:
        """Deleting the conversation a create answered with, if it made one."""
        made = self.conversation_id(exchange.json) if 200 <= exchange.status < 300 else None
        return self.delete_conversation(made) if made else None

    def create_fixture(
        self,
        ctx: CheckContext[Any],
        *,
        identity: str | None = PRIMARY,
        items: int = 2,
        metadata_variant: int | None = 1,
    ) -> Fixture:
        """A conversation with `items` sample items, their ids read back (oldest first)."""
        metadata = self.sample_metadata(metadata_variant) if metadata_variant is not None else MISSING
        created = ctx.send(
            self.create_conversation(metadata=metadata, items=[self.sample_item(i) for i in range(items)]),
            identity=identity,
        )
        ctx.require_status(created)
        body = ctx.require_object(created)
        conversation_id = self.conversation_id(body)
        if conversation_id is None:
            ctx.fail(created, "a conversation with an id", created.excerpt())
            ctx.abort()
        item_ids: list[str] = []
        if items:
            listing = ctx.send(self.list_all_items(conversation_id, order=self.pagination.orders[0]), identity=identity)
            page = self.page(listing.json)
            if page is None or len(page.ids) < items:
                ctx.fail(listing, f"a page listing the {items} items just created", listing.excerpt())
                ctx.abort()
            item_ids = page.ids
        ids = {"conversation": conversation_id, **({"item": item_ids[0]} if item_ids else {})}
        return Fixture(ids, body, identity, {"items": item_ids})

    def discard_fixture(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        ctx.send(self.delete_conversation(fixture["conversation"]), identity=fixture.identity)

    def snapshot(self, ctx: CheckContext[Any], fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        cid = fixture["conversation"]
        conversation = ctx.send(self.get_conversation(cid), identity=fixture.identity)
        items = ctx.send(self.list_all_items(cid, order=self.pagination.orders[0]), identity=fixture.identity)
        page = self.page(items.json)
        body = conversation.json if conversation.status == 200 else conversation.status
        return {
            "the conversation": (conversation, body),
            "its items": (items, page.ids if page else items.status),
        }

    def item_reads(self, conversation_id: str, item_id: str) -> list[Request]:
        """Reading one item, if the family can (`single_item_operations`)."""
        return [self.get_item(conversation_id, item_id)] if self.single_item_operations else []

    def item_writes(self, conversation_id: str, item_id: str) -> list[Request]:
        """Deleting one item, if the family can (`single_item_operations`)."""
        return [self.delete_item(conversation_id, item_id)] if self.single_item_operations else []

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        cid, item = fixture["conversation"], fixture["item"]
        return [
            self.create_conversation(metadata=self.sample_metadata(2)),
            self.get_conversation(cid),
            self.update_conversation(cid, self.sample_metadata(3)),
            self.create_items(cid, [self.sample_item(1)]),
            self.list_items(cid),
            *self.item_reads(cid, item),
            *self.item_writes(cid, item),
            self.delete_conversation(cid),
        ]

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        cid, item = fixture["conversation"], fixture["item"]
        requests = [
            self.get_conversation(cid),
            self.list_items(cid),
            *self.item_reads(cid, item),
            self.update_conversation(cid, self.sample_metadata(2)),
            self.create_items(cid, [self.sample_item(5)]),
            *self.item_writes(cid, item),
            self.delete_conversation(cid),
        ]
        return [Probe(request, self.not_found_status) for request in requests] + self.more_foreign_probes(cid, item)

    @property
    def listings(self) -> list[Listing]:
        return [ConversationItems(self)]


class ConversationItems(Listing):
    """The items of a conversation the check made, walked as the family's paging kind says."""

    name = "conversation items"
    exclusive = True
    added_at = None

    def __init__(self, profile: ConversationProfile) -> None:
        self.profile = profile
        paging = profile.pagination
        self.paging = paging.paging
        self.default_limit, self.min_limit, self.max_limit = paging.default_limit, paging.min_limit, paging.max_limit
        self.orders = (*paging.orders, None)

    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        p = self.profile
        created = ctx.send(p.create_conversation())
        ctx.require_status(created)
        cid = p.conversation_id(ctx.require_object(created))
        if cid is None:
            ctx.fail(created, "a conversation with an id", created.excerpt())
            ctx.abort()
        ids: list[str] = []
        while len(ids) < count:
            batch = [p.sample_item(len(ids) + i) for i in range(min(p.pagination.max_items_per_call, count - len(ids)))]
            added = ctx.send(p.create_items(cid, batch))
            ctx.require_status(added)
            ids += self.added_ids(ctx, added, cid, batch, ids)
        return Seeded(cid, ids)

    def added_ids(self, ctx: CheckContext[Any], added: Exchange, scope: str, batch: list[Any],
                  before: list[str]) -> list[str]:
        """The ids of the items an add call answered with, in the order sent: one per item, distinct, none
        an id the conversation had before (ids are never reused); otherwise a failure that ends the check."""
        new_ids = self.profile.created_item_ids(added.json)
        if new_ids is None or len(new_ids) != len(batch) or len(set(new_ids)) != len(new_ids):
            ctx.fail(added, f"{len(batch)} distinct item ids for the {len(batch)} items added", added.excerpt())
            ctx.abort()
        reused = [item_id for item_id in new_ids if item_id in before]
        if reused:
            ctx.fail(added, f"new item ids (never one the conversation had: {before})", f"{reused} again")
            ctx.abort()
        return new_ids

    def request(self, scope: str | None, *, order: str | None, paging: Sequence[tuple[str, str]]) -> Request:
        assert scope is not None
        return self.profile.list_items(scope, order=order, paging=paging)

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        paging = self.profile.pagination
        effective = order or paging.default_order
        return list(ids) if effective == paging.orders[0] else list(reversed(ids))

    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        if seeded.scope:
            ctx.send(self.profile.delete_conversation(seeded.scope))
