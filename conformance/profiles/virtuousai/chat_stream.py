"""How a VirtuousAI turn streams (the `sse_stream` check's hooks), and what a completed turn leaves.

A turn is `POST /chat/threads/{id}/turns/stream` with the Vercel AI SDK chat request, answered in the UI
Message Stream protocol. Once it has ended, the thread holds exactly the user message (the text sent)
and the assistant message (the deltas, concatenated; its id is the `start` chunk's `messageId` when
that is given); the thread names the turn as its last, `completed`, and is eligible for
crystallization; the turn is `completed` with usage and with its timestamps in order; the message
and turn ids agree where they are given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.profiles.virtuousai import api
from conformance.streaming import StreamedTurn, Streaming, UIMessageStream
from conformance.vocabulary import Exchange, Fixture, Request

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.profiles.virtuousai.profile import VirtuousAIProfile


class ChatStreaming(Streaming):
    protocol = UIMessageStream()
    operation_id = api.STREAM_TURN

    def __init__(self, profile: VirtuousAIProfile) -> None:
        self.profile = profile

    @property
    def api(self) -> api.ChatAPI:
        return self.profile.api

    def prepare(self, ctx: CheckContext[Any]) -> Fixture:
        thread = self.api.require_thread(ctx, title="conformance stream")
        return Fixture({"thread": thread["id"]}, thread)

    def turn_request(self, fixture: Fixture, text: str) -> Request:
        return self.api.stream_turn(fixture["thread"], text)

    def stored_reply(self, ctx: CheckContext[Any], fixture: Fixture) -> tuple[Exchange, str | None]:
        messages = self.api.all_messages(ctx, fixture["thread"], identity=fixture.identity)
        shown = ctx.client.history[-1]
        replies = [m for m in messages if m.get("role") == "assistant"]
        content = replies[-1].get("content") if replies else None
        return shown, content if isinstance(content, str) else None

    def after_turn(self, ctx: CheckContext[Any], fixture: Fixture, turn: StreamedTurn) -> None:
        a, tid = self.api, fixture["thread"]
        messages = a.all_messages(ctx, tid, identity=fixture.identity)
        listing = ctx.client.history[-1]
        roles = [m.get("role") for m in messages]
        if roles != ["user", "assistant"]:
            ctx.fail(listing, "the turn's user and assistant message, in that order", f"roles {roles}")
            return
        user, reply = messages
        if user.get("content") != turn.sent:
            ctx.fail(listing, f"the user message's content to be the text sent: {turn.sent!r}",
                     f"{user.get('content')!r}")
        streamed_id = self.protocol.reply_id(turn.frames)
        if streamed_id is not None and streamed_id != reply.get("id"):
            ctx.fail(listing, f"the assistant message to have the id the start chunk gave: {streamed_id!r}",
                     f"id {reply.get('id')!r}")

        fetched = ctx.send(a.get_thread(tid), identity=fixture.identity)
        ctx.require_status(fetched)
        thread = ctx.require_object(fetched)
        turn_id = thread.get("lastTurnId")
        expected = {"lastTurnStatus": "completed", "crystallizeEligible": True}
        wrong = {key: thread.get(key) for key, value in expected.items() if thread.get(key) != value}
        if not isinstance(turn_id, str):
            wrong["lastTurnId"] = turn_id
        if thread.get("lastMessageAt") is None or not thread.get("lastMessagePreview"):
            wrong.update({key: thread.get(key) for key in ("lastMessageAt", "lastMessagePreview")})
        if wrong:
            ctx.fail(fetched, f"after a completed turn: {expected}, lastTurnId, lastMessageAt and "
                              "lastMessagePreview set", f"{wrong}")
        for problem in api.time_order_problems(thread, ("createdAt", "lastMessageAt")) + api.time_order_problems(
                thread, ("createdAt", "updatedAt")):
            ctx.fail(fetched, "the thread's timestamps in order", problem)
        if not isinstance(turn_id, str):
            return
        for message in messages:
            if message.get("turnId") not in (None, turn_id):
                ctx.fail(listing, f"messages of the turn to name it: turnId {turn_id!r}",
                         f"{message.get('role')} message has turnId {message.get('turnId')!r}")
        self._check_turn(ctx, fixture, turn_id, user, reply, turn)

    def _check_turn(self, ctx: CheckContext[Any], fixture: Fixture, turn_id: str, user: dict, reply: dict,
                    turn: StreamedTurn) -> None:
        got = ctx.send(self.api.get_turn(turn_id), identity=fixture.identity)
        if not ctx.check_status(got, why="(the thread's lastTurnId)"):
            return
        body = ctx.require_object(got)
        problems = []
        if body.get("status") != "completed":
            problems.append(f"status {body.get('status')!r}, expected 'completed'")
        if body.get("threadId") != fixture["thread"]:
            problems.append(f"threadId {body.get('threadId')!r}, expected {fixture['thread']!r}")
        for key, message in (("inputMessageId", user), ("outputMessageId", reply)):
            if body.get(key) not in (None, message.get("id")):
                role = message.get("role")
                problems.append(f"{key} {body.get(key)!r}, expected the {role} message {message.get('id')!r}")
        if body.get("usage") is None:
            problems.append("usage is null (a completed turn reports its usage)")
        for key in ("startedAt", "completedAt"):
            if body.get(key) is None:
                problems.append(f"{key} is null")
        problems += api.time_order_problems(body, ("createdAt", "startedAt", "completedAt"))
        for problem in problems:
            ctx.fail(got, "a completed turn: status, usage, its thread and messages, timestamps in order", problem)

    def discard(self, ctx: CheckContext[Any], fixture: Fixture) -> None:
        ctx.send(self.api.delete_thread(fixture["thread"]), identity=fixture.identity)
