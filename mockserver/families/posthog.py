"""PostHog Max (PostHog AI) conversations family, mounted at ``/posthog``.

Behaviour follows ``openapi/posthog-max.yaml`` and the choices written in its descriptions: DRF's
``{"type", "code", "detail", "attr"}`` errors (``mockserver.drf_errors``) beside the bodies PostHog's views
return themselves, limit/offset pages with absolute ``next``/``previous`` URLs, a create call that *is* the
stream of a run (named SSE events, ``mockserver.sse``), a status that moves on its own, and a per-conversation
queue of at most two messages drained when a run ends.

State: per API key (the key is its user and its own organisation) and project id (``@current`` is project
``1``). A conversation id is global, as PostHog's primary key is: the store's owner index (the
``conversation-owners`` collection of no tenant: no API key is empty) says whose it is, for every worker;
a reset key's entries are removed from it.

A run is a background task, not the response: it writes its events to a ``RunLog`` (``mockserver.run_log``)
that any number of streams follow from its start (the create call's, and every ``content: null``
reconnect), so a client that goes away stops nothing. Whether a run completes or is cancelled is decided
once by ``RunRegistry``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import typing as t
import uuid
from dataclasses import dataclass

from connexion import request
from starlette.datastructures import URL
from starlette.responses import Response

from mockserver.auth import current_tenant
from mockserver.drf_errors import DrfError, invalid_input, not_found, render_error
from mockserver.family import Family
from mockserver.ids import iso_now, new_uuid
from mockserver.paging import offset_page
from mockserver.quota import QuotaExceeded
from mockserver.responses import JSONResponse, json_response
from mockserver.run_log import NAMED_EVENTS, RunLog, RunLogs, RunTasks
from mockserver.runs import RunRegistry
from mockserver.sse import NamedEvent, delta_delay, event_stream
from mockserver.store import Collection, Store

CURRENT_PROJECT = "1"
"""The project ``@current`` stands for."""
MAX_PROJECT_DIGITS = 19
MAX_QUEUE_MESSAGES = 2
DEFAULT_LIMIT = 100
TITLE_LENGTH = 60
WORDS_PER_CHUNK = 3
MAX_CHUNKS = 40
"""Chunks of one reply at most: each chunk repeats the text so far, so a long reply is cut into fewer, longer
steps, and a run costs at most ``MAX_CHUNKS`` times the reply in memory and on the wire."""
REPLY_PREAMBLE = "This is the mock PostHog AI's answer, made from your message. You asked: "
OTHER_USERS = "Cannot access other users' conversations"
NON_EXISTENT = "Cannot stream from non-existent conversation"
IDLE_CONTINUE = "Cannot continue streaming from an idle conversation"
BUSY = "Cannot resume streaming with a new message"
QUEUE_FULL = "Only two messages can be queued at a time."
CONVERSATION_FIELDS = ("id", "status", "title", "created_at", "updated_at", "type", "is_internal",
                       "slack_thread_key", "slack_workspace_domain")


def _conversations(project: str) -> str:
    return f"conversations/{project}"


def _listed(project: str) -> str:
    """Index of the project's titled conversations, least recently updated first."""
    return f"listed/{project}"


def _messages_of(conversation_id: str) -> str:
    return f"messages/{conversation_id}"


def _queue_of(conversation_id: str) -> str:
    return f"queue/{conversation_id}"


def project_of(project_id: str) -> str:
    """The project a path's ``project_id`` names (``@current``, also percent-encoded, is project 1); 404
    unless it is one."""
    if project_id in ("@current", "%40current"):
        return CURRENT_PROJECT
    if project_id.isascii() and project_id.isdigit() and len(project_id) <= MAX_PROJECT_DIGITS:
        return str(int(project_id))
    raise not_found("Project not found.")


def conversation_uuid(value: str) -> str | None:
    """A path's conversation id in canonical form, or None if it is not a UUID (then it names nothing)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def user_of(tenant: str) -> dict[str, t.Any]:
    """The ``UserBasic`` of an API key, stable and without revealing the key."""
    digest = hashlib.sha256(tenant.encode()).hexdigest()
    return {"id": int(digest[:8], 16) % 10_000_000 + 1, "uuid": str(uuid.UUID(digest[:32])),
            "distinct_id": digest[32:56], "first_name": "Mock", "last_name": "User",
            "email": f"user-{digest[:12]}@example.com", "is_email_verified": True, "hedgehog_config": None,
            "role_at_organization": "engineering"}


def reply_to(text: str) -> str:
    """The mock assistant's answer: deterministic, longer for longer input."""
    return REPLY_PREAMBLE + " ".join(text.split())


