"""Streamed turns: the protocol an event stream follows, and the hooks a streaming family provides.

A `StreamProtocol` knows one wire protocol carried over server-sent events: what each event must look
like, the order they must come in, and how the reply's text is spread over them. `UIMessageStream` is
the Vercel AI SDK's UI Message Stream (v1), which pydantic-ai's VercelAIAdapter speaks; another protocol
(another vendor's event names) is another subclass.

A family that streams turns gives the `sse_stream` check a `Streaming` (`Profile.streaming`): where to
stream (a fixture), the request, how to read back what was stored, and its own consistency rules.
Every event is validated against the schema the spec gives one event (`x-stream-chunk-schema` on the
`text/event-stream` response), choosing the variant by the schema's discriminator.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.http import PRIMARY, Exchange, LiveStream, Request, StreamExchange
from conformance.sse import Frame

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.base import Profile
    from conformance.vocabulary import Fixture

# At most this many invalid events are reported per stream.
MAX_FRAME_FAILURES = 5

# What validating one parsed event against the contract says: its problems (empty: it matches), or
# None when the schema has no variant for the event's kind (the protocol then decides).
ChunkValidator = Callable[[Any], "list[str] | None"]


@dataclass
class StreamedTurn:
    """A turn read from its stream: the recorded exchange (every event) and the reply text it carried."""

    exchange: StreamExchange
    text: str
    sent: str

    @property
    def frames(self) -> list[Frame]:
        return self.exchange.frames


class StreamProtocol(ABC):
    """One event-stream protocol's rules."""

    name: str

    @abstractmethod
    def parse(self, frame: Frame) -> Any:
        """The event's payload (a JSON value, or a protocol sentinel as a string); ValueError if unreadable."""

    @abstractmethod
    def frame_problems(self, frame: Frame, validate: ChunkValidator | None) -> list[str]:
        """What is wrong with one event on its own (unreadable, not the schema of its kind)."""

    @abstractmethod
    def sequence_problems(self, frames: list[Frame]) -> list[str]:
        """What is wrong with the order of a complete turn's events."""

    @abstractmethod
    def text(self, frames: list[Frame]) -> str:
        """The reply's text: what the events deliver, concatenated."""

    @abstractmethod
    def is_text(self, frame: Frame) -> bool:
        """Whether the event carries a piece of the reply's text."""

    def reply_id(self, frames: list[Frame]) -> str | None:
        """The id the stream gives the reply message, if it gives one."""
        return None


class UIMessageStream(StreamProtocol):
    """The Vercel AI SDK UI Message Stream protocol (v1), as pydantic-ai's VercelAIAdapter speaks it.

    Each event is `data: <chunk JSON>`; the stream ends with `data: [DONE]`. The chunks a text reply
    needs come in the order start, then one or more text blocks (text-start, text-delta..., text-end,
    one id per block), then finish; other chunk types of the protocol may come between them.
    """

    name = "UI Message Stream v1"
    DONE = "[DONE]"
    # How the event that ends the stream is written on the wire, for failure messages (a protocol that
    # wraps the same chunks in another framing ends its streams otherwise).
    terminator = "data: [DONE]"
    ORDERED = ("start", "text-start", "text-delta", "text-end", "finish")
    # Chunk types of the protocol besides those a text reply needs; a `data-*` type is the app's own.
    OTHER_TYPES = frozenset(
        {
            "start-step", "finish-step", "error", "abort", "message-metadata",
            "reasoning-start", "reasoning-delta", "reasoning-end",
            "tool-input-start", "tool-input-delta", "tool-input-available", "tool-input-error",
            "tool-output-available", "tool-output-error", "tool-output-denied", "tool-approval-request",
            "source-url", "source-document", "file",
        }
    )  # fmt: skip

    def parse(self, frame: Frame) -> Any:
        if frame.data == self.DONE:
            return self.DONE
        return json.loads(frame.data)

    def _type(self, frame: Frame) -> str | None:
        try:
            chunk = self.parse(frame)
        except ValueError:
            return None
        if chunk == self.DONE:
            return self.DONE
        return chunk.get("type") if isinstance(chunk, dict) and isinstance(chunk.get("type"), str) else None

    def frame_problems(self, frame: Frame, validate: ChunkValidator | None) -> list[str]:
        where = f"event {frame.index + 1} ({frame.excerpt(120)!r})"
        try:
            chunk = self.parse(frame)
        except ValueError:
            return [f"{where} is neither JSON nor {self.DONE}"]
        if chunk == self.DONE:
            return []
        if not isinstance(chunk, dict) or not isinstance(chunk.get("type"), str):
            return [f"{where} is not a chunk object with a string type"]
        if validate is None:
            return []
        problems = validate(chunk)
        if problems is None:
            kind = chunk["type"]
            if kind in self.OTHER_TYPES or kind.startswith("data-"):
                return []
            return [f"{where}: {kind!r} is no chunk type of the protocol"]
        return [f"{where}: {problem}" for problem in problems]

    def sequence_problems(self, frames: list[Frame]) -> list[str]:
        kinds = [self._type(frame) for frame in frames]
        problems = []
        if not kinds or kinds[-1] != self.DONE:
            problems.append(f"the stream ends with {self.terminator} (it ended with {_shown(frames[-1:])})")
        if kinds.count(self.DONE) > 1 or (self.DONE in kinds and kinds.index(self.DONE) != len(kinds) - 1):
            problems.append(f"{self.terminator} once, as the last event")
        if "error" in kinds:
            chunk = self.parse(frames[kinds.index("error")])
            problems.append(f"a turn without an error chunk (the stream says: {chunk.get('errorText')!r})")
        listed = [(kind, frame) for kind, frame in zip(kinds, frames, strict=True) if kind in self.ORDERED]
        word = " ".join(kind for kind, _ in listed)
        if not re.fullmatch(r"start( text-start( text-delta)* text-end)+ finish", word):
            problems.append(
                "chunks in the order start, text-start, text-delta..., text-end, finish "
                f"(got: {_compress(word) or 'none of them'})"
            )
        elif "text-delta" not in kinds:
            problems.append("at least one text-delta")
        else:
            problems += self._block_ids(listed)
        return problems

    def _block_ids(self, listed: list[tuple[str, Frame]]) -> list[str]:
        """Within a text block, every chunk carries the block's id."""
        block: str | None = None
        for kind, frame in listed:
            chunk = self.parse(frame)
            if kind == "text-start":
                block = chunk.get("id")
            elif kind in ("text-delta", "text-end") and chunk.get("id") != block:
                return [f"event {frame.index + 1} ({kind}) carries id {chunk.get('id')!r} of its block {block!r}"]
        return []

    def text(self, frames: list[Frame]) -> str:
        return "".join(self.parse(frame).get("delta", "") for frame in frames if self.is_text(frame))

    def is_text(self, frame: Frame) -> bool:
        return self._type(frame) == "text-delta" and isinstance(self.parse(frame).get("delta"), str)

    def reply_id(self, frames: list[Frame]) -> str | None:
        for frame in frames:
            if self._type(frame) == "start":
                value = self.parse(frame).get("messageId")
                return value if isinstance(value, str) else None
        return None


