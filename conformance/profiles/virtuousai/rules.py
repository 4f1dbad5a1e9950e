"""FastAPI's error bodies as VirtuousAI answers them, as rules on an answer, and ids nothing has."""

from __future__ import annotations

from collections.abc import Callable

from conformance.http import NOT_JSON, Exchange

# Ids nothing will ever have been given (version-4 UUIDs of zeros and ones).
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
OTHER_UNKNOWN_ID = "11111111-1111-4111-8111-111111111111"


def validation_problems(
    location: tuple[str | int, ...], kinds: tuple[str, ...]
) -> Callable[[Exchange], list[str]]:
    """Rules on a FastAPI 422: `detail` is a list naming `location` (loc starting with it) with one of
    `kinds` as its pydantic v2 type (any type when `kinds` is empty). Extra keys (input, ctx, url) are fine."""
    wanted = list(location)

    def problems(exchange: Exchange) -> list[str]:
        body = exchange.json
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, list):
            return [f"a 422 detail list naming {wanted}: {exchange.excerpt()}"]
        entries = [e for e in detail if isinstance(e, dict) and isinstance(e.get("loc"), list)]
        named = [e for e in entries if e["loc"][: len(wanted)] == wanted]
        if not named:
            seen = [e.get("loc") for e in entries]
            return [f"detail names loc {wanted}; it names {seen}"]
        if kinds and not any(e.get("type") in kinds for e in named):
            return [f"detail for {wanted} has type {' or '.join(kinds)}; got {[e.get('type') for e in named]}"]
        return []

    return problems


def detail_text(exchange: Exchange) -> list[str]:
    """A non-422 FastAPI error: `{"detail": "<text>"}`."""
    body = exchange.json
    if body is NOT_JSON or not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return [f'a body {{"detail": "<text>"}}: {exchange.excerpt()}']
    return []
