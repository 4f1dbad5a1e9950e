"""The family's checks on one conversation: `lifecycle`, `add_message`, `chat` and `json_stream`.

- `lifecycle` (no model call): a conversation created from settings answers them as sent (both
  generations of settings, the UI-form keys the backend echoes; a tool type the contract does not name
  round-trips, or is refused with a warning), with no messages and an `etag`; get returns the same;
  update sets what it is given and keeps the rest (`null` keeps); delete answers 200 with a JSON object,
  then every operation on the conversation is 404. An agent's conversation (`assistant_id`, a made-up
  agent id) is either created bound to it or refused 404 (Noxus does not know the agent).
- `add_message` (one model call): the answer is the whole conversation, in the contract's schema, with
  the user message (the text sent) and the reply as its last two messages, a new `etag` and a
  `last_updated_at` not earlier than before; get then returns the same messages and `etag`.
- `chat` (two model calls: a first turn by add message, then `chat`): the answer is a `ChatMessage` with
  at least one pydantic-ai `response`, whose text is exactly the reply stored as the conversation's
  last message, after the user message sent; nothing of the first turn is in it.
- `json_stream` (one model call): `format=json` read frame by frame as it arrives, by the shared
  streamed-turn rules (`conformance.checks.sse_stream.check_streamed_turn`) in Noxus's envelopes.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.sse_stream import check_streamed_turn
from conformance.dialects.fastapi import detail_text
from conformance.profiles.noxus import api
from conformance.profiles.noxus.api import Context
from conformance.vocabulary import Exchange, parse_time

# A tool type the contract does not name, with options of its own: it must round-trip.
UNNAMED_TOOL = {"type": "conformance_unnamed_tool", "enabled": False, "options": {"depth": 2}}


def settings_problems(sent: dict[str, Any], got: Any) -> list[str]:
    """Where the settings answered differ from those sent: every key sent must come back as sent (a tool
    may gain keys; `model` and `model_selection` name the same list, so either may come back)."""
    if not isinstance(got, dict):
        return [f"settings {got!r}, expected an object"]
    problems = []
    for key, value in sent.items():
        if key in ("model", "model_selection") and key not in got:
            other = "model_selection" if key == "model" else "model"
            if got.get(other) != value:
                problems.append(f"{key} {value!r} (or {other}), got {key} missing and {other} {got.get(other)!r}")
        elif key == "tools":
            tools = got.get("tools")
            if not isinstance(tools, list) or len(tools) != len(value):
                problems.append(f"tools {value!r}, got {tools!r}")
                continue
            for tool, answered in zip(value, tools, strict=True):
                if not isinstance(answered, dict) or any(answered.get(k) != v for k, v in tool.items()):
                    problems.append(f"tool {tool!r} as sent, got {answered!r}")
        elif got.get(key) != value:
            problems.append(f"{key} {value!r}, got {got.get(key)!r}")
    return problems


def schema_problems(ctx: Context, exchange: Exchange, component: str, body: Any) -> bool:
    """Record every way `body` misses the contract's `component`; whether it matches."""
    problems = ctx.profile.spec.problems(component, body)
    for problem in problems:
        ctx.fail(exchange, f"a {component} in the contract's schema", problem)
    return not problems


def lifecycle(ctx: Context) -> None:
    """Create (settings as sent), get, update and delete a conversation; an agent's is bound to it or 404."""
    a = ctx.profile.api
    sent = api.settings(tools=[{"type": "web_research", "enabled": True, "name": "Web Research"},
                               {"type": "noxus_qa", "enabled": False}],
                        auto_model_pick=False, parameter_preset="default")
    created = ctx.send(a.create({"name": "conformance lifecycle", "settings": sent}))
    ctx.require_status(created)
    body = ctx.require_object(created)
    cid = body.get("id")
    if not isinstance(cid, str) or not cid:
        ctx.fail(created, "a conversation with an id", created.excerpt())
        ctx.abort()
    schema_problems(ctx, created, "Conversation", body)
    wrong = settings_problems(sent, body.get("settings"))
    if body.get("name") != "conformance lifecycle":
        wrong.append(f"name {body.get('name')!r}")
    if api.messages_of(body) or not isinstance(body.get("etag"), str) or body.get("assistant_id") is not None:
        wrong.append(f"messages {body.get('messages')!r}, etag {body.get('etag')!r}, "
                     f"assistant_id {body.get('assistant_id')!r}")
    for problem in wrong:
        ctx.fail(created, "a new conversation as sent: its name and settings, no messages, an etag, no agent", problem)

    got, fetched = a.read(ctx, cid)
    same = ("id", "name", "created_at", "settings", "etag", "messages", "assistant_id")
    changed = [key for key in same if fetched.get(key) != body.get(key)]
    if changed:
        ctx.fail(got, "get to return the conversation as created", f"{changed} differ: {api.clip(str(fetched), 400)}")

    _older_settings(ctx)
    _unnamed_tool(ctx)
    _update(ctx, cid, sent)
    _delete(ctx, cid)
    _agent(ctx)


