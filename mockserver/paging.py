"""The three ways vendors page a list, each built once on the store's two primitives.

A family handler declares the kind its list uses and gets the records with the numbers its envelope
needs:

* ``cursor_page`` — after an opaque position or a record id (``Collection.page``): ``has_more`` and the
  position to encode in the next cursor (OpenAI ``after``/``has_more``, VirtuousAI ``nextCursor``);
* ``offset_page`` — ``limit``/``offset`` (``Collection.page_at``): ``total``, ``has_more`` and the next
  offset, for ``next`` URLs or ``count`` fields;
* ``numbered_page`` — ``page``/``size`` with totals, pages counted from 1: ``total``, ``pages``,
  ``has_more``.

None of them copies the collection: each costs O(log n + page).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from mockserver.store import Collection, Page

R = TypeVar("R")


class PagingKind(Enum):
    """How a list is paged; a family names the kind each of its lists uses."""

    CURSOR = "cursor"
    OFFSET = "offset"
    NUMBERED = "numbered"


@dataclass(frozen=True)
class OffsetPage(Generic[R]):
    """Records ``offset`` … ``offset + limit`` of a list, with the list's size."""

    records: list[R]
    offset: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.records) < self.total

    @property
    def next_offset(self) -> int | None:
        """The offset of the following page, or None if this is the last."""
        return self.offset + len(self.records) if self.has_more else None

    @property
    def previous_offset(self) -> int | None:
        """The offset of the preceding page, or None if this is the first."""
        return max(0, self.offset - self.limit) if self.offset > 0 else None


@dataclass(frozen=True)
class NumberedPage(Generic[R]):
    """Page ``number`` (from 1) of a list cut into pages of ``size``, with the list's size."""

    records: list[R]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list has (0 when it is empty)."""
        return -(-self.total // self.size) if self.size > 0 else 0

    @property
    def has_more(self) -> bool:
        return self.number < self.pages


def cursor_page(collection: Collection[R], *, limit: int, descending: bool, after: str | None = None,
                after_position: int | None = None) -> Page[R]:
    """The page after a record id (``after``; raises ``UnknownCursor``) or a position (``after_position``)."""
    return collection.page(after=after, after_position=after_position, limit=limit, descending=descending)


def offset_page(collection: Collection[R], *, offset: int, limit: int, descending: bool = False) -> OffsetPage[R]:
    """The ``limit`` records from ``offset`` on (an offset past the end gives an empty page)."""
    records, total = collection.page_at(offset, limit, descending)
    return OffsetPage(records, offset, limit, total)


def numbered_page(collection: Collection[R], *, number: int, size: int,
                  descending: bool = False) -> NumberedPage[R]:
    """Page ``number`` (counted from 1) of pages of ``size`` records."""
    records, total = collection.page_at((number - 1) * size, size, descending)
    return NumberedPage(records, number, size, total)
