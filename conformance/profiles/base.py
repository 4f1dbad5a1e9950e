"""The contract a family profile fulfils so the shared checks can drive its API.

A profile names its spec and says how to authenticate; everything else the shared checks need comes
through hooks that speak of what every family has, whatever its shape:
- a `Fixture`: resources a check makes to work on (a conversation and its items, a thread with a turn);
- `Probe`s: requests with the answer they must get (status, and family rules on the body such as a
  422's `loc`); the error, auth, tenant and limit checks are lists of probes on a fixture;
- a snapshot: what must come out unchanged from requests that must change nothing;
- `Listing`s: the cursor-paginated lists the pagination check walks;
- `streaming`: how a turn is streamed, for families that stream (see `conformance.streaming`).

Error bodies are checked against the schema the spec declares for the operation and status, falling
back to `error_schema` (unknown routes, undeclared statuses). Family-shaped checks live with the family
(`checks` may name shared checks or hold a family's own check functions); `ConversationProfile`
(conversations with items, as OpenAI's) is one such shape, shared by the checks written for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from conformance.http import NO_BODY, NOT_JSON, PRIMARY, Exchange, Request
from conformance.spec import Spec, spec_path

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.streaming import Streaming

MISSING: Any = object()

CheckFunction = Callable[["CheckContext"], None]


@dataclass(frozen=True)
class Fixture:
    """Resources a check made to work on, as one identity: ids by role and the main resource as created."""

    ids: Mapping[str, str]
    body: dict[str, Any]
    identity: str | None = PRIMARY
    # Further ids by role (every item of a conversation, both messages of a turn...).
    lists: Mapping[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, role: str) -> str:
        return self.ids[role]


@dataclass(frozen=True)
class Probe:
    """A request and the answer it must get: one of `status`, and no `problems` with the answer."""

    request: Request
    status: int | tuple[int, ...]
    why: str = ""
    # Family rules on the answer beyond its status (a 422's loc and type, a count...): what is wrong.
    problems: Callable[[Exchange], list[str]] | None = None
    # What undoes a probe wrongly accepted (deleting what it created), sent as the same identity.
    undo: Callable[[Exchange], Request | None] | None = None

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)

    @property
    def expected(self) -> str:
        text = " or ".join(str(status) for status in self.statuses)
        return f"{text} {self.why}".strip()


@dataclass(frozen=True)
class LimitCase:
    """A request at or just past a documented limit; `accepted` says which side of it."""

    description: str
    request: Request
    accepted: bool
    # Whether the request targets the check's fixture (whose state must not change if it is rejected).
    on_fixture: bool = False
    # Family rules on a rejection's body (e.g. the 422's loc and type).
    problems: Callable[[Exchange], list[str]] | None = None
    # What undoes the request once accepted (deleting what it created).
    undo: Callable[[Exchange], Request | None] | None = None


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
class Seeded:
    """Items a check put into a list: the scope they live in (None for a top-level list) and their ids
    in creation order."""

    scope: str | None
    ids: list[str]


class Listing(ABC):
    """A cursor-paginated list the pagination check walks.

    `exclusive` says whether the list holds only what `seed` put there (a list inside a resource the
    check made); otherwise (a top-level list of the caller's) other items may be listed around the
    seeded ones, which must then appear once each, in order, among them.
    """

    name: str
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
    def seed(self, ctx: CheckContext, count: int) -> Seeded:
        """Put at least `count` new items in the list (ids in creation order); a step that fails is a
        failure that ends the check."""

    @abstractmethod
    def request(self, scope: str | None, *, cursor: str | None, limit: int | None, order: str | None) -> Request: ...

    @abstractmethod
    def page(self, body: Any) -> Page | None:
        """A list response read as a page, or None if it does not have the list shape."""

    def expected(self, ids: list[str], order: str | None) -> list[str]:
        """Items created in the order `ids` as the list orders them with `order`."""
        return list(ids)

    def add(self, ctx: CheckContext, scope: str | None) -> list[str]:
        """Add items to the list in the middle of a walk; their ids."""
        raise NotImplementedError

    @abstractmethod
    def discard(self, ctx: CheckContext, seeded: Seeded) -> None:
        """Delete what `seed` (and `add`) made."""


class Profile(ABC):
    """What a family is to the shared checks: its spec, auth, and the hooks they drive it through."""

    name: ClassVar[str]
    title: ClassVar[str]
    spec_file: ClassVar[str]
    # Component schema of an error body where the spec declares none (unknown routes, undeclared statuses).
    error_schema: ClassVar[str]
    # Status a rejected (schema-invalid, over-limit) request gets.
    rejection_status: ClassVar[int] = 400
    unauthenticated_status: ClassVar[int] = 401
    not_found_status: ClassVar[int] = 404
    # Checks that apply to this family, in run order: names of shared checks (`conformance.checks`)
    # or the family's own check functions (named by their function name, described by their docstring).
    checks: ClassVar[tuple[str | CheckFunction, ...]] = ()
    # More family checks, run after `checks` (same form as a function entry there).
    extra_checks: ClassVar[tuple[CheckFunction, ...]] = ()
    # Schemathesis checks that do not fit this family's contract (see `schemathesis_phase`).
    schemathesis_excluded_checks: ClassVar[tuple[str, ...]] = ()

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
        headers: Mapping[str, str] | None = None,
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
            headers=dict(headers or {}),
        )

    # --- authentication -------------------------------------------------------------------------

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """Headers that authenticate a request with `key`."""

    def alternative_auth_headers(self, key: str) -> list[dict[str, str]]:
        """Other documented ways of sending the same key; each must authenticate as `auth_headers` does."""
        return []

    @abstractmethod
    def probe(self) -> Request:
        """A harmless request used to see whether the target answers at all."""

    # --- errors ---------------------------------------------------------------------------------

    def error_schema_for(self, exchange: Exchange) -> tuple[str, Any]:
        """The name and schema an error answer's body must match: what the spec declares for its
        operation and status, else `error_schema`."""
        schema = self.spec.response_schema(exchange.request.operation_id, exchange.status)
        if schema is None:
            return self.error_schema, {"$ref": f"#/components/schemas/{self.error_schema}"}
        return self.spec.component_of(schema) or "the declared schema", schema

    def error_problems(self, exchange: Exchange) -> list[str]:
        """Why an error answer is not in the family's envelope (empty when it is)."""
        content_type = exchange.headers.get("content-type", "")
        if "json" not in content_type.split(";")[0]:
            return [f"Content-Type {content_type or '(none)'!r}, expected application/json; body {exchange.excerpt()}"]
        if exchange.json is NOT_JSON:
            return [f"a body that is not JSON: {exchange.excerpt()}"]
        _, schema = self.error_schema_for(exchange)
        return self.spec.schema_problems(schema, exchange.json)

    def rejection(self, request: Request, location: tuple[str | int, ...], *kinds: str, why: str = "") -> Probe:
        """A probe for a request the family must reject as invalid, at `location` (e.g. ("query",
        "limit")) for one of `kinds` of reason; families that report where and why check it."""
        return Probe(request, self.rejection_status, why)

    # --- fixtures and probes for the shared checks ---------------------------------------------

    def create_fixture(self, ctx: CheckContext, *, identity: str | None = PRIMARY) -> Fixture:
        """Make the resources the auth, tenant, error and limit checks probe; failures end the check."""
        raise NotImplementedError(f"{self.name} has no fixture for the shared checks")

    def discard_fixture(self, ctx: CheckContext, fixture: Fixture) -> None:  # noqa: B027  # optional hook
        """Delete what `create_fixture` made."""

    def snapshot(self, ctx: CheckContext, fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        """What the fixture looks like to its owner, by label, each with the exchange that showed it."""
        return {}

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        """One request per operation (on the fixture's real ids), to be sent without credentials."""
        return []

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        """Requests another tenant makes on the fixture; each must be refused as if it did not exist."""
        return []

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Requests that must fail, each with the status (and body rules) it must fail with."""
        return []

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        """Requests at and just past each documented size limit."""
        return []

    @property
    def listings(self) -> list[Listing]:
        """The cursor-paginated lists the pagination check walks."""
        return []

    @property
    def streaming(self) -> Streaming | None:
        """How a turn streams, for the sse_stream check; None when the family does not stream."""
        return None

    # --- schemathesis ---------------------------------------------------------------------------

    def tolerated(self, operation_id: str | None, status: int, query: dict[str, Any], body: Any) -> str | None:
        """Why an answer the spec does not declare (status, or body for the status) is still faithful, or None.

        Where the contract records a choice for something the vendor does not document, another choice
        is as faithful: schemathesis' status and response-schema checks then do not hold it against the
        server. The family's own checks accept the same alternatives.
        """
        return None

    def why_refusable(self, operation_id: str | None, query: dict[str, Any], body: Any) -> str | None:
        """Why a request the schema allows may still be rightly refused with a 4xx, or None.

        Typically a value that must name something that already exists (a cursor, a reference), or a
        rule the schema cannot express; schemathesis' positive_data_acceptance then does not hold such
        a refusal against the server.
        """
        return None
