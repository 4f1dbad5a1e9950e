"""Calling an ASGI app in-process, the way a server would, without a socket.

The benchmark seeds large conversations and fills memory through the mock's real request path
(routing, authentication, validation, handlers) but without the cost of HTTP round trips.
"""

from __future__ import annotations

import typing as t

import orjson

API_KEY = "bench"
"""The tenant every benchmark request uses."""


async def asgi_call(app: t.Callable, method: str, path: str, body: t.Any = None, query: bytes = b"",
                    api_key: str = API_KEY) -> tuple[int, bytes]:
    """Send one request to ``app`` and return its status and body."""
    raw = orjson.dumps(body) if body is not None else b""
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {api_key}".encode())]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "", "headers": headers,
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 50000)}
    messages = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        return {"type": "http.disconnect"}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def seed_conversation(app: t.Callable, n_items: int, base: str = "/openai/v1", text: str = "hello",
                            batch: int = 20) -> str:
    """Create a conversation holding ``n_items`` short user messages through the API; returns its id."""
    status, body = await asgi_call(app, "POST", f"{base}/conversations", {})
    if status != 200:
        raise RuntimeError(f"creating a conversation failed: {status} {body[:200]!r}")
    conversation_id = orjson.loads(body)["id"]
    items = [{"role": "user", "content": text}] * batch
    for start in range(0, n_items, batch):
        count = min(batch, n_items - start)
        status, body = await asgi_call(app, "POST", f"{base}/conversations/{conversation_id}/items",
                                       {"items": items[:count]})
        if status != 200:
            raise RuntimeError(f"adding items failed: {status} {body[:200]!r}")
    return conversation_id
