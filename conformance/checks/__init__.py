"""The shared contract checks: plain functions taking a `CheckContext[Profile]`, registered here by name.

A check records violations on its context (`ctx.fail`) and may stop early (`ctx.abort`) or declare
itself not applicable (`ctx.skip`). Family specifics come from `ctx.profile` and its hooks, in the
neutral vocabulary of `conformance.vocabulary` and `conformance.paging`; no check here imports a
family's or a shape's profile. Checks written for one shape of API live with the shape
(`conformance.shapes.conversation_items.lifecycle`), checks only one family's API can run live with
that family (`conformance/profiles/<family>/`); profiles list those as functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.auth import auth
from conformance.checks.error_envelope import error_envelope
from conformance.checks.limits import limits
from conformance.checks.pagination import pagination
from conformance.checks.sse_stream import sse_stream
from conformance.checks.tenant_isolation import tenant_isolation
from conformance.context import CheckFunction


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunction

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0]


REGISTRY: dict[str, Check] = {
    check.__name__: Check(check.__name__, check)
    for check in (pagination, limits, auth, tenant_isolation, error_envelope, sse_stream)
}
