"""Small list servers for the paging kinds no family uses yet: limit/offset and page/size, faithful and broken.

One in-memory list of items (`POST /items {"count": n}` adds n and answers their ids, `DELETE /items`
empties it), read two ways:
- `GET /items?limit=&offset=` as Django REST framework's LimitOffsetPagination answers (PostHog):
  `{count, next, previous, results}` with absolute `next`/`previous` URLs, `offset` left out of
  `previous` when it is 0; limit 1..20 (default 5), anything else 400;
- `GET /pages?page=&size=` as fastapi-pagination's `Page` answers (Noxus): `{items, total, page, size,
  pages}`; size 1..20 (default 5), page >= 1, anything else 422.
A variant changes one behaviour (see `BROKEN`); `serving(variant)` runs one on a free loopback port.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_LIMIT, MAX_LIMIT = 5, 20

# Broken variants, by name: what each gets wrong, and words the failure it causes must say.
# "faithful" gets nothing wrong.
BROKEN = {
    "offset-next-skips-page": ("the next URL skips a page (offset + 2 * limit)", "next: a URL of this list at"),
    "offset-wrong-count": ("count is one more than the items there are", "count"),
    "offset-next-on-last-page": ("the last page still has a next URL", "next null exactly on the last page"),
    "offset-previous-wrong": ("the previous URL always leads to the first page", "previous"),
    "offset-short-pages": ("pages before the last hold one item less than the limit", "on every page but the last"),
    "page-wrong-total": ("total is one more than the items there are (pages agree with it)", "total"),
    "page-wrong-pages": ("pages is one more than total and size make", "pages"),
    "page-ignores-page": ("every page number answers the first page", "every item exactly once"),
}


class ListServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, variant: str) -> None:
        super().__init__(("127.0.0.1", 0), ListHandler)
        self.variant = variant
        self.items: list[dict[str, Any]] = []
        self.made = 0
        self.lock = threading.Lock()


class ListHandler(BaseHTTPRequestHandler):
    server: ListServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _integer(self, query: dict[str, str], name: str, default: int) -> int | None:
        value = query.get(name, str(default))
        return int(value) if value.lstrip("-").isdigit() else None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            made = []
            for _ in range(int(body.get("count", 0))):
                self.server.made += 1
                made.append({"id": f"item_{self.server.made:04d}"})
            self.server.items += made
        self._answer(201, {"ids": [item["id"] for item in made]})

    def do_DELETE(self) -> None:
        with self.server.lock:
            self.server.items = []
        self._answer(200, {"deleted": True})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        with self.server.lock:
            items = list(self.server.items)
        if url.path == "/items":
            self._offset_page(items, query)
        elif url.path == "/pages":
            self._numbered_page(items, query)
        else:
            self._answer(404, {"detail": "Not found."})

    def _offset_page(self, items: list[dict[str, Any]], query: dict[str, str]) -> None:
        variant = self.server.variant
        limit, offset = self._integer(query, "limit", DEFAULT_LIMIT), self._integer(query, "offset", 0)
        if limit is None or offset is None or not 1 <= limit <= MAX_LIMIT or offset < 0:
            self._answer(400, {"detail": "Invalid limit or offset."})
            return
        served = limit - 1 if variant == "offset-short-pages" and offset + limit < len(items) else limit
        results = items[offset : offset + served]
        base = f"http://{self.headers['Host']}/items"
        after = offset + len(results)
        following = None
        if after < len(items) or variant == "offset-next-on-last-page":
            step = after + served if variant == "offset-next-skips-page" else after
            following = f"{base}?{urlencode({'limit': limit, 'offset': step})}"
        previous = None
        if offset > 0:
            back = 0 if variant == "offset-previous-wrong" else max(0, offset - limit)
            previous = f"{base}?{urlencode({'limit': limit, **({'offset': back} if back else {})})}"
        count = len(items) + (1 if variant == "offset-wrong-count" else 0)
        self._answer(200, {"count": count, "next": following, "previous": previous, "results": results})

    def _numbered_page(self, items: list[dict[str, Any]], query: dict[str, str]) -> None:
        variant = self.server.variant
        number, size = self._integer(query, "page", 1), self._integer(query, "size", DEFAULT_LIMIT)
        if number is None or size is None or not 1 <= size <= MAX_LIMIT or number < 1:
            self._answer(422, {"detail": [{"loc": ["query", "size"], "msg": "invalid", "type": "less_than_equal"}]})
            return
        shown = 1 if variant == "page-ignores-page" else number
        total = len(items) + (1 if variant == "page-wrong-total" else 0)
        pages = math.ceil(total / size)
        self._answer(200, {
            "items": items[(shown - 1) * size : shown * size],
            "total": total,
            "page": number,
            "size": size,
            "pages": pages + (1 if variant == "page-wrong-pages" else 0),
        })


@contextmanager
def serving(variant: str) -> Iterator[str]:
    """Serve `variant` on a free loopback port; yields its root URL and stops it afterwards."""
    server = ListServer(variant)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
