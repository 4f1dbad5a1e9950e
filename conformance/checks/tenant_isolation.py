"""Tenant isolation: nothing made with one API key is visible to, or changeable by, another.

With a second key, every probe the family lists on the first key's fixture is sent as the second key
and must get its answer (404 as if it did not exist, or a list without it), and the fixture must come
out unchanged for its owner; then the same the other way round. Skipped when no second key was given.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.profiles.base import Profile
from conformance.vocabulary import PRIMARY, SECONDARY


def tenant_isolation(ctx: CheckContext[Profile]) -> None:
    """Key 2 gets 404 for everything key 1 made, and cannot change it (and the other way round)."""
    if not ctx.has_identity(SECONDARY):
        ctx.skip("no second API key given (--api-key-2); tenant isolation not tested")
    p = ctx.profile
    for owner, other in ((PRIMARY, SECONDARY), (SECONDARY, PRIMARY)):
        fixture = p.create_fixture(ctx, identity=owner)
        before = p.snapshot(ctx, fixture)
        for probe in p.foreign_probes(fixture):
            exchange = ctx.send(probe.request, identity=other)
            ctx.expect(exchange, probe, why="(the resource belongs to another API key)")
        ctx.check_unchanged(before, p.snapshot(ctx, fixture), by="another API key's requests")
        p.discard_fixture(ctx, fixture)
