"""Server-sent events, parsed incrementally as the WHATWG HTML standard reads an event stream.

Lines end in CR LF, LF or CR (and nothing else: U+2028 inside a JSON payload is not a line break, unlike
`str.splitlines`). A blank line dispatches the event gathered so far; `data:` lines are joined with LF;
one space after the colon is dropped; lines starting with `:` are comments. Text after the last blank
line is no event (a client drops it), so the parser keeps it apart as `pending` for checks to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    """One event of the stream: its data, event type and id, and when it arrived (seconds after the
    request was sent)."""

    data: str
    event: str | None = None
    id: str | None = None
    at: float = 0.0
    index: int = 0  # position in the stream, from 0

    def excerpt(self, limit: int = 200) -> str:
        return self.data if len(self.data) <= limit else self.data[:limit] + "..."


class EventStreamParser:
    """Feed text as it arrives; get the events completed by it."""

    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._lines_in_event = 0
        self.count = 0

    def feed(self, text: str, at: float = 0.0) -> Iterator[Frame]:
        """The events completed by `text`, in order."""
        self._buffer += text
        while True:
            line, rest = _split_line(self._buffer)
            if line is None:
                return
            self._buffer = rest
            frame = self._line(line, at)
            if frame is not None:
                yield frame

    def close(self, at: float = 0.0) -> Iterator[Frame]:
        """The stream ended: a CR left at the end of the text was a line end after all."""
        if self._buffer.endswith("\r"):
            yield from self.feed("\n", at)

    @property
    def pending(self) -> str:
        """Text of an event that was begun but never ended with a blank line."""
        lines = ([f"data: {d}" for d in self._data] if self._lines_in_event else []) + (
            [self._buffer] if self._buffer else []
        )
        return "\n".join(lines)

    def _line(self, line: str, at: float) -> Frame | None:
        if line == "":
            if not self._lines_in_event:
                return None
            frame = None
            if self._data:
                frame = Frame("\n".join(self._data), self._event, self._id, at, self.count)
                self.count += 1
            self._data, self._event, self._lines_in_event = [], None, 0
            return frame
        self._lines_in_event += 1
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


def _split_line(buffer: str) -> tuple[str | None, str]:
    """The first complete line of `buffer` and the rest; (None, buffer) if no line is complete yet.

    A CR at the very end may be the first half of CR LF, so it waits for the next chunk (or the end)."""
    lf, cr = buffer.find("\n"), buffer.find("\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return (None, buffer) if lf == -1 else (buffer[:lf], buffer[lf + 1 :])
    if cr + 1 == len(buffer):
        return None, buffer
    return buffer[:cr], buffer[cr + (2 if buffer[cr + 1] == "\n" else 1) :]
