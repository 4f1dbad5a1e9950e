"""PostHog Max's conversation operations as `Request`s (by operationId, with the run's `--project-id`),
the steps every PostHog check takes (run a message to its end, wait for the conversation to settle,
read it back), and `Context`, the check context the family's checks take.

Runs are what a real PostHog charges for (AI credits) and throttles (10 a minute on free plans), so the
steps here never start one on their own: a check that needs a run calls `start_run`/`run_message`, and
a 429 is waited out as its detail says ("Please try again in 42 seconds"), a bounded number of times.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from conformance.context import CheckContext
from conformance.http import LiveStream, RunOutOfTime
from conformance.vocabulary import NO_BODY, PRIMARY, Exchange, Request

if TYPE_CHECKING:
    from conformance.profiles.posthog.profile import PostHogProfile

# What the family's checks take: a check context carrying the PostHog profile.
Context = CheckContext["PostHogProfile"]

LIST = "environments_conversations_list"
CREATE = "environments_conversations_create"
RETRIEVE = "environments_conversations_retrieve"
APPEND = "environments_conversations_append_message_create"
CANCEL = "environments_conversations_cancel_partial_update"
QUEUE = "environments_conversations_queue_retrieve"
ENQUEUE = "environments_conversations_queue_create"
QUEUE_UPDATE = "environments_conversations_queue_partial_update"
QUEUE_DELETE = "environments_conversations_queue_destroy"
QUEUE_CLEAR = "environments_conversations_queue_clear_create"

# Ids nothing has (version-4 UUIDs of zeros and ones).
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
OTHER_UNKNOWN_ID = "11111111-1111-4111-8111-111111111111"

# A throttled run (429) is tried again this many times, waiting as its detail says (capped).
THROTTLE_RETRIES = 3
MAX_THROTTLE_WAIT = 90.0
# How long the suite waits for a conversation to settle (status idle, title set, queue drained) after
# its stream ended: PostHog finishes a run's bookkeeping shortly after the last event.
SETTLE_SECONDS = 30.0
SETTLE_POLL = 0.25


def throttle_wait(exchange: Exchange) -> float | None:
    """Seconds a 429 asks to wait ("... try again in 42 seconds", "in 2 minutes"), from its
    Retry-After header or its detail; None if the answer is no 429."""
    if exchange.status != 429:
        return None
    header = exchange.headers.get("retry-after")
    if header and header.strip().isdigit():
        return float(header)
    detail = exchange.json.get("detail") if isinstance(exchange.json, dict) else None
    found = re.search(r"in (\d+) (second|minute)", detail) if isinstance(detail, str) else None
    if found is None:
        return MAX_THROTTLE_WAIT
    return float(found.group(1)) * (60 if found.group(2) == "minute" else 1)


def new_id() -> str:
    return str(uuid.uuid4())


class MaxAPI:
    """Builds the family's requests; the steps shared by its checks take a check context."""

    def __init__(self, profile: PostHogProfile) -> None:
        self.profile = profile

    def request(self, operation_id: str, *, params: list[tuple[str, str]] | None = None, json: Any = NO_BODY,
                content: bytes | None = None, **path: str) -> Request:
        return self.profile.request(operation_id, params=params, json=json, content=content, headers=None,
                                    project_id=self.profile.option("project_id"), **path)

    # --- requests -------------------------------------------------------------------------------

    def list_conversations(self, *, limit: int | None = None, offset: int | None = None) -> Request:
        params = [(name, str(value)) for name, value in (("limit", limit), ("offset", offset)) if value is not None]
        return self.request(LIST, params=params)

    def create(self, conversation: str, content: str | None, *, trace_id: str | None = None, **extra: Any) -> Request:
        body = {"content": content, "conversation": conversation, "trace_id": trace_id or new_id(), **extra}
        return self.request(CREATE, json=body)

    def create_body(self, body: Any) -> Request:
        return self.request(CREATE, json=body)

    def retrieve(self, conversation: str) -> Request:
        return self.request(RETRIEVE, conversation=conversation)

    def append(self, conversation: str, content: Any) -> Request:
        return self.request(APPEND, json={"content": content}, conversation=conversation)

    def cancel(self, conversation: str) -> Request:
        return self.request(CANCEL, json={}, conversation=conversation)

    def queue(self, conversation: str) -> Request:
        return self.request(QUEUE, conversation=conversation)

    def enqueue(self, conversation: str, content: Any, **extra: Any) -> Request:
        return self.request(ENQUEUE, json={"content": content, **extra}, conversation=conversation)

    def update_queued(self, conversation: str, queue_id: str, content: Any) -> Request:
        return self.request(QUEUE_UPDATE, json={"content": content}, conversation=conversation, queue_id=queue_id)

    def delete_queued(self, conversation: str, queue_id: str) -> Request:
        return self.request(QUEUE_DELETE, conversation=conversation, queue_id=queue_id)

    def clear_queue(self, conversation: str) -> Request:
        return self.request(QUEUE_CLEAR, json={}, conversation=conversation)

    # --- steps ----------------------------------------------------------------------------------

    @contextmanager
    def start_run(self, ctx: CheckContext[Any], request: Request, *,
                  identity: str | None = PRIMARY) -> Iterator[LiveStream]:
        """Send a create (a run, or a replay) and hand over its stream, after waiting out 429s as their
        detail says (`THROTTLE_RETRIES` times, never past the run's time budget)."""
        for attempt in range(THROTTLE_RETRIES + 1):
            with ctx.stream(request, identity=identity) as live:
                wait = throttle_wait(live.exchange)
                if wait is None or attempt == THROTTLE_RETRIES:
                    yield live
                    return
            deadline = ctx.client.run_deadline
            wait = min(wait, MAX_THROTTLE_WAIT)
            if deadline is not None and time.perf_counter() + wait >= deadline:
                raise RunOutOfTime(request.label + " (waiting out a 429)", live.exchange.url)
            time.sleep(wait)

    def run_message(self, ctx: CheckContext[Any], conversation: str, content: str, *,
                    identity: str | None = PRIMARY) -> LiveStream:
        """Send a message and read its run to the end without judging it (the stream checks do); a run
        that does not stream is a failure that ends the check."""
        with self.start_run(ctx, self.create(conversation, content), identity=identity) as live:
            if live.status != 200:
                ctx.fail(live.exchange, "200 and the run's event stream", live.exchange.excerpt())
                ctx.abort()
            live.read_all()
        return live

    def settled(self, ctx: CheckContext[Any], conversation: str, ready: Callable[[dict[str, Any]], bool], *,
                identity: str | None = PRIMARY, seconds: float | None = None) -> tuple[Exchange, dict | None]:
        """Retrieve the conversation until `ready` holds (polling, at most `seconds`, by default the
        profile's `--settle-seconds`): the last answer and its body (None if it never was a conversation)."""
        deadline = time.perf_counter() + (self.profile.settle_seconds if seconds is None else seconds)
        while True:
            got = ctx.send(self.retrieve(conversation), identity=identity)
            body = got.json if got.status == 200 and isinstance(got.json, dict) else None
            if (body is not None and ready(body)) or time.perf_counter() >= deadline:
                return got, body
            time.sleep(SETTLE_POLL)

    def require_settled(self, ctx: CheckContext[Any], conversation: str, *, identity: str | None = PRIMARY,
                        why: str = "after its run") -> tuple[Exchange, dict[str, Any]]:
        """The conversation once it is idle (and titled, so retrieve finds it); a conversation that stays
        missing or busy is a failure that ends the check."""
        got, body = self.settled(ctx, conversation, idle, identity=identity)
        if body is None:
            ctx.fail(got, f"200 and the conversation {why} (it has a title once its first run ended)",
                     got.excerpt())
            ctx.abort()
        if not idle(body):
            ctx.fail(got, f"status 'idle' {why} (within {self.profile.settle_seconds:g}s of the stream's end)",
                     f"status {body.get('status')!r}")
            ctx.abort()
        return got, body

    def conversation_ids(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> list[str]:
        """Every listed conversation id of the key (one big page); failures end the check."""
        listing = ctx.send(self.list_conversations(limit=1000), identity=identity)
        ctx.require_status(listing)
        body = ctx.require_object(listing)
        results = body.get("results")
        return [item["id"] for item in results or [] if isinstance(item, dict) and isinstance(item.get("id"), str)]

    def queued(self, ctx: CheckContext[Any], conversation: str, *,
               identity: str | None = PRIMARY) -> tuple[Exchange, list[dict[str, Any]] | None]:
        """The conversation's queue (None if it could not be read as one)."""
        got = ctx.send(self.queue(conversation), identity=identity)
        messages = got.json.get("messages") if got.status == 200 and isinstance(got.json, dict) else None
        return got, messages if isinstance(messages, list) else None


def idle(conversation: dict[str, Any]) -> bool:
    return conversation.get("status") == "idle"


def messages_of(conversation: dict[str, Any] | None) -> list[dict[str, Any]]:
    messages = conversation.get("messages") if isinstance(conversation, dict) else None
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def kinds(messages: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """(type, content) of each message, for comparing conversations."""
    return [(m.get("type"), m.get("content")) for m in messages]



def long_prompt(words: int = 300) -> str:
    """A request for a long answer, padded to about `words` words (only its length matters): its run
    outlasts the requests a check makes in the middle of it."""
    head = "Please write a long and detailed answer, at least five hundred words, about the text that follows."
    filler = "the quick brown fox jumps over the lazy dog while the suite watches this run".split()
    return head + " " + " ".join(filler[n % len(filler)] for n in range(words))
