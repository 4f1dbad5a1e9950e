"""Noxus's two stream formats, and the hooks that stream a reply in either (`ReplyStreaming`).

`POST /v1/conversations/{id}/stream` (and `GET .../events`) send the reply as server-sent events:
- `format=vercel` (or no format): the UI Message Stream as pydantic-ai's VercelAIAdapter sends it, the
  protocol the shared `UIMessageStream` reads (`data: <chunk>` frames, then `data: [DONE]`);
- `format=json`: Noxus's envelopes (`JsonEnvelopes`): every frame `event: message` whose data is
  `{"event": "<chunk type>", "data": {<the chunk's other fields>}}`, then `event: done` (a stream the
  vendor cut short ends with `event: timeout` instead, which is no complete reply). Unwrapped, the
  envelopes are the same UI Message Stream chunks, in the same order, so the grammar, the text and the
  reply id are the UI Message Stream's; only the framing and the terminator differ.

Each envelope is validated against the contract's `x-stream-events` schema for its event name, and the
chunk it carries against `x-stream-chunk-schema` (the variant its type names).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from conformance.profiles.noxus import api
from conformance.sse import Frame
from conformance.streaming import ChunkValidator, StreamedTurn, Streaming, UIMessageStream
from conformance.vocabulary import Exchange, Fixture, Request, parse_time

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.noxus.profile import NoxusProfile
    from conformance.spec import Spec

VERCEL = "vercel"
JSON = "json"


class JsonEnvelopes(UIMessageStream):
    """`format=json`: UI Message Stream chunks wrapped as `{"event", "data"}` in `event: message` frames,
    ended by `event: done`."""

    name = "Noxus JSON event stream"
    terminator = "event: done"
    ENVELOPE = "message"
    END = "done"

    def __init__(self, spec: Spec, operation_id: str) -> None:
        self.spec = spec
        self.operation_id = operation_id

    def _event_schemas(self) -> dict[str, Any]:
        operation = self.spec.operations[self.operation_id]
        responses = self.spec.normalised["paths"][operation.template][operation.method.lower()]["responses"]
        media = responses.get("200", {}).get("content", {}).get("text/event-stream", {})
        return media.get("x-stream-events") or {}

    def parse(self, frame: Frame) -> Any:
        """The chunk an envelope carries (`{"type": event, **data}`), or `DONE` for the terminator."""
        if frame.event == self.END:
            return self.DONE
        envelope = json.loads(frame.data)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), str):
            raise ValueError("not an envelope")
        data = envelope.get("data")
        fields = {key: value for key, value in data.items() if key != "type"} if isinstance(data, dict) else {}
        return {"type": envelope["event"], **fields}

    def frame_problems(self, frame: Frame, validate: ChunkValidator | None) -> list[str]:
        name = frame.event or "message"
        where = f"event {frame.index + 1} ({name}: {frame.excerpt(120)!r})"
        schemas = self._event_schemas()
        if schemas and name not in schemas:
            return [f"{where}: {name!r} is no event of the stream ({', '.join(schemas)})"]
        try:
            payload = json.loads(frame.data)
        except ValueError:
            return [f"{where}: the data is not JSON"]
        if validate is None:  # the check asked for no validation
            return []
        if name in schemas:
            envelope_problems = self.spec.schema_problems(schemas[name], payload)
            if envelope_problems:
                return [f"{where}: {problem}" for problem in envelope_problems]
        if name != self.ENVELOPE:
            return []
        try:
            chunk = self.parse(frame)
        except ValueError:
            return [f"{where}: the data is no envelope {{\"event\": \"<chunk type>\", \"data\": {{...}}}}"]
        problems = validate(chunk)
        if problems is None:
            kind = chunk["type"]
            if kind in self.OTHER_TYPES or kind.startswith("data-"):
                return []
            return [f"{where}: {kind!r} is no chunk type of the UI Message Stream"]
        return [f"{where}: the chunk it carries: {problem}" for problem in problems]


class ReplyStreaming(Streaming):
    """A message streamed on a new conversation (made from settings) in one format. Afterwards the
    conversation holds the user message sent and exactly the streamed reply (with the id the `start`
    chunk gave, where it gave one) as its last two messages, under a new `etag`."""

    def __init__(self, profile: NoxusProfile, format: str, *, operation_id: str = api.STREAM) -> None:
        self.profile = profile
        self.format = format
        # The operation whose event schemas the frames are checked against (`stream`, or `events`).
        self.operation_id = operation_id
        self.protocol: UIMessageStream = (JsonEnvelopes(profile.spec, operation_id) if format == JSON
                                          else UIMessageStream())

    @property
    def api(self) -> api.NoxusAPI:
        return self.profile.api

    def prepare(self, ctx: CheckContext[Any]) -> Fixture:
        conversation = self.api.require_conversation(ctx, f"conformance stream ({self.format})")
        return Fixture({"conversation": conversation["id"]}, conversation)

    def turn_request(self, fixture: Fixture, text: str) -> Request:
        return self.api.stream(fixture["conversation"], api.message(text), format=self.format)

    def stored_reply(self, ctx: CheckContext[Any], fixture: Fixture) -> tuple[Exchange, str | None]:
        got = ctx.send(self.api.get(fixture["conversation"]), identity=fixture.identity)
        messages = api.messages_of(got.json) if got.status == 200 else []
        return got, api.reply_text(messages[-1]) if messages else None

    def after_turn(self, ctx: CheckContext[Any], fixture: Fixture, turn: StreamedTurn) -> None:
        got, body = self.api.read(ctx, fixture["conversation"], identity=fixture.identity)
        for problem in self.profile.spec.problems("Conversation", body):
            ctx.fail(got, "the conversation in the contract's schema after a streamed reply", problem)
        messages = api.messages_of(body)
        for problem in api.turn_problems([], messages, turn.sent):
            ctx.fail(got, "after a streamed reply on a new conversation: the user message, then the reply", problem)
        streamed_id = self.protocol.reply_id(turn.frames)
        if messages and streamed_id is not None and messages[-1].get("id") != streamed_id:
            ctx.fail(got, f"the stored reply to have the id the start chunk gave: {streamed_id!r}",
                     f"id {messages[-1].get('id')!r}")
        created = fixture.body
        if body.get("etag") in (None, created.get("etag")):
            ctx.fail(got, f"a new etag once the reply is stored (it was {created.get('etag')!r})",
                     f"etag {body.get('etag')!r}")
        before, after = parse_time(created.get("last_updated_at")), parse_time(body.get("last_updated_at"))
        if before is not None and after is not None and after < before:
            ctx.fail(got, f"last_updated_at not earlier than before the reply ({created.get('last_updated_at')})",
                     f"last_updated_at {body.get('last_updated_at')}")

    def discard(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        self.api.discard(ctx, fixture["conversation"], identity=fixture.identity)
