"""PostHog Max's run stream: its grammar (`MaxEvents`) and the `sse_stream` check's hooks (`RunStreaming`).

A run streams `event: <name>\\ndata: <json>` frames (no `id:`, no terminal event: the stream ends when the
response closes). The names are `conversation`, `message`, `status`, `update`, each data matching the
schema the contract gives that name (`x-stream-events`). The grammar, event by event:
- `conversation` at most once, and only as the first event (the suite checks it is there for a new
  conversation and absent for an existing one: `after_turn`, and the family's `runs` check);
- the echoed `human` message comes before any `ai` message;
- `ai` chunks carry no `id` and their `content` grows cumulatively (each extends the one before); a
  message with an `id` closes the chunks before it, and the final `ai` message (with an `id`) equals the
  last chunk's content;
- at least one final `ai` message; no `ai/failure` message and no `status` `generation_error` (the run
  failed: the server says so itself).
The reply is the final `ai` message's content (not a concatenation: chunks are cumulative).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from conformance.profiles.posthog import api
from conformance.sse import Frame
from conformance.streaming import ChunkValidator, StreamedTurn, Streaming, StreamProtocol
from conformance.vocabulary import Exchange, Fixture, Request

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.posthog.profile import PostHogProfile
    from conformance.spec import Spec

EVENTS = ("conversation", "message", "status", "update")


def event_name(frame: Frame) -> str:
    """The frame's event name (an SSE event without one is a `message`, as EventSource reads it)."""
    return frame.event or "message"


def data(frame: Frame) -> Any:
    try:
        return json.loads(frame.data)
    except ValueError:
        return None


def is_chunk(payload: Any) -> bool:
    """An `ai` message still streaming (no id yet)."""
    return isinstance(payload, dict) and payload.get("type") == "ai" and not payload.get("id")


