"""How lists page, once per kind: reading a page, what its own fields must say, and the next request.

Three kinds of paging, each implemented once here and walked by the pagination check
(`conformance.checks.pagination`, which holds what every kind shares: every item exactly once and in
order, pages no larger than the limit, "more" signalled exactly on the pages before the last):
- `CursorPaging`: each page hands out the cursor of the next, opaque (VirtuousAI's `nextCursor`, null on
  the last page) or the last item's id (OpenAI's `after` with `has_more` and `first_id`/`last_id`, which
  must name the page's ends; an item with a position in the place of an id, as Venna's `index`, has that);
- `OffsetPaging`: limit/offset answered as `{count, next, previous, results}` (Django REST framework's
  LimitOffsetPagination): `count` is the list's size, `next` is null exactly on the last page, and the
  `next`/`previous` URLs lead where they say (the walk follows `next`; `previous` must give back the
  page before); every page but the last is full;
- `PageNumberPaging`: page/size answered as `{items, total, page, size, pages}` (fastapi-pagination):
  the page and size are the ones asked for, `total` is the list's size, `pages` agrees with it, every
  page but the last is full and the last holds the rest.

A family's `Listing` declares its kind (with the field and parameter names it uses), how to seed the
list and how to ask for it; nothing else about paging.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

from conformance.vocabulary import MISSING, Exchange, Page, Request, Seeded

if TYPE_CHECKING:
    from conformance.context import CheckContext

Params = Sequence[tuple[str, str]]


class Listing(ABC):
    """A paginated list the pagination check walks.

    `exclusive` says whether the list holds only what `seed` put there (a list inside a resource the
    check made); otherwise (a top-level list of the caller's) other items may be listed around the
    seeded ones, which must then appear once each, in order, among them.
    """

    name: str
    paging: Paging
    default_limit: int
    min_limit: int
    max_limit: int
    exclusive: bool = True
    # Values of the list's order parameter to walk with; None walks without one (the default order).
    orders: tuple[str | None, ...] = (None,)
    # Most items the check may ask `seed` for (seeding may be slow or costly, e.g. one turn per message pair).
    max_seed: int = 1000
    # Where items added mid-walk belong in the listing order: "start", "end", or None (not tested).
    added_at: str | None = None

    @abstractmethod
    def seed(self, ctx: CheckContext[Any], count: int) -> Seeded:
        """Put at least `count` new items in the list (ids in creation order); a step that fails is a
        failure that ends the check."""

    @abstractmethod
    def request(self, scope: str | None, *, order: str | None, paging: Params) -> Request:
        """The list request for `scope` in `order`, with the paging kind's query parameters `paging`."""

    def page(self, body: Any) -> Page | None:
        """A list response read as a page, or None if it does not have the list shape."""
        return self.paging.read(body)

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        """Items created in the order `ids` as the list orders them with `order`."""
        return list(ids)

    def page_problems(self, scope: str | None, exchange: Exchange) -> list[str]:
        """The family's own rules on the items a page lists (e.g. each exactly as it was sent)."""
        return []

    def add(self, ctx: CheckContext[Any], scope: str | None) -> list[str]:
        """Add items to the list in the middle of a walk; their ids."""
        raise NotImplementedError

    @abstractmethod
    def discard(self, ctx: CheckContext[Any], seeded: Seeded) -> None:
        """Delete what `seed` (and `add`) made."""


@dataclass
class Walk:
    """One walk through a list, as far as it has gone: what the kinds' rules need to know."""

    ctx: CheckContext[Any]
    listing: Listing
    scope: str | None
    order: str | None
    limit: int | None  # the limit asked for (None: the list's default)
    how: str  # the walk's settings, for failure messages
    growing: bool  # items are added mid-walk, so sizes and counts may change
    collected: list[str] = dataclasses.field(default_factory=list)  # ids listed so far, this page included
    # The pages before this one, each as its kind read it.
    pages: list[tuple[Exchange, Any]] = dataclasses.field(default_factory=list)

    @property
    def effective_limit(self) -> int:
        return self.limit if self.limit is not None else self.listing.default_limit

    def request(self, paging: Params) -> Request:
        return self.listing.request(self.scope, order=self.order, paging=paging)

    def fail(self, exchange: Exchange | None, expected: str, actual: str) -> bool:
        """Record a failure of the walk (its settings named); always False."""
        self.ctx.fail(exchange, f"{expected} ({self.how})", actual)
        return False


class Paging(ABC):
    """A kind of paging: its parameters, how a page reads, what a page must say, how to go on."""

    kind: ClassVar[str]
    limit_param: str

    def first(self, limit: int | None) -> list[tuple[str, str]]:
        """The paging parameters of the first page."""
        return [(self.limit_param, str(limit))] if limit is not None else []

    @abstractmethod
    def read(self, body: Any) -> Page | None:
        """A list response read as a page, or None if it does not have the list shape."""

    def page_ok(self, walk: Walk, exchange: Exchange, page: Any) -> bool:
        """The kind's rules on one page (before its items are counted); records the first broken one."""
        return True

    def end_ok(self, walk: Walk, exchange: Exchange, page: Any) -> bool:
        """The kind's rules on the last page, once every page was collected."""
        return True

    @abstractmethod
    def next_request(self, walk: Walk, exchange: Exchange, page: Any) -> Request | None:
        """The request for the page after `page` (which signals more); None once a failure is recorded."""


def _ids(items: Any, id_field: str, *, positions: bool = False) -> list[str] | None:
    """The items' ids; with `positions`, ids are non-negative integers (an item's position), read as
    their decimal strings (the form cursors carry them in)."""
    if not isinstance(items, list):
        return None
    ids = [item.get(id_field) if isinstance(item, dict) else None for item in items]
    if positions:
        found = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and i >= 0]
        return [str(i) for i in found] if len(found) == len(ids) else None
    return [i for i in ids if isinstance(i, str)] if all(isinstance(i, str) for i in ids) else None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- cursor -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CursorPage(Page):
    # The cursor that asks for the page after this one (None: the page gives none).
    next_cursor: str | None
    first_id: Any = MISSING  # MISSING when the family has no such field
    last_id: Any = MISSING


