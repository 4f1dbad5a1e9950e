"""The mock as benchmarked: the real app (authentication and validation on), seeded before it serves.

``python -m bench.serve_mock --port 0`` builds ``mockserver.app.create_app()`` with every family, creates
conversations of the requested sizes through the app's own request path (in-process, so 100,000 items take
seconds), then serves it as ``convo-mock serve`` does (``mockserver.server``: uvicorn, one worker, access
log off, the HTTP-edge limits on, read from ``CONVO_MOCK_*`` like the CLI) and prints one JSON line with its
URL and the conversation ids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket

from bench.asgi import seed_conversation
from mockserver.app import create_app
from mockserver.limits import Limits
from mockserver.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_mock", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sizes", default="0,100,100000", help="comma-separated item counts to seed")
    parser.add_argument("--journal-size", type=int, default=None,
                        help="requests the journal keeps (default: the mock's; 0 turns it off)")
    args = parser.parse_args(argv)
    app = create_app() if args.journal_size is None else create_app(journal_size=args.journal_size)

    async def seed() -> dict[int, str]:
        return {int(size): await seed_conversation(app, int(size)) for size in args.sizes.split(",")}

    ids = asyncio.run(seed())
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "base": "/openai/v1", "conversations": ids}), flush=True)
    serve(app, sock, Limits.from_environment())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
