"""What a check works with: the client, the family profile, the run settings, and its own failures.

A check records a violation with `fail` and carries on, or stops with `require_*` (which records the
violation and raises `CheckAborted`) when nothing after it could be tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from conformance.findings import Failure
from conformance.http import NOT_JSON, PRIMARY, Exchange, RecordingClient, Request, TransportFailure
from conformance.profiles.base import MISSING, Profile


class CheckAborted(Exception):
    """The check cannot go on; its failures are already recorded."""


class CheckSkipped(Exception):
    """The check does not apply to this run; the message says why."""


@dataclass(frozen=True)
class RunSettings:
    base_url: str
    max_examples: int
    seed: int
    timeout: float = 15.0


@dataclass(frozen=True)
class ConversationFixture:
    """A conversation a check made to work on: its body, id and the ids of its items (oldest first)."""

    body: dict[str, Any]
    id: str
    item_ids: list[str]


class CheckContext:
    """Per-check state: sends requests through the shared client and collects this check's failures."""

    def __init__(self, check: str, client: RecordingClient, profile: Profile, settings: RunSettings) -> None:
        self.check = check
        self.client = client
        self.profile = profile
        self.settings = settings
        self.failures: list[Failure] = []

    # --- sending --------------------------------------------------------------------------------

    def send(self, request: Request, *, identity: str | None = PRIMARY) -> Exchange:
        """Send a request; a request that gets no response at all is a failure that ends the check."""
        try:
            return self.client.send(request, identity=identity)
        except TransportFailure as exc:
            self.failures.append(
                Failure(self.check, request.label, "an HTTP response", f"no response: {exc.reason}", exc.curl)
            )
            raise CheckAborted from None

    def has_identity(self, name: str) -> bool:
        return self.client.has_identity(name)

    def success_status(self, request: Request) -> int:
        return self.profile.spec.operations[request.operation_id].success_status

    # --- recording failures ---------------------------------------------------------------------

    def fail(self, exchange: Exchange | None, expected: str, actual: str, *, operation: str | None = None) -> None:
        self.failures.append(
            Failure(
                check=self.check,
                operation=operation or (exchange.request.label if exchange else "(none)"),
                expected=expected,
                actual=actual,
                curl=exchange.curl if exchange else "",
            )
        )

    def abort(self) -> NoReturn:
        raise CheckAborted

    def skip(self, reason: str) -> NoReturn:
        raise CheckSkipped(reason)

    def check_status(self, exchange: Exchange, expected: int | None = None, *, why: str = "") -> bool:
        """Record a failure unless the status is `expected` (default: the operation's success status)."""
        wanted = expected if expected is not None else self.success_status(exchange.request)
        if exchange.status == wanted:
            return True
        self.fail(exchange, f"{wanted}{' ' + why if why else ''}", exchange.excerpt())
        return False

    def require_status(self, exchange: Exchange, expected: int | None = None, *, why: str = "") -> None:
        if not self.check_status(exchange, expected, why=why):
            self.abort()

    def require_object(self, exchange: Exchange, *, why: str = "a JSON object body") -> dict[str, Any]:
        """The body as a JSON object; anything else is a failure that ends the check."""
        body = exchange.json
        if body is NOT_JSON or not isinstance(body, dict):
            self.fail(exchange, why, exchange.excerpt())
            self.abort()
        return body

    # --- fixtures -------------------------------------------------------------------------------

    def new_conversation(self, n_items: int = 1, *, metadata_variant: int | None = 1) -> ConversationFixture:
        """Create a conversation with ``n_items`` sample items and read its item ids back; any step that
        does not work is a failure that ends the check."""
        p = self.profile
        metadata = p.sample_metadata(metadata_variant) if metadata_variant is not None else MISSING
        created = self.send(p.create_conversation(metadata=metadata, items=[p.sample_item(i) for i in range(n_items)]))
        self.require_status(created)
        body = self.require_object(created)
        conversation_id = p.conversation_id(body)
        if conversation_id is None:
            self.fail(created, "a conversation with an id", created.excerpt())
            self.abort()
        item_ids: list[str] = []
        if n_items:
            listing = self.send(p.list_items(conversation_id, order="asc", limit=p.pagination.max_limit))
            page = p.page(listing.json)
            if page is None or len(page.ids) < n_items:
                self.fail(listing, f"a page listing the {n_items} items just created", listing.excerpt())
                self.abort()
            item_ids = page.ids
        return ConversationFixture(body, conversation_id, item_ids)
