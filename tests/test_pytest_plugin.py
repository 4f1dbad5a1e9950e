"""The pytest plugin installed with the package: the ``convo_mock`` fixture and ``--convo-conformance``,
run in fresh pytest processes (pytester) as a project using the package would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing import RunningMock
from tests.servers import running_server

pytest_plugins = ["pytester"]

USES_THE_FIXTURE = '''
import httpx

URLS = []


def test_a_client_of_the_mock(convo_mock):
    URLS.append(convo_mock.url)
    base = convo_mock.base_url("openai")
    assert base == convo_mock.base_urls["openai"] and base.startswith("http://127.0.0.1:")
    headers = {"Authorization": "Bearer sk-app-under-test"}
    made = httpx.post(base + "/conversations", json={"items": [{"role": "user", "content": "Hi"}]}, headers=headers)
    assert made.status_code == 200
    sent = convo_mock.journal(tenant="sk-app-under-test", operation="createConversation")
    assert len(sent) == 1 and sent[0]["tenant"] == "sk-…st" and '"Hi"' in sent[0]["request_body"]
    convo_mock.reset(tenant="sk-app-under-test")
    assert httpx.get(base + "/conversations/" + made.json()["id"], headers=headers).status_code == 404


def test_the_same_mock_serves_the_whole_session(convo_mock):
    assert URLS == [convo_mock.url]
    loaded = convo_mock.load_fixtures("""
families:
  virtuousai:
    vai-key:
      - {path: /chat/threads, body: {title: Seeded}}
""")
    assert loaded[0]["status"] == 200
    threads = httpx.get(convo_mock.base_url("virtuousai") + "/chat/threads", headers={"X-API-Key": "vai-key"})
    assert [t["title"] for t in threads.json()["items"]] == ["Seeded"]
'''


def test_convo_mock_fixture_serves_every_family_for_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=USES_THE_FIXTURE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_plugin_is_registered_as_an_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--convo-conformance=FAMILY*", "*--convo-base-url=URL*"])


@pytest.fixture(scope="module")
def mock() -> Iterator[RunningMock]:
    with RunningMock.start(["openai"], journal_size=0) as running:
        yield running


def conformance(pytester: pytest.Pytester, base_url: str, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rA", "--convo-conformance=openai", f"--convo-base-url={base_url}",
        "--convo-api-key=plugin-key-1", "--convo-max-examples=3", "--convo-seed=7", *extra, timeout=600)


def test_conformance_checks_run_as_tests_and_pass_on_the_mock(pytester: pytest.Pytester, mock: RunningMock) -> None:
    result = conformance(pytester, mock.base_url("openai"), "--convo-api-key-2=plugin-key-2")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] >= 10, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["PASSED *openai::pagination", "PASSED *openai::schemathesis:not_a_server_error",
                                 "PASSED *openai::run"])


def test_a_check_without_its_second_key_is_skipped(pytester: pytest.Pytester, mock: RunningMock) -> None:
    result = conformance(pytester, mock.base_url("openai"), "-k", "tenant_isolation or auth")
    result.assert_outcomes(passed=1, skipped=1, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(["SKIPPED *tenant_isolation*"])


def test_a_broken_server_fails_the_test_of_the_check_that_catches_it(pytester: pytest.Pytester) -> None:
    with running_server("-m", "tests.openai_variants", "has-more-always-false", "--port", "0") as url:
        result = conformance(pytester, url + "/openai/v1", "--convo-api-key-2=plugin-key-2")
    assert result.ret == 1
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert any("openai::pagination" in line for line in failed), result.stdout.str()[-3000:]
    assert not any("openai::auth" in line or "openai::limits" in line for line in failed)
    result.stdout.fnmatch_lines(["*expected: more pages signalled*"])


def test_an_unreachable_target_fails_the_run_test(pytester: pytest.Pytester) -> None:
    result = conformance(pytester, "http://127.0.0.1:9/openai/v1")
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["skipped"] >= 10 and "passed" not in outcomes
    result.stdout.fnmatch_lines(["*FAILED*openai::run*cannot reach*"])
