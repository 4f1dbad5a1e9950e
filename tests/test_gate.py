"""The suite as a CI gate: verdict levels, reports that always parse, bounded runs against hostile servers,
interrupted runs that never pass, keys from the environment, reproducible runs with one seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from conformance.findings import CheckResult, Failure, RunReport, Severity, Status, status_of
from conformance.html_report import write_html
from conformance.http import PRIMARY, Identity, RecordingClient, Request, RunOutOfTime, TransportFailure
from conformance.report import write_json, write_junit
from conformance.runner import EXIT_INTERRUPTED, exit_code
from conformance.schemathesis_phase import severity_of
from tests.hostile import hostile_server
from tests.recording_proxy import recording_proxy
from tests.servers import ROOT

HOSTILE_LIMIT = 55  # seconds any one suite run of these tests may take at most

# --- helpers ------------------------------------------------------------------------------------------------


def suite_command(base_url: str, *extra: str, family: str = "openai") -> list[str]:
    return [sys.executable, "-m", "conformance", "run", family, "--base-url", base_url, *extra]


def suite_env(**keys: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONVO_API_KEY")}
    return {**env, "PYTHONPATH": str(ROOT), **keys}


def run_suite(base_url: str, *extra: str, timeout: float = HOSTILE_LIMIT, **keys: str) -> subprocess.CompletedProcess:
    env = suite_env(**(keys or {"CONVO_API_KEY": "key-one"}))
    return subprocess.run(suite_command(base_url, *extra), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def report_args(folder: Path) -> list[str]:
    return ["--json", str(folder / "r.json"), "--junit-xml", str(folder / "r.xml"), "--html", str(folder / "r.html")]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_reports(folder: Path) -> tuple[dict, ElementTree.Element, str]:
    """Every report the run wrote, parsed: JSON, JUnit XML (xml.etree), HTML (html.parser) as text."""
    report = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    junit = ElementTree.parse(folder / "r.xml").getroot()
    page = _Collect()
    page.feed((folder / "r.html").read_text(encoding="utf-8"))
    page.close()
    assert {"html", "head", "style", "body", "table"} <= set(page.tags)
    assert "script" not in page.tags and "link" not in page.tags  # self-contained, nothing to fetch
    return report, junit, " ".join(page.text)


def sample_report() -> RunReport:
    hostile = 'curl -X POST http://x/y --data-raw \'{"a": "\x00\x01\x1b[31m\ud800 <script>alert(1)</script> &"}\''
    report = RunReport("openai", "http://127.0.0.1:1/v1", 7, 5)
    report.results = [
        CheckResult("lifecycle", Status.FAILED, "d", [Failure("lifecycle", "op", "200", "500 \x00boom", hostile)]),
        CheckResult("schemathesis:negative_data_rejection", Status.WARNING, "d",
                    [Failure("schemathesis:negative_data_rejection", "POST /c", "4xx", "200", "curl x",
                             Severity.WARNING)]),
        CheckResult("unsupported_op", Status.UNSUPPORTED, "d",
                    [Failure("unsupported_op", "GET /z", "200", "501", "curl z", Severity.UNSUPPORTED)]),
        CheckResult("auth", Status.PASSED, "d"),
        CheckResult("tenant_isolation", Status.SKIPPED, "d", reason="no second key"),
    ]
    return report


# --- verdicts and reports -----------------------------------------------------------------------------------


def test_every_report_parses_when_findings_hold_characters_xml_cannot(tmp_path: Path) -> None:
    report = sample_report()
    write_json(report, tmp_path / "r.json")
    write_junit(report, tmp_path / "r.xml")
    write_html(report, tmp_path / "r.html")
    data, junit, page = parse_reports(tmp_path)
    assert [f["severity"] for f in data["failures"]] == ["failure"]
    assert data["warnings"][0]["check"] == "schemathesis:negative_data_rejection"
    assert data["unsupported"][0]["actual"] == "501"
    assert "\x00" in data["failures"][0]["curl"]  # JSON keeps the exact bytes sent
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    failure = cases["lifecycle"].find("failure")
    assert failure is not None and "\\x00" in (failure.text or "") and "<script>" in (failure.text or "")
    warned = cases["schemathesis:negative_data_rejection"].find("skipped")
    assert warned is not None and warned.get("type") == "warning" and "curl x" in (warned.text or "")
    assert cases["unsupported_op"].find("skipped") is not None
    assert "<script>alert(1)</script>" in page and "\\x00" in page  # shown as text, never as markup
    assert "NOT CONFORMANT" in page and "curl z" in page


def test_warnings_and_unsupported_pass_unless_strict() -> None:
    report = sample_report()
    report.results = report.results[1:]
    assert not report.failed and exit_code(report) == 0 and report.verdict == "conformant, with warnings"
    report.make_strict()
    assert report.failed and exit_code(report) == 1
    assert all(f.severity is Severity.FAILURE for result in report.results for f in result.failures)


def test_a_stopped_run_never_passes() -> None:
    report = RunReport("openai", "http://x", 1, 1, results=[CheckResult("auth", Status.PASSED)])
    report.interrupted = True
    assert report.failed and exit_code(report) == EXIT_INTERRUPTED and report.summary()["interrupted"] is True
    timed_out = RunReport("openai", "http://x", 1, 1, out_of_time="--max-time 5s spent while waiting for x")
    assert timed_out.failed and exit_code(timed_out) == 1


def test_check_status_is_its_worst_finding() -> None:
    warning = Failure("c", "op", "e", "a", "curl", Severity.WARNING)
    assert status_of([]) is Status.PASSED and status_of([], skipped=True) is Status.SKIPPED
    assert status_of([warning]) is Status.WARNING
    assert status_of([warning, Failure("c", "op", "e", "a", "curl")]) is Status.FAILED


@pytest.mark.parametrize(("check", "status", "negative", "severity"), [
    ("negative_data_rejection", 200, True, Severity.WARNING),  # accepts what the vendor would refuse
    ("missing_required_header", 200, True, Severity.WARNING),
    ("status_code_conformance", 400, True, Severity.WARNING),  # malformed input, another 4xx
    ("status_code_conformance", 400, False, Severity.FAILURE),  # a valid request, an undeclared 4xx
    ("status_code_conformance", 201, False, Severity.FAILURE),  # undeclared success status
    ("not_a_server_error", 500, False, Severity.FAILURE),
    ("not_a_server_error", 501, False, Severity.UNSUPPORTED),  # the server does not implement it
    ("response_schema_conformance", 200, False, Severity.FAILURE),
])
def test_schemathesis_findings_are_weighed(check: str, status: int, negative: bool, severity: Severity) -> None:
    assert severity_of(check, status, negative) is severity


def test_a_501_outside_the_declared_body_is_a_failure() -> None:
    assert severity_of("not_a_server_error", 501, False, declared=False) is Severity.FAILURE


# --- command line ---------------------------------------------------------------------------------------------


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "conformance", "--version"], cwd=ROOT, env=suite_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("convo-conformance ")


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "soon"])
def test_a_timeout_that_is_not_positive_is_a_usage_error(timeout: str) -> None:
    result = run_suite("http://127.0.0.1:9/v1", "--timeout", timeout)
    assert result.returncode == 2 and "--timeout" in result.stderr
    assert "Traceback" not in result.stderr and "cannot reach" not in result.stderr


def test_a_report_into_a_missing_directory_is_refused_before_the_run(tmp_path: Path) -> None:
    result = run_suite("http://127.0.0.1:9/v1", "--junit-xml", str(tmp_path / "missing" / "r.xml"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "cannot reach" not in result.stderr


def test_without_any_key_it_says_where_to_put_one() -> None:
    result = subprocess.run(suite_command("http://127.0.0.1:9/v1"), cwd=ROOT, env=suite_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "CONVO_API_KEY" in result.stderr


def test_unreachable_target_writes_reports_that_say_why(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_suite(f"http://127.0.0.1:{port}/v1", *report_args(tmp_path), CONVO_API_KEY="secret-env-key")
    assert result.returncode == 2 and "cannot reach" in result.stderr
    report, junit, page = parse_reports(tmp_path)
    assert "cannot reach" in report["summary"]["stopped"] and report["summary"]["result"] == "target unreachable"
    assert junit.find(".//testcase[@name='run']/error") is not None
    assert "cannot reach" in page
    everything = result.stdout + result.stderr + "".join((tmp_path / name).read_text() for name in
                                                         ("r.json", "r.xml", "r.html"))
    assert "secret-env-key" not in everything


# --- hostile servers: each run ends in bounded time with the right exit code and reports that parse ---------

HOSTILE_ARGS = ("--max-examples", "1", "--seed", "1", "--max-time", "20")


def test_endless_body_is_cut_off(tmp_path: Path) -> None:
    with hostile_server("endless") as url:
        result = run_suite(url, *HOSTILE_ARGS, "--timeout", "3", "--max-body", "1", *report_args(tmp_path))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report, _, _ = parse_reports(tmp_path)
    assert any("grew past 1048576 bytes" in f["actual"] for f in report["failures"])


def test_hang_after_headers_ends_in_a_timeout(tmp_path: Path) -> None:
    with hostile_server("hang") as url:
        result = run_suite(url, *HOSTILE_ARGS, "--timeout", "1", *report_args(tmp_path))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report, _, _ = parse_reports(tmp_path)
    assert any("did not arrive within 1s" in f["actual"] for f in report["failures"])


def test_slow_answers_spend_the_budget_and_say_where(tmp_path: Path) -> None:
    """Every answer takes 20 s; with 1 s per request and 8 s in all, the run stops and names the request."""
    with hostile_server("slow", delay=20) as url:
        result = run_suite(url, "--max-examples", "1", "--seed", "1", "--timeout", "1", "--max-time", "8",
                           *report_args(tmp_path))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report, junit, page = parse_reports(tmp_path)
    assert report["summary"]["result"] == "out of time"
    assert "--max-time 8s spent while waiting for" in report["summary"]["stopped"]
    assert junit.find(".//testcase[@name='run']/error") is not None and "out of time" in page


def test_nul_bytes_in_answers_keep_reports_well_formed(tmp_path: Path) -> None:
    with hostile_server("nul") as url:
        result = run_suite(url, *HOSTILE_ARGS, "--timeout", "2", *report_args(tmp_path))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report, junit, _ = parse_reports(tmp_path)
    assert any("\x00" in f["actual"] for f in report["failures"])
    assert any("\\x00" in (node.text or "") for node in junit.iter("failure"))
    assert "\x00" not in result.stdout and "\x1b" not in result.stdout and "\\x1b" in result.stdout


# --- interrupted runs -----------------------------------------------------------------------------------------


def interrupt_when(command: list[str], marker: str, env: dict[str, str]) -> tuple[int, str]:
    """Start the suite, send SIGINT once `marker` is printed; its exit code and output (bounded waits)."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if marker in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(40), "".join(lines)[-3000:]
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    return code, "".join(lines)


