"""The conformance suite's Venna profile against real server processes: it passes the mock; against the
gateway as it answers today (every operation its declared 501) it reports every check unsupported and
passes, failing only with --strict; it catches every broken variant naming the right check and passes
every faithful one; and the profile's own rules (the 402 challenge header, the not-implemented answer)
are checked on their own."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.profiles.venna import PROFILE
from conformance.vocabulary import Exchange, Fixture, Request
from mockserver.families.venna import PAYMENT_CHALLENGE, not_implemented
from tests.servers import ROOT, running_server
from tests.venna_variants import BROKEN, FAITHFUL, FAITHFUL_FINDINGS

FAMILY_PATH = "/venna/v1"
CHECKS = {"lifecycle", "item_walk", "auth", "tenant_isolation", "error_envelope"}
KEYS = ("vk_conformance_one", "vk_conformance_two")


def run_suite(base_url: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "conformance", "run", "venna", "--base-url", base_url,
            "--api-key", KEYS[0], "--api-key-2", KEYS[1], *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def failed_checks(report: dict) -> set[str]:
    return {failure["check"] for failure in report["failures"]}


def test_suite_passes_against_the_mock(mock_server: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite(mock_server + FAMILY_PATH, "--json", str(report_path), "--seed", "1")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert report["family"] == "venna" and report["failures"] == [] and report["warnings"] == []
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert {name: checks.get(name) for name in CHECKS} == {name: "passed" for name in CHECKS}
    assert all(status == "passed" for status in checks.values()), checks


def run_suite_against_variant(variant: str, report_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Serve one variant of the mock and run a short, seeded suite against it, writing a JSON report."""
    with running_server("-m", "tests.venna_variants", variant, "--port", "0") as url:
        return run_suite(url + FAMILY_PATH, "--json", str(report_path), "--max-examples", "5", "--seed", "3", *extra)


def run_suite_against_todays_gateway(report_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """The mock itself answering like today's gateway (``--prefer venna:code=501``: every operation its
    declared 501, after the credential check), under a short seeded suite."""
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0",
                        "--prefer", "venna:code=501") as url:
        return run_suite(url + FAMILY_PATH, "--json", str(report_path), "--max-examples", "5", "--seed", "3", *extra)


