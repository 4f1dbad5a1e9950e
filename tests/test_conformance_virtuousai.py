"""The conformance suite's VirtuousAI profile against real server processes: it passes the mock, catches
every broken variant naming the right check, passes every faithful one; and a turn is streamed over a
real connection and read event by event while the server is still producing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conformance.http import PRIMARY, Identity, RecordingClient
from conformance.profiles.virtuousai import PROFILE
from conformance.sse import EventStreamParser
from conformance.streaming import UIMessageStream
from mockserver.sse import DELAY_VARIABLE as STREAM_DELAY_VARIABLE
from tests.servers import ROOT, running_server
from tests.virtuousai_variants import BROKEN, FAITHFUL, FAITHFUL_FINDINGS

FAMILY_PATH = "/virtuousai/api/v1"
CHECKS = {"lifecycle", "pagination", "limits", "auth", "tenant_isolation", "error_envelope", "sse_stream", "turns",
          "cancel", "attachments", "feedback", "crystallize", "bulk_delete"}


def run_suite(base_url: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "conformance", "run", "virtuousai", "--base-url", base_url,
            "--api-key", "key-one", "--api-key-2", "key-two", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def failed_checks(report: dict) -> set[str]:
    return {failure["check"] for failure in report["failures"]}


def test_suite_passes_against_the_mock(mock_server: str, tmp_path: Path) -> None:
    report_path, junit_path = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run_suite(mock_server + FAMILY_PATH, "--json", str(report_path), "--junit-xml", str(junit_path),
                       "--seed", "1", "--max-examples", "25")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert report["family"] == "virtuousai" and report["failures"] == []
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert {name: checks.get(name) for name in CHECKS} == {name: "passed" for name in CHECKS}
    names = {case.get("name") for case in ElementTree.parse(junit_path).getroot().iter("testcase")}
    assert CHECKS <= names


def run_suite_against_variant(variant: str, report_path: Path) -> subprocess.CompletedProcess:
    """Serve one variant of the mock and run a short, seeded suite against it, writing a JSON report.

    The variant streams with 5 ms between deltas (the mock's default is 20 ms): turns take a quarter of
    the time, and a long reply still outlasts the requests the suite makes in the middle of it."""
    os.environ[STREAM_DELAY_VARIABLE] = "0.005"
    try:
        with running_server("-m", "tests.virtuousai_variants", variant, "--port", "0") as url:
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
    for failure in report["failures"]:
        assert failure["operation"] and failure["expected"]
        assert "key-one" not in failure["curl"] and "key-two" not in failure["curl"]


@pytest.mark.parametrize("variant", sorted(FAITHFUL))
def test_suite_passes_faithful_variant(variant: str, tmp_path: Path) -> None:
    """Undocumented choices made differently from the mock are not violations; where a correct client
    cannot tell the difference, or a documented feature is missing, the report says so without failing."""
    result = run_suite_against_variant(variant, tmp_path / "report.json")
    assert result.returncode == 0, f"{variant} flagged:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failures"] == []
    shown = {(finding["severity"], finding["check"]) for finding in report["warnings"] + report["unsupported"]}
    assert FAITHFUL_FINDINGS.get(variant, set()) <= shown, f"{variant}: findings {shown}"
    for finding in report["warnings"] + report["unsupported"]:
        assert finding["curl"].startswith("curl ") and "key-one" not in finding["curl"]


def test_a_turn_is_read_event_by_event_while_the_server_streams_it(mock_server: str) -> None:
    """The suite's client hands over each event as it arrives: when the first text delta is in hand the
    stream has not ended and the server still reports the turn as active; the rest arrives later."""
    client = RecordingClient(mock_server + FAMILY_PATH, identities={PRIMARY: Identity("stream-key", "$API_KEY")},
                             auth_headers=PROFILE.auth_headers)
    api, protocol = PROFILE.api, UIMessageStream()
    try:
        thread_id = client.send(api.create_thread({"title": "incremental"})).json["id"]
        prompt = "Tell me a long story. " + "word " * 120
        with client.stream(api.stream_turn(thread_id, prompt)) as live:
            assert live.status == 200 and live.headers["content-type"].startswith("text/event-stream")
            frames = live.frames()
            first_text = next(frame for frame in frames if protocol.is_text(frame))
            assert not live.exchange.ended and "[DONE]" not in live.exchange.text
            mid_turn = client.send(api.get_thread(thread_id)).json
            assert mid_turn["lastTurnStatus"] in ("pending", "running")
            rest = list(frames)
        assert live.exchange.ended and rest[-1].data == "[DONE]"
        assert rest[-1].at > first_text.at and first_text.index < rest[-1].index
        assert protocol.sequence_problems(live.exchange.frames) == []
        assert client.send(api.get_thread(thread_id)).json["lastTurnStatus"] == "completed"
        stored = client.send(api.list_messages(thread_id)).json["items"][-1]["content"]
        assert stored == protocol.text(live.exchange.frames)
        assert live.exchange.curl.startswith("curl -N -X POST ") and "$API_KEY" in live.exchange.curl
        assert "stream-key" not in live.exchange.curl
    finally:
        client.close()


@pytest.mark.parametrize("chunks", [
    ["data: {\"a\": 1}\r\n\r\n", "data: x\u2028y\n", "data: z\n\n"],
    ["data: {\"a\": 1}\r", "\n\r", "\ndata: x\u2028y\r", "data: z\r\r"],
    [": comment\n", "data:{\"a\": 1}\n\nevent: e\nid: 7\ndata: x\u2028y\ndata: z\n\n"],
])
def test_event_stream_parser_follows_the_whatwg_line_rules(chunks: list[str]) -> None:
    parser = EventStreamParser()
    frames = [frame for chunk in chunks for frame in parser.feed(chunk)] + list(parser.close())
    assert [frame.data for frame in frames] == ['{"a": 1}', "x\u2028y\nz"]
    assert [frame.index for frame in frames] == [0, 1] and parser.pending == ""


def test_event_stream_parser_keeps_an_unfinished_event_apart() -> None:
    parser = EventStreamParser()
    assert [frame.data for frame in parser.feed("data: [DONE]\n\ndata: tail")] == ["[DONE]"]
    assert list(parser.close()) == [] and "tail" in parser.pending


def test_ui_message_stream_order_rules() -> None:
    from conformance.sse import Frame

    def frames(*chunks: object) -> list[Frame]:
        texts = [chunk if isinstance(chunk, str) else json.dumps(chunk) for chunk in chunks]
        return [Frame(text, index=n) for n, text in enumerate(texts)]

    protocol = UIMessageStream()
    start, end, finish = {"type": "start"}, {"type": "text-end", "id": "t"}, {"type": "finish"}
    text_start, delta = {"type": "text-start", "id": "t"}, {"type": "text-delta", "id": "t", "delta": "Hi"}
    assert protocol.sequence_problems(frames(start, {"type": "start-step"}, text_start, delta, delta, end,
                                             {"type": "finish-step"}, finish, "[DONE]")) == []
    assert protocol.sequence_problems(frames(start, text_start, delta, finish, "[DONE]"))
    assert protocol.sequence_problems(frames(start, text_start, delta, end, finish))
    assert protocol.sequence_problems(frames(start, text_start, delta, end, finish, "[DONE]", "[DONE]"))
    assert protocol.sequence_problems(frames(start, text_start, {**delta, "id": "u"}, end, finish, "[DONE]"))
    assert protocol.text(frames(start, text_start, delta, delta, end, finish, "[DONE]")) == "HiHi"


def test_a_check_that_fails_and_then_skips_still_fails() -> None:
    import io

    from conformance.checks import Check
    from conformance.context import RunSettings
    from conformance.findings import Status
    from conformance.report import ConsoleReporter
    from conformance.runner import _run_check

    def half_done(ctx) -> None:
        """Finds a violation, then cannot go on."""
        ctx.fail(None, "something", "something else", operation="(test)")
        ctx.skip("cannot go on")

    client = RecordingClient("http://127.0.0.1:9", identities={}, auth_headers=PROFILE.auth_headers)
    result = _run_check(Check("half_done", half_done), client, PROFILE, RunSettings("http://127.0.0.1:9", 1, 1),
                        ConsoleReporter(io.StringIO()))
    client.close()
    assert result.status is Status.FAILED and result.reason == "cannot go on" and len(result.failures) == 1
