"""One send per response: a transport that holds what is written until the event loop's turn ends.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and the transport sends
each at once: two ``send`` system calls for every response, the costliest step of answering a small
request (``python -m bench.journal``: a GET costs about a fifth less CPU with them joined).
``CoalescingTransport`` keeps the writes of one turn of the event loop and sends them together at its end
(``loop.call_soon``), so a head and the body written right after it, as every non-streaming response is,
leave in one call. A stream's events still leave as they are written, at most one loop turn later. Once
``HOLD_BYTES`` are held they are sent at once, so a body written in one turn still fills the transport's
buffer and pauses the writer as before (uvicorn's flow control). What is held is sent before the transport
is closed, aborted or half-closed, and counts in its write buffer's size (what the write timeouts of
``mockserver.server`` watch). Everything else is the wrapped transport's.
"""

from __future__ import annotations

import asyncio
import typing as t

HOLD_BYTES = 65536
"""At most this much is held: more is sent at once."""


class CoalescingTransport:
    """``transport``, its writes of one loop turn joined into one."""

    __slots__ = ("_transport", "_loop", "_held", "_held_bytes")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            held = self._held = [bytes(data)]
            self._held_bytes = len(held[0])
            self._loop.call_soon(self.flush)
        else:
            held.append(bytes(data))
            self._held_bytes += len(held[-1])
        if self._held_bytes >= HOLD_BYTES:
            self.flush()

    def writelines(self, chunks: t.Iterable[bytes | bytearray | memoryview]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is held now (nothing if the connection is closing)."""
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (self._held_bytes if self._held else 0)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop the connection, after what was written before (as the wrapped transport would have sent it)."""
        self.flush()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._transport, name)


def coalescing(transport: asyncio.Transport) -> asyncio.Transport:
    """``transport`` wrapped in a ``CoalescingTransport`` (typed as the transport it stands for)."""
    return t.cast(asyncio.Transport, CoalescingTransport(transport, asyncio.get_running_loop()))
