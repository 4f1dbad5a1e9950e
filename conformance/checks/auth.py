"""Auth: a request without an API key is refused with 401 (or the family's other such status) in its envelope.

Every operation is tried without credentials (on a real fixture, so a 404 cannot hide a missing auth
check), and the fixture must come out unchanged. A target that answers them at all is a finding: the
vendor requires a key. Where the family names credentials no server of it accepts (`malformed_credentials`),
each is refused the same way (accepted: a failure; refused with another 4xx: a warning). Where the family
documents other ways of sending the same key (a header besides `Authorization`), each must reach the
caller's own resources.
"""

from __future__ import annotations

from dataclasses import replace

from conformance.context import CheckContext
from conformance.profiles.base import Profile
from conformance.vocabulary import Grounds, Probe


def auth(ctx: CheckContext[Profile]) -> None:
    """Every operation without an API key (or with a malformed one) is refused in the error envelope
    (401, or the family's status), and changes nothing."""
    p = ctx.profile
    fixture = p.create_fixture(ctx)
    before = p.snapshot(ctx, fixture)

    for request in p.unauthenticated_probes(fixture):
        exchange = ctx.send(request, identity=None)
        if exchange.status not in p.unauthenticated_statuses and ctx.unimplemented(exchange):
            continue
        if exchange.status not in p.unauthenticated_statuses:
            accepted = 200 <= exchange.status < 300
            ctx.fail(
                exchange,
                f"{' or '.join(map(str, p.unauthenticated_statuses))}: the request has no API key",
                ("accepted without any API key: " if accepted else "") + exchange.excerpt(),
            )
            continue
        for problem in p.error_problems(exchange):
            ctx.fail(exchange, f"a {exchange.status} in the error envelope", problem)

    for headers in p.malformed_credentials():
        sent = ", ".join(f"{name}: {value}" for name, value in headers.items())
        for request in p.unauthenticated_probes(fixture):
            # The vendor's rule for a request without a valid credential: accepted fails, another 4xx warns.
            probe = Probe(request, p.unauthenticated_status, f"(a malformed credential: {sent})",
                          p.error_problems, grounds=Grounds.DOCUMENTED)
            ctx.expect(ctx.send(replace(request, headers={**request.headers, **headers}), identity=None), probe)

    ctx.check_unchanged(before, p.snapshot(ctx, fixture), by="unauthenticated requests")

    for index, shape in enumerate(p.alternative_auth_headers("")):
        names = ", ".join(shape)

        def sent_instead(key: str, index: int = index) -> dict[str, str]:
            return p.alternative_auth_headers(key)[index]

        for label, (shown, _) in before.items():
            exchange = ctx.send(shown.request, auth_headers=sent_instead)
            ctx.check_status(exchange, shown.status, why=f"(the key sent in {names} instead; {label} is the caller's)")
    p.discard_fixture(ctx, fixture)
