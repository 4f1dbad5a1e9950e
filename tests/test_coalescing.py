"""``mockserver.coalescing``: the writes of one loop turn leave in one send, in order, and nothing written is
lost or sent after the connection is closed, aborted or half-closed. (The server's own tests, streams and
write timeouts among them, run through it too.)"""

from __future__ import annotations

import asyncio

import httpx

from mockserver.coalescing import HOLD_BYTES, CoalescingTransport
from tests.servers import running_server


class RecordingTransport:
    """A transport that records what is done to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append(("write_eof", b""))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def run(steps) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """Run ``steps(transport)`` (a coroutine function) on a fresh loop; what reached the wrapped transport."""
    recorded = RecordingTransport()

    async def main() -> None:
        transport = CoalescingTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
        await steps(transport)
        await asyncio.sleep(0)  # the last turn ends

    asyncio.run(main())
    return recorded.calls


def test_a_head_and_its_body_leave_in_one_write() -> None:
    async def respond(transport: CoalescingTransport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(bytearray(b"{}"))

    assert run(respond) == [("write", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")]


def test_writes_of_later_turns_leave_separately_in_order() -> None:
    async def stream(transport: CoalescingTransport) -> None:
        transport.write(b"head;")
        transport.write(b"event 1;")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        transport.writelines([b"event 2;", b"event 3;"])

    assert run(stream) == [("write", b"head;event 1;"), ("write", b"event 2;event 3;")]


def test_a_large_write_goes_out_at_once_so_flow_control_still_sees_it() -> None:
    async def large_body(transport: CoalescingTransport) -> None:
        transport.write(b"head;")
        transport.write(b"x" * HOLD_BYTES)
        assert transport._transport.calls == [("write", b"head;" + b"x" * HOLD_BYTES)]  # type: ignore[attr-defined]
        transport.write(b"tail")

    assert run(large_body) == [("write", b"head;" + b"x" * HOLD_BYTES), ("write", b"tail")]


def test_what_is_held_goes_out_before_close_abort_and_eof() -> None:
    async def close(transport: CoalescingTransport) -> None:
        transport.write(b"bye")
        transport.close()

    async def abort(transport: CoalescingTransport) -> None:
        transport.write(b"event;")
        transport.abort()

    async def eof(transport: CoalescingTransport) -> None:
        transport.write(b"last")
        transport.write_eof()

    assert run(close) == [("write", b"bye"), ("close", b"")]
    assert run(abort) == [("write", b"event;"), ("abort", b"")]
    assert run(eof) == [("write", b"last"), ("write_eof", b"")]


def test_nothing_is_written_to_a_closing_transport() -> None:
    async def peer_gone(transport: CoalescingTransport) -> None:
        transport.write(b"late")
        transport._transport.closing = True  # type: ignore[attr-defined]  # the peer left during the turn

    assert run(peer_gone) == []


def test_the_buffer_size_counts_what_is_held_and_the_rest_is_the_transports() -> None:
    recorded = RecordingTransport()
    recorded.buffered = 10

    async def main() -> tuple[int, int, str]:
        transport = CoalescingTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"12345")
        held = transport.get_write_buffer_size()
        await asyncio.sleep(0)
        return held, transport.get_write_buffer_size(), transport.get_extra_info("peername")

    assert asyncio.run(main()) == (15, 10, "info:peername")


def test_the_server_answers_keep_alive_requests_through_it() -> None:
    """Several requests on one connection, each answered whole: heads and bodies are not mixed up."""
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0") as root, \
            httpx.Client(base_url=root + "/openai/v1", headers={"Authorization": "Bearer joined"}) as client:
        created = [client.post("/conversations", json={"metadata": {"n": str(n)}}).json() for n in range(5)]
        for conversation in created:
            answer = client.get(f"/conversations/{conversation['id']}")
            assert answer.status_code == 200 and answer.json() == conversation
            assert answer.headers["x-request-id"].startswith("req_")
