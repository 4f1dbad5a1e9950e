"""Limits: requests just past each documented size limit are rejected, requests at it are accepted.

The family lists its cases (OpenAI: 17 metadata pairs, a 65-character key, a 513-character value,
21 items, each on create and on update/add, against 16 / 64 / 512 / 20 which must succeed). A rejected
request aimed at the fixture must leave it unchanged. Testing both sides keeps a server that rejects
everything from passing.

A limit the vendor documents that is not enforced is a failure; refused with another 4xx than the
contract's, a warning. A limit only the contract chose (`Grounds.VENDOR_REFUSES`) not enforced, or its
at-limit request refused, is a warning.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.findings import Severity
from conformance.profiles.base import Profile
from conformance.vocabulary import Grounds, Probe


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
                      None if case.on_fixture else case.undo, grounds=case.grounds)
        ctx.expect(ctx.send(case.request), probe)
    ctx.check_unchanged(before, p.snapshot(ctx, fixture), by="rejected requests")

    for case in (case for case in cases if case.accepted):
        exchange = ctx.send(case.request)
        wanted = ctx.success_status(exchange.request)
        if exchange.status != wanted and not ctx.unimplemented(exchange):
            lenient = case.grounds is not Grounds.DOCUMENTED and 400 <= exchange.status < 500
            ctx.fail(exchange, f"{wanted} ({case.description} is within the limit)", exchange.excerpt(),
                     severity=Severity.WARNING if lenient else Severity.FAILURE)
        undo = case.undo(exchange) if case.undo and exchange.status < 300 and not case.on_fixture else None
        if undo is not None:
            ctx.send(undo)
    p.discard_fixture(ctx, fixture)