def test_the_gateway_as_it_answers_today_is_unsupported_not_failed(tmp_path: Path) -> None:
    """Every operation answering its declared 501 (the mock with ``--prefer venna:code=501``): each check
    reports the operations it needed as unsupported, the run passes; --strict makes the same answers failures."""
    report_path = tmp_path / "report.json"
    result = run_suite_against_todays_gateway(report_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["failures"] == [] and report["warnings"] == []
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert {name: checks.get(name) for name in CHECKS} == {name: "unsupported" for name in CHECKS}
    assert not any(status == "failed" for status in checks.values()), checks
    # Every operation is reported (the checks name the first they needed, schemathesis each it tried).
    named = {match.group(1) for finding in report["unsupported"]
             if (match := re.search(r"((?:GET|POST|DELETE) /\S+?)\)?$", finding["operation"]))}
    assert {f"{op.method} {op.template}" for op in PROFILE.spec.operations.values()} <= named, named
    for finding in report["unsupported"]:
        assert finding["curl"].startswith("curl ") and KEYS[0] not in finding["curl"]
    assert "unsupported" in result.stdout

    strict = run_suite_against_todays_gateway(tmp_path / "strict.json", "--strict")
    assert strict.returncode == 1, strict.stdout[-4000:]
    strict_report = json.loads((tmp_path / "strict.json").read_text())
    assert CHECKS <= failed_checks(strict_report)


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_suite_catches_broken_variant(variant: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_suite_against_variant(variant, report_path)
    assert result.returncode == 1, f"{variant} not caught:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads(report_path.read_text())
    assert BROKEN[variant].caught_by in failed_checks(report), f"{variant}: failed checks {failed_checks(report)}"
    for failure in report["failures"]:
        assert failure["operation"] and failure["expected"] and failure["curl"].startswith("curl ")
        assert KEYS[0] not in failure["curl"] and KEYS[1] not in failure["curl"]
    if variant == "501-outside-envelope":  # only the declared 501 body says "not implemented"
        assert report["unsupported"] == [], report["unsupported"]
        assert "schemathesis:not_a_server_error" in failed_checks(report)


@pytest.mark.parametrize("variant", sorted(FAITHFUL))
def test_suite_passes_faithful_variant(variant: str, tmp_path: Path) -> None:
    """Choices Venna leaves open, made otherwise than the mock, are not violations; where a correct client
    cannot tell the difference the report says so without failing."""
    report_path = tmp_path / "report.json"
    result = run_suite_against_variant(variant, report_path)
    assert result.returncode == 0, f"{variant} flagged:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    report = json.loads(report_path.read_text())
    assert report["failures"] == []
    shown = {(finding["severity"], finding["check"]) for finding in report["warnings"] + report["unsupported"]}
    assert FAITHFUL_FINDINGS.get(variant, set()) <= shown, f"{variant}: findings {shown}"


# --- the profile's own rules, on made-up answers ----------------------------------------------------------


def exchange(status: int, body: object, headers: dict[str, str] | None = None, *,
             operation: str = "getConversation") -> Exchange:
    request = PROFILE.request(operation) if operation == "createConversation" else \
        PROFILE.on_conversation(operation, "conv_1")
    return Exchange(request=request, identity="primary", url="http://127.0.0.1:1/v1" + request.path, status=status,
                    headers=httpx.Headers({"content-type": "application/json", **(headers or {})}),
                    text=json.dumps(body), curl="curl …", elapsed=0.0)


def challenge_header(challenge: object) -> str:
    return base64.b64encode(json.dumps(challenge).encode()).decode()


def test_the_402_challenge_needs_its_body_and_payment_required_header() -> None:
    assert PROFILE.error_problems(exchange(402, PAYMENT_CHALLENGE,
                                           {"PAYMENT-REQUIRED": challenge_header(PAYMENT_CHALLENGE)})) == []
    missing = PROFILE.error_problems(exchange(402, PAYMENT_CHALLENGE))
    assert missing and "PAYMENT-REQUIRED" in missing[0]
    garbage = PROFILE.error_problems(exchange(402, PAYMENT_CHALLENGE, {"PAYMENT-REQUIRED": "not base64!"}))
    assert garbage and "base64" in garbage[0]
    no_accepts = PROFILE.error_problems(exchange(402, PAYMENT_CHALLENGE,
                                                 {"PAYMENT-REQUIRED": challenge_header({"x402Version": 2})}))
    assert no_accepts and "accepts" in " ".join(no_accepts)
    envelope = {"error": {"message": "no key", "type": "invalid_request_error", "param": None, "code": None}}
    assert PROFILE.error_problems(exchange(402, envelope, {"PAYMENT-REQUIRED": challenge_header(PAYMENT_CHALLENGE)}))


@pytest.mark.parametrize(("method", "path", "operation"), [
    ("GET", "/v1/conversations/conv_1", "getConversation"),
    ("POST", "/v1/conversations", "createConversation"),
    ("POST", "/v1/conversations/conv_1/items", "createConversationItems"),
])
def test_the_declared_501_is_the_not_implemented_answer(method: str, path: str, operation: str) -> None:
    """The mock's own 501 body is the contract's; a 501 with another body, or another code, is not; any
    other status is no not-implemented answer at all."""
    assert PROFILE.not_implemented_problems(exchange(501, not_implemented(method, path), operation=operation)) == []
    assert PROFILE.not_implemented_problems(exchange(501, {"message": "Not Implemented"}, operation=operation))
    other_code = not_implemented(method, path)
    other_code["error"]["code"] = "server_error"
    assert PROFILE.not_implemented_problems(exchange(501, other_code, operation=operation))
    assert PROFILE.not_implemented_problems(exchange(404, not_implemented(method, path), operation=operation)) is None


def test_items_are_read_by_their_index_as_a_decimal_string() -> None:
    page = {"object": "list", "data": [{"type": "input", "index": 3, "data": {"type": "message", "role": "user",
                                                                               "content": "hi"}}],
            "first_id": "3", "last_id": "3", "has_more": False}
    read = PROFILE.page(page)
    assert read is not None and read.ids == ["3"]
    assert PROFILE.page({**page, "data": [{"type": "input", "index": "3", "data": {}}]}) is None
    assert PROFILE.page({**page, "data": [{"type": "input", "index": -1, "data": {}}]}) is None
    assert PROFILE.item_id({"index": True}) is None


def test_no_request_of_the_profile_names_an_operation_venna_lacks() -> None:
    fixture = Fixture({"conversation": "conv_1", "item": "0"}, {})
    requests: list[Request] = [*PROFILE.unauthenticated_probes(fixture),
                               *(probe.request for probe in PROFILE.foreign_probes(fixture)),
                               *(probe.request for probe in PROFILE.error_probes(fixture))]
    assert {request.operation_id for request in requests} <= set(PROFILE.spec.operations)
    assert all("{" not in request.path for request in requests), [request.path for request in requests]
