"""The contract a family profile fulfils so the shared checks can drive its API.

A profile names its spec and says how to authenticate; everything else the shared checks need comes
through hooks that speak the neutral vocabulary of `conformance.vocabulary`, whatever the family's shape:
- a `Fixture`: resources a check makes to work on (a conversation and its items, a thread with a turn);
- `Probe`s: requests with the answer they must get (status, and the dialect's rules on the body such
  as a 422's `loc`); the error, auth, tenant and limit checks are lists of probes on a fixture;
- `rejection`: the probe for an invalid request, given where and why (`Reason`) it is invalid, which
  the family's error dialect translates (`conformance.dialects`);
- a snapshot: what must come out unchanged from requests that must change nothing;
- `Listing`s: the paginated lists the pagination check walks, each declaring its kind of paging
  (`conformance.paging`);
- `streaming`: how a turn is streamed, for families that stream (see `conformance.streaming`);
- `options`: settings of the family's own that a run may give (`convo-conformance run F --project-id 7`),
  read with `option(name)` on the profile `configured` for the run.

Error bodies are checked against the schema the spec declares for the operation and status, falling
back to `error_schema` (unknown routes, undeclared statuses). Checks written for one shape of API live
with that shape (`conformance.shapes`, e.g. the conversation-with-items shape and its `lifecycle`), a
family's own checks with the family (`conformance.profiles.<family>`); `checks` names shared checks or
holds such functions.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from conformance.context import CheckContext, CheckFunction
from conformance.spec import Spec, spec_path
from conformance.vocabulary import (
    NO_BODY,
    NOT_JSON,
    PRIMARY,
    Exchange,
    Fixture,
    Grounds,
    LimitCase,
    Probe,
    Reason,
    Request,
    Undo,
)

if TYPE_CHECKING:
    from conformance.paging import Listing
    from conformance.streaming import Streaming

__all__ = ["CheckFunction", "Profile", "ProfileOption"]

# The status of a server saying it does not implement an operation (RFC 9110, section 15.6.2).
NOT_IMPLEMENTED = 501


@dataclass(frozen=True)
class ProfileOption:
    """A setting of the family's own that a run may give on the command line (`--<name with dashes>`)."""

    name: str
    help: str
    default: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


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
    # Other statuses the vendor sends for a request without credentials (e.g. FastAPI before 0.122
    # answered a missing API-key header with 403): as faithful as `unauthenticated_status`.
    also_unauthenticated: ClassVar[tuple[int, ...]] = ()
    not_found_status: ClassVar[int] = 404
    # Checks that apply to this family, in run order: names of shared checks (`conformance.checks`)
    # or the family's own check functions (named by their function name, described by their docstring).
    checks: ClassVar[tuple[str | CheckFunction, ...]] = ()
    # More family checks, run after `checks` (same form as a function entry there).
    extra_checks: ClassVar[tuple[CheckFunction, ...]] = ()
    # Schemathesis checks that do not fit this family's contract (see `schemathesis_phase`).
    schemathesis_excluded_checks: ClassVar[tuple[str, ...]] = ()
    # Settings of the family's own a run may give (see `configured`).
    options: ClassVar[tuple[ProfileOption, ...]] = ()
    _option_values: Mapping[str, str] = MappingProxyType({})

    @cached_property
    def spec(self) -> Spec:
        return Spec(spec_path(self.spec_file))

    # --- the family's own settings ----------------------------------------------------------------

    def configured(self, values: Mapping[str, str]) -> Profile:
        """This profile with the run's values of its `options` (the others keep their defaults);
        ValueError names a value for an option the family does not have."""
        known = {option.name for option in self.options}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{self.name} has no option {', '.join(unknown)}")
        configured = copy.copy(self)
        # What the profile built from its settings (cached properties other than the spec) is built anew.
        for klass in type(self).__mro__:
            for attribute, value in vars(klass).items():
                if isinstance(value, cached_property) and attribute != "spec":
                    configured.__dict__.pop(attribute, None)
        configured._option_values = dict(values)
        return configured

    def option(self, name: str) -> str:
        """The run's value of one of the family's `options` (its default unless the run gave one)."""
        for option in self.options:
            if option.name == name:
                return self._option_values.get(name, option.default)
        raise KeyError(name)

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

    def malformed_credentials(self) -> list[dict[str, str]]:
        """Headers carrying a credential no server of the family can accept (not shaped like any of its
        keys): the auth check sends every unauthenticated probe with each too, expecting the same refusal."""
        return []

    def credential_schemes(self, key: str) -> dict[str, dict[str, str]]:
        """Every way the contract declares of sending a key, by name (`auth_headers` first): tenant_isolation
        sends the second key's requests each way, skipping a way the target does not take at all."""
        schemes = [self.auth_headers(key), *self.alternative_auth_headers(key)]
        return {", ".join(headers): headers for headers in schemes}

    @property
    def unauthenticated_statuses(self) -> tuple[int, ...]:
        """Every status that faithfully refuses a request without credentials."""
        return (self.unauthenticated_status, *self.also_unauthenticated)

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

    def not_implemented_problems(self, exchange: Exchange) -> list[str] | None:
        """None unless the answer says the server does not implement the operation (501 Not Implemented);
        then why it is not the contract's answer for that (empty when it is: the body in the schema the
        spec declares for the operation's 501, else in the family's envelope). The checks report the
        contract's answer as *unsupported*, any other 501 as the failure it is."""
        if exchange.status != NOT_IMPLEMENTED:
            return None
        return self.error_problems(exchange)

    def rejection(self, request: Request, location: tuple[str | int, ...], *reasons: Reason, why: str = "",
                  grounds: Grounds = Grounds.VENDOR_REFUSES, undo: Undo | None = None) -> Probe:
        """A probe for a request the family must reject as invalid, at `location` (e.g. ("query",
        "limit")) for one of `reasons` (any reason when none is given); dialects that report where and
        why check it. By default the input is one the vendor would refuse (`Grounds.VENDOR_REFUSES`);
        pass `Grounds.DOCUMENTED` for a limit or rule the vendor documents."""
        return Probe(request, self.rejection_status, why, grounds=grounds, undo=undo)

    # --- fixtures and probes for the shared checks ---------------------------------------------

    def create_fixture(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> Fixture:
        """Make the resources the auth, tenant, error and limit checks probe; failures end the check."""
        raise NotImplementedError(f"{self.name} has no fixture for the shared checks")

    def discard_fixture(self, ctx: CheckContext[Any], fixture: Fixture) -> None:  # noqa: B027  # optional hook
        """Delete what `create_fixture` made."""

    def snapshot(self, ctx: CheckContext[Any], fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        """What the fixture looks like to its owner, by label, each with the exchange that showed it."""
        return {}

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        """One request per operation (on the fixture's real ids), to be sent without credentials."""
        return []

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        """Requests another tenant makes on the fixture (reads and lists before writes); each must be refused
        as if it did not exist. Only a 2xx (or a list showing the fixture) is a leak; name a documented
        feature a probe relies on (`Probe.feature`) so a server without it is reported unsupported."""
        return []

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        """Requests that must fail, each with the status (and body rules) it must fail with."""
        return []

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        """Requests at and just past each documented size limit."""
        return []

    @property
    def listings(self) -> list[Listing]:
        """The paginated lists the pagination check walks."""
        return []

    @property
    def streaming(self) -> Streaming | None:
        """How a turn streams, for the sse_stream check; None when the family does not stream."""
        return None

    # --- schemathesis ---------------------------------------------------------------------------

    def schemathesis_parameters(self) -> dict[str, Any]:
        """Parameters schemathesis must send as given instead of generating them (its `parameters`
        config, e.g. `{"path.project_id": "7"}`)."""
        return {}

    def schemathesis_operations(self) -> list[dict[str, Any]]:
        """Per-operation schemathesis settings (its `operations` config), e.g. fewer or only negative
        examples for an operation whose every accepted call is costly."""
        return []

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
