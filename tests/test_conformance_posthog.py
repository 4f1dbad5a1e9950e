"""The conformance suite's PostHog Max profile against real server processes: it passes the mock, catches
every broken variant naming the right check, passes every faithful one; a run is read over a real
connection event by event while the server still produces it; the run stream's grammar and the
family's own option (`--project-id`) are checked on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.http import PRIMARY, Identity, RecordingClient
from conformance.profiles.posthog import PROFILE
from conformance.profiles.posthog.api import throttle_wait
from conformance.profiles.posthog.stream import MaxEvents
from conformance.sse import Frame
from conformance.vocabulary import Exchange, Request
from mockserver.sse import DELAY_VARIABLE as STREAM_DELAY_VARIABLE
from tests.posthog_variants import BROKEN, FAITHFUL
from tests.servers import ROOT, running_server

FAMILY_PATH = "/posthog"
CHECKS = {"auth", "tenant_isolation", "error_envelope", "limits", "sse_stream", "runs", "queue", "cancel",
          "append_message", "pagination"}


def run_suite(base_url: str, *extra: str, family: str = "posthog", timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "conformance", "run", family, "--base-url", base_url,
            "--api-key", "key-one", "--api-key-2", "key-two", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def failed_checks(report: dict) -> set[str]:
    return {failure["check"] for failure in report["failures"]}


def test_suite_passes_against_the_mock(mock_server: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite(mock_server + FAMILY_PATH, "--json", str(report_path), "--seed", "1", "--max-examples", "25")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert report["family"] == "posthog" and report["failures"] == []
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert {name: checks.get(name) for name in CHECKS} == {name: "passed" for name in CHECKS}
    assert checks.get("schemathesis:not_a_server_error") == "passed"


def run_suite_against_variant(variant: str, report_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Serve one variant of the mock and run a short, seeded suite against it, writing a JSON report.

    The variant streams with 30 ms between chunks (a reply is at most 40 chunks: a long run lasts ~1.2 s,
    enough for the requests a check makes in its middle on a loaded machine), and the suite waits at most
    1 s for a conversation to settle (the mock settles as its stream ends; a stuck one is then told fast)."""
    os.environ[STREAM_DELAY_VARIABLE] = "0.03"
    try:
        with running_server("-m", "tests.posthog_variants", variant, "--port", "0") as url:
            return run_suite(url + FAMILY_PATH, "--json", str(report_path), "--max-examples", "3", "--seed", "3",
                             "--settle-seconds", "1", *extra)
    finally:
        os.environ.pop(STREAM_DELAY_VARIABLE, None)


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_suite_catches_broken_variant(variant: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite_against_variant(variant, report_path)
    assert result.returncode == 1, f"{variant} not caught:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads(report_path.read_text())
    assert BROKEN[variant].caught_by in failed_checks(report), f"{variant}: failed checks {failed_checks(report)}"
    for failure in report["failures"]:
        assert failure["operation"] and failure["expected"]
        assert "key-one" not in failure["curl"] and "key-two" not in failure["curl"]


@pytest.mark.parametrize("variant", sorted(FAITHFUL))
def test_suite_passes_faithful_variant(variant: str, tmp_path: Path) -> None:
    """Choices PostHog leaves open, made differently from the mock, are not violations."""
    result = run_suite_against_variant(variant, tmp_path / "report.json")
    assert result.returncode == 0, f"{variant} flagged:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"


def test_project_id_is_a_posthog_option_only(mock_server: str) -> None:
    """`--project-id` reaches every PostHog path (and a project the key has never used is its own, empty
    one); given to a family without that option it is a usage error."""
    profile = PROFILE.configured({"project_id": "7"})
    assert profile.api.retrieve("abc").path == "/api/environments/7/conversations/abc/"
    assert PROFILE.api.list_conversations().path.startswith("/api/environments/%40current/")
    with pytest.raises(ValueError):
        PROFILE.configured({"no_such_option": "1"})
    refused = run_suite(mock_server + "/openai/v1", "--project-id", "7", family="openai", timeout=60)
    assert refused.returncode == 2 and "--project-id" in refused.stderr


def test_a_run_is_read_event_by_event_while_the_server_streams_it(mock_server: str) -> None:
    """The suite's client hands over each event as it arrives: when the first ai chunk is in hand the
    stream has not ended; the rest arrives later, and the grammar holds for the whole stream."""
    client = RecordingClient(mock_server + FAMILY_PATH, identities={PRIMARY: Identity("stream-key", "$API_KEY")},
                             auth_headers=PROFILE.auth_headers)
    api, protocol = PROFILE.api, MaxEvents(PROFILE.spec, "environments_conversations_create")
    conversation = "2f9a3a52-6a8e-4d0f-9a55-1b1f0c3e8d41"
    try:
        with client.stream(api.create(conversation, "Tell me a long story. " + "word " * 120)) as live:
            assert live.status == 200 and live.headers["content-type"].startswith("text/event-stream")
            frames = live.frames()
            first_ai = next(frame for frame in frames if protocol.is_text(frame))
            assert not live.exchange.ended
            rest = list(frames)
        assert live.exchange.ended and rest and rest[-1].at > first_ai.at
        assert [frame.event for frame in live.exchange.frames[:2]] == ["conversation", "message"]
        assert protocol.sequence_problems(live.exchange.frames) == []
        stored = client.send(api.retrieve(conversation)).json
        assert stored["messages"][-1]["content"] == protocol.text(live.exchange.frames)
        assert "stream-key" not in live.exchange.curl and "$API_KEY" in live.exchange.curl
    finally:
        client.close()


def _frames(*events: tuple[str, object]) -> list[Frame]:
    return [Frame(json.dumps(data), name, index=n) for n, (name, data) in enumerate(events)]


HUMAN = ("message", {"type": "human", "content": "Hi", "id": "h1", "trace_id": "t1"})
CONVERSATION = ("conversation", {"id": "c1"})


def chunk(text: str) -> tuple[str, object]:
    return "message", {"type": "ai", "content": text}


def final(text: str) -> tuple[str, object]:
    return "message", {"type": "ai", "content": text, "id": "a1"}


def test_run_stream_grammar() -> None:
    protocol = MaxEvents(PROFILE.spec, "environments_conversations_create")
    good = _frames(CONVERSATION, HUMAN, chunk("Hello"), chunk("Hello there"), final("Hello there"))
    assert protocol.sequence_problems(good) == []
    assert protocol.text(good) == "Hello there" and protocol.reply_id(good) == "a1"
    assert protocol.sequence_problems(_frames(HUMAN, chunk("Hello"), final("Hello"))) == []  # an existing one
    broken = {
        "not cumulative": _frames(HUMAN, chunk("Hello"), chunk(" there"), final("Hello there")),
        "final differs": _frames(HUMAN, chunk("Hello"), final("Goodbye")),
        "no human echo first": _frames(chunk("Hello"), HUMAN, final("Hello")),
        "conversation not first": _frames(HUMAN, CONVERSATION, chunk("Hello"), final("Hello")),
        "no final message": _frames(HUMAN, chunk("Hello")),
        "a failure": _frames(HUMAN, ("message", {"type": "ai/failure", "content": "Oops", "id": "f"})),
        "a generation error": _frames(HUMAN, final("Hi"), ("status", {"type": "generation_error"})),
    }
    for name, frames in broken.items():
        assert protocol.sequence_problems(frames), name
    assert protocol.frame_problems(Frame("{}", "sandbox"), lambda chunk: []), "an event name outside the contract"
    assert protocol.frame_problems(Frame('{"type": "ai"}', "message"), lambda chunk: []), "ai without content"
    assert protocol.frame_problems(Frame('{"type": "ai", "content": "x"}', "message"), lambda chunk: []) == []


def test_a_429_is_waited_out_as_its_detail_says() -> None:
    def throttled(detail: str, headers: dict[str, str] | None = None) -> Exchange:
        body = json.dumps({"type": "throttled_error", "code": "throttled", "detail": detail, "attr": None})
        return Exchange(Request("x", "POST", "/"), PRIMARY, "http://x/", 429, httpx.Headers(headers or {}), body, "",
                        0.0)

    assert throttle_wait(throttled("Please try again in 42 seconds. Expected available in 42 seconds.")) == 42
    assert throttle_wait(throttled("Please try again in 2 minutes.")) == 120
    assert throttle_wait(throttled("later today", {"retry-after": "7"})) == 7


def test_drf_dialect_reads_the_exceptions_hog_envelope() -> None:
    from conformance.dialects.drf import field_error, hog_error
    from conformance.vocabulary import Reason

    def answer(status: int, body: object) -> Exchange:
        return Exchange(Request("x", "POST", "/"), PRIMARY, "http://x/", status, httpx.Headers(), json.dumps(body), "",
                        0.0)

    required = {"type": "validation_error", "code": "required", "detail": "This field is required.", "attr": "trace_id"}
    assert field_error(("body", "trace_id"), (Reason.MISSING,))(answer(400, required)) == []
    assert field_error(("body", "content"), (Reason.MISSING,))(answer(400, required))  # names another field
    assert field_error(("body", "trace_id"), (Reason.TOO_LONG,))(answer(400, required))  # another reason
    assert field_error(("body", "trace_id"), (Reason.MISSING,))(answer(400, {"detail": "This field is required."}))
    parse = {"type": "invalid_request", "code": "parse_error", "detail": "JSON parse error", "attr": None}
    assert field_error(("body",), (Reason.MALFORMED_JSON,))(answer(400, parse)) == []
    conflict = {"type": "server_error", "code": "conflict", "detail": "Cannot resume", "attr": None}
    assert hog_error(("conflict",), attr=None)(answer(409, conflict)) == []
    assert hog_error(("conflict",), attr=None)(answer(409, {**conflict, "type": "validation_error"}))
    assert hog_error(("not_found",))(answer(404, {"detail": "Not found."}))
