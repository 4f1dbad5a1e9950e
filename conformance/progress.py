"""Progress while a run goes on: requests sent, time elapsed, the check or operation at work.

On a terminal it is a live status line in colour (rich), redrawn in place; in a CI log (not a terminal)
it is a plain line at most every `PLAIN_INTERVAL` seconds, so long phases show life without flooding.
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console
from rich.status import Status as RichStatus

PLAIN_INTERVAL = 15.0


class Progress:
    """Counts requests and shows where the run is; `stop()` clears the live line."""

    def __init__(self, console: Console, stream: TextIO, *, live: bool, started: float) -> None:
        self._console = console
        self._stream = stream
        self._live = live
        self._started = started
        self._status: RichStatus | None = None
        self._last_plain = time.perf_counter()
        self.requests = 0
        self.stage = ""
        self.operation = ""

    def stage_started(self, stage: str) -> None:
        self.stage = stage
        self.operation = ""
        self._show()

    def request(self, operation: str, count: int = 1) -> None:
        """`count` more requests were sent, the last one to `operation`."""
        self.requests += count
        self.operation = operation
        self._show()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _text(self) -> str:
        elapsed = time.perf_counter() - self._started
        current = f" - {self.operation}" if self.operation else ""
        return f"{self.stage}: {self.requests} requests, {elapsed:.0f}s{current}"

    def _show(self) -> None:
        if self._live:
            text = self._text()
            if self._status is None:
                self._status = self._console.status(text, spinner="dots")
                self._status.start()
            else:
                self._status.update(text)
            return
        now = time.perf_counter()
        if now - self._last_plain >= PLAIN_INTERVAL:
            self._last_plain = now
            print(f"[{now - self._started:6.1f}s] ... {self._text()}", file=self._stream, flush=True)
