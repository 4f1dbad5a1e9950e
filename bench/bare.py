"""The baseline: a bare Starlette app answering the benchmarked OpenAI routes with the same JSON.

It stores conversations and message items shaped exactly like the mock's and serves them from the
same URLs, with no validation, no authentication and no error envelope: what any Starlette server
pays just to route a request and send JSON. Run as ``python -m bench.bare --port 0``; it seeds the same
conversations as ``bench.serve_mock`` and prints one JSON line with its URL and their ids.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import time

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BASE = "/openai/v1"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def _message(text: str, role: str = "user") -> dict:
    kind = "output_text" if role == "assistant" else "input_text"
    part: dict = {"type": kind, "text": text}
    if kind == "output_text":
        part.update(annotations=[], logprobs=[])
    return {"id": _id("msg"), "type": "message", "status": "completed", "role": role, "content": [part]}


class BareStore:
    """Conversations and their items in plain dicts and lists."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict] = {}
        self.items: dict[str, list[dict]] = {}

    def create(self, n_items: int) -> str:
        conversation_id = _id("conv")
        conversation = {"id": conversation_id, "object": "conversation", "created_at": int(time.time()), "metadata": {}}
        self.conversations[conversation_id] = conversation
        self.items[conversation_id] = [_message(f"message {i}") for i in range(n_items)]
        return conversation_id


def create_bare_app(store: BareStore) -> Starlette:
    """Starlette routes for get conversation, add items and list items (newest first, ``limit``)."""

    def json_bytes(content: object, status: int = 200) -> Response:
        return Response(orjson.dumps(content), status_code=status, media_type="application/json")

    async def get_conversation(request: Request) -> Response:
        conversation = store.conversations.get(request.path_params["conversation_id"])
        return json_bytes(conversation) if conversation is not None else json_bytes({"error": None}, 404)

    async def create_items(request: Request) -> Response:
        items = store.items.get(request.path_params["conversation_id"])
        if items is None:
            return json_bytes({"error": None}, 404)
        body = orjson.loads(await request.body())
        added = [_message(item["content"], item["role"]) for item in body["items"]]
        items.extend(added)
        return json_bytes({"object": "list", "data": added, "first_id": added[0]["id"] if added else None,
                           "last_id": added[-1]["id"] if added else None, "has_more": False})

    async def list_items(request: Request) -> Response:
        items = store.items.get(request.path_params["conversation_id"])
        if items is None:
            return json_bytes({"error": None}, 404)
        limit = int(request.query_params.get("limit", 20))
        page = items[-limit:][::-1]
        return json_bytes({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                           "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})

    return Starlette(routes=[
        Route(BASE + "/conversations/{conversation_id}", get_conversation, methods=["GET"]),
        Route(BASE + "/conversations/{conversation_id}/items", create_items, methods=["POST"]),
        Route(BASE + "/conversations/{conversation_id}/items", list_items, methods=["GET"]),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sizes", default="0,100,100000", help="comma-separated item counts to seed")
    args = parser.parse_args(argv)
    store = BareStore()
    ids = {int(size): store.create(int(size)) for size in args.sizes.split(",")}
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "base": BASE, "conversations": ids}), flush=True)
    config = uvicorn.Config(create_bare_app(store), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
