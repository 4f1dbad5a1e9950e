"""Limits: requests just past each documented size limit are rejected, requests at it are accepted.

The family lists its cases (OpenAI: 17 metadata pairs, a 65-character key, a 513-character value,
21 items, each on create and on update/add, against 16 / 64 / 512 / 20 which must succeed). A rejected
request aimed at the fixture must leave it unchanged. Testing both sides keeps a server that rejects
everything from passing.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.profiles.base import Profile
from conformance.vocabulary import Probe


def limits(ctx: CheckContext[Profile]) -> None:
    """Over-limit requests are rejected and change nothing; at-limit ones are accepted."""
    p = ctx.profile
    fixture = p.create_fixture(ctx)
    cases = p.limit_cases(fixture)
    if not cases:
        p.discard_fixture(ctx, fixture)
        ctx.skip("the family documents no size limits")

    before = p.snapshot(ctx, fixture)
    for case in (case for case in cases if not case.accepted):
        probe = Probe(case.request, p.rejection_status, f"({case.description} is over the limit)", case.problems,
                      None if case.on_fixture else case.undo)
        ctx.expect(ctx.send(case.request), probe)
    ctx.check_unchanged(before, p.snapshot(ctx, fixture), by="rejected requests")

    for case in (case for case in cases if case.accepted):
        exchange = ctx.send(case.request)
        ctx.check_status(exchange, why=f"({case.description} is within the limit)")
        undo = case.undo(exchange) if case.undo and exchange.status < 300 and not case.on_fixture else None
        if undo is not None:
            ctx.send(undo)
    p.discard_fixture(ctx, fixture)