def is_final_ai(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("type") == "ai" and bool(payload.get("id"))


def messages(frames: list[Frame]) -> list[tuple[Frame, dict[str, Any]]]:
    """The `message` events that parse as objects, with their frames."""
    found = []
    for frame in frames:
        payload = data(frame)
        if event_name(frame) == "message" and isinstance(payload, dict):
            found.append((frame, payload))
    return found


def final_ai(frames: list[Frame]) -> dict[str, Any] | None:
    """The last `ai` message with an id (the reply as stored), or None."""
    finals = [payload for _, payload in messages(frames) if is_final_ai(payload)]
    return finals[-1] if finals else None


class MaxEvents(StreamProtocol):
    """The grammar of a PostHog Max run stream (see the module docstring)."""

    name = "PostHog Max run stream"

    def __init__(self, spec: Spec, operation_id: str) -> None:
        self.spec = spec
        self.operation_id = operation_id

    def _schemas(self) -> dict[str, Any]:
        operation = self.spec.operations[self.operation_id]
        responses = self.spec.normalised["paths"][operation.template][operation.method.lower()]["responses"]
        media = responses.get("200", {}).get("content", {}).get("text/event-stream", {})
        return media.get("x-stream-events") or {}

    def parse(self, frame: Frame) -> Any:
        return json.loads(frame.data)

    def frame_problems(self, frame: Frame, validate: ChunkValidator | None) -> list[str]:
        where = f"event {frame.index + 1} ({event_name(frame)}: {frame.excerpt(120)!r})"
        name = event_name(frame)
        if name not in EVENTS:
            return [f"{where}: {name!r} is no event of the run stream ({', '.join(EVENTS)})"]
        try:
            payload = self.parse(frame)
        except ValueError:
            return [f"{where}: the data is not JSON"]
        if not isinstance(payload, dict):
            return [f"{where}: the data is not a JSON object"]
        if validate is None:  # the check asked for no validation
            return []
        schema = self._schemas().get(name)
        if schema is None:
            return []
        component = self.spec.component_of(schema)
        variant = self.spec.variant(component, payload) if component else False
        if isinstance(variant, str):
            problems = self.spec.problems(variant, payload)
        elif variant is None:
            problems = [f"type {payload.get('type')!r} is no message type of the contract"]
        else:
            problems = self.spec.schema_problems(schema, payload)
        return [f"{where}: {problem}" for problem in problems]

    def sequence_problems(self, frames: list[Frame]) -> list[str]:
        problems: list[str] = []
        names = [event_name(frame) for frame in frames]
        if names.count("conversation") > 1 or ("conversation" in names and names[0] != "conversation"):
            problems.append(f"a conversation event at most once, as the first event (events: {_compress(names)})")
        seen_human = False
        chunk: str | None = None  # the content of the last ai chunk since the last message with an id
        finals = 0
        for frame, payload in messages(frames):
            kind = payload.get("type")
            where = f"event {frame.index + 1}"
            if kind == "human":
                seen_human = True
            elif isinstance(kind, str) and kind.startswith("ai") and not seen_human:
                problems.append(f"the echoed human message before any ai message ({where} is {kind!r} first)")
                seen_human = True  # reported once
            if kind == "ai/failure":
                problems.append(f"a run without a failure message ({where}: {payload.get('content')!r})")
            content = payload.get("content")
            if is_chunk(payload):
                if not isinstance(content, str):
                    problems.append(f"{where}: an ai chunk with string content, got {content!r}")
                elif chunk is not None and not content.startswith(chunk):
                    problems.append(f"ai chunks with cumulative content: {where} ({_clip(content)!r}) does not "
                                    f"extend the chunk before it ({_clip(chunk)!r})")
                    return problems
                else:
                    chunk = content
            elif payload.get("id"):
                if is_final_ai(payload):
                    finals += 1
                    if chunk is not None and content != chunk:
                        problems.append(f"the final ai message ({where}, id {payload.get('id')!r}) equal to the "
                                        f"last chunk streamed: {_clip(chunk)!r}, got {_clip(str(content))!r}")
                chunk = None
        if not seen_human:
            problems.append("the echoed human message (a message event of type human)")
        if not finals:
            problems.append("a final ai message with an id (the chunks end in one)")
        for frame in frames:
            if event_name(frame) == "status":
                problems.append(f"a run without a status event (event {frame.index + 1}: {frame.excerpt(120)!r})")
        return problems

    def text(self, frames: list[Frame]) -> str:
        final = final_ai(frames)
        if final is not None and isinstance(final.get("content"), str):
            return str(final["content"])
        chunks = [payload for _, payload in messages(frames) if is_chunk(payload)]
        return str(chunks[-1].get("content", "")) if chunks else ""

    def is_text(self, frame: Frame) -> bool:
        payload = data(frame)
        return event_name(frame) == "message" and isinstance(payload, dict) and payload.get("type") == "ai"

    def reply_id(self, frames: list[Frame]) -> str | None:
        final = final_ai(frames)
        return str(final["id"]) if final is not None else None


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _compress(names: list[str]) -> str:
    out: list[str] = []
    for name in names:
        if out and out[-1].split(" x")[0] == name:
            head, _, count = out[-1].partition(" x")
            out[-1] = f"{head} x{int(count or 1) + 1}"
        else:
            out.append(name)
    return ", ".join(out)


class RunStreaming(Streaming):
    """The `sse_stream` check's hooks: a message on a new conversation, streamed; afterwards the
    conversation holds exactly the human message sent and the reply streamed, is idle and titled."""

    operation_id = api.CREATE

    def __init__(self, profile: PostHogProfile) -> None:
        self.profile = profile
        self.protocol = MaxEvents(profile.spec, api.CREATE)
        self._trace_ids: dict[str, str] = {}

    @property
    def api(self) -> api.MaxAPI:
        return self.profile.api

    def prepare(self, ctx: CheckContext[Any]) -> Fixture:
        return Fixture({"conversation": api.new_id()}, {})

    def turn_request(self, fixture: Fixture, text: str) -> Request:
        trace_id = api.new_id()
        self._trace_ids[fixture["conversation"]] = trace_id
        return self.api.create(fixture["conversation"], text, trace_id=trace_id)

    def stored_reply(self, ctx: CheckContext[Any], fixture: Fixture) -> tuple[Exchange, str | None]:
        got, body = self.api.settled(ctx, fixture["conversation"], api.idle, identity=fixture.identity)
        replies = [m for m in api.messages_of(body) if m.get("type") == "ai"]
        content = replies[-1].get("content") if replies else None
        return got, content if isinstance(content, str) else None

    def after_turn(self, ctx: CheckContext[Any], fixture: Fixture, turn: StreamedTurn) -> None:
        cid, frames = fixture["conversation"], turn.frames
        first = frames[0] if frames else None
        opened = data(first) if first is not None and event_name(first) == "conversation" else None
        if not isinstance(opened, dict):
            ctx.fail(turn.exchange, "a conversation event first: the run started a new conversation",
                     f"first event {event_name(first) + ': ' + first.excerpt(120) if first else '(none)'}")
        elif opened.get("id") != cid:
            ctx.fail(turn.exchange, f"the conversation event naming the new conversation {cid}",
                     f"id {opened.get('id')!r}")
        humans = [payload for _, payload in messages(frames) if payload.get("type") == "human"]
        trace_id = self._trace_ids.get(cid)
        if humans:
            echo = humans[0]
            wrong = [f"{key} {echo.get(key)!r}" for key, value in (("content", turn.sent), ("trace_id", trace_id))
                     if echo.get(key) != value]
            if not echo.get("id"):
                wrong.append("no id (the server's id of the stored message)")
            if wrong:
                ctx.fail(turn.exchange, f"the human message echoed with the content and trace_id sent "
                         f"({turn.sent[:60]!r}..., {trace_id}) and its id", "; ".join(wrong))
        got, body = self.api.settled(ctx, cid, api.idle, identity=fixture.identity)
        if body is None:
            ctx.fail(got, "the conversation found after its first run (it has a title by then)", got.excerpt())
            return
        problems = []
        if body.get("status") != "idle":
            problems.append(f"status {body.get('status')!r}, expected 'idle' once the stream has ended")
        if not body.get("title"):
            problems.append(f"title {body.get('title')!r}, expected one after the first run")
        stored = [(m.get("type"), m.get("content")) for m in api.messages_of(body) if m.get("type") in ("human", "ai")]
        if stored[:1] != [("human", turn.sent)] or not stored or stored[-1] != ("ai", turn.text):
            problems.append(f"messages {[kind for kind, _ in stored]}: the human message sent first and the reply "
                            f"streamed last")
        final = final_ai(frames)
        replies = [m for m in api.messages_of(body) if m.get("type") == "ai"]
        if final is not None and replies and replies[-1].get("id") != final.get("id"):
            problems.append(f"the stored reply's id {replies[-1].get('id')!r} is not the streamed final message's "
                            f"{final.get('id')!r}")
        if humans and humans[0].get("id"):
            stored_humans = [m for m in api.messages_of(body) if m.get("type") == "human"]
            if stored_humans and stored_humans[0].get("id") != humans[0].get("id"):
                problems.append(f"the stored human message's id {stored_humans[0].get('id')!r} is not the echoed "
                                f"{humans[0].get('id')!r}")
        for problem in problems:
            ctx.fail(got, "after a run: idle, titled, the human message and the reply stored as streamed", problem)

    def discard(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        """Conversations cannot be deleted through these operations; the run's conversation stays."""
