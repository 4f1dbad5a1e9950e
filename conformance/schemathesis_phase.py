"""Schemathesis over the family spec: examples, coverage, fuzzing and stateful (OpenAPI links) phases.

The schemathesis engine is driven programmatically with a config built here (base URL, auth headers,
seed, max examples; no cache, no example database, nothing written to disk). Each schemathesis check
becomes one `CheckResult` named `schemathesis:<check>`; its failures carry the request that failed as
a curl line (for stateful failures, every step of the chain).

Checks left out, because a faithful implementation of these contracts can fail them:
- `ignored_auth`: also sends made-up keys and expects 401, but a server may accept any well-formed
  key (mocks do); the `auth` check covers a missing key instead.
- `object_level_authorization`: needs schemathesis identities; `tenant_isolation` covers it.
- `unsupported_method`, `allow_header_conformance`: the contracts say nothing about 405 or `Allow`.
- `max_response_time` stays off (its default): no time limit is part of the contract.

Event streams: for OpenAPI before 3.2, schemathesis reads the `schema` of a `text/event-stream`
response as the schema of *each event* (`{"data", "event", "id"}`), while these contracts write it as
a string describing the whole stream and put one event's payload schema in `x-stream-chunk-schema`.
So the document handed to schemathesis (`schemathesis_document`) describes each event as an object
with string `data`; the payloads themselves (JSON chunks, `[DONE]`) are validated by the `sse_stream`
check, which knows the stream protocol (chunk types the schema does not list, the sentinel, order).

Undocumented choices: where a contract records a choice for behaviour the vendor does not document
(VirtuousAI: how crystallize refuses, how an undecodable cursor is refused), a server that chose
otherwise answers with a status or body the spec does not declare; `Profile.tolerated` names such
answers, and their status_code_conformance / response_schema_conformance reports are dropped (and
counted in a note), as the family's own checks accept them too.

Verdicts (`Severity`): a server that accepts input the contract refuses (`negative_data_rejection`,
`missing_required_header`), or refuses malformed input with another 4xx than the contract declares
(`status_code_conformance` on a negative case), differs from the vendor where a correct client cannot
tell: a warning. A `501 Not Implemented` in the body the contract declares for it is the server saying
it does not support the operation: unsupported (a 501 in another body is a failure). Everything else
(a 5xx, a wrong status or body for a valid request, ...) is a failure. The family's own checks
(`limits`, `error_envelope`) fail on the limits and rules the vendor documents.

Bounded requests: schemathesis sends with `requests`; a `before_call` hook gives each request a
response hook that reads the body itself, within the request's deadline (the whole exchange, not just
between reads) and no further than the body cap, so an endless or trickling body ends as a network
error rather than hanging the run. The run's budget (`run_deadline`) stops the engine and is reported
with the operation it was testing; Ctrl-C ends the phase as interrupted (never as a pass).

Reproducibility: the seed goes to schemathesis (and through it to hypothesis); no example database,
no cache, one worker, so two runs with one seed against a deterministic server send the same requests.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.findings import CheckResult, Failure, Severity, status_of
from conformance.http import DEFAULT_MAX_BODY, Exchange, build_curl
from conformance.profiles.base import Profile

PREFIX = "schemathesis:"

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "use_after_free",
    "ensure_resource_availability",
)
EXCLUDED = ("ignored_auth", "object_level_authorization", "unsupported_method", "allow_header_conformance")
# Engine errors that mean the server misbehaved (as opposed to the generator giving up on a schema).
SERVER_ERROR_TITLES = ("Network Error", "Server Unavailable", "Unresponsive Operation", "Unhealthy API")
NETWORK_CHECK = "network"
# Checks whose reports a profile may excuse as a faithful, undocumented alternative (`Profile.tolerated`).
TOLERANT_CHECKS = ("status_code_conformance", "response_schema_conformance")
MAX_FAILURES_PER_CHECK = 10
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Checks that report input the server accepted although the contract refuses it: warnings.
LENIENCY_CHECKS = ("negative_data_rejection", "missing_required_header")
NOT_IMPLEMENTED = 501


@dataclass
class _Tally:
    runs: int = 0
    failures: dict[tuple[str, str], Failure] = field(default_factory=dict)
    omitted: int = 0


@dataclass
class PhaseOutcome:
    results: list[CheckResult]
    requests: int
    notes: list[str]
    duration: float = 0.0
    interrupted: bool = False
    # The operation under test when the run's budget was spent, or None.
    out_of_time: str | None = None


def build_config(
    profile: Profile, *, base_url: str, api_key: str, seed: int, max_examples: int, timeout: float, workers: int
) -> Any:
    from schemathesis.config import SchemathesisConfig

    checks = [name for name in CHECKS if name not in profile.schemathesis_excluded_checks]
    extra: dict[str, Any] = {}
    if profile.schemathesis_parameters():
        extra["parameters"] = profile.schemathesis_parameters()
    if profile.schemathesis_operations():
        extra["operations"] = profile.schemathesis_operations()
    return SchemathesisConfig.from_dict(
        {
            **extra,
            "seed": seed,
            "suppress-health-check": ["all"],
            "cache": {"enabled": False},
            "base-url": base_url.rstrip("/"),
            "headers": profile.auth_headers(api_key),
            "workers": workers,
            "request-timeout": timeout,
            # A target that times out is reported at once, not retried (each retry would cost a timeout).
            "request-retries": 0,
            # Wait out 429 + Retry-After (the contract declares 429 on every operation).
            "rate-limit": "auto",
            "warnings": False,
            "generation": {"max-examples": max_examples, "database": "none", "allow-x00": False},
            "checks": {name: {"enabled": name in checks} for name in (*CHECKS, *EXCLUDED)},
            "phases": {
                "coverage": {"unexpected-methods": [], "generate-duplicate-query-parameters": False},
            },
        }
    )


# What schemathesis validates each event of an event stream against (see the module docstring).
SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}


def schemathesis_document(profile: Profile) -> dict[str, Any]:
    """The family's normalised spec, with every event-stream response described per event."""
    document = copy.deepcopy(profile.spec.normalised)
    for item in document.get("paths", {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            for response in responses.values():
                media = response.get("content", {}).get("text/event-stream") if isinstance(response, dict) else None
                if isinstance(media, dict) and "itemSchema" not in media:
                    media["schema"] = copy.deepcopy(SSE_EVENT_SCHEMA)
    return document


def run_schemathesis(
    profile: Profile,
    *,
    base_url: str,
    secrets: dict[str, str],
    api_key: str,
    seed: int,
    max_examples: int,
    timeout: float,
    workers: int = 1,
    progress: Callable[[str], None] = lambda line: None,
    on_requests: Callable[[str, int], None] = lambda operation, count: None,
    run_deadline: float | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> PhaseOutcome:
    """Run every schemathesis phase against `base_url`; one result per schemathesis check.

    `on_requests(operation, count)` hears of requests as they are made; `run_deadline` (a
    `time.perf_counter()` value) is when the run's budget is spent."""
    import schemathesis
    from schemathesis.engine import events, from_schema

    config = build_config(
        profile,
        base_url=base_url,
        api_key=api_key,
        seed=seed,
        max_examples=max_examples,
        timeout=timeout,
        workers=workers,
    )
    schema = schemathesis.openapi.from_dict(schemathesis_document(profile), config=config)
    enabled = [name for name in CHECKS if name not in profile.schemathesis_excluded_checks]
    tallies = {name: _Tally() for name in (*enabled, NETWORK_CHECK)}
    notes: list[str] = []
    dropped: list[str] = []
    tolerated: list[str] = []
    engine_failures: list[Failure] = []
    requests = 0
    phase_requests = 0
    phase_failures = 0
    phase_started = time.perf_counter()
    started = time.perf_counter()
    interrupted = False
    out_of_time: str | None = None
    current = "(starting)"

    limits = BoundedReads(timeout=timeout, max_body=max_body, run_deadline=run_deadline)

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        limits.before_call(context, case, kwargs)

    schemathesis.hook("before_call")(before_call)
    cleanup = ExitStack()
    cleanup.enter_context(bounded_sessions(limits))
    stream = from_schema(schema).execute()
    try:
        for event in stream:
            if run_deadline is not None and out_of_time is None and time.perf_counter() >= run_deadline:
                out_of_time = f"schemathesis testing {current}"
                stream.stop()
            if isinstance(event, events.Interrupted):
                interrupted = out_of_time is None  # not the stop asked for when the budget ran out
            elif isinstance(event, (events.ScenarioStarted, events.FuzzScenarioStarted)):
                current = getattr(event, "label", None) or current
            elif isinstance(event, events.PhaseStarted):
                phase_requests, phase_failures, phase_started = 0, 0, time.perf_counter()
                if event.phase.is_enabled and event.phase.name.value in PHASES:
                    progress(f"schemathesis {event.phase.name.value} phase: started")
            elif isinstance(event, events.PhaseFinished):
                name = event.phase.name.value
                if name in PHASES:
                    if event.status.value == "skip":
                        reason = event.phase.skip_reason.value if event.phase.skip_reason else "skipped"
                        progress(f"schemathesis {name} phase: skipped ({reason})")
                    else:
                        elapsed = time.perf_counter() - phase_started
                        progress(
                            f"schemathesis {name} phase: finished in {elapsed:.1f}s, "
                            f"{phase_requests} requests, {phase_failures} findings"
                        )
            elif isinstance(event, events.ScenarioFinished):
                count = len(event.recorder.interactions)
                requests += count
                phase_requests += count
                if count:
                    on_requests(event.recorder.label, count)
                phase_failures += _collect(event.recorder, tallies, secrets, profile, dropped, tolerated)
            elif isinstance(event, events.NonFatalError):
                if out_of_time is not None:
                    continue  # requests cut short by the spent budget say nothing about the server
                if event.info.title in SERVER_ERROR_TITLES:
                    tally = tallies[NETWORK_CHECK]
                    tally.runs += 1
                    key = (event.label, event.info.title)
                    if key not in tally.failures:
                        tally.failures[key] = Failure(
                            PREFIX + NETWORK_CHECK,
                            event.label,
                            "an HTTP response to every request, in full within the request timeout",
                            _flatten(event.info.message),
                            "",
                        )
                else:
                    notes.append(
                        f"schemathesis could not test {event.label}: {event.info.title}: "
                        f"{_flatten(event.info.message)}"
                    )
            elif isinstance(event, events.FatalError):
                engine_failures.append(
                    Failure(
                        PREFIX + "engine",
                        "(all operations)",
                        "schemathesis to run its phases",
                        f"it stopped: {type(event.exception).__name__}: {_flatten(str(event.exception))}",
                        "",
                    )
                )
            elif isinstance(event, events.EngineFinished) and event.stop_reason.value == "server_unavailable":
                tally = tallies[NETWORK_CHECK]
                tally.failures.setdefault(
                    ("(all operations)", "server unavailable"),
                    Failure(
                        PREFIX + NETWORK_CHECK,
                        "(all operations)",
                        "the server to keep answering",
                        "it stopped responding; schemathesis gave up",
                        "",
                    ),
                )
    except KeyboardInterrupt:  # outside the engine's own handler (between events)
        interrupted = True
    finally:
        schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.unregister(before_call)
        cleanup.close()

    if tolerated:
        notes.append(
            f"{len(tolerated)} schemathesis report(s) of an undeclared status or body dropped: an undocumented "
            f"choice made differently from the contract (e.g. {tolerated[0]})"
        )
    if dropped:
        notes.append(
            f"{len(dropped)} positive_data_acceptance report(s) dropped: the request was not valid after all, "
            f"or the family may rightly refuse it (e.g. {dropped[0]})"
        )
    duration = time.perf_counter() - started
    results = []
    for name, tally in tallies.items():
        failures = list(tally.failures.values())
        # The phase runs every check over the same requests: its time is reported once, for the phase.
        results.append(
            CheckResult(
                name=PREFIX + name,
                status=status_of(failures, skipped=not (tally.runs or name == NETWORK_CHECK)),
                description=_DESCRIPTIONS.get(name, ""),
                failures=failures,
                reason=None if failures or tally.runs or name == NETWORK_CHECK
                else "no request this check applies to was made",
                omitted=tally.omitted,
            )
        )
    if engine_failures:
        results.append(
            CheckResult(PREFIX + "engine", status_of(engine_failures), "Schemathesis runs to completion.",
                        engine_failures)
        )
    return PhaseOutcome(
        results=results,
        requests=requests,
        notes=notes,
        duration=duration,
        interrupted=interrupted,
        out_of_time=out_of_time,
    )


class BoundedReads:
    """Deadlines and a body cap for the requests schemathesis sends (see the module docstring).

    `before_call` (a global schemathesis hook for the phase) keeps each request's timeout within the
    run's budget; `read_body` (a `requests` response hook on every session schemathesis makes, its
    probes' included, see `bounded_sessions`) reads the body within the request's deadline."""

    def __init__(self, *, timeout: float, max_body: int, run_deadline: float | None) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self.run_deadline = run_deadline

    def before_call(self, context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        if self.run_deadline is not None:
            left = self.run_deadline - time.perf_counter()
            kwargs["timeout"] = max(0.001, min(self.timeout, left))

    def read_body(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        if "text/event-stream" in response.headers.get("Content-Type", ""):
            return response  # schemathesis reads streams itself, within the request timeout in total
        now = time.perf_counter()
        deadline = now + max(0.0, self.timeout - response.elapsed.total_seconds())
        if self.run_deadline is not None:
            deadline = min(deadline, self.run_deadline)
        response._content = read_bounded(response, deadline, self.max_body, self.timeout)
        response._content_consumed = True
        return response


@contextmanager
def bounded_sessions(limits: BoundedReads) -> Iterator[None]:
    """While the phase runs, every `requests` session schemathesis makes reads bodies through `limits`.

    Schemathesis builds its sessions with `schemathesis.engine.context.make_session` (its probes call it
    at send time too) and offers no transport setting for a body cap or a whole-response deadline, so
    that factory is wrapped here and restored afterwards."""
    from schemathesis.engine import context as engine_context

    original = getattr(engine_context, "make_session", None)
    if original is None:  # a schemathesis without the factory: its requests keep only its own timeout
        yield
        return

    def make_session(config: Any, *, operation: Any = None) -> Any:
        session = original(config, operation=operation)
        session.hooks["response"].append(limits.read_body)
        return session

    setattr(engine_context, "make_session", make_session)  # noqa: B010 - typed or not, by schemathesis version
    try:
        yield
    finally:
        setattr(engine_context, "make_session", original)  # noqa: B010


def read_bounded(response: Any, deadline: float, max_body: int, timeout: float) -> bytes:
    """The body of a `requests` response read in chunks, by `deadline` and at most `max_body` bytes;
    otherwise a `requests` error (a read timeout, or a broken body) that schemathesis reports as a
    network error (schemathesis parses a timeout's message, so it is worded as urllib3 words it)."""
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    def timed_out() -> requests.exceptions.ReadTimeout:
        response.close()
        cause = ReadTimeoutError(None, response.url, f"Read timed out. (read timeout={timeout:g})")  # type: ignore[arg-type]
        return requests.exceptions.ReadTimeout(cause, request=response.request)

    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_body:
                response.close()
                raise requests.exceptions.ChunkedEncodingError(
                    f"the response body grew past {max_body} bytes", request=response.request
                )
            if time.perf_counter() > deadline:
                raise timed_out()
    except ReadTimeoutError as exc:
        raise timed_out() from exc
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(str(exc), request=response.request) from exc
    return b"".join(chunks)


def _collect(
    recorder: Any,
    tallies: dict[str, _Tally],
    secrets: dict[str, str],
    profile: Profile,
    dropped: list[str],
    tolerated: list[str],
) -> int:
    """Fold one scenario's check outcomes into the tallies; returns how many new failures it had."""
    new = 0
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            tally = tallies.get(node.name)
            if tally is None:
                continue
            tally.runs += 1
            info = node.failure_info
            if info is None:
                continue
            failure = info.failure
            failing_id = failure.case_id or case_id
            if node.name == "positive_data_acceptance":
                problem = _not_really_valid(recorder, failing_id, profile)
                if problem:
                    dropped.append(problem)
                    continue
            if node.name in TOLERANT_CHECKS:
                reason = _tolerated(recorder, failing_id, profile)
                if reason:
                    tolerated.append(reason)
                    continue
            operation = failure.operation or _operation_of(recorder, case_id)
            key = (operation, f"{failure.title}\n{_first_lines(failure.message)}")
            if key in tally.failures:
                continue
            if len(tally.failures) >= MAX_FAILURES_PER_CHECK:
                tally.omitted += 1
                continue
            steps = [step.case_id for step in info.steps] or [failing_id]
            if failing_id not in steps:
                steps.append(failing_id)
            tally.failures[key] = Failure(
                check=PREFIX + node.name,
                operation=operation,
                expected=_expectation(node.name, failure.title, failure.message),
                actual=_actual(recorder, failing_id),
                curl="\n".join(filter(None, (_curl(recorder, step, secrets) for step in steps))),
                severity=severity_of(node.name, _status(recorder, failing_id), _is_negative(recorder, failing_id),
                                     declared=_declared_not_implemented(recorder, failing_id, profile)),
            )
            new += 1
    return new


def severity_of(check: str, status: int | None, negative: bool, *, declared: bool = True) -> Severity:
    """How much a schemathesis finding weighs (see the module docstring): a 501 in the body the contract
    declares for it (`declared`) is the server saying it does not implement the operation; input accepted
    though the contract refuses it, or malformed input refused with another 4xx than declared, a difference
    a correct client cannot tell; the rest a failure."""
    if status == NOT_IMPLEMENTED and declared:
        return Severity.UNSUPPORTED
    if check in LENIENCY_CHECKS:
        return Severity.WARNING
    if check == "status_code_conformance" and negative and status is not None and 400 <= status < 500:
        return Severity.WARNING
    return Severity.FAILURE


def _status(recorder: Any, case_id: str) -> int | None:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return None
    return int(interaction.response.status_code)


def _declared_not_implemented(recorder: Any, case_id: str, profile: Profile) -> bool:
    """Whether a case's 501 answer is the contract's "not implemented" one (`Profile.not_implemented_problems`);
    True when there is no such answer to judge."""
    node, interaction = recorder.cases.get(case_id), recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    if node is None or response is None or response.status_code != NOT_IMPLEMENTED:
        return True
    operation = profile.spec.operation_at(node.value.operation.method, node.value.operation.path)
    if operation is None:
        return True
    headers = httpx.Headers([(name, value) for name, values in response.headers.items() for value in values])
    text = response.content.decode("utf-8", errors="replace") if response.content else ""
    exchange = Exchange(request=profile.request(operation.operation_id), identity=None, url=interaction.request.uri,
                        status=response.status_code, headers=headers, text=text, curl="", elapsed=0.0)
    return profile.not_implemented_problems(exchange) == []


def _is_negative(recorder: Any, case_id: str) -> bool:
    """Whether schemathesis generated the case to break the contract (a negative case)."""
    node = recorder.cases.get(case_id)
    meta = getattr(node.value, "meta", None) if node is not None else None
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return getattr(mode, "value", None) == "negative"


def _not_really_valid(recorder: Any, case_id: str, profile: Profile) -> str | None:
    """Why a request schemathesis took for valid may rightly be refused, or None if it may not.

    Its body may break the contract after all (schemathesis ignores `propertyNames`, for one), hold
    numbers past the range JSON parsers must handle (RFC 8259 section 6 lets them refuse those), or the
    family may say why it can be refused (`Profile.why_refusable`: a made-up value for a parameter that
    must name something that exists, a rule the schema cannot express).
    """
    from schemathesis.core import NotSet

    node = recorder.cases.get(case_id)
    if node is None:
        return None
    case = node.value
    body = None if isinstance(case.body, NotSet) else case.body
    operation = profile.spec.operation_at(case.operation.method, case.operation.path)
    operation_id = operation.operation_id if operation else None
    reason = profile.why_refusable(operation_id, dict(case.query or {}), body)
    if reason:
        return f"{case.operation.label}: {reason}"
    if body is None:
        return None
    if _has_huge_number(case.body):
        return f"{case.operation.label}: a number beyond +-2**53 in the body"
    if operation is None:
        return None
    problems = profile.spec.request_body_problems(operation.operation_id, case.body, limit=1)
    return f"{operation.operation_id}: {problems[0]}" if problems else None


def _tolerated(recorder: Any, case_id: str, profile: Profile) -> str | None:
    """Why the answer to a case, though the spec does not declare it, is a faithful alternative
    (`Profile.tolerated`), or None."""
    from schemathesis.core import NotSet

    node, interaction = recorder.cases.get(case_id), recorder.interactions.get(case_id)
    if node is None or interaction is None or interaction.response is None:
        return None
    case, response = node.value, interaction.response
    operation = profile.spec.operation_at(case.operation.method, case.operation.path)
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        return None
    query = {} if isinstance(case.query, NotSet) else dict(case.query or {})
    reason = profile.tolerated(operation.operation_id if operation else None, response.status_code, query, body)
    return f"{case.operation.label} answered {response.status_code}: {reason}" if reason else None


def _expectation(check: str, title: str, message: str | None) -> str:
    """The check's rule, then what schemathesis saw ("Response violates schema: ...")."""
    detail = _flatten(message)
    return f"{_DESCRIPTIONS.get(check, check)} Found: {title}{': ' + detail if detail else ''}"


def _has_huge_number(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_huge_number(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_huge_number(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > 2**53


def _operation_of(recorder: Any, case_id: str) -> str:
    node = recorder.cases.get(case_id)
    return node.value.operation.label if node is not None else recorder.label


def _actual(recorder: Any, case_id: str) -> str:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return "(no response recorded)"
    response = interaction.response
    text = response.content.decode("utf-8", errors="replace") if response.content else ""
    text = text if len(text) <= 300 else text[:300] + "..."
    return f"{response.status_code} {text}".strip()


def _curl(recorder: Any, case_id: str, secrets: dict[str, str]) -> str:
    interaction = recorder.interactions.get(case_id)
    if interaction is None:
        return ""
    request = interaction.request
    headers = [(name, value) for name, values in request.headers.items() for value in values]
    return build_curl(request.method, request.uri, headers, request.body, secrets)


def _flatten(text: str | None, limit: int = 600) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    flat = " / ".join(lines)
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _first_lines(text: str | None) -> str:
    return "\n".join((text or "").splitlines()[:3])


_DESCRIPTIONS = {
    "not_a_server_error": "No request makes the server fail with a 5xx.",
    "status_code_conformance": "Every status code returned is one the spec declares for the operation.",
    "content_type_conformance": "Every response has a content type the spec declares.",
    "response_schema_conformance": "Every response body matches the spec's schema for its status.",
    "response_headers_conformance": "Response headers match what the spec declares.",
    "negative_data_rejection": "Requests that violate the spec are rejected with a 4xx.",
    "positive_data_acceptance": "Requests the spec allows are accepted.",
    "missing_required_header": "Requests missing a required header are rejected.",
    "use_after_free": "A deleted resource is 404 afterwards (stateful).",
    "ensure_resource_availability": "A created resource is available through the linked operations (stateful).",
    NETWORK_CHECK: "Every request gets an HTTP response (no resets, no timeouts).",
}