def test_ctrl_c_during_the_schemathesis_phase_is_an_interrupted_run(mock_server: str, tmp_path: Path) -> None:
    command = suite_command(f"{mock_server}/openai/v1", "--seed", "1", *report_args(tmp_path))
    code, output = interrupt_when(command, "schemathesis coverage phase: started",
                                  suite_env(CONVO_API_KEY="int-1", CONVO_API_KEY_2="int-2"))
    assert code == EXIT_INTERRUPTED, output[-3000:]
    assert "interrupted" in output and "result: conformant" not in output
    report, junit, page = parse_reports(tmp_path)
    assert report["summary"]["interrupted"] is True and report["summary"]["result"] == "interrupted"
    assert junit.find(".//testcase[@name='run']/error") is not None and "interrupted" in page


def test_ctrl_c_during_a_family_check_still_writes_reports(tmp_path: Path) -> None:
    with hostile_server("hang") as url:
        command = suite_command(url, "--timeout", "30", *report_args(tmp_path))
        code, output = interrupt_when(command, "lifecycle: started", suite_env(CONVO_API_KEY="k"))
    assert code == EXIT_INTERRUPTED and "Traceback" not in output, output[-3000:]
    report, junit, _ = parse_reports(tmp_path)
    assert report["summary"]["interrupted"] is True
    assert [check["status"] for check in report["checks"]] == ["error"]
    assert junit.find(".//testcase[@name='lifecycle']/error") is not None