@dataclass(frozen=True)
class CursorPaging(Paging):
    """Each page hands out the cursor of the next: an opaque one, or the id of its last item."""

    kind: ClassVar[str] = "cursor"
    items_field: str = "data"
    id_field: str = "id"
    # Items have no id but a position, an integer: the id is its decimal string (as first_id, last_id and
    # the cursor carry it).
    id_is_position: bool = False
    cursor_param: str = "after"
    limit_param: str = "limit"
    # Where the next page's cursor is read (an opaque cursor, or the last item's id).
    next_cursor_field: str = "last_id"
    # A boolean field saying more follow; None: more follow exactly when the next cursor is not null.
    has_more_field: str | None = None
    # Fields naming the page's first and last item, where the family has them.
    first_id_field: str | None = None
    last_id_field: str | None = None

    def read(self, body: Any) -> CursorPage | None:
        if not isinstance(body, dict):
            return None
        ids = _ids(body.get(self.items_field), self.id_field, positions=self.id_is_position)
        if ids is None:
            return None
        cursor = body.get(self.next_cursor_field)
        if self.has_more_field is not None:
            has_more = body.get(self.has_more_field)
            if not isinstance(has_more, bool):
                return None
        else:
            if self.next_cursor_field not in body or not (cursor is None or isinstance(cursor, str)):
                return None
            has_more = cursor is not None
        return CursorPage(
            ids=ids,
            has_more=has_more,
            next_cursor=cursor if isinstance(cursor, str) else None,
            first_id=body.get(self.first_id_field, MISSING) if self.first_id_field else MISSING,
            last_id=body.get(self.last_id_field, MISSING) if self.last_id_field else MISSING,
        )

    def page_ok(self, walk: Walk, exchange: Exchange, page: CursorPage) -> bool:
        """first/last ids name the page's ends; on an empty page they must be empty (null or "": the
        vendor leaves it open)."""
        for field, value, expected in (
            ("first_id", page.first_id, page.ids[0] if page.ids else None),
            ("last_id", page.last_id, page.ids[-1] if page.ids else None),
        ):
            if value is MISSING or (expected is None and value in (None, "")):
                continue
            if value != expected:
                walk.ctx.fail(
                    exchange, f"{field} {expected!r} (the {field.split('_')[0]} item of data)", f"{field} {value!r}"
                )
                return False
        return True

    def next_request(self, walk: Walk, exchange: Exchange, page: CursorPage) -> Request | None:
        if not page.ids or page.next_cursor is None:
            walk.fail(exchange, "a page with items and a next cursor when more is signalled", exchange.excerpt())
            return None
        return walk.request([(self.cursor_param, page.next_cursor), *self.first(walk.limit)])


