"""Tenant isolation: nothing made with one API key is visible to, or changeable by, another.

With a second key, every probe the family lists on the first key's fixture (reads, lists, writes) is
sent as the second key, once for every way the contract declares of sending a key (`Authorization`,
`X-API-Key`, a cookie...: a server may isolate one and leak through another; a way the target does not
take at all is skipped), and the fixture must come out unchanged for its owner; then the same the
other way round. Skipped when no second key was given.

Only a leak fails: a 2xx to a request on the other key's resource, a list that shows it, or a change
to it. A refusal with another 4xx than the contract's (404) leaks nothing and is a warning; a refusal
of a documented feature the owner gets too (an `item_reference` the server does not support) is
unsupported. A 5xx is a failure.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.context import CheckContext
from conformance.profiles.base import Profile
from conformance.vocabulary import PRIMARY, SECONDARY, Exchange, Fixture, Probe

WHY = "(the resource belongs to another API key)"


def tenant_isolation(ctx: CheckContext[Profile]) -> None:
    """Key 2, however it sends its key, sees and changes nothing key 1 made (and the other way round)."""
    if not ctx.has_identity(SECONDARY):
        ctx.skip("no second API key given (--api-key-2); tenant isolation not tested")
    p = ctx.profile
    unsupported: set[str] = set()
    for owner, other in ((PRIMARY, SECONDARY), (SECONDARY, PRIMARY)):
        fixture = p.create_fixture(ctx, identity=owner)
        for scheme in p.credential_schemes(""):
            sent_as = _sender(p, scheme)
            if not _scheme_taken(ctx, sent_as, other):
                continue
            before = p.snapshot(ctx, fixture)
            for probe in p.foreign_probes(fixture):
                exchange = ctx.send(probe.request, identity=other, auth_headers=sent_as)
                _judge(ctx, probe, exchange, fixture, scheme, unsupported)
            after = p.snapshot(ctx, fixture)
            if {label: value for label, (_, value) in after.items()} != {
                    label: value for label, (_, value) in before.items()}:
                ctx.check_unchanged(before, after, by=f"another API key's requests (key sent in {scheme})")
                p.discard_fixture(ctx, fixture)
                fixture = p.create_fixture(ctx, identity=owner)
        p.discard_fixture(ctx, fixture)


def _sender(p: Profile, scheme: str) -> Callable[[str], dict[str, str]]:
    return lambda key: p.credential_schemes(key)[scheme]


def _scheme_taken(ctx: CheckContext[Profile], sent_as: Callable[[str], dict[str, str]], identity: str) -> bool:
    """Whether the target authenticates a key sent this way (else it cannot leak through it)."""
    exchange = ctx.send(ctx.profile.probe(), identity=identity, auth_headers=sent_as)
    return exchange.status not in ctx.profile.unauthenticated_statuses


def _judge(ctx: CheckContext[Profile], probe: Probe, exchange: Exchange, fixture: Fixture, scheme: str,
           unsupported: set[str]) -> None:
    """A leak (2xx on the other key's resource, or the probe's rules broken) fails; a refusal does not."""
    why = f"{WHY}, key sent in {scheme}"
    status = exchange.status
    if status in probe.statuses or status >= 500 or not 400 <= status < 500:
        ctx.expect(exchange, probe, why=why)
        return
    if probe.feature:
        if probe.feature in unsupported:
            return
        own = ctx.send(probe.request, identity=fixture.identity)
        if 400 <= own.status < 500:
            unsupported.add(probe.feature)
            ctx.unsupported(own, f"{probe.feature} supported (the contract declares them)",
                            f"refused for the caller's own resources too: {own.excerpt()}")
            return
        undo = probe.undo(own) if probe.undo and 200 <= own.status < 300 else None
        if undo is not None:
            ctx.send(undo, identity=fixture.identity)
    ctx.warn(exchange, f"{probe.expected} {why}", f"refused with another status (nothing leaked): {exchange.excerpt()}")