# --- reproducibility --------------------------------------------------------------------------------------------


def test_one_seed_sends_the_same_requests_and_reaches_the_same_verdicts(mock_server: str, tmp_path: Path) -> None:
    """Two runs with one seed (side by side, each through its own recording proxy, each with its own keys)."""

    def one_run(number: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int]:
        folder = tmp_path / str(number)
        folder.mkdir()
        with recording_proxy(mock_server) as (url, seen):
            keys = {"CONVO_API_KEY": f"repro-{number}-a", "CONVO_API_KEY_2": f"repro-{number}-b"}
            result = run_suite(f"{url}/openai/v1", "--seed", "5", "--max-examples", "1", *report_args(folder), **keys)
            assert result.returncode == 0, result.stdout[-3000:]
        report, _, _ = parse_reports(folder)
        verdicts = [(check["name"], check["status"]) for check in report["checks"]]
        return list(seen), verdicts, report["summary"]["requests_sent"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        (first, first_verdicts, first_count), (second, second_verdicts, second_count) = pool.map(one_run, (1, 2))
    assert len(first) > 500 and first_count == second_count
    assert first_verdicts == second_verdicts
    at = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), min(len(first), len(second)))
    assert first == second, f"runs part at request {at}: {first[at:at + 3]} / {second[at:at + 3]}"


