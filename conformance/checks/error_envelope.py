"""Error envelope: every 4xx/5xx body is JSON in the schema the contract gives it, with the right status.

The schema is the one the spec declares for the operation and status (OpenAI: `{"error": {message,
type, param, code}}` throughout; FastAPI families: `{"detail": [{loc, msg, type}]}` on 422 and
`{"detail": "<text>"}` otherwise), or the family's default where the spec declares none (unknown
routes). The check provokes each kind of error the family lists (unknown ids, invalid parameters,
malformed and invalid bodies) expecting its status and, where the family reports them, where and why
the request was refused; then it validates every error response any earlier check received (also when
no fixture could be made: a server that implements nothing is still held to its error bodies).
"""

from __future__ import annotations

from conformance.context import CheckAborted, CheckContext
from conformance.profiles.base import Profile

MAX_REPORTED = 10


def error_envelope(ctx: CheckContext[Profile]) -> None:
    """Provoked errors have the right status; every error body seen in the run is in the envelope."""
    p = ctx.profile
    seen = len(ctx.client.history)
    try:
        fixture = p.create_fixture(ctx)
        seen = len(ctx.client.history)
        for probe in p.error_probes(fixture):
            ctx.expect(ctx.send(probe.request), probe)
        p.discard_fixture(ctx, fixture)
    except CheckAborted:
        pass  # no fixture (an operation not implemented, or broken): the bodies seen are still checked

    reported = 0
    earlier, ours = ctx.client.history[:seen], ctx.client.history[seen:]
    for exchange in ours + earlier:
        if exchange.status < 400:
            continue
        problems = p.error_problems(exchange)
        if problems:
            name, _ = p.error_schema_for(exchange)
            ctx.fail(exchange, f"a {exchange.status} body in the error envelope ({name})", "; ".join(problems))
            reported += 1
            if reported >= MAX_REPORTED:
                break
