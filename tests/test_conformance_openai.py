"""The conformance suite against real server processes: it passes the mock and catches every broken variant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.openai_variants import BROKEN, FAITHFUL, FAITHFUL_FINDINGS
from tests.servers import ROOT, running_server


def run_suite(base_url: str | None, *extra: str, api_keys: tuple[str, ...] = ("key-one", "key-two"),
              timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "conformance", "run", "openai"]
    if base_url is not None:
        args += ["--base-url", base_url]
    if api_keys:
        args += ["--api-key", api_keys[0]]
    if len(api_keys) > 1:
        args += ["--api-key-2", api_keys[1]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*args, *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def failed_checks(report: dict) -> set[str]:
    return {failure["check"] for failure in report["failures"]}


def test_suite_passes_against_the_mock(mock_server: str, tmp_path: Path) -> None:
    report_path, junit_path = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run_suite(f"{mock_server}/openai/v1", "--json", str(report_path), "--junit-xml", str(junit_path),
                       "--seed", "1")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert report["family"] == "openai" and report["base_url"] == f"{mock_server}/openai/v1"
    assert report["failures"] == []
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] > 0
    testcases = ElementTree.parse(junit_path).getroot().iter("testcase")
    names = {case.get("name") for case in testcases}
    assert {"error_envelope", "pagination", "lifecycle", "limits", "auth", "tenant_isolation"} <= names


def test_without_second_key_tenant_checks_are_skipped_and_said(mock_server: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite(f"{mock_server}/openai/v1", "--json", str(report_path), "--max-examples", "5",
                       api_keys=("only-key",))
    assert result.returncode == 0, result.stdout[-4000:]
    assert "tenant_isolation" in result.stdout and "skip" in result.stdout.lower()
    assert json.loads(report_path.read_text())["summary"]["skipped"] >= 1


def run_suite_against_variant(variant: str, report_path: Path) -> subprocess.CompletedProcess:
    """Serve one variant of the mock and run a short, seeded suite against it, writing a JSON report."""
    with running_server("-m", "tests.openai_variants", variant, "--port", "0") as url:
        return run_suite(f"{url}/openai/v1", "--json", str(report_path), "--max-examples", "10", "--seed", "3")


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_suite_catches_broken_variant(variant: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite_against_variant(variant, report_path)
    assert result.returncode == 1, f"{variant} not caught:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads(report_path.read_text())
    expected = BROKEN[variant].caught_by
    assert expected in failed_checks(report), f"{variant}: failed checks {failed_checks(report)}"
    for failure in report["failures"]:
        assert failure["curl"].startswith("curl ") and failure["operation"] and failure["expected"]
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


def test_unreachable_target_exits_2_with_one_line() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_suite(f"http://127.0.0.1:{port}/openai/v1", timeout=60)
    assert result.returncode == 2
    assert "127.0.0.1" in (result.stderr + result.stdout)


def test_usage_errors_exit_2() -> None:
    missing_base_url = run_suite(None, "--api-key", "k", api_keys=(), timeout=60)
    assert missing_base_url.returncode == 2
    unknown = subprocess.run([sys.executable, "-m", "conformance", "run", "no-such-family", "--base-url", "http://x",
                              "--api-key", "k"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2


@pytest.mark.parametrize("key", ["a", "Bearer", "key-one"])
def test_curl_lines_hide_keys_without_mangling_headers(key: str) -> None:
    from conformance.http import build_curl

    line = build_curl("POST", "http://127.0.0.1:1/v1/x", [("Authorization", f"Bearer {key}")], b'{"a": 1}',
                      {key: "$API_KEY"})
    assert line == ("curl -X POST http://127.0.0.1:1/v1/x -H \"Authorization: Bearer $API_KEY\" "
                    "--data-raw '{\"a\": 1}'")


@pytest.mark.parametrize(("grounds", "status", "severity"), [
    ("answer", 200, "failure"), ("answer", 400, "failure"), ("answer", 500, "failure"),
    ("documented", 200, "failure"), ("documented", 422, "warning"), ("documented", 302, "failure"),
    ("vendor_refuses", 200, "warning"), ("vendor_refuses", 422, "warning"), ("vendor_refuses", 500, "failure"),
])
def test_a_probe_answered_otherwise_is_judged_by_its_grounds(grounds: str, status: int, severity: str) -> None:
    from conformance.context import verdict_for
    from conformance.vocabulary import Grounds, Probe, Request

    probe = Probe(Request("op", "GET", "/x"), 400, grounds=Grounds(grounds))
    assert verdict_for(probe, status).value == severity