# --- limit/offset -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OffsetPage(Page):
    count: int
    next_url: str | None
    previous_url: str | None


@dataclass(frozen=True)
class OffsetPaging(Paging):
    """limit/offset, answered with the list's `count` and the URLs of the next and previous pages."""

    kind: ClassVar[str] = "offset"
    results_field: str = "results"
    id_field: str = "id"
    count_field: str = "count"
    next_field: str = "next"
    previous_field: str = "previous"
    limit_param: str = "limit"
    offset_param: str = "offset"

    def read(self, body: Any) -> OffsetPage | None:
        if not isinstance(body, dict):
            return None
        ids = _ids(body.get(self.results_field), self.id_field)
        count, following, preceding = (body.get(self.count_field), body.get(self.next_field),
                                       body.get(self.previous_field))
        if ids is None or not _integer(count) or self.next_field not in body or self.previous_field not in body:
            return None
        assert isinstance(count, int)
        if not all(url is None or isinstance(url, str) for url in (following, preceding)):
            return None
        return OffsetPage(ids=ids, has_more=following is not None, count=count, next_url=following,
                          previous_url=preceding)

    def _offset(self, params: Params) -> int | None:
        value = dict(params).get(self.offset_param, "0")
        return int(value) if value.isdigit() else None

    def _follow(self, exchange: Exchange, url: str) -> Request | None:
        """The request a next/previous URL stands for, if it leads to the same list."""
        target, here = urlsplit(urljoin(exchange.url, url)), urlsplit(exchange.url)
        # Paths compare decoded: `/environments/@current/` and `/environments/%40current/` are one path.
        if (target.scheme, target.netloc, unquote(target.path)) != (here.scheme, here.netloc, unquote(here.path)):
            return None
        return dataclasses.replace(exchange.request, params=tuple(parse_qsl(target.query, keep_blank_values=True)))

    def page_ok(self, walk: Walk, exchange: Exchange, page: OffsetPage) -> bool:
        offset = self._offset(exchange.request.params) or 0
        name = f"the page at offset {offset}"
        if not walk.growing:
            if walk.pages and page.count != walk.pages[0][1].count:
                first = walk.pages[0][1].count
                return walk.fail(exchange, f"{self.count_field} {first} on every page, as on the first",
                                 f"{self.count_field} {page.count}")
            last = offset + len(page.ids) >= page.count
            if last == page.has_more:
                said = f"{self.next_field} {page.next_url!r}"
                return walk.fail(exchange, f"{self.next_field} null exactly on the last page ({name}, "
                                 f"{len(page.ids)} items, {self.count_field} {page.count})", said)
            if not last and len(page.ids) != walk.effective_limit:
                return walk.fail(exchange, f"{walk.effective_limit} items on every page but the last ({name})",
                                 f"{len(page.ids)} items")
        if page.next_url is not None:
            following = self._follow(exchange, page.next_url)
            wanted = offset + len(page.ids)
            if following is None or self._offset(following.params) != wanted:
                return walk.fail(exchange, f"{self.next_field}: a URL of this list at {self.offset_param}={wanted}",
                                 f"{self.next_field} {page.next_url!r}")
        return self._previous_ok(walk, exchange, page, offset)

    def _previous_ok(self, walk: Walk, exchange: Exchange, page: OffsetPage, offset: int) -> bool:
        """`previous` is null on the first page; elsewhere it gives back the page before."""
        if offset == 0 or not walk.pages:
            if page.previous_url is not None and offset == 0:
                return walk.fail(exchange, f"{self.previous_field} null on the first page",
                                 f"{self.previous_field} {page.previous_url!r}")
            return True
        before_exchange, before = walk.pages[-1]
        going_back = self._follow(exchange, page.previous_url) if page.previous_url is not None else None
        if going_back is None:
            return walk.fail(exchange, f"{self.previous_field}: a URL of this list leading to the page before",
                             f"{self.previous_field} {page.previous_url!r}")
        if walk.growing:
            return True
        back = walk.ctx.send(going_back, identity=before_exchange.identity)
        if not walk.ctx.check_status(back):
            return False
        read = self.read(back.json)
        if read is None or read.ids != before.ids:
            return walk.fail(back, f"{self.previous_field} of the page at offset {offset} to give back the page "
                             f"before: {before.ids}", f"{read.ids if read else back.excerpt()}")
        return True

    def end_ok(self, walk: Walk, exchange: Exchange, page: OffsetPage) -> bool:
        if not walk.growing and page.count != len(walk.collected):
            return walk.fail(exchange, f"{self.count_field} {len(walk.collected)}: the items the walk listed",
                             f"{self.count_field} {page.count}")
        return True

    def next_request(self, walk: Walk, exchange: Exchange, page: OffsetPage) -> Request | None:
        following = self._follow(exchange, page.next_url) if page.next_url is not None else None
        if following is None:
            walk.fail(exchange, f"a {self.next_field} URL of this list", f"{self.next_field} {page.next_url!r}")
        return following


