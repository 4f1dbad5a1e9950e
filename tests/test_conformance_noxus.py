"""The conformance suite's Noxus profile against real server processes: it passes the mock, catches every
broken variant naming the right check, passes every faithful one; a reply is read over a real
connection frame by frame while the server still produces it; the JSON envelope grammar, the reading of
stored messages and the settings round-trip rule are checked on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.http import PRIMARY, Identity, RecordingClient
from conformance.profiles.noxus import PROFILE, api
from conformance.profiles.noxus.checks import settings_problems
from conformance.profiles.noxus.stream import JsonEnvelopes
from conformance.sse import Frame
from mockserver.sse import DELAY_VARIABLE as STREAM_DELAY_VARIABLE
from tests.noxus_variants import BROKEN, FAITHFUL
from tests.servers import ROOT, running_server

FAMILY_PATH = "/noxus"
CHECKS = {"lifecycle", "auth", "tenant_isolation", "error_envelope", "sse_stream", "json_stream", "add_message",
          "chat", "runs", "events", "pagination"}


def run_suite(base_url: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "conformance", "run", "noxus", "--base-url", base_url,
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
    assert report["family"] == "noxus" and report["failures"] == [] and report["warnings"] == []
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert {name: checks.get(name) for name in CHECKS} == {name: "passed" for name in CHECKS}
    assert checks.get("schemathesis:not_a_server_error") == "passed"


def run_suite_against_variant(variant: str, report_path: Path) -> subprocess.CompletedProcess:
    """Serve one variant of the mock and run a short, seeded suite against it, writing a JSON report.

    The variant streams with 5 ms between deltas (the mock's default is 20 ms): replies take a quarter of
    the time, and the long reply `runs` watches still outlasts the requests it makes in its middle."""
    os.environ[STREAM_DELAY_VARIABLE] = "0.005"
    try:
        with running_server("-m", "tests.noxus_variants", variant, "--port", "0") as url:
            return run_suite(url + FAMILY_PATH, "--json", str(report_path), "--max-examples", "3", "--seed", "3")
    finally:
        os.environ.pop(STREAM_DELAY_VARIABLE, None)


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_suite_catches_broken_variant(variant: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite_against_variant(variant, report_path)
    assert result.returncode == 1, f"{variant} not caught:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads(report_path.read_text())
    assert BROKEN[variant].caught_by in failed_checks(report), f"{variant}: failed checks {failed_checks(report)}"
    # Caught for the behaviour changed, not because the variant itself crashes.
    assert "schemathesis:not_a_server_error" not in failed_checks(report)
    for failure in report["failures"]:
        assert failure["operation"] and failure["expected"]
        assert "key-one" not in failure["curl"] and "key-two" not in failure["curl"]


@pytest.mark.parametrize("variant", sorted(FAITHFUL))
def test_suite_passes_faithful_variant(variant: str, tmp_path: Path) -> None:
    """Choices Noxus leaves open, made differently from the mock, are not violations."""
    result = run_suite_against_variant(variant, tmp_path / "report.json")
    assert result.returncode == 0, f"{variant} flagged:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failures"] == [] and report["warnings"] == []


def test_a_reply_is_read_frame_by_frame_while_the_server_streams_it(mock_server: str) -> None:
    """The suite's client hands over each envelope as it arrives: when the first text delta is in hand the
    stream has not ended and the conversation is busy (a second message is 409); the rest arrives later,
    ends with `event: done`, and tells exactly the reply then stored."""
    client = RecordingClient(mock_server + FAMILY_PATH, identities={PRIMARY: Identity("stream-key", "$API_KEY")},
                             auth_headers=PROFILE.auth_headers)
    protocol = JsonEnvelopes(PROFILE.spec, api.STREAM)
    noxus = PROFILE.api
    try:
        conversation = client.send(noxus.create({"name": "incremental", "settings": api.settings()})).json
        cid = conversation["id"]
        with client.stream(noxus.stream(cid, api.message("Tell me a long story. " + "word " * 120),
                                        format="json")) as live:
            assert live.status == 200 and live.headers["content-type"].startswith("text/event-stream")
            frames = live.frames()
            first_text = next(frame for frame in frames if protocol.is_text(frame))
            assert not live.exchange.ended and "event: done" not in live.exchange.text
            assert client.send(noxus.add_message(cid, api.message("Me too?"))).status == 409
            rest = list(frames)
        assert live.exchange.ended and rest[-1].event == "done" and rest[-1].at > first_text.at
        assert protocol.sequence_problems(live.exchange.frames) == []
        stored = client.send(noxus.get(cid)).json["messages"]
        assert len(stored) == 2 and api.reply_text(stored[-1]) == protocol.text(live.exchange.frames)
        assert "stream-key" not in live.exchange.curl and "$API_KEY" in live.exchange.curl
    finally:
        client.close()


def _envelopes(*chunks: dict, end: str | None = "done") -> list[Frame]:
    frames = [Frame(json.dumps({"event": chunk["type"], "data": {k: v for k, v in chunk.items() if k != "type"}}),
                    "message", index=n) for n, chunk in enumerate(chunks)]
    return frames + ([Frame("{}", end, index=len(frames))] if end else [])


START, TEXT_START, TEXT_END = {"type": "start", "messageId": "m1"}, {"type": "text-start", "id": "t"}, \
    {"type": "text-end", "id": "t"}
FINISH = {"type": "finish", "finishReason": "stop"}


def delta(text: str) -> dict:
    return {"type": "text-delta", "id": "t", "delta": text}


def test_json_envelope_grammar() -> None:
    protocol = JsonEnvelopes(PROFILE.spec, api.STREAM)
    good = _envelopes(START, {"type": "start-step"}, TEXT_START, delta("Hel"), delta("lo"), TEXT_END,
                      {"type": "finish-step"}, FINISH)
    assert protocol.sequence_problems(good) == []
    assert protocol.text(good) == "Hello" and protocol.reply_id(good) == "m1"
    broken = {
        "no done": _envelopes(START, TEXT_START, delta("Hi"), TEXT_END, FINISH, end=None),
        "timeout instead of done": _envelopes(START, TEXT_START, delta("Hi"), TEXT_END, FINISH, end="timeout"),
        "no text-end": _envelopes(START, TEXT_START, delta("Hi"), FINISH),
        "done twice": [*_envelopes(START, TEXT_START, delta("Hi"), TEXT_END, FINISH), Frame("{}", "done", index=9)],
        "an error chunk": _envelopes(START, TEXT_START, delta("Hi"), TEXT_END, {"type": "error", "errorText": "x"},
                                     FINISH),
    }
    for name, frames in broken.items():
        assert protocol.sequence_problems(frames), name
    assert "event: done" in protocol.sequence_problems(broken["no done"])[0]

    def validate(chunk: object) -> list[str] | None:
        return PROFILE.spec.problems("TextDeltaChunk", chunk) if chunk.get("type") == "text-delta" else []  # type: ignore[union-attr]

    assert protocol.frame_problems(_envelopes(delta("x"))[0], validate) == []
    assert protocol.frame_problems(Frame('{"event": "text-delta", "data": {"id": "t"}}', "message"), validate)
    assert protocol.frame_problems(Frame('{"type": "text-delta", "delta": "x"}', "message"), validate)  # raw chunk
    assert protocol.frame_problems(Frame("{}", "sandbox"), validate)  # an event name outside the contract
    assert protocol.frame_problems(Frame("not json", "message"), validate)


def test_stored_messages_are_read_in_both_part_lists() -> None:
    newer = {"id": "a", "message_parts": [{"role": "assistant", "type": "text", "content": "ignored"}],
             "pydantic_message_parts": [{"kind": "response", "parts": [{"part_kind": "text", "content": "Hel"},
                                                                       {"part_kind": "tool-call", "content": "x"}]},
                                        {"kind": "response", "parts": [{"part_kind": "text", "content": "lo"}]}]}
    older = {"id": "b", "message_parts": [{"role": "assistant", "type": "text", "content": "Hi"}]}
    user = {"id": "u", "message_parts": [{"role": "user", "type": "user", "content": "Q"}],
            "pydantic_message_parts": [{"kind": "request", "parts": [{"part_kind": "system-prompt", "content": "S"},
                                                                     {"part_kind": "user-prompt", "content": "Q"}]}]}
    assert api.reply_text(newer) == "Hello" and api.reply_text(older) == "Hi" and api.reply_text(user) is None
    assert api.user_text(user) == "Q" and api.user_text(newer) is None
    assert api.turn_problems([], [user, newer], "Q") == []
    assert api.turn_problems([], [user, newer], "another question")
    assert api.turn_problems([older], [user, newer], "Q")  # the earlier message lost
    assert api.turn_problems([], [user], "Q")  # no reply


def test_settings_round_trip_rule() -> None:
    sent = api.settings(tools=[{"type": "custom", "options": {"a": 1}}], pii_banner=False)
    assert settings_problems(sent, {**sent, "persona": None, "tools": [{"type": "custom", "options": {"a": 1},
                                                                      "enabled": True}]}) == []
    older = {"model_selection": ["gpt-4o"], "temperature": 0.4, "tools": []}
    assert settings_problems(older, {"model": ["gpt-4o"], "temperature": 0.4, "tools": []}) == []
    assert settings_problems(older, {"model": ["gpt-4"], "temperature": 0.4, "tools": []})
    assert settings_problems(sent, {**sent, "tools": []})
    assert settings_problems(sent, {**sent, "pii_banner": True})
