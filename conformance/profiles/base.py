"""The contract a family profile fulfils so the shared checks can drive its API.

A profile names its spec, says how to authenticate, builds requests for the operations the generic
checks need (by operationId, so paths come from the spec), reads the answers, and states the
family's rules (limits, pagination defaults, what delete returns). Generic checks only talk to a
family through this class; a family whose API lacks something lists fewer checks in `checks`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from conformance.http import NO_BODY, Request
from conformance.spec import Spec, spec_path

MISSING: Any = object()


@dataclass(frozen=True)
class Page:
    """One page of a cursor-paginated list, as the family returned it."""

    ids: list[str]
    has_more: bool
    # The cursor that asks for the page after this one (None: the page gives none).
    next_cursor: str | None
    first_id: Any = MISSING  # MISSING when the family has no such field
    last_id: Any = MISSING


@dataclass(frozen=True)
class Pagination:
    """How a family's item list paginates."""

    orders: tuple[str, ...]  # the first is creation order, the second its reverse
    default_order: str
    default_limit: int
    min_limit: int
    max_limit: int
    max_items_per_call: int  # how many items one create call may add


@dataclass(frozen=True)
class LimitCase:
    """A request at or just past a documented limit; `accepted` says which side of it."""

    description: str
    request: Request
    accepted: bool
    # Whether the request targets the shared fixture conversation (its state must not change if rejected).
    on_fixture: bool = False


class Profile(ABC):
    """Everything family-specific that the shared checks need."""

    name: ClassVar[str]
    title: ClassVar[str]
    spec_file: ClassVar[str]
    # Component schema every 4xx/5xx body must match.
    error_schema: ClassVar[str]
    # Status a rejected (schema-invalid, over-limit) request gets.
    rejection_status: ClassVar[int] = 400
    unauthenticated_status: ClassVar[int] = 401
    not_found_status: ClassVar[int] = 404
    # Generic checks that apply to this family, in run order.
    checks: ClassVar[tuple[str, ...]] = (
        "lifecycle",
        "pagination",
        "limits",
        "auth",
        "tenant_isolation",
        "error_envelope",
    )
    # Family-specific checks, run after the generic ones: plain functions taking a `CheckContext`,
    # named by their function name, described by their docstring's first line.
    extra_checks: ClassVar[tuple[Callable[..., None], ...]] = ()
    # Schemathesis checks that do not fit this family's contract (see `schemathesis_phase`).
    schemathesis_excluded_checks: ClassVar[tuple[str, ...]] = ()

    @property
    def pagination(self) -> Pagination | None:
        """How the item list paginates; None when the family has no paginated list."""
        return None

    @cached_property
    def spec(self) -> Spec:
        return Spec(spec_path(self.spec_file))

    def request(
        self,
        operation_id: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = NO_BODY,
        content: bytes | None = None,
        **path_params: str,
    ) -> Request:
        """A request for an operation of the spec, by operationId."""
        operation = self.spec.operations[operation_id]
        return Request(
            operation_id=operation_id,
            method=operation.method,
            template=operation.template,
            path_params=path_params,
            params=tuple(params or ()),
            json=json,
            content=content,
        )

    # --- authentication -------------------------------------------------------------------------

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """Headers that authenticate a request with `key`."""

    # --- requests -------------------------------------------------------------------------------

    @abstractmethod
    def probe(self) -> Request:
        """A harmless request used to see whether the target answers at all."""

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
        self,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: str | None = None,
    ) -> Request: ...

    @abstractmethod
    def get_item(self, conversation_id: str, item_id: str) -> Request: ...

    @abstractmethod
    def delete_item(self, conversation_id: str, item_id: str) -> Request: ...

    def names_existing(self, query: dict[str, Any], body: Any) -> str | None:
        """What in a request must name something that already exists (a cursor, a reference), or None.

        A made-up value there is schema-valid yet may be refused with any 4xx, so schemathesis'
        positive_data_acceptance does not hold such a refusal against the server.
        """
        return None

    def foreign_probes(self, conversation_id: str, item_id: str) -> list[Request]:
        """Extra requests (beyond the CRUD ones) that another tenant must have refused with a 4xx."""
        return []

    @abstractmethod
    def error_probes(self, conversation_id: str, item_id: str) -> list[tuple[Request, int]]:
        """Requests that must fail, each with the status it must fail with."""

    @abstractmethod
    def limit_cases(self, conversation_id: str) -> list[LimitCase]:
        """Requests at and just past each documented size limit."""

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

    @abstractmethod
    def page(self, body: Any) -> Page | None:
        """A list response read as a page, or None if it does not have the list shape."""

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

    @abstractmethod
    def deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        """What is wrong with the answer to deleting a conversation (empty when it is right)."""

    @abstractmethod
    def item_deletion_problems(self, body: Any, conversation_id: str) -> list[str]:
        """What is wrong with the answer to deleting an item (empty when it is right)."""