# --- the client's bounds, without a network --------------------------------------------------------------------


def bounded_client(answer, **options) -> RecordingClient:  # type: ignore[no-untyped-def]
    client = RecordingClient("http://127.0.0.1:9/api", identities={PRIMARY: Identity("k", "$API_KEY")},
                             auth_headers=lambda key: {"Authorization": f"Bearer {key}"}, **options)
    client._http = httpx.Client(transport=httpx.MockTransport(answer))
    return client


def trickle(chunks: int, pause: float) -> Iterator[bytes]:
    for _ in range(chunks):  # bounded: a test's server never streams forever
        time.sleep(pause)
        yield b"x" * 10


def test_a_trickling_body_ends_at_the_whole_exchange_deadline() -> None:
    """Every read is quick, but the body never ends: the request's deadline still holds."""
    client = bounded_client(lambda request: httpx.Response(200, content=trickle(200, 0.05)), timeout=0.5)
    with pytest.raises(TransportFailure) as caught:
        client.send(Request("getThing", "GET", "/things"))
    assert "within 0.5s" in caught.value.reason and "$API_KEY" in caught.value.curl


def test_a_body_past_the_cap_is_cut_off() -> None:
    client = bounded_client(lambda request: httpx.Response(200, content=b"x" * 5000), max_body=1000)
    with pytest.raises(TransportFailure) as caught:
        client.send(Request("getThing", "GET", "/things"))
    assert "grew past 1000 bytes" in caught.value.reason


def test_a_spent_budget_stops_the_next_request_and_names_it() -> None:
    client = bounded_client(lambda request: httpx.Response(200, json={}), run_deadline=time.perf_counter() - 1)
    with pytest.raises(RunOutOfTime) as caught:
        client.send(Request("getThing", "GET", "/things/{id}", {"id": "1"}))
    assert caught.value.label == "getThing (GET /things/{id})" and client.request_count == 0