# --- page/size ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberedPage(Page):
    number: int
    size: int
    total: int
    pages: int | None  # None when the family gives no page count


@dataclass(frozen=True)
class PageNumberPaging(Paging):
    """page/size, answered with the list's `total` and (where the family gives it) its number of `pages`."""

    kind: ClassVar[str] = "page"
    items_field: str = "items"
    id_field: str = "id"
    total_field: str = "total"
    page_field: str = "page"
    size_field: str = "size"
    pages_field: str | None = "pages"
    page_param: str = "page"
    limit_param: str = "size"
    first_page: int = 1

    def read(self, body: Any) -> NumberedPage | None:
        if not isinstance(body, dict):
            return None
        ids = _ids(body.get(self.items_field), self.id_field)
        number, size, total = body.get(self.page_field), body.get(self.size_field), body.get(self.total_field)
        pages = body.get(self.pages_field) if self.pages_field else None
        if ids is None or not all(_integer(value) for value in (number, size, total)):
            return None
        if self.pages_field and not _integer(pages):
            return None
        assert isinstance(number, int) and isinstance(size, int) and isinstance(total, int)
        more = number < pages if pages is not None else (number - self.first_page + 1) * size < total
        return NumberedPage(ids=ids, has_more=more, number=number, size=size, total=total, pages=pages)

    def _asked(self, params: Params) -> int:
        value = dict(params).get(self.page_param)
        return int(value) if value is not None and value.lstrip("-").isdigit() else self.first_page

    def page_ok(self, walk: Walk, exchange: Exchange, page: NumberedPage) -> bool:
        asked = self._asked(exchange.request.params)
        if page.number != asked:
            return walk.fail(exchange, f"{self.page_field} {asked}, as asked", f"{self.page_field} {page.number}")
        if page.size != walk.effective_limit:
            return walk.fail(exchange, f"{self.size_field} {walk.effective_limit}", f"{self.size_field} {page.size}")
        if walk.growing:
            return True
        if walk.pages and page.total != walk.pages[0][1].total:
            first = walk.pages[0][1].total
            return walk.fail(exchange, f"{self.total_field} {first} on every page, as on the first",
                             f"{self.total_field} {page.total}")
        if page.pages is not None:
            wanted = math.ceil(page.total / page.size) if page.size else 0
            allowed = (0, 1) if page.total == 0 else (wanted,)
            if page.pages not in allowed:
                return walk.fail(exchange, f"{self.pages_field} {wanted} ({self.total_field} {page.total} in pages "
                                 f"of {page.size})", f"{self.pages_field} {page.pages}")
        before = (page.number - self.first_page) * page.size
        holds = max(0, min(page.size, page.total - before))
        if len(page.ids) != holds:
            return walk.fail(exchange, f"{holds} items on page {page.number} ({self.total_field} {page.total} in "
                             f"pages of {page.size})", f"{len(page.ids)} items")
        return True

    def end_ok(self, walk: Walk, exchange: Exchange, page: NumberedPage) -> bool:
        if not walk.growing and page.total != len(walk.collected):
            return walk.fail(exchange, f"{self.total_field} {len(walk.collected)}: the items the walk listed",
                             f"{self.total_field} {page.total}")
        return True

    def next_request(self, walk: Walk, exchange: Exchange, page: NumberedPage) -> Request | None:
        return walk.request([(self.page_param, str(page.number + 1)), *self.first(walk.limit)])
