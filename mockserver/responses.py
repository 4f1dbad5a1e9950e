"""JSON responses, serialised with orjson."""

from __future__ import annotations

import typing as t

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """A JSON response rendered with orjson (compact, UTF-8)."""

    media_type = "application/json"

    def render(self, content: t.Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: t.Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Shorthand used by handlers and error rendering."""
    return JSONResponse(content, status_code=status, headers=headers)
