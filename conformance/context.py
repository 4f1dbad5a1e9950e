"""What a check works with: the client, the family profile, the run settings, and its own failures.

A check records a violation with `fail` and carries on, or stops with `require_*` (which records the
violation and raises `CheckAborted`) when nothing after it could be tested. An answer that is the
contract's "not implemented" one (a declared 501) is no violation: `check_status`, `require_status` and
`expect` record it as *unsupported* (once per operation and check) instead, and treat it as an answer
other than the expected one, so a check stops where it needed the operation.

`CheckContext` is generic in the profile it carries: a shared check takes a `CheckContext[Profile]`, a
check written for a shape or a family names its profile class (`CheckContext[ConversationProfile]`),
so what it calls on `ctx.profile` is typed. This module knows no profile class: it sits below
`conformance.profiles` (which imports it), above `conformance.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, Protocol, TypeVar

from conformance.findings import Failure, Severity
from conformance.http import (
    DEFAULT_STREAM_TIMEOUT,
    NOT_JSON,
    PRIMARY,
    Exchange,
    LiveStream,
    RecordingClient,
    Request,
    TransportFailure,
)
from conformance.spec import Spec
from conformance.vocabulary import Grounds, Probe


class HasSpec(Protocol):
    """What the context needs of a profile: the spec (for an operation's success status), and whether an
    answer is the contract's "not implemented" one (see `Profile.not_implemented_problems`)."""

    @property
    def spec(self) -> Spec: ...

    def not_implemented_problems(self, exchange: Exchange) -> list[str] | None: ...


P = TypeVar("P", bound=HasSpec)


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


class CheckContext(Generic[P]):
    """Per-check state: sends requests through the shared client and collects this check's failures."""

    def __init__(self, check: str, client: RecordingClient, profile: P, settings: RunSettings) -> None:
        self.check = check
        self.client = client
        self.profile: P = profile
        self.settings = settings
        self.failures: list[Failure] = []
        # Operations this check found not implemented (reported once each).
        self._not_implemented: set[str] = set()

    # --- sending --------------------------------------------------------------------------------

    def send(
        self,
        request: Request,
        *,
        identity: str | None = PRIMARY,
        auth_headers: Callable[[str], dict[str, str]] | None = None,
    ) -> Exchange:
        """Send a request; a request that gets no response at all is a failure that ends the check."""
        try:
            return self.client.send(request, identity=identity, auth_headers=auth_headers)
        except TransportFailure as exc:
            self.failures.append(
                Failure(self.check, request.label, "an HTTP response", f"no response: {exc.reason}", exc.curl)
            )
            raise CheckAborted from None

    @contextmanager
    def stream(
        self, request: Request, *, identity: str | None = PRIMARY, timeout: float = DEFAULT_STREAM_TIMEOUT
    ) -> Iterator[LiveStream]:
        """Send a request answered by an event stream and read it as it comes (`LiveStream.frames`).

        No response, a broken connection or a stream that outlasts `timeout` is a failure that ends the
        check."""
        try:
            with self.client.stream(request, identity=identity, timeout=timeout) as live:
                yield live
        except TransportFailure as exc:
            self.failures.append(
                Failure(self.check, request.label, "an event stream that ends", f"{exc.reason}", exc.curl)
            )
            raise CheckAborted from None

    def has_identity(self, name: str) -> bool:
        return self.client.has_identity(name)

    def success_status(self, request: Request) -> int:
        return self.profile.spec.operations[request.operation_id].success_status

    # --- recording failures ---------------------------------------------------------------------

    def fail(
        self,
        exchange: Exchange | None,
        expected: str,
        actual: str,
        *,
        operation: str | None = None,
        severity: Severity = Severity.FAILURE,
    ) -> None:
        self.failures.append(
            Failure(
                check=self.check,
                operation=operation or (exchange.request.label if exchange else "(none)"),
                expected=expected,
                actual=actual,
                curl=exchange.curl if exchange else "",
                severity=severity,
            )
        )

    def warn(self, exchange: Exchange | None, expected: str, actual: str, *, operation: str | None = None) -> None:
        """Record a difference from the vendor that a correct client cannot tell (reported; fails only --strict)."""
        self.fail(exchange, expected, actual, operation=operation, severity=Severity.WARNING)

    def unsupported(
        self, exchange: Exchange | None, expected: str, actual: str, *, operation: str | None = None
    ) -> None:
        """Record an operation or feature the server declares it does not implement (fails only --strict)."""
        self.fail(exchange, expected, actual, operation=operation, severity=Severity.UNSUPPORTED)

    def unimplemented(self, exchange: Exchange) -> bool:
        """Whether the answer is the contract's "not implemented" one (the server says it does not offer the
        operation); recorded as unsupported, once per operation. A 501 in another body is not: the caller
        records it as the failure it is (and error_envelope names its body)."""
        if self.profile.not_implemented_problems(exchange) != []:
            return False
        label = exchange.request.label
        if label not in self._not_implemented:
            self._not_implemented.add(label)
            self.unsupported(exchange, f"{label} implemented (the contract documents it)",
                             f"not implemented: {exchange.excerpt()}")
        return True

    def abort(self) -> NoReturn:
        raise CheckAborted

    def skip(self, reason: str) -> NoReturn:
        raise CheckSkipped(reason)

    def expect(self, exchange: Exchange, probe: Probe, *, why: str = "") -> bool:
        """Record findings unless the answer is what `probe` says, judged by its grounds (`Grounds`): a
        different answer is a failure, or a warning where a correct client cannot tell (input the vendor
        would refuse accepted, or refused with another 4xx). A probe accepted is undone."""
        expected = f"{probe.expected}{' ' + why if why else ''}"
        if exchange.status not in probe.statuses and self.unimplemented(exchange):
            return False
        if exchange.status not in probe.statuses:
            accepted = 200 <= exchange.status < 300
            severity = verdict_for(probe, exchange.status)
            actual = exchange.excerpt()
            if severity is Severity.WARNING:
                actual = ("accepted (input the vendor would refuse; a correct client never sends it): " if accepted
                          else "refused with another status than the contract's: ") + actual
            self.fail(exchange, expected, actual, severity=severity)
            undo = probe.undo(exchange) if accepted and probe.undo else None
            if undo is not None:
                self.send(undo, identity=exchange.identity)
            return False
        problems = probe.problems(exchange) if probe.problems else []
        lenient = probe.grounds is Grounds.VENDOR_REFUSES
        for problem in problems:
            self.fail(exchange, expected, problem, severity=Severity.WARNING if lenient else Severity.FAILURE)
        return not problems

    def check_status(self, exchange: Exchange, expected: int | None = None, *, why: str = "") -> bool:
        """Record a failure unless the status is `expected` (default: the operation's success status), or
        the answer is the contract's "not implemented" (unsupported); True when it is `expected`."""
        wanted = expected if expected is not None else self.success_status(exchange.request)
        if exchange.status == wanted:
            return True
        if self.unimplemented(exchange):
            return False
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

    def check_unchanged(
        self, before: dict[str, tuple[Exchange, Any]], after: dict[str, tuple[Exchange, Any]], *, by: str
    ) -> None:
        """Every snapshot entry (see `Profile.snapshot`) must be the same after as before."""
        for label, (_, value) in before.items():
            exchange, now = after.get(label, (None, "(not read)"))
            if now != value:
                shown = repr(value) if len(repr(value)) <= 400 else repr(value)[:400] + "..."
                now_shown = repr(now) if len(repr(now)) <= 400 else repr(now)[:400] + "..."
                self.fail(exchange, f"{label} unchanged by {by}: {shown}", now_shown)


def verdict_for(probe: Probe, status: int) -> Severity:
    """How an answer `status` other than the probe's is judged, by what the probe rests on."""
    if status >= 500 or status < 200 or 300 <= status < 400 or probe.grounds is Grounds.ANSWER:
        return Severity.FAILURE
    if probe.grounds is Grounds.DOCUMENTED and status < 300:
        return Severity.FAILURE  # a documented rule not enforced
    return Severity.WARNING


# A check: a function of a context (a shared check's is `CheckContext[Profile]`, a shape's or a
# family's names its own profile class).
CheckFunction = Callable[[CheckContext[Any]], None]