def _compress(word: str) -> str:
    """`text-delta text-delta text-delta` as `text-delta x3`, so long streams read well."""
    out: list[str] = []
    for kind in word.split():
        if out and out[-1].split(" x")[0] == kind:
            name, _, count = out[-1].partition(" x")
            out[-1] = f"{name} x{int(count or 1) + 1}"
        else:
            out.append(kind)
    return ", ".join(out)


def _shown(frames: list[Frame]) -> str:
    return repr(frames[0].excerpt(80)) if frames else "no event at all"


class Streaming(ABC):
    """A streaming family's hooks for the sse_stream check."""

    protocol: StreamProtocol
    # The operation that streams a turn (its event schema is read from the spec).
    operation_id: str

    @abstractmethod
    def prepare(self, ctx: CheckContext[Any]) -> Fixture:
        """Something to stream a turn in (a new thread); failures end the check."""

    @abstractmethod
    def turn_request(self, fixture: Fixture, text: str) -> Request:
        """The request that streams a turn answering `text`."""

    def prompt(self, words: int = 12) -> str:
        """A user message of about `words` words; the reply's wording is never checked."""
        filler = "Please answer briefly; this is a conformance test of the streaming protocol".split()
        return " ".join(filler[n % len(filler)] for n in range(max(words, 1)))

    @abstractmethod
    def stored_reply(self, ctx: CheckContext[Any], fixture: Fixture) -> tuple[Exchange, str | None]:
        """What the server stored as the turn's reply text (None if it stored none), and where it said so."""

    def after_turn(self, ctx: CheckContext[Any], fixture: Fixture, turn: StreamedTurn) -> None:  # noqa: B027
        """The family's own rules on what a completed turn leaves behind (records failures)."""

    @abstractmethod
    def discard(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        """Delete what `prepare` made."""


def chunk_validator(profile: Profile, streaming: Streaming) -> ChunkValidator | None:
    """Validation of one event against the spec's event schema, or None if the spec declares none."""
    schema = profile.spec.stream_chunk_schema(streaming.operation_id)
    if schema is None:
        return None
    component = profile.spec.component_of(schema)

    def validate(chunk: Any) -> list[str] | None:
        if component is None:
            return profile.spec.schema_problems(schema, chunk)
        variant = profile.spec.variant(component, chunk)
        if variant is None:
            return None
        return profile.spec.problems(variant if isinstance(variant, str) else component, chunk)

    return validate


def checked_frames(
    ctx: CheckContext[Any], streaming: Streaming, live: LiveStream, *, check: bool = True
) -> Iterator[Frame]:
    """The stream's events as they arrive, each validated on arrival (failures recorded) unless `check`
    is off. The generator can be left and resumed, to act in the middle of a stream."""
    validate = chunk_validator(ctx.profile, streaming) if check else None
    reported = 0
    for frame in live.frames():
        if check:
            for problem in streaming.protocol.frame_problems(frame, validate):
                reported += 1
                if reported <= MAX_FRAME_FAILURES:
                    ctx.fail(live.exchange, f"every event a valid {streaming.protocol.name} chunk", problem)
        yield frame


def require_stream(ctx: CheckContext[Any], live: LiveStream, *, check: bool = True) -> None:
    """A stream must start: 200 (else a failure that ends the check) and, if `check`, text/event-stream."""
    if live.status != 200:
        ctx.fail(live.exchange, "200 and an event stream", live.exchange.excerpt())
        ctx.abort()
    content_type = live.headers.get("content-type", "")
    if check and content_type.split(";")[0].strip() != "text/event-stream":
        ctx.fail(live.exchange, "Content-Type text/event-stream", f"Content-Type {content_type!r}")


def stream_turn(
    ctx: CheckContext[Any],
    streaming: Streaming,
    fixture: Fixture,
    text: str,
    *,
    check: bool = True,
    identity: str | None = PRIMARY,
) -> StreamedTurn:
    """Stream one turn to its end, validating each event as it arrives (unless `check` is off); a stream
    that does not start is a failure that ends the check."""
    with ctx.stream(streaming.turn_request(fixture, text), identity=identity) as live:
        require_stream(ctx, live, check=check)
        for _ in checked_frames(ctx, streaming, live, check=check):
            pass
    return StreamedTurn(live.exchange, streaming.protocol.text(live.exchange.frames), text)