def _older_settings(ctx: Context) -> None:
    """Settings of the older generation (`model_selection`) are taken and answered (under either name)."""
    a = ctx.profile.api
    older = {"model_selection": ["gpt-4o"], "temperature": 0.4, "max_tokens": 1000,
             "tools": [{"name": "Web Research", "description": "Search the web for information", "enabled": True,
                        "type": "web_research"}], "extra_instructions": "Be brief."}
    created = ctx.send(a.create({"name": "conformance older settings", "settings": older}))
    if ctx.check_status(created, why="(settings of the older generation, model_selection)"):
        body = ctx.require_object(created)
        for problem in settings_problems(older, body.get("settings")):
            ctx.fail(created, "the older generation of settings answered as sent", problem)
        if isinstance(body.get("id"), str):
            a.discard(ctx, body["id"])


def _unnamed_tool(ctx: Context) -> None:
    """A tool of a type the contract does not name round-trips (a refusal only warns: the backend may
    validate tool types, the contract says they round-trip)."""
    a = ctx.profile.api
    sent = api.settings(tools=[UNNAMED_TOOL])
    created = ctx.send(a.create({"name": "conformance unnamed tool", "settings": sent}))
    if 400 <= created.status < 500:
        ctx.warn(created, "a tool of a type the contract does not name taken and answered as sent", created.excerpt())
        return
    if ctx.check_status(created, why="(a tool of a type the contract does not name)"):
        body = ctx.require_object(created)
        for problem in settings_problems(sent, body.get("settings")):
            ctx.fail(created, "a tool of a type the contract does not name answered as sent", problem)
        if isinstance(body.get("id"), str):
            a.discard(ctx, body["id"])


def _update(ctx: Context, cid: str, sent: dict[str, Any]) -> None:
    a = ctx.profile.api
    renamed = ctx.send(a.update(cid, {"name": "conformance renamed", "settings": None}))
    ctx.require_status(renamed)
    body = ctx.require_object(renamed)
    schema_problems(ctx, renamed, "Conversation", body)
    wrong = settings_problems(sent, body.get("settings"))
    if body.get("name") != "conformance renamed":
        wrong.insert(0, f"name {body.get('name')!r}")
    for problem in wrong:
        ctx.fail(renamed, "update with a name and settings null: the new name, the settings kept", problem)

    newer = api.settings(model=["preset:quality"], tools=[{"type": "noxus_qa", "enabled": True}])
    changed = ctx.send(a.update(cid, {"name": None, "settings": newer}))
    ctx.require_status(changed)
    body = ctx.require_object(changed)
    wrong = settings_problems(newer, body.get("settings"))
    if body.get("name") != "conformance renamed":
        wrong.insert(0, f"name {body.get('name')!r}")
    for problem in wrong:
        ctx.fail(changed, "update with settings and a name null: the new settings, the name kept", problem)
    got, fetched = a.read(ctx, cid)
    if fetched.get("name") != body.get("name") or fetched.get("settings") != body.get("settings"):
        ctx.fail(got, "get to return the conversation as updated", api.clip(str(fetched), 400))
    before, after = parse_time(renamed.json.get("created_at")), parse_time(fetched.get("created_at"))
    if before != after:
        ctx.fail(got, f"created_at kept by updates ({renamed.json.get('created_at')})", f"{fetched.get('created_at')}")


def _delete(ctx: Context, cid: str) -> None:
    a = ctx.profile.api
    deleted = ctx.send(a.delete(cid))
    if ctx.check_status(deleted, why="(the SDK parses a JSON body: any JSON object)"):
        if not isinstance(deleted.json, dict):
            ctx.fail(deleted, "a JSON object body (the SDK parses the answer)", deleted.excerpt())
    hello = api.message("Are you still there?")
    for request in (a.get(cid), a.update(cid, {"name": "gone?", "settings": None}), a.delete(cid),
                    a.add_message(cid, hello), a.events(cid)):
        gone = ctx.send(request)
        if gone.status != 404:
            ctx.fail(gone, "404: the conversation was deleted", gone.excerpt())
        else:
            for problem in detail_text(gone):
                ctx.fail(gone, "a 404 in the error envelope", problem)


