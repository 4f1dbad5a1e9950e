"""Error envelope: every 4xx/5xx body is JSON in the family's error envelope, with the right types.

The family's envelope schema comes from its spec (OpenAI: `{"error": {"message": str, "type": str,
"param": str|null, "code": str|null}}`, all four keys). The check provokes each kind of error the
family lists (unknown ids, invalid parameters, malformed and invalid bodies) expecting its status,
and then validates every error response any earlier check received.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.http import NOT_JSON, Exchange


def envelope_problems(ctx: CheckContext, exchange: Exchange) -> list[str]:
    """Why an error response is not in the family's envelope (empty when it is)."""
    content_type = exchange.headers.get("content-type", "")
    if "json" not in content_type.split(";")[0]:
        return [f"Content-Type {content_type or '(none)'!r}, expected application/json; body {exchange.excerpt()}"]
    if exchange.json is NOT_JSON:
        return [f"a body that is not JSON: {exchange.excerpt()}"]
    return ctx.profile.spec.problems(ctx.profile.error_schema, exchange.json)


def error_envelope(ctx: CheckContext) -> None:
    """Provoked errors have the right status; every error body seen in the run is in the envelope."""
    p = ctx.profile
    fixture = ctx.new_conversation(1, metadata_variant=None)
    cid, item = fixture.id, fixture.item_ids[0]

    seen = len(ctx.client.history)
    for request, status in p.error_probes(cid, item):
        ctx.check_status(ctx.send(request), status)
    ctx.send(p.delete_conversation(cid))

    reported = 0
    earlier, ours = ctx.client.history[:seen], ctx.client.history[seen:]
    for exchange in ours + earlier:
        if exchange.status < 400:
            continue
        problems = envelope_problems(ctx, exchange)
        if problems:
            ctx.fail(
                exchange, f"a {exchange.status} body in the error envelope ({p.error_schema})", "; ".join(problems)
            )
            reported += 1
            if reported >= 10:
                break
