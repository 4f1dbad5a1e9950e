"""The PostHog Max profile: requests, fixtures, probes and limits for the shared checks, and its own checks.

Everything here is read from `openapi/posthog-max.yaml` and PostHog's runtime behaviour (the research
sheet behind the contract); where the contract records a choice PostHog leaves open (400 for a `limit`
below 1, which PostHog silently replaces; what a cancelled run leaves stored), the other answer passes.

Runs cost: a fixture is a conversation with one run (a conversation is only found once its first run
gave it a title), and conversations cannot be deleted through these operations, so the profile makes
one fixture per key and run and lends it to every check (`create_fixture`); checks that change it
(runs, queue, cancel, append) only add to it, and the checks comparing it before and after do so within
themselves.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from conformance.context import CheckContext, CheckFunction
from conformance.dialects.drf import DRFErrors, field_error, hog_error
from conformance.dialects.fastapi import detail_text
from conformance.profiles.base import ProfileOption
from conformance.profiles.posthog import api
from conformance.profiles.posthog.api import OTHER_UNKNOWN_ID, UNKNOWN_ID, new_id
from conformance.profiles.posthog.append import append_message
from conformance.profiles.posthog.cancel import cancel
from conformance.profiles.posthog.listing import pagination
from conformance.profiles.posthog.queue import queue
from conformance.profiles.posthog.runs import runs
from conformance.profiles.posthog.stream import RunStreaming
from conformance.vocabulary import NOT_JSON, PRIMARY, AnswerRule, Exchange, Fixture, LimitCase, Probe, Reason, Request

CURRENT_PROJECT = "@current"


def view_error(*texts: str) -> AnswerRule:
    """A body the view answers itself: `{"error": "<text>"}` (one of `texts` when given)."""

    def problems(exchange: Exchange) -> list[str]:
        body = exchange.json
        error = body.get("error") if isinstance(body, dict) else None
        if body is NOT_JSON or not isinstance(error, str):
            return [f'a body {{"error": "..."}}: {exchange.excerpt()}']
        if texts and error not in texts:
            return [f"error {' or '.join(repr(text) for text in texts)}, got {error!r}"]
        return []

    return problems


# The queue item view's own 404 is a bare `{"detail": "<text>"}`, the same body rule as FastAPI's text errors.
detail_only = detail_text


def either(*rules: AnswerRule) -> AnswerRule:
    """An answer that satisfies one of `rules` (an unknown project gets exceptions-hog's body where the
    view would answer its own)."""

    def problems(exchange: Exchange) -> list[str]:
        found: list[str] = []
        for rule in rules:
            broken = rule(exchange)
            if not broken:
                return []
            found += broken
        return found[:1]

    return problems


class PostHogProfile(DRFErrors):
    name = "posthog"
    title = "PostHog Max (PostHog AI) conversations"
    spec_file = "posthog-max.yaml"
    error_schema: ClassVar[str] = "DrfError"

    options: ClassVar[tuple[ProfileOption, ...]] = (
        ProfileOption("project_id", "the project (environment) id in the paths, an integer or @current",
                      CURRENT_PROJECT),
        ProfileOption("settle_seconds", "how long to wait for a conversation to become idle after its stream",
                      str(api.SETTLE_SECONDS)),
    )
    checks: ClassVar[tuple[str | CheckFunction, ...]] = (
        "auth", "tenant_isolation", "error_envelope", "limits", "sse_stream",
    )
    extra_checks: ClassVar[tuple[CheckFunction, ...]] = (runs, queue, cancel, append_message, pagination)

    def __init__(self) -> None:
        # One fixture per client and key (see the module docstring).
        self._fixtures: dict[tuple[int, str | None], Fixture] = {}

    @property
    def project_id(self) -> str:
        return self.option("project_id")

    @property
    def settle_seconds(self) -> float:
        try:
            return max(0.0, float(self.option("settle_seconds")))
        except ValueError:
            return api.SETTLE_SECONDS

    def max_length(self, component: str) -> int:
        return int(self.spec.raw["components"]["schemas"][component]["properties"]["content"]["maxLength"])

    # --- requests -------------------------------------------------------------------------------

    @cached_property
    def api(self) -> api.MaxAPI:
        return api.MaxAPI(self)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def probe(self) -> Request:
        return self.api.retrieve(UNKNOWN_ID)

    # --- fixture --------------------------------------------------------------------------------

    def create_fixture(self, ctx: CheckContext[Any], *, identity: str | None = PRIMARY) -> Fixture:
        """A conversation of `identity` with one run behind it (idle, titled), made once per run."""
        key = (id(ctx.client), identity)
        if key not in self._fixtures:
            cid = new_id()
            self.api.run_message(ctx, cid, "Hello from the conformance suite", identity=identity)
            _, body = self.api.require_settled(ctx, cid, identity=identity, why="after its first run")
            self._fixtures[key] = Fixture({"conversation": cid}, body, identity)
        return self._fixtures[key]

    def snapshot(self, ctx: CheckContext[Any], fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        a, who, cid = self.api, fixture.identity, fixture["conversation"]
        reads = {"the conversation": ctx.send(a.retrieve(cid), identity=who),
                 "its queue": ctx.send(a.queue(cid), identity=who)}
        return {label: (exchange, exchange.json if exchange.status == 200 else exchange.status)
                for label, exchange in reads.items()}

    def _conversation_operations(self, cid: str) -> dict[str, Request]:
        a = self.api
        return {
            "retrieve": a.retrieve(cid),
            "append": a.append(cid, "appended by someone else"),
            "cancel": a.cancel(cid),
            "queue": a.queue(cid),
            "enqueue": a.enqueue(cid, "queued by someone else"),
            "update_queued": a.update_queued(cid, OTHER_UNKNOWN_ID, "edited by someone else"),
            "delete_queued": a.delete_queued(cid, OTHER_UNKNOWN_ID),
            "clear": a.clear_queue(cid),
        }

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        a = self.api
        cid = fixture["conversation"]
        return [a.list_conversations(), a.create(new_id(), "made without a key"), a.create(cid, None),
                *self._conversation_operations(cid).values()]

    def foreign_probes(self, fixture: Fixture) -> list[Probe]:
        """Key 2 on key 1's conversation, as PostHog answers another organisation's user: not listed,
        404 `Not found.` (retrieve, append, cancel), 400 `{"error"}` (create), 403 `{"error"}` (queue)."""
        a, cid = self.api, fixture["conversation"]
        # With an explicit project id, key 2 may have no access to key 1's project at all: 403 then too.
        denied: tuple[int, ...] = () if self.project_id == CURRENT_PROJECT else (403,)
        other_users = "Cannot access other users' conversations"

        def not_listed(exchange: Exchange) -> list[str]:
            results = exchange.json.get("results") if isinstance(exchange.json, dict) else None
            listed = [item.get("id") for item in results or [] if isinstance(item, dict)]
            return [f"the other key's conversation {cid} listed"] if cid in listed else []

        operations = self._conversation_operations(cid)
        hog_not_found = either(hog_error(("not_found",)), hog_error(("permission_denied",)))
        queue_refusal = either(view_error(other_users), hog_error(("permission_denied", "not_found")))
        probes = [
            Probe(a.list_conversations(limit=1000), (200, *denied), "(a list without the other key's conversation)",
                  either(not_listed, hog_error(("permission_denied",)))),
            Probe(a.create(cid, None), (400, *denied), "(another user's conversation)",
                  either(view_error(other_users), hog_error(("permission_denied",)))),
            Probe(a.create(cid, "Let me in"), (400, *denied), "(another user's conversation)",
                  either(view_error(other_users), hog_error(("permission_denied",)))),
        ]
        for name in ("retrieve", "append", "cancel"):
            probes.append(Probe(operations[name], (404, *denied), "(another user's conversation)", hog_not_found))
        for name in ("queue", "enqueue", "update_queued", "delete_queued", "clear"):
            probes.append(Probe(operations[name], 403, "(another user's conversation)", queue_refusal))
        return probes

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        a, cid, reject = self.api, fixture["conversation"], self.rejection
        unknown = self._conversation_operations(UNKNOWN_ID)
        conversation_missing = either(view_error("Conversation not found"), hog_error(("not_found",)))
        valid = {"content": "hello", "conversation": new_id(), "trace_id": new_id()}

        def without(key: str) -> dict[str, Any]:
            return {name: value for name, value in valid.items() if name != key}

        blank = hog_error(("blank",), attr="content", types=("validation_error",))
        return [
            *(self.not_found(unknown[name]) for name in ("retrieve", "append", "cancel")),
            self.not_found(a.retrieve("not-a-uuid"), "(a conversation id that is no UUID names nothing)"),
            *(Probe(unknown[name], 404, "(unknown conversation)", conversation_missing)
              for name in ("queue", "enqueue", "clear", "update_queued", "delete_queued")),
            *(Probe(request, 404, "(unknown queued message)", detail_only)
              for request in (a.update_queued(cid, OTHER_UNKNOWN_ID, "x"), a.delete_queued(cid, OTHER_UNKNOWN_ID))),
            Probe(a.create(new_id(), None), 400, "(content null for a conversation that does not exist)",
                  view_error()),
            Probe(a.create(cid, None), 400, "(content null on an idle conversation: nothing to resume)",
                  hog_error(("invalid_input",), attr=None)),
            reject(a.create_body(without("content")), ("body", "content"), Reason.MISSING),
            Probe(a.create_body({**valid, "content": ""}), 400, "(blank content)", blank),
            reject(a.create_body(without("conversation")), ("body", "conversation"), Reason.MISSING),
            reject(a.create_body({**valid, "conversation": "conversation-7"}), ("body", "conversation"),
                   Reason.NOT_A_UUID),
            reject(a.create_body(without("trace_id")), ("body", "trace_id"), Reason.MISSING),
            reject(a.create_body({**valid, "trace_id": "trace-7"}), ("body", "trace_id"), Reason.NOT_A_UUID),
            reject(a.create_body({**valid, "agent_mode": "daydreaming"}), ("body", "agent_mode"), Reason.NOT_ONE_OF),
            reject(a.request(api.CREATE, content=b'{"content": "unterminated'), ("body",), Reason.MALFORMED_JSON),
            reject(a.request(api.APPEND, json={}, conversation=cid), ("body", "content"), Reason.MISSING),
            Probe(a.append(cid, ""), 400, "(blank content)", blank),
            reject(a.request(api.ENQUEUE, json={}, conversation=cid), ("body", "content"), Reason.MISSING),
            Probe(a.enqueue(cid, ""), 400, "(blank content)", blank),
            reject(a.enqueue(cid, "fine", agent_mode="daydreaming"), ("body", "agent_mode"), Reason.NOT_ONE_OF),
        ]

    def limit_cases(self, fixture: Fixture) -> list[LimitCase]:
        a, cid = self.api, fixture["conversation"]
        most_message, most_append, most_queued = (self.max_length(name) for name in
                                                  ("Message", "MessageMinimal", "QueueMessageInput"))
        too_long = field_error(("body", "content"), (Reason.TOO_LONG,))
        # The accepted side of a message's and a queued message's limit is not sent: a message at the
        # limit is a run (AI credits), and a queued one would wait in the fixture's queue.
        return [
            LimitCase(f"a message of {most_message + 1} characters (limit {most_message})",
                      a.create(new_id(), "x" * (most_message + 1)), False, problems=too_long),
            LimitCase(f"a queued message of {most_queued + 1} characters (limit {most_queued})",
                      a.enqueue(cid, "x" * (most_queued + 1)), False, on_fixture=True, problems=too_long),
            LimitCase(f"an appended message of {most_append + 1} characters (limit {most_append})",
                      a.append(cid, "x" * (most_append + 1)), False, on_fixture=True, problems=too_long),
            LimitCase(f"an appended message of {most_append} characters (limit {most_append})",
                      a.append(cid, "x" * most_append), True, on_fixture=True),
        ]

    @cached_property
    def streaming(self) -> RunStreaming:
        return RunStreaming(self)

    # --- schemathesis ---------------------------------------------------------------------------

    def schemathesis_parameters(self) -> dict[str, Any]:
        return {"path.project_id": self.project_id}

    def schemathesis_operations(self) -> list[dict[str, Any]]:
        # Every accepted create is a run (AI credits, throttled), and schemathesis' examples and stateful
        # phases send valid ones whatever the generation mode: create is left to the family's own checks
        # (the stream's grammar and schemas, and every error create answers, in error_envelope and limits).
        return [{"include-operation-id": api.CREATE, "enabled": False}]

    def why_refusable(self, operation_id: str | None, query: dict[str, Any], body: Any) -> str | None:
        if operation_id != api.LIST:
            return "a made-up conversation or queued message id (it must name one of the key's)"
        return None


PROFILE = PostHogProfile()