def _agent(ctx: Context) -> None:
    """A conversation for an agent id Noxus may not know: 200 bound to it (the mock: any agent id is one of
    the caller's), or 404 `{"detail": ...}` (Noxus: an unknown agent)."""
    a = ctx.profile.api
    agent = api.new_id()
    created = ctx.send(a.create({"name": "conformance agent", "settings": None}, assistant_id=agent))
    if created.status == 404:
        for problem in detail_text(created):
            ctx.fail(created, "an unknown agent's 404 in the error envelope", problem)
        return
    if not ctx.check_status(created, why="(or 404: an agent the server does not know)"):
        return
    body = ctx.require_object(created)
    schema_problems(ctx, created, "Conversation", body)
    bound = body.get("assistant_id", body.get("agent_id"))
    if bound != agent:
        ctx.fail(created, f"the conversation bound to the agent: assistant_id {agent!r}", f"{bound!r}")
    if isinstance(body.get("id"), str):
        a.discard(ctx, body["id"])


def add_message(ctx: Context) -> None:
    """Add message answers the whole conversation: the user message and the reply last, a new etag; get agrees."""
    a = ctx.profile.api
    conversation = a.require_conversation(ctx, "conformance add message")
    cid = conversation["id"]
    text = "Hello from the conformance suite: please answer in one short sentence."
    answered, body = a.reply(ctx, cid, text)
    schema_problems(ctx, answered, "Conversation", body)
    for problem in api.turn_problems(api.messages_of(conversation), api.messages_of(body), text):
        ctx.fail(answered, "the conversation with the user message and the reply as its last two messages", problem)
    etag = body.get("etag")
    if etag is None or etag == conversation.get("etag"):
        ctx.fail(answered, f"a new etag once a message is added (it was {conversation.get('etag')!r})",
                 f"etag {etag!r}")
    before, after = parse_time(conversation.get("last_updated_at")), parse_time(body.get("last_updated_at"))
    if before is not None and after is not None and after < before:
        ctx.fail(answered, "last_updated_at not earlier than before the message "
                 f"({conversation.get('last_updated_at')})", f"last_updated_at {body.get('last_updated_at')}")
    got, fetched = a.read(ctx, cid)
    ids = [m.get("id") for m in api.messages_of(body)]
    if [m.get("id") for m in api.messages_of(fetched)] != ids or fetched.get("etag") != etag:
        ctx.fail(got, f"get to return the messages {ids} and etag {etag!r} add message answered",
                 f"messages {[m.get('id') for m in api.messages_of(fetched)]}, etag {fetched.get('etag')!r}")
    a.discard(ctx, cid)


def _response_text(chat_message: dict[str, Any]) -> str:
    """The text of a ChatMessage's pydantic-ai `response` messages, concatenated."""
    texts = []
    for model_message in chat_message.get("parts") or []:
        if isinstance(model_message, dict) and model_message.get("kind") == "response":
            texts += [part.get("content") for part in model_message.get("parts") or []
                      if isinstance(part, dict) and part.get("part_kind") == "text"]
    return "".join(text for text in texts if isinstance(text, str))


def chat(ctx: Context) -> None:
    """`chat` answers exactly this turn's reply (not the first turn's), stored as the conversation's last message."""
    a = ctx.profile.api
    conversation = a.require_conversation(ctx, "conformance chat")
    cid = conversation["id"]
    _, first = a.reply(ctx, cid, "First turn: please answer in one short sentence.")
    earlier = api.messages_of(first)
    text = "Second turn, through chat: please answer in one short sentence."
    answered = ctx.send(a.chat(cid, api.message(text)))
    ctx.require_status(answered)
    body = ctx.require_object(answered)
    schema_problems(ctx, answered, "ChatMessage", body)
    responses = [m for m in body.get("parts") or [] if isinstance(m, dict) and m.get("kind") == "response"]
    if not responses:
        ctx.fail(answered, "at least one pydantic-ai message of kind 'response' (the reply)", answered.excerpt())
    got, stored = a.read(ctx, cid)
    messages = api.messages_of(stored)
    for problem in api.turn_problems(earlier, messages, text):
        ctx.fail(got, "after chat: the first turn's messages, then the user message sent and the reply", problem)
    if len(messages) == len(earlier) + 2:
        reply, answer = api.reply_text(messages[-1]), _response_text(body)
        if reply != answer:
            first_reply = api.reply_text(earlier[-1]) if earlier else None
            hint = " (it holds the first turn's reply too)" if first_reply and first_reply in answer else ""
            ctx.fail(answered, f"the chat answer's text to be exactly the stored reply: {api.clip(str(reply))!r}",
                     f"{api.clip(answer)!r}{hint}")
    if stored.get("etag") in (None, first.get("etag")):
        ctx.fail(got, f"a new etag after chat (it was {first.get('etag')!r})", f"etag {stored.get('etag')!r}")
    a.discard(ctx, cid)


def json_stream(ctx: Context) -> None:
    """A reply streamed with format=json: envelopes parse and match, `done` ends it, the text is the stored reply."""
    check_streamed_turn(ctx, ctx.profile.json_streaming)
