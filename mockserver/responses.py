"""JSON responses, serialised with orjson (and the standard library for what orjson cannot encode)."""

from __future__ import annotations

import json
import typing as t

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """A JSON response rendered with orjson (compact, UTF-8)."""

    media_type = "application/json"

    def render(self, content: t.Any) -> bytes:
        return dumps(content)


def dumps(content: t.Any) -> bytes:
    """Compact UTF-8 JSON; integers beyond 64 bits (which clients may send and read back) included."""
    try:
        return orjson.dumps(content)
    except TypeError:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(content: t.Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Shorthand used by handlers and error rendering."""
    return JSONResponse(content, status_code=status, headers=headers)


class DeferredJSONResponse(Response):
    """A JSON response decided when it is sent, for a blocking call whose answer is produced by work that
    goes on after the handler returns (a reply a background run completes): ``produce`` is awaited first,
    outside the handler's store transaction, and gives the status and the body."""

    def __init__(self, produce: t.Callable[[], t.Awaitable[tuple[int, t.Any]]],
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=200, headers=headers, media_type="application/json")
        self._produce = produce
        self._extra_headers = headers

    async def __call__(self, scope: t.Any, receive: t.Any, send: t.Any) -> None:
        status, content = await self._produce()
        await json_response(content, status, self._extra_headers)(scope, receive, send)
