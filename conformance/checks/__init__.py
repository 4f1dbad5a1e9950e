"""The generic contract checks: plain functions taking a `CheckContext`, registered here by name.

A check records violations on its context (`ctx.fail`) and may stop early (`ctx.abort`) or declare
itself not applicable (`ctx.skip`). Family specifics come from `ctx.profile` and its hooks; checks
only one family's API can run live with that family (`conformance/profiles/<family>/`), and
`lifecycle` here is written for the conversation-with-items shape (`ConversationProfile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks.auth import auth
from conformance.checks.error_envelope import error_envelope
from conformance.checks.lifecycle import lifecycle
from conformance.checks.limits import limits
from conformance.checks.pagination import pagination
from conformance.checks.sse_stream import sse_stream
from conformance.checks.tenant_isolation import tenant_isolation
from conformance.context import CheckContext


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[CheckContext], None]

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0]


REGISTRY: dict[str, Check] = {
    check.__name__: Check(check.__name__, check)
    for check in (lifecycle, pagination, limits, auth, tenant_isolation, error_envelope, sse_stream)
}