def cumulative_chunks(reply: str) -> list[str]:
    """The reply as PostHog streams it: each chunk the whole text so far, the last one the reply."""
    words = re.findall(r"\S+\s*", reply)
    step = max(WORDS_PER_CHUNK, -(-len(words) // MAX_CHUNKS))
    chunks = ["".join(words[:end]).rstrip() for end in range(step, len(words), step)]
    return [chunk for chunk in chunks if chunk] + [reply]


def title_for(text: str) -> str:
    """The title a conversation gets from its first message."""
    return " ".join(text.split())[:TITLE_LENGTH] or "New chat"


def queue_time() -> str:
    """``timezone.now().isoformat()`` (``+00:00``, not ``Z``), as PostHog stamps queued messages."""
    now = iso_now()
    return now[:-1] + "+00:00" if now.endswith("Z") else now


def human_message(content: str, trace_id: str, ui_context: t.Any = None) -> dict[str, t.Any]:
    """A stored human message (pydantic's ``model_dump``: every key present)."""
    return {"content": content, "id": new_uuid(), "parent_tool_call_id": None, "trace_id": trace_id,
            "type": "human", "ui_context": ui_context}


def ai_message(content: str, message_id: str | None = None) -> dict[str, t.Any]:
    return {"content": content, "id": message_id or new_uuid(), "meta": None, "parent_tool_call_id": None,
            "tool_calls": None, "type": "ai"}


def streamed(message: dict[str, t.Any]) -> dict[str, t.Any]:
    """A message as the stream sends it (``model_dump_json(exclude_none=True)``)."""
    return {key: value for key, value in message.items() if value is not None}


def view_error(status: int, body: dict[str, t.Any]) -> JSONResponse:
    """A body PostHog's view returns itself, outside the exceptions-hog envelope."""
    return json_response(body, status=status)


def _clean_content(value: str, attr: str = "content") -> str:
    """DRF ``CharField``'s cleaning: whitespace trimmed; blank or holding NUL refused."""
    if "\x00" in value:
        raise invalid_input("Null characters are not allowed.", attr, "null_characters_not_allowed")
    value = value.strip()
    if not value:
        raise invalid_input("This field may not be blank.", attr, "blank")
    return value


def _is_conversation_event(event: NamedEvent) -> bool:
    """The ``conversation`` event, which only the call that created the conversation gets (not a replay)."""
    return event.name == "conversation"


@dataclass(frozen=True)
class Turn:
    """What a run answers: the human message and the request's options."""

    content: str
    trace_id: str
    ui_context: t.Any = None


# ---------------------------------------------------------------------------------------------
# Handlers


OWNERLESS, OWNERS = "", "conversation-owners"
"""Where the owner of every conversation id is kept: a tenant no API key can be (keys are not empty)."""


class ConversationHandlers:
    """The 10 conversation operations over a ``Store``; runs are tasks tracked in ``runs`` and ``logs``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.runs = RunRegistry(store)
        self.logs = RunLogs[NamedEvent](store, NAMED_EVENTS)
        self.tasks = RunTasks()
        store.on_clear(self._forget_owners)

    def _forget_owners(self, tenant: str | None) -> None:
        """The store forgot ``tenant``'s data (every tenant's, with None, owners included): its conversation
        ids are free again."""
        if tenant is None:
            return
        owners = self.store.find(OWNERLESS, OWNERS)
        if owners is not None:
            for conversation_id in [record[2] for record in owners if record[0] == tenant]:
                owners.remove(conversation_id)

    def operations(self) -> dict[str, t.Callable]:
        return {
            "environments_conversations_list": self.list_conversations,
            "environments_conversations_create": self.create,
            "environments_conversations_retrieve": self.retrieve,
            "environments_conversations_append_message_create": self.append_message,
            "environments_conversations_cancel_partial_update": self.cancel,
            "environments_conversations_queue_retrieve": self.get_queue,
            "environments_conversations_queue_create": self.enqueue,
            "environments_conversations_queue_partial_update": self.update_queued,
            "environments_conversations_queue_destroy": self.delete_queued,
            "environments_conversations_queue_clear_create": self.clear_queue,
        }

    # --- state helpers ---------------------------------------------------------------------------

    def owner(self, conversation_id: str) -> tuple[str, str] | None:
        """Whose conversation this is: (API key, project), or None. Conversation ids are global."""
        found = self.store.read(OWNERLESS, OWNERS).get(conversation_id)
        return None if found is None else (found[0], found[1])

    def _own(self, tenant: str, project: str, conversation: str) -> dict[str, t.Any] | None:
        """The key's conversation in the project (titled or not), or None."""
        return self.store.read(tenant, _conversations(project)).get(conversation)

    def _own_or_404(self, tenant: str, project: str, conversation_id: str) -> dict[str, t.Any]:
        found = conversation_uuid(conversation_id)
        record = self._own(tenant, project, found) if found else None
        if record is None:
            raise not_found()
        return record

    def _save(self, tenant: str, project: str, conversation_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        """Update the conversation (``updated_at`` moves, as Django's ``auto_now`` does) and its place in lists."""
        conversations = self.store.collection(tenant, _conversations(project), cursor_keys=False)
        record = {**(conversations.get(conversation_id) or {}), **changes, "updated_at": iso_now()}
        conversations.replace(conversation_id, record)
        listed = self.store.collection(tenant, _listed(project), index=True, cursor_keys=False)
        if record["title"] is not None:
            if conversation_id in listed:
                listed.replace(conversation_id, record)
                listed.touch(conversation_id)
            else:
                listed.insert(conversation_id, record)
        return record

    def _public(self, tenant: str, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """``ConversationMinimal``."""
        minimal = {name: record[name] for name in CONVERSATION_FIELDS}
        minimal["user"] = user_of(tenant)
        return minimal

    def _queue(self, tenant: str, conversation_id: str) -> Collection:
        return self.store.collection(tenant, _queue_of(conversation_id), cursor_keys=False)

    def _queue_body(self, tenant: str, conversation_id: str) -> JSONResponse:
        messages = list(self.store.read(tenant, _queue_of(conversation_id)))
        return json_response({"messages": messages, "max_queue_messages": MAX_QUEUE_MESSAGES})

    def _queue_access(self, tenant: str, project: str, conversation_id: str) -> str | JSONResponse:
        """The conversation's canonical id if the key may use its queue, else PostHog's view error."""
        found = conversation_uuid(conversation_id)
        owner = self.owner(found) if found else None
        if found is None or owner is None:
            return view_error(404, {"error": "Conversation not found"})
        if owner != (tenant, project):
            return view_error(403, {"error": OTHER_USERS})
        return found

    # --- list, retrieve --------------------------------------------------------------------------

    async def list_conversations(self, project_id: str, limit: int = DEFAULT_LIMIT, offset: int = 0) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        page = offset_page(self.store.read(tenant, _listed(project)), offset=offset, limit=limit, descending=True)
        url = URL(str(request.url))
        next_url = str(url.include_query_params(limit=limit, offset=page.next_offset)) \
            if page.next_offset is not None else None
        previous_url = None
        if offset > 0:
            previous_offset = offset - limit
            previous_url = str(url.include_query_params(limit=limit).remove_query_params("offset")) \
                if previous_offset <= 0 else str(url.include_query_params(limit=limit, offset=previous_offset))
        return json_response({"count": page.total, "next": next_url, "previous": previous_url,
                              "results": [self._public(tenant, record) for record in page.records]})

    async def retrieve(self, project_id: str, conversation: str) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        record = self._own_or_404(tenant, project, conversation)
        if record["title"] is None:
            raise not_found()
        messages = list(self.store.read(tenant, _messages_of(record["id"])))
        return json_response({**self._public(tenant, record), "messages": messages, "has_unsupported_content": False,
                              "agent_mode": record["agent_mode"], "is_sandbox": False, "pending_approvals": []})

    # --- create and stream -----------------------------------------------------------------------

    async def create(self, project_id: str, body: dict) -> Response:
        tenant, project = current_tenant(), project_of(project_id)
        content = body["content"]
        if content is not None:
            content = _clean_content(content)
        conversation_id, trace_id = str(uuid.UUID(body["conversation"])), str(uuid.UUID(body["trace_id"]))
        owner = self.owner(conversation_id)
        if owner is not None and owner != (tenant, project):
            return view_error(400, {"error": OTHER_USERS})
        if owner is None and content is None:
            return view_error(400, {"error": NON_EXISTENT})
        agent_mode = body.get("agent_mode")
        is_new = owner is None
        if is_new:
            self.store.check_room(tenant, 3, 4096 + 2 * len(content or "") + len(reply_to(content or "")))
            now = iso_now()
            record = {"id": conversation_id, "status": "idle", "title": None, "created_at": now, "updated_at": now,
                      "type": "deep_research" if agent_mode == "research" else "assistant", "is_internal": False,
                      "slack_thread_key": None, "slack_workspace_domain": None, "agent_mode": agent_mode}
            self.store.collection(tenant, _conversations(project), cursor_keys=False).insert(conversation_id, record)
            self.store.collection(OWNERLESS, OWNERS, index=True, cursor_keys=False).insert(
                conversation_id, [tenant, project, conversation_id])
        record = self._own(tenant, project, conversation_id) or {}
        if content is not None:
            if record["status"] != "idle":
                raise DrfError(409, "server_error", "conflict", BUSY)
            if not is_new:
                self.store.check_room(tenant, 2, 2048 + 2 * len(content) + len(reply_to(content)))
            changes: dict[str, t.Any] = {}
            if agent_mode is not None:
                changes["agent_mode"] = agent_mode
            if record["type"] == "deep_research" and agent_mode != "research" and body.get("resume_payload") is None:
                changes["type"] = "assistant"
            log = self._start_run(tenant, project, conversation_id, Turn(content, trace_id,
                                                                        body.get("ui_context")), changes, is_new)
            return event_stream(log.follow())
        active = self.logs.current(tenant, conversation_id)
        if active is None:  # idle (the mock has no approvals for a ``resume_payload`` to resume)
            raise invalid_input(IDLE_CONTINUE)
        return event_stream(active.follow(skip=_is_conversation_event))

    def _start_run(self, tenant: str, project: str, conversation_id: str, turn: Turn, changes: dict[str, t.Any],
                   is_new: bool) -> RunLog[NamedEvent]:
        """Claim the conversation for a run, store its human message and start its task (all in one step)."""
        if self.runs.active(tenant, conversation_id) is not None:  # unreachable: status is in_progress then
            raise DrfError(409, "server_error", "conflict", BUSY)
        human = human_message(turn.content, turn.trace_id, turn.ui_context)
        self.store.collection(tenant, _messages_of(conversation_id), cursor_keys=False).insert(human["id"], human)
        run = self.runs.start(tenant, conversation_id, new_uuid())
        record = self._save(tenant, project, conversation_id, {**changes, "status": "in_progress"})
        log = self.logs.open(run)
        if is_new:
            log.add(NamedEvent("conversation", json.dumps(self._public(tenant, record))))
        log.add(NamedEvent("message", streamed(human)))
        self.tasks.spawn(self._drive(tenant, project, conversation_id, turn, log))
        return log

    async def _drive(self, tenant: str, project: str, conversation_id: str, turn: Turn,
                     log: RunLog[NamedEvent]) -> None:
        """The run: cumulative ai chunks, then (unless cancelled meanwhile) the final message, the title,
        the status back to idle, and the next queued message's run."""
        run = log.run
        reply = reply_to(turn.content)
        try:
            delay = delta_delay()
            for chunk in cumulative_chunks(reply):
                await asyncio.sleep(delay)
                if not run.active:
                    return
                log.add(NamedEvent("message", {"content": chunk, "type": "ai"}))
            if not self.runs.finish(run):
                return
            final = ai_message(reply)
            record = self._own(tenant, project, conversation_id)
            if record is None:
                return
            try:
                self.store.collection(tenant, _messages_of(conversation_id), cursor_keys=False).insert(
                    final["id"], final)
            except QuotaExceeded:
                final = {"content": "Oops! Something went wrong. Please try again.", "id": new_uuid(),
                         "type": "ai/failure"}
            changes: dict[str, t.Any] = {"status": "idle"}
            if record["title"] is None:  # from the conversation's first message (a cancelled run's included)
                first = next(iter(self.store.read(tenant, _messages_of(conversation_id))), None)
                changes["title"] = title_for(first["content"] if first else turn.content)
            queued = self._pop_queued(tenant, conversation_id)
            self._save(tenant, project, conversation_id, changes)
            if queued is not None:
                try:
                    self._start_run(tenant, project, conversation_id, queued, {}, False)
                except QuotaExceeded:  # no room left for the queued message: the queue is dropped
                    self.store.drop(tenant, _queue_of(conversation_id))
            log.add(NamedEvent("message", streamed(final)))
        finally:
            self.logs.close(log)

    def _pop_queued(self, tenant: str, conversation_id: str) -> Turn | None:
        queue = self.store.find(tenant, _queue_of(conversation_id))
        first = next(iter(queue), None) if queue is not None else None
        if queue is None or first is None:
            return None
        queue.remove(first["id"])
        return Turn(first["content"], new_uuid(), first["ui_context"])

    # --- append, cancel --------------------------------------------------------------------------

    async def append_message(self, project_id: str, conversation: str, body: dict) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        record = self._own_or_404(tenant, project, conversation)
        message = ai_message(_clean_content(body["content"]))
        self.store.collection(tenant, _messages_of(record["id"]), cursor_keys=False).insert(message["id"], message)
        return json_response({"id": message["id"]}, status=201)

    async def cancel(self, project_id: str, conversation: str) -> Response:
        tenant, project = current_tenant(), project_of(project_id)
        record = self._own_or_404(tenant, project, conversation)
        conversation_id = record["id"]
        if record["status"] == "idle":
            return Response(status_code=204)
        self.store.drop(tenant, _queue_of(conversation_id))
        self.runs.cancel(tenant, conversation_id)
        self.logs.end_current(tenant, conversation_id)
        self._save(tenant, project, conversation_id, {"status": "idle"})
        return Response(status_code=204)

    # --- queue -----------------------------------------------------------------------------------

    async def get_queue(self, project_id: str, conversation: str) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        return access if isinstance(access, JSONResponse) else self._queue_body(tenant, access)

    async def enqueue(self, project_id: str, conversation: str, body: dict) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        if isinstance(access, JSONResponse):
            return access
        content = _clean_content(body["content"])
        queue = self._queue(tenant, access)
        if len(queue) >= MAX_QUEUE_MESSAGES:
            return view_error(409, {"error": "queue_full", "detail": QUEUE_FULL})
        message = {"id": new_uuid(), "content": content, "created_at": queue_time(),
                   "contextual_tools": body.get("contextual_tools"), "ui_context": body.get("ui_context"),
                   "billing_context": body.get("billing_context"), "agent_mode": body.get("agent_mode"),
                   "session_id": request.headers.get("x-posthog-session-id")}
        queue.insert(message["id"], message)
        return self._queue_body(tenant, access)

    def _queued_or_404(self, tenant: str, conversation_id: str, queue_id: str) -> dict[str, t.Any] | None:
        queue = self.store.find(tenant, _queue_of(conversation_id))
        return queue.get(queue_id) if queue is not None else None

    async def update_queued(self, project_id: str, conversation: str, queue_id: str, body: dict) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        if isinstance(access, JSONResponse):
            return access
        content = _clean_content(body["content"])
        message = self._queued_or_404(tenant, access, queue_id)
        if message is None:
            return view_error(404, {"detail": "Queue message not found."})
        self._queue(tenant, access).replace(queue_id, {**message, "content": content})
        return self._queue_body(tenant, access)

    async def delete_queued(self, project_id: str, conversation: str, queue_id: str) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        if isinstance(access, JSONResponse):
            return access
        if self._queued_or_404(tenant, access, queue_id) is None:
            return view_error(404, {"detail": "Queue message not found."})
        self._queue(tenant, access).remove(queue_id)
        return self._queue_body(tenant, access)

    async def clear_queue(self, project_id: str, conversation: str) -> JSONResponse:
        tenant, project = current_tenant(), project_of(project_id)
        access = self._queue_access(tenant, project, conversation)
        if isinstance(access, JSONResponse):
            return access
        self.store.drop(tenant, _queue_of(access))
        return self._queue_body(tenant, access)


FAMILY = Family(
    name="posthog",
    spec_file="posthog-max.yaml",
    base_path="/posthog",
    create_handlers=lambda store: ConversationHandlers(store).operations(),
    render_error=render_error,
    description="PostHog Max (PostHog AI) conversations",
    optional_trailing_slash=True,
)
